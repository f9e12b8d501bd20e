import { ChildProcess, execFile } from 'child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { parse, stringify } from 'yaml';
import { ENVIRONMENTS } from '../../lib/environments';
import { alertGroups, walArchiveAlertGroups } from '../../lib/monitoring/alert-rules';
import { EXPORTED_METRICS, metricNames, overviewPanels } from '../../lib/monitoring/dashboards';
import { renderRules, renderRuleTests } from '../../lib/monitoring/prometheus-config';
import { find, synthChart, synthStack } from '../helpers';
import { SYSTEMS } from '../../stacks/systems';
import { debianBinary, freePort, run, startServer, stop } from './tools';

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
const NAMESPACE = 'quality-billing';

/** Runs a tool and returns its exit code and output, without throwing. */
function tool(command: string, args: string[]): { code: number; output: string } {
  try {
    return { code: 0, output: run(command, args) };
  } catch (e: any) {
    return { code: e.status ?? 1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

/**
 * `promtool check config` on a generated prometheus.yml. Debian builds Prometheus without
 * Kubernetes service discovery (prometheus/prometheus#5053), so each kubernetes_sd_configs block
 * is checked here (role and namespace) and swapped for a file_sd_configs block; everything else
 * reaches promtool as generated. The pod's mounts (service-account files, rules folder) are given
 * as files of this test.
 */
function promtoolCheckConfig(prometheusYml: string, alertsYml: string, dir: string, namespace: string): { code: number; output: string } {
  mkdirSync(join(dir, 'sa'), { recursive: true });
  mkdirSync(join(dir, 'rules'), { recursive: true });
  for (const f of ['token', 'ca.crt', 'namespace']) writeFileSync(join(dir, 'sa', f), 'test');
  writeFileSync(join(dir, 'rules', 'alerts.yml'), alertsYml);
  writeFileSync(join(dir, 'targets.json'), '[]');
  const config = parse(prometheusYml.split(SA_DIR).join(join(dir, 'sa')).split('/etc/prometheus/rules').join(join(dir, 'rules')));
  for (const sc of config.scrape_configs) {
    for (const sd of sc.kubernetes_sd_configs) {
      expect(['endpoints', 'node']).toContain(sd.role);
      if (sd.role === 'endpoints') expect(sd.namespaces).toEqual({ names: [namespace] });
      expect(Object.keys(sd).every(k => ['role', 'namespaces'].includes(k))).toBe(true);
    }
    delete sc.kubernetes_sd_configs;
    sc.file_sd_configs = [{ files: [join(dir, 'targets.json')] }];
  }
  writeFileSync(join(dir, 'prometheus.yml'), stringify(config));
  return tool(debianBinary('promtool'), ['check', 'config', join(dir, 'prometheus.yml')]);
}

let work: string;
beforeAll(() => { work = mkdtempSync(join(tmpdir(), 'qb-monitoring-')); });
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe.each(Object.values(ENVIRONMENTS).map(e => [e.name, e] as const))('generated monitoring configuration, %s', (name, env) => {
  const { objects } = synthStack(env);
  const prometheusYml: string = find(objects, 'ConfigMap', 'quality-billing-prometheus-config').data['prometheus.yml'];
  const alertsYml: string = find(objects, 'ConfigMap', 'quality-billing-prometheus-rules').data['alerts.yml'];
  const amConfig = find(objects, 'ConfigMap', 'quality-billing-alertmanager-config').data;

  it('passes promtool check rules', () => {
    const dir = join(work, name, 'rules');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'alerts.yml'), alertsYml);
    const r = tool(debianBinary('promtool'), ['check', 'rules', join(dir, 'alerts.yml')]);
    expect(r.output).toContain('SUCCESS');
    expect(r.code).toBe(0);
  });

  it('passes promtool check config', () => {
    const r = promtoolCheckConfig(prometheusYml, alertsYml, join(work, name, 'config'), NAMESPACE);
    expect(r.output).toContain('SUCCESS');
    // 23, and 4 more where WAL is archived (WalArchiveFailing, WalArchiveStale, WalArchiveBacklog x 2).
    // + 3 where PgBouncer runs (PgBouncerClientsWaiting x 2, PgBouncerDown).
    const rules = 23 + (env.backup && env.backup.pointInTimeRecovery ? 4 : 0) + (env.connectionPooler > 0 ? 3 : 0);
    expect(r.output).toContain(`SUCCESS: ${rules} rules found`);
    expect(r.code).toBe(0);
  });

  it('passes amtool check-config, with the template found', () => {
    const dir = join(work, name, 'alertmanager');
    mkdirSync(join(dir, 'templates'), { recursive: true });
    writeFileSync(join(dir, 'templates', 'quality-billing.tmpl'), amConfig['quality-billing.tmpl']);
    writeFileSync(join(dir, 'alertmanager.yml'), amConfig['alertmanager.yml'].replace('/etc/alertmanager/templates', join(dir, 'templates')));
    const r = tool(debianBinary('amtool'), ['check-config', join(dir, 'alertmanager.yml')]);
    expect(r.output).toContain('SUCCESS');
    expect(r.output).toContain('1 templates');
    expect(r.output).toContain('2 inhibit rules');
    expect(r.code).toBe(0);
  });

  it('routes critical alerts to Slack and e-mail and warnings to Slack only', () => {
    const file = join(work, name, 'alertmanager', 'alertmanager.yml');
    const route = (labels: string[]) => run(debianBinary('amtool'), ['config', 'routes', 'test', `--config.file=${file}`, ...labels]).trim();
    expect(route(['severity=critical', 'alertname=ComponentDown'])).toBe('slack-and-email');
    expect(route(['severity=warning', 'alertname=ApiLatencyHigh'])).toBe('slack');
  });
});

/** Every alert group a system can carry: the seeds' rules and, with point-in-time recovery, the WAL archiving ones. */
const allAlertGroups = () => [...alertGroups({ namespace: NAMESPACE }), ...walArchiveAlertGroups({ namespace: NAMESPACE, archiveTimeoutSeconds: 60 })];

describe('alert rules under promtool test rules', () => {
  const groups = allAlertGroups();
  const mutations: Array<[string, (s: string) => string]> = [
    ['a latency threshold moved from 1 s to 2 s', (s: string) => s.replace(/\) > 1\n/, ') > 2\n')],
    ['a 5xx threshold moved from 10 to 20 a minute', (s: string) => s.replace('* 60 > 10', '* 60 > 20')],
    ['a for: shortened from 5m to 1m', (s: string) => s.replace(/for: 5m/, 'for: 1m')],
    ['a severity label changed', (s: string) => s.replace('severity: critical', 'severity: page')],
    ['the WAL backlog threshold moved from 8 to 9 segments', (s: string) => s.replace('pg_wal_archive_ready_segments{namespace="quality-billing"}) > 8', 'pg_wal_archive_ready_segments{namespace="quality-billing"}) > 9')],
    ['the archive-age alert no longer asks for WAL being written', (s: string) => s.replace(/ and on \(namespace, pod\) sum by \(namespace, pod\) \(increase\(pg_wal_archive_written_bytes[^\n]*\) > 0/, '')],
    ['the archive-age alert ignores a server that never archived', (s: string) => s.replace(/ or \(max by \(namespace, pod\) \(pg_stat_archiver_archived_count[^\n]*? offset 600s\) == 0\)/, '')],
    ['the never-archived branch does not wait for the threshold after a start', (s: string) => s.replace(/ and on \(namespace, pod\) max by \(namespace, pod\) \(pg_stat_archiver_archived_count\{namespace="quality-billing"\} offset 600s\) == 0/, '')],
    ['the archive-failure alert fires on one failure', (s: string) => s.replace(/(alert: WalArchiveFailing\n\s+expr: [^\n]*\n\s+for: )10m/, '$10m')],
  ];
  const rules = renderRules(groups, { annotations: false });
  const results = new Map<string, { code: number; output: string }>();

  /*
   * Each case asserts only its own group's alert, and no alert reads another's series (no ALERTS,
   * no recording rules), so each group's cases run against a rule file holding that group alone:
   * promtool evaluates every rule of its rule files at every step of a case (up to 27 h at 1 m), and
   * with one file of all 19 groups a run cost about 12 times the CPU. The rule text (as generated,
   * or mutated as a whole) is split by group, not re-rendered, so each group's rules are exactly
   * the ones of the full file. One promtool process per rule text, with one test file per group.
   */
  function runTests(ruleText: string): Promise<{ code: number; output: string }> {
    const dir = mkdtempSync(join(work, 'rule-tests-'));
    const parsed = parse(ruleText) as { groups: Array<{ name: string }> };
    expect(parsed.groups.map(g => g.name)).toEqual(groups.map(g => g.alert));
    const testFiles = groups.map((g, i) => {
      writeFileSync(join(dir, `rules-${i}.yml`), stringify({ groups: [parsed.groups[i]] }, { lineWidth: 0 }));
      writeFileSync(join(dir, `tests-${i}.yml`), renderRuleTests([g], `rules-${i}.yml`));
      return join(dir, `tests-${i}.yml`);
    });
    return new Promise(resolve => execFile(debianBinary('promtool'), ['test', 'rules', ...testFiles], { encoding: 'utf8' }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, output: `${stdout}${stderr}` });
    }));
  }

  // The promtool runs (the rules as generated, and each mutation) are independent: they run
  // two at a time (two cores), and each test below reads its own result.
  beforeAll(async () => {
    const runs = [['as generated', rules] as const, ...mutations.map(([name, mutate]) => [name, mutate(rules)] as const)];
    const queue = [...runs];
    const worker = async () => { for (let next = queue.shift(); next; next = queue.shift()) results.set(next[0], await runTests(next[1])); };
    await Promise.all([worker(), worker()]);
  }, 300000);

  it('fires each alert at its threshold for its duration, and not just below it or for less time', () => {
    const r = results.get('as generated')!;
    expect(r.output).toContain('SUCCESS');
    // Every group's test file ran, and none failed.
    expect(r.output.match(/^ {2}SUCCESS$/gm)).toHaveLength(groups.length);
    expect(r.code).toBe(0);
    // Every group has a firing case, a quiet case below the threshold, and the groups with a
    // `for:` longer than a scrape have a case shorter than it.
    for (const g of groups) {
      expect(g.cases.some(c => c.firing.length > 0)).toBe(true);
      expect(g.cases.some(c => c.firing.length < g.rules.length)).toBe(true);
    }
  });

  it.each(mutations)('fails when %s', (name, mutate) => {
    expect(mutate(rules)).not.toBe(rules);
    expect(results.get(name)!.code).not.toBe(0);
  });
});

