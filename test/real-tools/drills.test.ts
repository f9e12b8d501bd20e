import Ajv2020 from 'ajv/dist/2020';
import { createHash } from 'crypto';
import { createServer, Server } from 'http';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import { parse, stringify } from 'yaml';
import { App } from 'cdk8s';
import { DRILL_RECORD_SCHEMA } from '../../lib/drill/record';
import { ENVIRONMENTS } from '../../lib/environments';
import { renderRules, renderRuleTests } from '../../lib/monitoring/prometheus-config';
import { FinanceAiStack } from '../../stacks/finance-ai-stack';
import { find, synth } from '../helpers';
import { BUCKET, containerEnv, containerOf, exec, localStorage, useBackupRig } from './backup-rig';
import { debianBinary, freePort } from './tools';

/*
 * The drill record (issue 21 §5) written for real: drill-check.sh runs steps, drill-record.sh writes
 * record.json and record.md and uploads them with the backups' upload.sh to an S3-compatible server
 * (s3rver, see backup-rig.ts), with each script and environment as the restore test's record
 * container has them; the record read back is validated with ajv against DRILL_RECORD_SCHEMA. The
 * service drill's Python runs against a stand-in Kubernetes API, and DrillOverdue under promtool.
 */
describe('drills against a real S3-compatible server, Python and promtool', () => {
  const rig = useBackupRig({ postgres: false });
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  const validate = ajv.compile(DRILL_RECORD_SCHEMA as object);
  let recordEnv: Record<string, string>;

  beforeAll(() => {
    const restoreTest = find(rig.objects, 'CronJob', 'quality-billing-postgres-restore-test');
    recordEnv = containerEnv(containerOf(restoreTest, 'record'));
  });

  /** Runs the steps through drill-check.sh, then drill-record.sh, in a fresh folder, as the pod does. */
  async function drill(name: string, steps: Array<[string, string]>, env: Record<string, string> = {}, stepEnv: Record<string, string> = {}) {
    const dir = rig.backupDir(name);
    const paths = { DRILL_DIR: join(dir, 'checks'), BACKUP_DIR: join(dir, 'record') };
    for (const [check, command] of steps) {
      const r = await rig.runScript('drill-check.sh', { ...paths, ...stepEnv }, [check, 'bash', '-c', command]);
      expect([check, r.code]).toEqual([check, 0]);
    }
    return rig.runScript('drill-record.sh', { ...recordEnv, ...paths, DRILL_JOB: `job-${name}`, ...env });
  }
  const recordIds = async () => (await rig.aws(['s3', 'ls', `s3://${BUCKET}/prod/drills/restore/`])).stdout.split('\n').filter(Boolean).map(l => l.trim().split(/\s+/).pop()!.replace(/\/$/, ''));
  /** A record's files, downloaded with one aws process. */
  const fetchRecord = async (id: string) => {
    const dir = rig.backupDir(`fetched-${id}`);
    const r = await rig.aws(['s3', 'cp', '--only-show-errors', '--recursive', `s3://${BUCKET}/prod/drills/restore/${id}/`, dir]);
    expect(r.stderr).toBe('');
    const text = (f: string) => readFileSync(join(dir, f), 'utf8');
    return { json: text('record.json'), md: text('record.md'), sums: text('SHA256SUMS') };
  };

  it('records a passed drill as JSON matching the schema and as Markdown, uploaded with checksums beside the backups', async () => {
    const r = await drill('drill-passed', [['download the backup', 'echo "downloaded 20261125T020000Z"'], ['restore it', 'echo "3 tables and 6700 rows match"']]);
    expect(r.stderr).toContain('drill passed');
    expect(r.code).toBe(0);
    const [id] = await recordIds();
    expect(id).toMatch(/^\d{8}T\d{6}Z$/);
    const { json, md, sums } = await fetchRecord(id);
    const record = JSON.parse(json);
    expect([validate(record), validate.errors]).toEqual([true, null]);
    expect(record).toMatchObject({ id, system: 'quality-billing', environment: 'prod', kind: 'restore', job: 'job-drill-passed', result: 'passed' });
    expect(record.checks.map((c: any) => [c.name, c.result, c.detail])).toEqual([
      ['download the backup', 'passed', 'downloaded 20261125T020000Z'],
      ['restore it', 'passed', '3 tables and 6700 rows match'],
    ]);
    expect(Date.parse(record.endedAt)).toBeGreaterThanOrEqual(Date.parse(record.startedAt));
    expect(md).toContain('# restore drill of quality-billing (prod): PASSED');
    expect(md).toContain('| 2 | restore it | **passed** |');
    expect(sums).toContain(`${createHash('sha256').update(json).digest('hex')}  record.json`);
    expect(sums).toContain(`${createHash('sha256').update(md).digest('hex')}  record.md`);
  }, 120000);

  it('records a failed drill too, with the later steps skipped, and then fails the Job', async () => {
    const before = await recordIds();
    // Record ids are start times to the second: the second record must not reuse the first one's.
    await new Promise(res => setTimeout(res, 1100));
    const r = await drill('drill-failed', [
      ['download the backup', 'echo downloaded'],
      ['restore it', 'echo \'row counts differ: "public.invoices" 3000 != 2999 | see log\' >&2; exit 4'],
      ['drop the scratch server', 'echo never runs'],
    ]);
    expect(r.stderr).toContain('FAILED: the restore drill failed');
    expect(r.code).toBe(1);
    const ids = await recordIds();
    expect(ids).toHaveLength(before.length + 1);
    const id = ids.find(i => !before.includes(i))!;
    const fetched = await fetchRecord(id);
    const record = JSON.parse(fetched.json);
    expect([validate(record), validate.errors]).toEqual([true, null]);
    expect(record.result).toBe('failed');
    expect(record.checks.map((c: any) => [c.name, c.result])).toEqual([['download the backup', 'passed'], ['restore it', 'failed'], ['drop the scratch server', 'skipped']]);
    // Quotes and the pipe survive in JSON; the Markdown table escapes the pipe.
    expect(record.checks[1].detail).toBe('exit code 4: row counts differ: "public.invoices" 3000 != 2999 | see log');
    expect(fetched.md).toContain('| 2 | restore it | **failed** | ');
    expect(fetched.md).toContain('row counts differ: "public.invoices" 3000 != 2999 \\| see log');
  }, 120000);

  it('ends a step that outlives the drill\'s time budget (counted from the drill\'s start), records it as timed out and skips the rest; the record is still uploaded', async () => {
    // The manifest: each step of the restore drill gets the Job's deadline less 120 s for the record, counted from the first step's start.
    const restoreTest = find(rig.objects, 'CronJob', 'quality-billing-postgres-restore-test');
    const deadline = restoreTest.spec.jobTemplate.spec.activeDeadlineSeconds;
    for (const step of ['fetch', 'restore']) expect(containerEnv(containerOf(restoreTest, step)).DRILL_BUDGET_SECONDS).toBe(String(deadline - 120));
    const t0 = Date.now();
    const r = await drill('drill-timed-out', [['download the backup', 'echo started; sleep 60'], ['restore it', 'echo restored']], {}, { DRILL_BUDGET_SECONDS: '2' });
    expect(Date.now() - t0).toBeLessThan(30000);
    expect(r.code).toBe(1);
    const id = (await recordIds()).sort().pop()!;
    const json = JSON.parse((await fetchRecord(id)).json);
    expect(json.job).toBe('job-drill-timed-out');
    expect(json.checks.map((c: any) => [c.name, c.result])).toEqual([['download the backup', 'failed'], ['restore it', 'skipped']]);
    expect(json.checks[0].detail).toMatch(/^timed out after 2 s/);
  }, 120000);

  it('fails when the record cannot be uploaded', async () => {
    const r = await drill('drill-no-bucket', [['a step', 'true']], { S3_BUCKET: 'no-such-bucket' });
    expect(r.stderr).toContain('was not uploaded');
    expect(r.code).not.toBe(0);
  }, 120000);

  it('the schema refuses a record that lacks a field, has an unknown result or a malformed time', () => {
    const good = { schemaVersion: 1, id: '20261125T020000Z', system: 'finance-ai', environment: 'prod', kind: 'switchover', job: 'j', startedAt: '2026-11-25T02:00:00Z', endedAt: '2026-11-25T02:01:00Z', durationSeconds: 60, result: 'passed', checks: [{ name: 'c', result: 'passed', startedAt: '2026-11-25T02:00:00Z', endedAt: '2026-11-25T02:00:10Z', detail: '' }] };
    expect(validate(good)).toBe(true);
    const { checks: _checks, ...noChecks } = good;
    expect(validate(noChecks)).toBe(false);
    expect(validate({ ...good, result: 'ok' })).toBe(false);
    expect(validate({ ...good, kind: 'failover' })).toBe(false);
    expect(validate({ ...good, startedAt: '2026-11-25 02:00' })).toBe(false);
    expect(validate({ ...good, checks: [{ ...good.checks[0], result: 'maybe' }] })).toBe(false);
  });

  describe('the service drill (python3, standard library) against a stand-in Kubernetes API', () => {
    let api: Server;
    let apiPort: number;
    let healthStatus = 200;
    const patches: string[] = [];
    let script: string;
    let serviceEnv: Record<string, string>;
    let serviceCommand: string[];
    let stuck = false;
    const deployment = { metadata: { name: 'finance-ai-api', generation: 4 }, spec: { replicas: 3 }, status: { observedGeneration: 4, replicas: 3, updatedReplicas: 3, availableReplicas: 3 } };
    let polls = 0;

    beforeAll(async () => {
      const fa = synth(new FinanceAiStack(new App(), 'finance-ai', { environment: ENVIRONMENTS.prod, backupStorage: localStorage(rig.s3Port) }));
      const cj = find(fa, 'CronJob', 'finance-ai-drill-service');
      script = find(fa, 'ConfigMap', 'finance-ai-drill-service-scripts').data['service_drill.py'];
      writeFileSync(join(rig.work, 'scripts', 'service_drill.py'), script, { mode: 0o755 });
      writeFileSync(join(rig.work, 'scripts', 'drill-budget.sh'), find(fa, 'ConfigMap', 'finance-ai-drill-service-scripts').data['drill-budget.sh'], { mode: 0o755 });
      serviceEnv = containerEnv(containerOf(cj, 'service'));
      serviceCommand = containerOf(cj, 'service').command;
      const sa = join(rig.work, 'drill-sa');
      mkdirSync(sa, { recursive: true });
      writeFileSync(join(sa, 'token'), 'drill-token');
      writeFileSync(join(sa, 'namespace'), 'finance-ai');
      chmodSync(sa, 0o755);
      apiPort = await freePort();
      // One server plays the API (a rollout that completes after two polls) and the app's /health.
      api = createServer((req, res) => {
        if (req.url === '/health') { res.writeHead(healthStatus).end('{}'); return; }
        if (req.headers.authorization !== 'Bearer drill-token' || req.url !== '/apis/apps/v1/namespaces/finance-ai/deployments/finance-ai-api') { res.writeHead(403).end('{}'); return; }
        let body = '';
        req.on('data', c => { body += c; });
        req.on('end', () => {
          if (req.method === 'PATCH') {
            expect(req.headers['content-type']).toBe('application/merge-patch+json');
            patches.push(body);
            deployment.metadata.generation += 1;
            deployment.status = { ...deployment.status, updatedReplicas: 1, availableReplicas: 2 };
            polls = 0;
          } else if (++polls >= 2 && !stuck) {
            deployment.status = { observedGeneration: deployment.metadata.generation, replicas: 3, updatedReplicas: 3, availableReplicas: 3 };
          }
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(deployment));
        });
      });
      await new Promise<void>(r => api.listen(apiPort, '127.0.0.1', r));
    });
    afterAll(() => api.close());

    /** `budget`: run as the pod does, under drill-budget.sh with this many seconds instead of the manifest's. */
    async function serviceDrill(name: string, budget?: number) {
      const dir = rig.backupDir(name);
      const paths = { DRILL_DIR: join(dir, 'checks'), BACKUP_DIR: join(dir, 'record') };
      const script = join(rig.work, 'scripts', 'service_drill.py');
      const [file, args] = budget === undefined ? ['/usr/bin/python3', [script]] : ['/bin/bash', [join(rig.work, 'scripts', 'drill-budget.sh'), String(budget), '/usr/bin/python3', script]];
      const step = await exec(file, args, {
        ...serviceEnv, ...paths, PATH: '/usr/bin:/bin', API_BASE_URL: `http://127.0.0.1:${apiPort}`, SA_DIR: join(rig.work, 'drill-sa'),
        HEALTH_URLS: `http://127.0.0.1:${apiPort}/health`, POLL_SECONDS: '0.1', TZ: 'UTC',
      });
      expect([step.stderr, step.code]).toEqual([expect.any(String), 0]);
      const record = await exec('/bin/bash', [join(rig.work, 'scripts', 'drill-record.sh')], {
        ...paths, PATH: '/usr/bin:/bin', DRILL_SYSTEM: 'finance-ai', DRILL_ENVIRONMENT: 'prod', DRILL_KIND: 'service', DRILL_UPLOAD: 'false', TZ: 'UTC',
      });
      const id = (await exec('/bin/cat', [join(paths.BACKUP_DIR, 'BACKUP_ID')], {})).stdout.trim();
      const json = JSON.parse((await exec('/bin/cat', [join(paths.BACKUP_DIR, id, 'record.json')], {})).stdout);
      return { record, json };
    }

    it('restarts the Deployment as kubectl rollout restart does, waits for the rollout and asks /health', async () => {
      expect(serviceEnv.DEPLOYMENTS).toBe('finance-ai-api');
      const { record, json } = await serviceDrill('service-ok');
      expect(record.code).toBe(0);
      expect([validate(json), validate.errors]).toEqual([true, null]);
      expect(json.checks.map((c: any) => [c.name, c.result])).toEqual([['rollout restart deployment/finance-ai-api', 'passed'], [`GET http://127.0.0.1:${apiPort}/health`, 'passed']]);
      expect(json.checks[0].detail).toMatch(/3 of 3 replicas updated and available/);
      expect(Object.keys(JSON.parse(patches[0]).spec.template.metadata.annotations)).toEqual(['kubectl.kubernetes.io/restartedAt']);
    }, 60000);

    it('under the pod\'s time budget, records a rollout that outlives it as timed out and still writes the record', async () => {
      // The manifest: the budget is the deadline (1800 s) less 120 s for the record container.
      expect(serviceCommand).toEqual(['bash', '/opt/drill/drill-budget.sh', '1680', 'python', '/opt/drill/service_drill.py']);
      expect(Number(serviceEnv.ROLLOUT_TIMEOUT_SECONDS)).toBeLessThanOrEqual(1680);
      stuck = true;
      const { record, json } = await serviceDrill('service-timed-out', 2);
      stuck = false;
      expect(record.code).toBe(1);
      expect([validate(json), validate.errors]).toEqual([true, null]);
      expect(json.checks).toEqual([expect.objectContaining({ name: 'rollout restart deployment/finance-ai-api', result: 'failed', detail: expect.stringMatching(/^timed out after 2 s/) })]);
    }, 60000);

    it('fails the drill when the app is not healthy afterwards', async () => {
      healthStatus = 503;
      const { record, json } = await serviceDrill('service-unhealthy');
      healthStatus = 200;
      expect(record.code).toBe(1);
      expect(json.result).toBe('failed');
      expect(json.checks[1]).toMatchObject({ result: 'failed', detail: `http://127.0.0.1:${apiPort}/health answered 503` });
    }, 60000);
  });

  describe('DrillOverdue under promtool test rules', () => {
    const stack = new FinanceAiStack(new App(), 'finance-ai', { environment: ENVIRONMENTS.prod });
    const group = stack.monitoring.alertGroups.find(g => g.alert === 'DrillOverdue')!;

    async function promtool(ruleText: string) {
      const dir = rig.backupDir(`promtool-${createHash('sha1').update(ruleText).digest('hex').slice(0, 8)}`);
      writeFileSync(join(dir, 'rules.yml'), ruleText);
      writeFileSync(join(dir, 'tests.yml'), renderRuleTests([group], 'rules.yml'));
      return exec(debianBinary('promtool'), ['test', 'rules', join(dir, 'tests.yml')], { PATH: '/usr/bin:/bin' });
    }

    it('fires past a drill\'s due time (last success, or creation without one) and not an hour before it', async () => {
      expect(group.cases.filter(c => c.firing.length > 0).length).toBeGreaterThan(0);
      expect(group.cases.filter(c => c.firing.length === 0).length).toBeGreaterThan(0);
      const r = await promtool(renderRules([group], { annotations: false }));
      expect(r.stdout + r.stderr).toContain('SUCCESS');
      expect(r.code).toBe(0);
    }, 60000);

    it('fails when the threshold moves by three hours or the never-succeeded branch is dropped', async () => {
      const rules = parse(renderRules([group], { annotations: false }));
      const mutate = (f: (expr: string) => string) => {
        const copy = JSON.parse(JSON.stringify(rules));
        for (const r of copy.groups[0].rules) r.expr = f(r.expr);
        return stringify(copy, { lineWidth: 0 });
      };
      const earlier = await promtool(mutate(e => e.replace(/> (\d+)\)/g, (_m, n) => `> ${Number(n) - 3 * 3600})`)));
      const later = await promtool(mutate(e => e.replace(/> (\d+)\)/g, (_m, n) => `> ${Number(n) + 3 * 3600})`)));
      const neverSucceeded = await promtool(mutate(e => e.replace(/ or \(\(time\(\).*$/, '')));
      expect([earlier.code, later.code, neverSucceeded.code].every(c => c !== 0)).toBe(true);
    }, 60000);
  });
});
