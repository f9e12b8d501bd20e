import { App } from 'cdk8s';
import { AppService } from '../../constructs/app/app-service';
import { RestoreTest } from '../../constructs/backup/restore-test';
import { Postgres } from '../../constructs/data/postgres';
import { Drill, DrillProps } from '../../constructs/drill/drill';
import { S3Location } from '../../lib/backup/s3';
import { checkDrillKind } from '../../lib/drill/kinds';
import { ENVIRONMENTS } from '../../lib/environments';
import { DRILL_OVERDUE_SLACK_SECONDS } from '../../lib/monitoring/alert-rules';
import { longestGapSeconds } from '../../lib/schedule';
import { SecretKeyRef } from '../../lib/secrets';
import { FinanceAiStack, FinanceAiStackProps } from '../../stacks/finance-ai-stack';
import { shippedSystem } from '../../stacks/systems';
import { envOf, expectValidationError, find, K8sObject, podSpec, synth, testChart } from '../helpers';

const STORAGE: S3Location = {
  bucket: 'qb-backups', prefix: 'test', region: 'eu-west-1',
  accessKeyId: SecretKeyRef.of('s3', 'id'), secretAccessKey: SecretKeyRef.of('s3', 'secret'),
};
const RECORD = { system: 'orders', environment: 'test', storage: STORAGE };

function drillChart(props: Partial<DrillProps> & Pick<DrillProps, 'kind'>, standbys = 1) {
  const chart = testChart();
  const postgres = new Postgres(chart, 'Postgres', { tier: 'minimum', standbys });
  const api = new AppService(chart, 'Api', { name: 'orders-api', replicas: 2, port: 8000, servicePort: 80, settings: { image: 'orders:1.0.0' } });
  const drill = new Drill(chart, 'Drill', { record: RECORD, schedule: '0 5 2 1,4,7,10 *', postgres, deployments: ['orders-api'], healthChecks: [api], ...props });
  return { chart, postgres, api, drill, objects: synth(chart) };
}

const ingressPorts = (policy: K8sObject) => policy.spec.ingress.flatMap((r: any) => r.ports.map((p: any) => p.port)).sort();

