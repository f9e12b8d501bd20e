import { Testing } from 'cdk8s';
import { MongoBackup } from '../../constructs/backup/mongo-backup';
import { ENVIRONMENTS } from '../../lib/environments';
import { ValidationError } from '../../lib/errors';
import { MerchantAnalysisStack } from '../../stacks/merchant-analysis-stack';
import { shippedSystem } from '../../stacks/systems';
import { find, podSpec, synthChart } from '../helpers';
import { parse } from 'yaml';

function synthError(f: () => unknown): ValidationError {
  try { f(); } catch (e) { if (e instanceof ValidationError) return e; throw e; }
  throw new Error('no ValidationError');
}

describe('merchant-analysis maintenance window (seed 003: every Sunday 02:00–04:00)', () => {
  const { stack, objects } = synthChart('merchant-analysis', ENVIRONMENTS.prod);

  it('validates the database weekly inside the window, in the environment\'s time zone, ending by its close', () => {
    const cron = find(objects, 'CronJob', 'merchant-analysis-mongodb-maintenance');
    expect(cron.spec).toEqual(expect.objectContaining({ schedule: '30 2 * * 0', timeZone: 'Asia/Shanghai', startingDeadlineSeconds: 600, concurrencyPolicy: 'Forbid' }));
    expect(cron.spec.jobTemplate.spec.activeDeadlineSeconds).toBe(3600);
    const env = Object.fromEntries(podSpec(cron).containers[0].env.map((e: any) => [e.name, e.value ?? e.valueFrom]));
    expect(env.VALIDATE_JS).toContain('validate: c, background: true');
    expect(env.VALIDATE_JS).toContain('getSiblingDB("merchant_analysis")');
    expect(env.MONGO_ROOT_PASSWORD).toEqual({ secretKeyRef: { name: 'mongo-credentials', key: 'root-password' } });
  });

  it('puts the weekly configuration backup back, on Sunday 03:00 inside the window', () => {
    const cron = find(objects, 'CronJob', 'merchant-analysis-config-backup');
    expect(cron.spec).toEqual(expect.objectContaining({ schedule: '0 3 * * 0', timeZone: 'Asia/Shanghai' }));
    expect((stack as MerchantAnalysisStack).backupFlows().map(f => f.label)).toEqual(['mongodump daily', 'Redis RDB daily', 'weekly configuration export']);
  });

  it('passes N-1 in prod with the configuration backup, which the time-aware planner counts beside the jobs it can meet', () => {
    const plan = stack.capacity;
    expect(plan.passed).toBe(true);
    expect(plan.checks.find(c => c.name === 'survives losing one node')!.passed).toBe(true);
    expect(plan.rows.map(r => r.workload.name)).toContain('merchant-analysis-config-backup');
    expect(plan.scheduledJobs!.peak.names).toEqual(expect.arrayContaining(['merchant-analysis-config-backup', 'merchant-analysis-mongodb-backup', 'merchant-analysis-mongodb-maintenance']));
    // The Jaeger index cleaner (00:30 UTC) never meets the Sunday window's jobs: it is not in the peak set.
    expect(plan.scheduledJobs!.peak.names).not.toContain('merchant-analysis-jaeger-query-index-cleaner');
    expect(plan.scheduledJobs!.peak.cpu).toBeLessThan(plan.scheduledJobs!.allAtOnce.cpu);
  });

  it('mutes alerts that are not critical during the window in Alertmanager', () => {
    const config = parse(find(objects, 'ConfigMap', 'merchant-analysis-alertmanager-config').data['alertmanager.yml']);
    expect(config.time_intervals[0].time_intervals).toEqual([{ weekdays: ['sunday'], times: [{ start_time: '02:00', end_time: '04:00' }], location: 'Asia/Shanghai' }]);
    expect(config.route.routes[1]).toEqual({ matchers: ['severity!="critical"'], receiver: 'slack', mute_time_intervals: ['maintenance-window'] });
  });

  it('leaves systems without a window unmuted', () => {
    const qb = synthChart('quality-billing', ENVIRONMENTS.prod).objects;
    expect(parse(find(qb, 'ConfigMap', 'quality-billing-alertmanager-config').data['alertmanager.yml']).time_intervals).toBeUndefined();
  });
});

describe('schedules the window refuses at synth', () => {
  it('refuses a window that is not a valid weekday and time range, naming the field, the value and what is allowed', () => {
    const e = synthError(() => shippedSystem('merchant-analysis').create(ENVIRONMENTS.prod, { maintenanceWindow: { weekday: 'Sonntag' as never, start: '02:00', end: '04:00' } }));
    expect(e).toEqual(expect.objectContaining({ path: 'merchant-analysis', field: 'maintenanceWindow.weekday', value: 'Sonntag' }));
    expect(e.allowed).toContain('Sunday');
    const e2 = synthError(() => shippedSystem('merchant-analysis').create(ENVIRONMENTS.prod, { maintenanceWindow: { weekday: 'Sunday', start: '04:00', end: '02:00' } }));
    expect(e2).toEqual(expect.objectContaining({ field: 'maintenanceWindow.end', value: '02:00' }));
  });

  it('refuses the maintenance job when the window moves away from it, naming the CronJob, its schedule and the window', () => {
    const chart = shippedSystem('merchant-analysis').create(ENVIRONMENTS.prod, { maintenanceWindow: { weekday: 'Saturday', start: '02:00', end: '04:00' } });
    const e = synthError(() => Testing.synth(chart));
    expect(e).toEqual(expect.objectContaining({ path: 'merchant-analysis/MongoMaintenance/CronJob', field: 'schedule', value: '30 2 * * 0' }));
    expect(e.allowed).toContain('inside the maintenance window Saturday 02:00–04:00 Asia/Shanghai; a run starts Sunday 02:30 Asia/Shanghai');
  });

  it('refuses a backup a consumer adds outside the window\'s hours', () => {
    const chart = shippedSystem('merchant-analysis').create(ENVIRONMENTS.prod) as MerchantAnalysisStack;
    new MongoBackup(chart, 'ExtraBackup', {
      mongo: chart.mongo, schedule: '0 12 * * *', timeZone: 'Asia/Shanghai',
      backupStorage: { bucket: 'extra-backups', prefix: 'p', region: 'us-east-1', accessKeyId: chart.mongoBackup!.backupStorage.accessKeyId, secretAccessKey: chart.mongoBackup!.backupStorage.secretAccessKey },
    });
    expect(synthError(() => Testing.synth(chart))).toEqual(expect.objectContaining({ path: 'merchant-analysis/ExtraBackup/CronJob', field: 'schedule', value: '0 12 * * *' }));
  });

  it('holds a PostgreSQL system given a window to it: its 4-hour maintenance job may outlast a 02:00–04:00 window', () => {
    const chart = shippedSystem('quality-billing').create(ENVIRONMENTS.prod, { maintenanceWindow: { weekday: 'Sunday', start: '02:00', end: '04:00' } });
    const e = synthError(() => Testing.synth(chart));
    expect(e).toEqual(expect.objectContaining({ field: 'schedule', value: '30 3 * * 0' }));
    expect(e.allowed).toContain('may last until');
  });
});
