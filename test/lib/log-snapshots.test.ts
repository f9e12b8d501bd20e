import {
  checkElasticsearchCron, checkSnapshotName, checkTimeValue, LogSnapshotPlan, restoreRequestBody, s3RepositoryBody, slmPolicyBody,
  validateS3RepositoryBody, validateSlmPolicyBody,
} from '../../lib/logging/snapshots';
import { expectValidationError } from '../helpers';

// Rules from Elastic's 7.17 reference (cron-expressions, slm-api-put-policy, api-conventions time
// units, repository-s3 settings); each bad case breaks exactly one of them.
const plan: LogSnapshotPlan = { repository: 'log-archive', bucket: 'finance-ai-backups', basePath: 'prod/elasticsearch', schedule: '0 30 1 * * ?', retentionDays: 30, minCount: 3, maxCount: 60 };

describe('Elasticsearch cron (Quartz syntax, seconds first, UTC)', () => {
  it.each([
    '0 30 1 * * ?', // Elastic's own SLM example
    '0 0 2 ? * SUN', // weekly, named day
    '0 0/15 * * * ?', // increments
    '0 0 12 ? * MON-FRI',
    '0 0 1 L * ?', // last day of the month
    '0 0 1 15W * ?',
    '0 0 1 ? * 6#3', // third Friday
    '0 0 1 ? * 6L',
    '0 0 1 1 JAN,jul ? 2030',
  ])('accepts %s', expr => {
    expect(checkElasticsearchCron('p', 'schedule', expr)).toBe(expr);
  });

  it.each([
    ['0 2 * * *', /5 elements, 6 or 7 are required/], // a Kubernetes CronJob schedule
    ['0 30 1 * * *', /exactly one of day_of_month and day_of_week must be "\?"/],
    ['0 30 1 ? * ?', /exactly one of day_of_month and day_of_week/],
    ['60 30 1 * * ?', /seconds "60"/],
    ['0 30 24 * * ?', /hours "24"/],
    ['0 0 1 ? * 0', /day_of_week "0"/], // Quartz days are 1-7, Sunday = 1
    ['0 0 1 0 * ?', /day_of_month "0"/],
    ['0 0 1 * 13 ?', /month "13"/],
    ['0 0/0 1 * * ?', /increment "0"/],
    ['0 0 1 ? * 6#6', /week of the month is 1-5/],
    ['0 0 1 * * ? 1969', /year "1969"/],
    ['0 0 ? * * 1', /"\?" is only allowed in day_of_month and day_of_week/],
  ])('refuses %s', (expr, why) => {
    expectValidationError(() => checkElasticsearchCron('test/Snapshots', 'schedule', expr), { path: 'test/Snapshots', field: 'schedule', value: expr, allowed: why });
  });
});

describe('time values and names', () => {
  it.each(['30d', '12h', '90m', '1s', '500ms', '10micros', '7nanos'])('accepts the time value %s', v => expect(checkTimeValue('p', 'f', v)).toBe(v));
  it.each(['30days', '1w', '30', '0d', '-1d', ' 30d', '30D'])('refuses the time value %s', v => {
    expectValidationError(() => checkTimeValue('p', 'retention.expire_after', v), { field: 'retention.expire_after', value: v, allowed: /units d, h, m, s, ms, micros, nanos/ });
  });
  it.each(['Logs', '_archive', 'log archive', 'a/b', 'a,b', 'a#b', 'a*', ''])('refuses the repository name %j', v => {
    expectValidationError(() => checkSnapshotName('p', 'repository', v), { field: 'repository', value: v, allowed: /lower-case name/ });
  });
});

describe('request bodies', () => {
  it('registers an S3 repository on the keystore client, under the environment folder', () => {
    const body = s3RepositoryBody(plan);
    expect(body).toEqual({ type: 's3', settings: { bucket: 'finance-ai-backups', base_path: 'prod/elasticsearch', client: 'default', compress: true } });
    expect(() => validateS3RepositoryBody('p', body)).not.toThrow();
  });

  it('snapshots the daily log indices without global state, expiring them after the retention', () => {
    const body = slmPolicyBody(plan);
    expect(body).toEqual({
      schedule: '0 30 1 * * ?', name: '<log-archive-{now/d}>', repository: 'log-archive',
      config: { indices: ['quality-billing-*'], ignore_unavailable: true, include_global_state: false },
      retention: { expire_after: '30d', min_count: 3, max_count: 60 },
    });
    expect(() => validateSlmPolicyBody('p', body)).not.toThrow();
  });

  it('restores renamed, without the lifecycle policy that would delete an old index at once', () => {
    const body = restoreRequestBody(undefined, 1) as Record<string, unknown>;
    expect(body).toMatchObject({ indices: 'quality-billing-*', rename_pattern: '(.+)', rename_replacement: 'restored-$1', include_global_state: false, ignore_index_settings: ['index.lifecycle.name'] });
    expect('quality-billing-2026.11.01'.replace(new RegExp(body.rename_pattern as string), (body.rename_replacement as string).replace('$1', '$&'))).toBe('restored-quality-billing-2026.11.01');
  });

  const good = slmPolicyBody(plan);
  it.each([
    ['a missing repository', { ...good, repository: undefined }, 'slmPolicy.repository', undefined, /required/],
    ['an expire_after in a unit Elasticsearch does not know', { ...good, retention: { ...good.retention, expire_after: '30days' } }, 'slmPolicy.retention.expire_after', '30days', /units d, h, m/],
    ['a five-field schedule', { ...good, schedule: '30 1 * * *' }, 'slmPolicy.schedule', '30 1 * * *', /6 or 7 are required/],
    ['min_count above max_count', { ...good, retention: { ...good.retention, min_count: 61 } }, 'slmPolicy.retention.min_count', 61, /at most retention.max_count \(60\)/],
    ['a max_count of 0', { ...good, retention: { ...good.retention, max_count: 0 } }, 'slmPolicy.retention.max_count', 0, /at least 1/],
    ['no indices', { ...good, config: { ...good.config, indices: [] } }, 'slmPolicy.config.indices', [], /non-empty list/],
    ['an unknown field', { ...good, retain: {} }, 'slmPolicy.retain', {}, /one of schedule, name, repository, config, retention/],
    ['an upper-case snapshot name', { ...good, name: '<Logs-{now/d}>' }, 'slmPolicy.name', '<Logs-{now/d}>', /lower-case/],
  ] as const)('refuses an SLM policy with %s', (_what, body, field, value, allowed) => {
    expectValidationError(() => validateSlmPolicyBody('test/Snapshots', body as never), { path: 'test/Snapshots', field, value, allowed });
  });

  const repo = s3RepositoryBody(plan);
  it.each([
    ['no bucket', { ...repo, settings: { ...repo.settings, bucket: undefined } }, 'repository.settings.bucket', undefined, /required/],
    ['a base_path starting with "/"', { ...repo, settings: { ...repo.settings, base_path: '/prod/elasticsearch' } }, 'repository.settings.base_path', '/prod/elasticsearch', /start or end with "\/"/],
    ['credentials as repository settings', { ...repo, settings: { ...repo.settings, access_key: 'AKIA' } }, 'repository.settings.access_key', 'AKIA', /keystore settings/],
    ['another type', { ...repo, type: 'fs' }, 'repository.type', 'fs', /"s3"/],
  ] as const)('refuses a repository with %s', (_what, body, field, value, allowed) => {
    expectValidationError(() => validateS3RepositoryBody('test/Snapshots', body as never), { path: 'test/Snapshots', field, value, allowed });
  });
});