describe('Drill: switchover', () => {
  const { objects, postgres } = drillChart({ kind: 'switchover' });
  const cj = find(objects, 'CronJob', 'orders-drill-switchover');
  const pod = podSpec(cj);

  it('runs patronictl from the server\'s own image with the members\' patroni.yml, then the record container', () => {
    expect(pod.initContainers.map((c: any) => [c.name, c.image])).toEqual([['switchover', postgres.image.toString()]]);
    expect(pod.containers.map((c: any) => [c.name, c.image.split(':')[0]])).toEqual([['record', 'amazon/aws-cli']]);
    const env = envOf(pod.initContainers[0]);
    expect(env).toMatchObject({ SCOPE: 'postgres', PGHOST: 'postgres', PGPASSWORD: 'secret:db-credentials/password', PATRONI_CONFIG: '/etc/patroni/patroni.yml', DRILL_DIR: '/drill/checks', BACKUP_SELECTOR: 'app.kubernetes.io/component=backup,app.kubernetes.io/part-of=quality-billing' });
    // No candidate given: the script picks the synchronous standby when it runs.
    expect(env.CANDIDATE).toBeUndefined();
    expect(pod.volumes.find((v: any) => v.name === 'patroni').configMap).toEqual({ name: 'postgres-files', items: [{ key: 'patroni.yml', path: 'patroni.yml' }] });
    expect(find(objects, 'ConfigMap', 'orders-drill-switchover-scripts').data['switchover.sh']).toContain('patronictl -c "$PATRONI_CONFIG" switchover --leader "$leader" --candidate "$candidate" --force "$SCOPE"');
  });

  it('writes its record to <prefix>/drills/switchover/ with the verified upload, kept two years', () => {
    const env = envOf(pod.containers[0]);
    expect(env).toMatchObject({ S3_BUCKET: 'qb-backups', S3_PREFIX: 'test', BACKUP_KIND: 'drills/switchover', RETENTION_DAYS: '730', MIN_KEEP: '3', DRILL_SYSTEM: 'orders', DRILL_ENVIRONMENT: 'test', DRILL_KIND: 'switchover', DRILL_DIR: '/drill/checks', BACKUP_DIR: '/drill/record' });
    const scripts = find(objects, 'ConfigMap', 'orders-drill-switchover-scripts').data;
    expect(Object.keys(scripts).sort()).toEqual(['drill-budget.sh', 'drill-record.sh', 'switchover.sh', 'upload.sh']);
  });

  it('runs its steps within the deadline less 120 s, so a hung step still leaves a record; a deadline too short for the steps is refused', () => {
    expect(cj.spec.jobTemplate.spec.activeDeadlineSeconds).toBe(900);
    expect(pod.initContainers[0].command).toEqual(['bash', '/opt/drill/drill-budget.sh', '780', 'bash', '/opt/drill/switchover.sh']);
    expect(envOf(pod.initContainers[0]).SWITCH_TIMEOUT_SECONDS).toBe('120');
    expectValidationError(() => drillChart({ kind: 'switchover', activeDeadlineSeconds: 539 }), { field: 'activeDeadlineSeconds', value: 539, allowed: /at least 540 for a switchover drill/ });
    expect(podSpec(find(drillChart({ kind: 'switchover', activeDeadlineSeconds: 540 }).objects, 'CronJob', 'orders-drill-switchover')).initContainers[0].command[2]).toBe('420');
  });

  it('may read pods, read and write ConfigMaps (Patroni\'s DCS) and list Jobs (no switchover during a backup), and nothing else', () => {
    expect(find(objects, 'Role', 'orders-drill-switchover').rules).toEqual([
      { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch', 'create', 'patch', 'update'] },
      { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: ['batch'], resources: ['jobs'], verbs: ['list'] },
    ]);
    expect(pod.serviceAccountName).toBe('orders-drill-switchover');
    expect(pod.automountServiceAccountToken).toBe(true);
  });

  it('reaches PostgreSQL and Patroni\'s REST API on the members, through a policy of its own on them', () => {
    const toServer = find(objects, 'NetworkPolicy', 'orders-drill-switchover-to-postgres');
    expect(toServer.spec.podSelector.matchLabels).toEqual(postgres.selector);
    expect(ingressPorts(toServer)).toEqual([5432, 8008]);
    const egress = find(objects, 'NetworkPolicy', 'orders-drill-switchover').spec.egress;
    expect(egress).toContainEqual({ to: [postgres.peer], ports: [{ protocol: 'TCP', port: 5432 }, { protocol: 'TCP', port: 8008 }] });
  });

  it('runs once, within 15 minutes, on its schedule', () => {
    expect(cj.spec).toMatchObject({ schedule: '0 5 2 1,4,7,10 *', concurrencyPolicy: 'Forbid' });
    expect(cj.spec.jobTemplate.spec).toMatchObject({ backoffLimit: 0, activeDeadlineSeconds: 900 });
    expect(cj.metadata.labels!['app.kubernetes.io/component']).toBe('drill');
  });

  it('refuses a switchover of a server without Patroni standbys', () => {
    expectValidationError(() => drillChart({ kind: 'switchover' }, 0), { path: /Drill$/, field: 'kind', value: 'switchover', allowed: /without Patroni standbys/ });
  });

  it('refuses a candidate that is not a member', () => {
    expectValidationError(() => drillChart({ kind: 'switchover', candidate: 'postgres-2' }), { field: 'candidate', value: 'postgres-2', allowed: /ordinals 0 to 1/ });
    expectValidationError(() => drillChart({ kind: 'switchover', candidate: 'other-1' }), { field: 'candidate', value: 'other-1', allowed: /"postgres-<ordinal>"/ });
    expect(envOf(podSpec(find(drillChart({ kind: 'switchover', candidate: 'postgres-1' }).objects, 'CronJob', 'orders-drill-switchover')).initContainers[0]).CANDIDATE).toBe('postgres-1');
  });
});

describe('Drill: service', () => {
  const { objects, api } = drillChart({ kind: 'service' });
  const pod = podSpec(find(objects, 'CronJob', 'orders-drill-service'));

  it('restarts the named Deployments and asks each app\'s /health through its Service', () => {
    expect(pod.initContainers[0].image).toMatch(/^python:/);
    expect(envOf(pod.initContainers[0])).toMatchObject({ DEPLOYMENTS: 'orders-api', HEALTH_URLS: 'http://orders-api:80/health' });
  });

  it('may get and patch only those Deployments', () => {
    expect(find(objects, 'Role', 'orders-drill-service').rules).toEqual([{ apiGroups: ['apps'], resources: ['deployments'], resourceNames: ['orders-api'], verbs: ['get', 'patch'] }]);
  });

  it('reaches the app\'s HTTP port, admitted by a policy of its own', () => {
    const toApi = find(objects, 'NetworkPolicy', 'orders-drill-service-to-orders-api');
    expect(toApi.spec.podSelector.matchLabels).toEqual(api.selector);
    expect(ingressPorts(toApi)).toEqual([8000]);
  });

  it('shares the step budget (deadline less 120 s, less 15 s per health check) among the rollouts; refuses a deadline that leaves a rollout under 60 s', () => {
    expect(pod.initContainers[0].command).toEqual(['bash', '/opt/drill/drill-budget.sh', '1680', 'python', '/opt/drill/service_drill.py']);
    expect(envOf(pod.initContainers[0]).ROLLOUT_TIMEOUT_SECONDS).toBe('1665');
    const two = podSpec(find(drillChart({ kind: 'service', deployments: ['orders-api', 'orders-worker'] }).objects, 'CronJob', 'orders-drill-service'));
    expect(envOf(two.initContainers[0]).ROLLOUT_TIMEOUT_SECONDS).toBe('832');
    expectValidationError(() => drillChart({ kind: 'service', activeDeadlineSeconds: 300, deployments: ['a', 'b', 'c'] }), { field: 'activeDeadlineSeconds', value: 300, allowed: /at least 315 for 3 Deployments and 1 health checks/ });
  });

  it('refuses a service drill with no Deployment', () => {
    expectValidationError(() => drillChart({ kind: 'service', deployments: [] }), { field: 'deployments', value: [], allowed: /one or more/ });
  });
});

describe('Drill: bad input', () => {
  it('refuses a schedule that is not cron', () => {
    expectValidationError(() => drillChart({ kind: 'service', schedule: '0 5 31 2 * *' }), { field: 'schedule', value: '0 5 31 2 * *', allowed: /five-field cron/ });
    expectValidationError(() => drillChart({ kind: 'service', schedule: 'quarterly' }), { field: 'schedule', value: 'quarterly', allowed: /five-field cron/ });
  });

  it('needs exactly one of schedule and jobName', () => {
    expectValidationError(() => drillChart({ kind: 'service', jobName: 'x' }), { field: 'schedule', value: '0 5 2 1,4,7,10 *', allowed: /exactly one/ });
    const { objects } = drillChart({ kind: 'service', schedule: undefined, jobName: 'orders-drill-now' });
    expect(find(objects, 'Job', 'orders-drill-now').spec).toMatchObject({ backoffLimit: 0, activeDeadlineSeconds: 1800 });
  });

  it('checkDrillKind names the field, the value and what the system can do', () => {
    const prod = { postgresMembers: 2, backups: true, describedAs: 'environment "prod"' };
    const dev = { postgresMembers: 1, backups: false, describedAs: 'environment "dev"' };
    const staging1 = { postgresMembers: 1, backups: true, describedAs: 'environment "x"' };
    expect(checkDrillKind('S', 'kind', 'switchover', prod)).toBe('switchover');
    expectValidationError(() => checkDrillKind('S', 'kind', 'failover', prod), { path: 'S', field: 'kind', value: 'failover', allowed: /one of "switchover", "restore", "service"/ });
    expectValidationError(() => checkDrillKind('S', 'kind', 'switchover', staging1), { field: 'kind', value: 'switchover', allowed: /^one of "restore", "service": .*without Patroni standbys/ });
    expectValidationError(() => checkDrillKind('S', 'kind', 'switchover', dev), { field: 'kind', value: 'switchover', allowed: /without Patroni standbys/ });
    expectValidationError(() => checkDrillKind('S', 'kind', 'restore', dev), { field: 'kind', value: 'restore', allowed: /no backups/ });
  });
});

describe('RestoreTest: the restore drill\'s record', () => {
  const chart = testChart();
  const postgres = new Postgres(chart, 'Postgres', { tier: 'minimum' });
  new RestoreTest(chart, 'RestoreTest', { postgres, backupStorage: { ...STORAGE, prefix: 'prod/postgres' }, record: { system: 'orders' } });
  const pod = podSpec(find(synth(chart), 'CronJob', 'postgres-restore-test'));

  it('runs fetch and restore as checks, then writes the record beside the backups under drills/restore/', () => {
    expect(pod.initContainers.map((c: any) => [c.name, c.command.slice(0, 3)])).toEqual([
      ['fetch', ['bash', '/opt/backup/drill-check.sh', 'download and verify the latest complete backup']],
      ['restore', ['bash', '/opt/backup/drill-check.sh', 'restore it into a throwaway server and compare with its manifest']],
    ]);
    expect(pod.containers[0].command).toEqual(['bash', '/opt/backup/drill-record.sh']);
    // Both steps share the deadline less 120 s for the record, counted from the drill's start (drill-check.sh).
    expect(pod.initContainers.map((c: any) => envOf(c).DRILL_BUDGET_SECONDS)).toEqual(['21480', '21480']);
    const shortChart = testChart();
    new RestoreTest(shortChart, 'Short', { postgres: new Postgres(shortChart, 'P', { tier: 'minimum' }), backupStorage: STORAGE, activeDeadlineSeconds: 3600 });
    expect(podSpec(find(synth(shortChart), 'CronJob', 'postgres-restore-test')).initContainers.map((c: any) => envOf(c).DRILL_BUDGET_SECONDS)).toEqual(['3480', '3480']);
    // The environment defaults to the prefix's first folder; the record goes next to "prod/postgres".
    expect(envOf(pod.containers[0])).toMatchObject({ S3_PREFIX: 'prod', BACKUP_KIND: 'drills/restore', DRILL_SYSTEM: 'orders', DRILL_ENVIRONMENT: 'prod', DRILL_KIND: 'restore', DRILL_DIR: '/backup/drill/checks', BACKUP_DIR: '/backup/drill/record' });
  });
});

describe('finance-ai: quarterly drills (seed 002)', () => {
  const build = (env: keyof typeof ENVIRONMENTS, props: Partial<FinanceAiStackProps> = {}) => {
    const stack = new FinanceAiStack(new App(), 'finance-ai', { environment: ENVIRONMENTS[env], ...props });
    return { stack, objects: synth(stack) };
  };
  const { stack, objects } = build('prod');

  it('schedules a switchover and a service drill every quarter in prod, in the environment\'s time zone, with deadlines', () => {
    const sw = find(objects, 'CronJob', 'finance-ai-drill-switchover');
    const svc = find(objects, 'CronJob', 'finance-ai-drill-service');
    expect(sw.spec).toMatchObject({ schedule: '0 5 2 1,4,7,10 *', timeZone: 'Asia/Shanghai' });
    expect(svc.spec).toMatchObject({ schedule: '30 5 2 1,4,7,10 *', timeZone: 'Asia/Shanghai' });
    expect(sw.spec.jobTemplate.spec.activeDeadlineSeconds).toBe(900);
    expect(svc.spec.jobTemplate.spec.activeDeadlineSeconds).toBe(1800);
    expect(envOf(podSpec(svc).initContainers[0])).toMatchObject({ DEPLOYMENTS: 'finance-ai-api', HEALTH_URLS: 'http://finance-ai-api:80/health' });
    // The data-recovery drill is the monthly restore test, which writes the same record.
    expect(envOf(podSpec(find(objects, 'CronJob', 'finance-ai-postgres-restore-test')).containers[0])).toMatchObject({ BACKUP_KIND: 'drills/restore', DRILL_SYSTEM: 'finance-ai', DRILL_ENVIRONMENT: 'prod' });
  });

  it('the switchover\'s backup check selects the Jobs of the pgBackRest full backup and the logical dump (in its namespace), and no other kind of Job', () => {
    const sw = find(objects, 'CronJob', 'finance-ai-drill-switchover');
    const selector = Object.fromEntries(envOf(podSpec(sw).initContainers[0]).BACKUP_SELECTOR.split(',').map((kv: string) => kv.split('=')));
    // A CronJob's Job carries its jobTemplate's labels; with none, the API server defaults them to the
    // pod template's (SetDefaults_Job, kubernetes pkg/apis/batch/v1/defaults.go).
    const jobLabels = (o: K8sObject): Record<string, string> => {
      const own = o.spec.jobTemplate.metadata?.labels ?? {};
      return Object.keys(own).length ? own : o.spec.jobTemplate.spec.template.metadata?.labels ?? {};
    };
    const selected = objects.filter(o => o.kind === 'CronJob' && o.metadata.namespace === sw.metadata.namespace
      && Object.entries(selector).every(([k, v]) => jobLabels(o)[k] === v)).map(o => o.metadata.name);
    expect(selected).toEqual(expect.arrayContaining(['finance-ai-postgres-backup-full', 'finance-ai-postgres-backup']));
    expect(selected).not.toContain('finance-ai-drill-switchover');
    expect(selected).not.toContain('finance-ai-postgres-restore-test');
  });

  it('counts them as scheduled jobs with deadlines in the capacity plan, which still passes N-1', () => {
    const plan = stack.planCapacity();
    expect(plan.passed).toBe(true);
    expect(plan.scheduledJobs!.scheduled).toEqual(expect.arrayContaining(['finance-ai-drill-switchover', 'finance-ai-drill-service']));
    expect(plan.scheduledJobs!.alwaysRunning).not.toContain('finance-ai-drill-switchover');
    expect(plan.checks.find(c => c.name === 'survives losing one node')).toMatchObject({ passed: true });
  });

  it('alerts with DrillOverdue after the longest gap between runs, the deadlines and a day', () => {
    const group = stack.monitoring.alertGroups.find(g => g.alert === 'DrillOverdue')!;
    const quarter = longestGapSeconds('0 5 2 1,4,7,10 *', 'Asia/Shanghai');
    expect(quarter).toBe(92 * 86400);
    // One rule (two of the same name and labels fail promtool's lint), a selection per threshold.
    expect(group.rules).toHaveLength(1);
    const thresholds = [...new Set([...group.rules[0].expr.matchAll(/> (\d+)\)/g)].map(m => Number(m[1])))].sort();
    expect(thresholds).toEqual([quarter + 3600 + 900 + DRILL_OVERDUE_SLACK_SECONDS, quarter + 3600 + 1800 + DRILL_OVERDUE_SLACK_SECONDS].sort());
  });

  it('runs them in staging too, and none in dev (no standbys, no bucket for the record)', () => {
    expect(build('staging').objects.filter(o => o.kind === 'CronJob' && o.metadata.name.includes('-drill-')).map(o => o.metadata.name).sort()).toEqual(['finance-ai-drill-service', 'finance-ai-drill-switchover']);
    expect(build('dev').objects.filter(o => o.metadata.name.includes('-drill-'))).toEqual([]);
    expect(build('prod', { drills: false }).objects.filter(o => o.metadata.name.includes('-drill-'))).toEqual([]);
    expect(build('prod', { drills: { switchover: false } }).objects.filter(o => o.kind === 'CronJob' && o.metadata.name.includes('-drill-')).map(o => o.metadata.name)).toEqual(['finance-ai-drill-service']);
  });

  it('refuses a switchover drill asked for where PostgreSQL has no standbys', () => {
    expectValidationError(() => build('dev', { drills: { switchover: true } }), { path: 'finance-ai', field: 'drills.switchover', value: true, allowed: /without Patroni standbys/ });
  });

  it('refuses a drill schedule that is not cron', () => {
    expectValidationError(() => build('prod', { drills: { switchoverSchedule: '0 5 * *' } }), { field: 'schedule', value: '0 5 * *', allowed: /five-field cron/ });
  });

  it('with a maintenance window, defaults the drills to its opening on its weekday in each quarter\'s first month', () => {
    // Not synthesized: finance-ai's backups keep their own hours, which such a window would refuse.
    const windowed = new FinanceAiStack(new App(), 'finance-ai', { environment: ENVIRONMENTS.prod, maintenanceWindow: { weekday: 'Sunday', start: '02:00', end: '04:00' } });
    expect(windowed.drills.switchover!.cronJob!.toJson().spec.schedule).toBe('0 2 * 1,4,7,10 0');
    expect(windowed.drills.service!.cronJob!.toJson().spec.schedule).toBe('30 2 * 1,4,7,10 0');
  });
});