describe('Grafana dashboards and alert expressions', () => {
  const panels = overviewPanels(NAMESPACE);
  const exported = new Set(Object.values(EXPORTED_METRICS).flat());

  it('every panel query is PromQL that promtool parses', () => {
    const dir = mkdtempSync(join(work, 'panels-'));
    const rules = { groups: [{ name: 'panels', rules: panels.map((p, i) => ({ record: `dashboard:panel_${i}`, expr: p.expr })) }] };
    writeFileSync(join(dir, 'panels.yml'), stringify(rules));
    const r = tool(debianBinary('promtool'), ['check', 'rules', join(dir, 'panels.yml')]);
    expect(r.output).toContain(`SUCCESS: ${panels.length} rules found`);
  });

  it('the parse check rejects a broken query', () => {
    const dir = mkdtempSync(join(work, 'broken-'));
    writeFileSync(join(dir, 'panels.yml'), stringify({ groups: [{ name: 'x', rules: [{ record: 'x:y', expr: 'sum(rate(http_requests_total[5m])' }] }] }));
    expect(tool(debianBinary('promtool'), ['check', 'rules', join(dir, 'panels.yml')]).code).not.toBe(0);
  });

  it.each(panels.map(p => [p.title, p.expr] as const))('panel "%s" reads only metrics a scraped component exports', (_t, expr) => {
    const names = metricNames(expr);
    expect(names.length).toBeGreaterThan(0);
    for (const n of names) expect(exported).toContain(n);
  });

  it('every alert reads only metrics a scraped component exports', () => {
    for (const g of allAlertGroups()) {
      for (const r of g.rules) for (const n of metricNames(r.expr)) expect([g.alert, exported.has(n) ? n : `unknown ${n}`]).toEqual([g.alert, n]);
    }
  });
});