describe('a drill in a system with a maintenance window (merchant-analysis, Sunday 02:00–04:00)', () => {
  const withDrill = (schedule: string) => {
    const chart = shippedSystem('merchant-analysis').create(ENVIRONMENTS.prod);
    new Drill(chart, 'Drill', { kind: 'service', record: RECORD, deployments: ['merchant-analysis-api-gateway'], schedule, timeZone: 'Asia/Shanghai' });
    return () => synth(chart);
  };

  it('passes inside the window, with its deadlines', () => {
    expect(() => withDrill('0 2 * 1,4,7,10 0')()).not.toThrow();
  });

  it('is refused outside it, or when its deadlines run past the close', () => {
    expectValidationError(withDrill('0 5 2 1,4,7,10 *'), { path: /Drill\/CronJob$/, field: 'schedule', value: '0 5 2 1,4,7,10 *', allowed: /inside the maintenance window Sunday 02:00–04:00 Asia\/Shanghai/ });
    // 03:00 + startingDeadlineSeconds 3600 + activeDeadlineSeconds 1800 ends at 04:30.
    expectValidationError(withDrill('0 3 * 1,4,7,10 0'), { field: 'schedule', value: '0 3 * 1,4,7,10 0', allowed: /may last until 04:30/ });
  });
});