describe('Alertmanager inhibition, with a real Alertmanager on loopback', () => {
  let server: ChildProcess | undefined;
  let url: string;

  beforeAll(async () => {
    const { objects } = synthStack(ENVIRONMENTS.dev);
    const data = find(objects, 'ConfigMap', 'quality-billing-alertmanager-config').data;
    const dir = mkdtempSync(join(work, 'am-'));
    mkdirSync(join(dir, 'templates'));
    writeFileSync(join(dir, 'templates', 'quality-billing.tmpl'), data['quality-billing.tmpl']);
    // Notifications would go to Slack and SMTP: point both at a closed port on loopback.
    writeFileSync(join(dir, 'slack'), 'http://127.0.0.1:9/slack');
    writeFileSync(join(dir, 'smtp'), 'test');
    const config = parse(data['alertmanager.yml']);
    config.global.slack_api_url_file = join(dir, 'slack');
    config.global.smtp_auth_password_file = join(dir, 'smtp');
    config.global.smtp_smarthost = '127.0.0.1:9';
    config.templates = [join(dir, 'templates', '*.tmpl')];
    writeFileSync(join(dir, 'alertmanager.yml'), stringify(config));
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    server = await startServer(debianBinary('prometheus-alertmanager'), [`--config.file=${join(dir, 'alertmanager.yml')}`, `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address='], () => run('curl', ['-sf', `${url}/-/ready`]) !== undefined);
  }, 60000);

  afterAll(async () => { await stop(server, 'SIGTERM'); });

  async function post(alerts: Array<Record<string, string>>): Promise<void> {
    const res = await fetch(`${url}/api/v2/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(alerts.map(labels => ({ labels }))) });
    expect(res.status).toBe(200);
  }

  async function inhibited(): Promise<Record<string, boolean>> {
    // Inhibition is evaluated when alerts are listed; give the dispatcher a moment.
    await new Promise(r => setTimeout(r, 500));
    const res = await fetch(`${url}/api/v2/alerts`);
    const alerts = await res.json() as Array<{ labels: Record<string, string>; status: { inhibitedBy: string[] } }>;
    return Object.fromEntries(alerts.map(a => [`${a.labels.alertname}/${a.labels.severity}/${a.labels.component}`, a.status.inhibitedBy.length > 0]));
  }

  it('silences a warning while its critical twin fires, and a component\'s symptoms while it is down', async () => {
    const ns = { namespace: NAMESPACE };
    await post([
      { ...ns, alertname: 'ApiLatencyHigh', severity: 'critical', component: 'api' },
      { ...ns, alertname: 'ApiLatencyHigh', severity: 'warning', component: 'api' },
      { ...ns, alertname: 'ComponentDown', severity: 'critical', component: 'database' },
      { ...ns, alertname: 'PostgresConnectionsHigh', severity: 'warning', component: 'database' },
      { ...ns, alertname: 'CeleryTaskFailures', severity: 'warning', component: 'worker' },
    ]);
    expect(await inhibited()).toEqual({
      'ApiLatencyHigh/critical/api': false,
      'ApiLatencyHigh/warning/api': true,
      'ComponentDown/critical/database': false,
      'PostgresConnectionsHigh/warning/database': true,
      'CeleryTaskFailures/warning/worker': false,
    });
  });
});

describe.each(SYSTEMS.filter(s => s.name !== 'quality-billing').map(s => [s.name] as const))('%s prod monitoring configuration', sys => {
  const { objects } = synthChart(sys, ENVIRONMENTS.prod);
  const rules: string = find(objects, 'ConfigMap', `${sys}-prometheus-rules`).data['alerts.yml'];

  it('passes promtool check rules and check config', () => {
    const dir = join(work, sys);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'alerts.yml'), rules);
    const checked = tool(debianBinary('promtool'), ['check', 'rules', join(dir, 'alerts.yml')]);
    expect(checked.output).toContain('SUCCESS');
    const r = promtoolCheckConfig(find(objects, 'ConfigMap', `${sys}-prometheus-config`).data['prometheus.yml'], rules, join(dir, 'config'), sys);
    expect(r.output).toContain('SUCCESS');
    expect(r.code).toBe(0);
  });
});