describe('merchant-analysis: the quarterly service drill (seed 003 "regular drills")', () => {
  const build = (env: keyof typeof ENVIRONMENTS) => {
    const stack = shippedSystem('merchant-analysis').create(ENVIRONMENTS[env]);
    return { stack, objects: synth(stack) };
  };
  const { stack, objects } = build('prod');
  const apps = ['api-gateway', 'data-simulator', 'cashflow-predictor', 'cost-analyzer', 'compliance-checker'].map(a => `merchant-analysis-${a}`);
  const drill = find(objects, 'CronJob', 'merchant-analysis-drill-service');

  it('runs at 02:30 on the window\'s Sunday of each quarter\'s first month, in the environment\'s time zone (the synth checks it ends by 04:00)', () => {
    expect(drill.spec).toMatchObject({ schedule: '30 2 * 1,4,7,10 0', timeZone: 'Asia/Shanghai' });
    expect(drill.spec.jobTemplate.spec.activeDeadlineSeconds).toBe(1800);
  });

  it('restarts the gateway\'s and the four services\' Deployments, then asks each /health; its record goes beside the dumps', () => {
    const env = envOf(podSpec(drill).initContainers[0]);
    expect(env.DEPLOYMENTS.split(' ').sort()).toEqual([...apps].sort());
    expect(env.HEALTH_URLS.split(' ').sort()).toEqual([...apps].sort().map(a => expect.stringMatching(new RegExp(`^http://${a}:\\d+/health$`))));
    expect(envOf(podSpec(drill).containers[0])).toMatchObject({ BACKUP_KIND: 'drills/service' });
  });

  it('may get and patch only those five Deployments, nothing else (no Patroni, no Jobs)', () => {
    const role = find(objects, 'Role', 'merchant-analysis-drill-service');
    expect(role.rules).toHaveLength(1);
    expect(role.rules[0]).toMatchObject({ apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'patch'] });
    expect([...role.rules[0].resourceNames].sort()).toEqual([...apps].sort());
  });

  it('is watched by DrillOverdue, and passes the capacity plan with N-1', () => {
    const group = stack.monitoring.alertGroups.find(g => g.alert === 'DrillOverdue')!;
    expect(group.rules).toHaveLength(1);
    expect(group.rules[0].expr).toContain('cronjob=~"merchant-analysis-drill-service"');
    const quarter = longestGapSeconds('30 2 * 1,4,7,10 0', 'Asia/Shanghai');
    expect(group.rules[0].expr).toContain(`> ${quarter + 3600 + 1800 + DRILL_OVERDUE_SLACK_SECONDS})`);
    expect(stack.planCapacity().passed).toBe(true);
  });

  it('runs in staging too, and not in dev (no bucket for the record)', () => {
    expect(find(build('staging').objects, 'CronJob', 'merchant-analysis-drill-service').spec.schedule).toBe('30 2 * 1,4,7,10 0');
    expect(build('dev').objects.filter(o => o.metadata.name.includes('-drill-'))).toEqual([]);
  });
});

describe('longestGapSeconds', () => {
  it.each([
    ['0 5 2 1,4,7,10 *', 'UTC', 92 * 86400],
    ['0 4 1 * *', 'UTC', 31 * 86400],
    ['0 2 * * 0', 'Asia/Shanghai', 7 * 86400],
    ['*/5 * * * *', 'UTC', 300],
  ])('%s (%s): %d s', (schedule, tz, gap) => {
    expect(longestGapSeconds(schedule, tz)).toBe(gap);
  });
});
