import { Testing } from 'cdk8s';
import { main as restoreMain, restoreObjects } from '../../bin/restore';
import { RedisBackup } from '../../constructs/backup/redis-backup';
import { RedisRestore, redisRestoreObjects } from '../../constructs/backup/redis-restore';
import { RedisReplication } from '../../constructs/data/redis-replication';
import { ENVIRONMENTS } from '../../lib/environments';
import { ValidationError } from '../../lib/errors';
import { SecretKeyRef } from '../../lib/secrets';
import { MerchantAnalysisStack } from '../../stacks/merchant-analysis-stack';
import { shippedSystem } from '../../stacks/systems';
import { envOf, expectValidationError, find, K8sObject, podSpec, synth, synthChart, testChart } from '../helpers';

const storage = {
  bucket: 'ma-backups', prefix: 'prod', region: 'us-east-1',
  accessKeyId: SecretKeyRef.of('backup-s3-credentials', 'access-key-id'), secretAccessKey: SecretKeyRef.of('backup-s3-credentials', 'secret-access-key'),
};

describe('RedisBackup in merchant-analysis (seed 003: redis-cli save)', () => {
  const { stack, objects } = synthChart('merchant-analysis', ENVIRONMENTS.prod);

  it('snapshots daily at 02:30 in the environment\'s time zone, inside the maintenance window\'s hours, with deadlines the planner counts', () => {
    const cron = find(objects, 'CronJob', 'merchant-analysis-redis-backup');
    expect(cron.metadata.labels!['app.kubernetes.io/component']).toBe('backup');
    expect(cron.spec).toEqual(expect.objectContaining({ schedule: '30 2 * * *', timeZone: 'Asia/Shanghai', startingDeadlineSeconds: 3600, concurrencyPolicy: 'Forbid' }));
    expect(cron.spec.jobTemplate.spec.activeDeadlineSeconds).toBe(3600);
    const plan = stack.capacity;
    expect(plan.rows.map(r => r.workload.name)).toContain('merchant-analysis-redis-backup');
    expect(plan.checks.find(c => c.name === 'survives losing one node')!.passed).toBe(true);
    expect(plan.passed).toBe(true);
  });

  it('takes the RDB from the data pods with the server\'s image and password, and uploads it as kind "redis" with the environment\'s retention', () => {
    const cron = find(objects, 'CronJob', 'merchant-analysis-redis-backup');
    const [snapshot] = podSpec(cron).initContainers;
    expect(snapshot.image).toBe(find(objects, 'StatefulSet', 'merchant-analysis-redis').spec.template.spec.containers[0].image);
    const env = envOf(snapshot);
    expect(env.REDIS_HOSTS).toBe([0, 1, 2].map(i => `merchant-analysis-redis-${i}.merchant-analysis-redis-headless:6379`).join(' '));
    expect(snapshot.env.find((e: any) => e.name === 'REDISCLI_AUTH').valueFrom).toEqual({ secretKeyRef: { name: 'redis-credentials', key: 'password' } });
    const upload = envOf(podSpec(cron).containers[0]);
    expect(upload).toEqual(expect.objectContaining({ BACKUP_KIND: 'redis', RETENTION_DAYS: String(ENVIRONMENTS.prod.backup && ENVIRONMENTS.prod.backup.retentionDays), MIN_KEEP: '3' }));
    expect(find(objects, 'ConfigMap', 'merchant-analysis-redis-backup-scripts').data['snapshot.sh']).toContain('--rdb');
  });

  it('opens the Redis port between the backup and the data pods, in both policies', () => {
    const backupPolicy = find(objects, 'NetworkPolicy', 'merchant-analysis-redis-backup');
    const redisSelector = find(objects, 'StatefulSet', 'merchant-analysis-redis').spec.selector.matchLabels;
    expect(backupPolicy.spec.egress).toContainEqual({ to: [{ podSelector: { matchLabels: redisSelector } }], ports: [{ protocol: 'TCP', port: 6379 }] });
    const redisPolicy = find(objects, 'NetworkPolicy', 'merchant-analysis-redis');
    expect(redisPolicy.spec.ingress).toContainEqual({ from: [{ podSelector: { matchLabels: backupPolicy.spec.podSelector.matchLabels } }], ports: [{ protocol: 'TCP', port: 6379 }] });
  });

  it('is listed among the backup flows, in staging too, and not in dev (no backups)', () => {
    expect((stack as MerchantAnalysisStack).backupFlows().map(f => f.label)).toContain('Redis RDB daily');
    expect(synthChart('merchant-analysis', ENVIRONMENTS.staging).objects.some(o => o.kind === 'CronJob' && o.metadata.name === 'merchant-analysis-redis-backup')).toBe(true);
    expect(synthChart('merchant-analysis', ENVIRONMENTS.dev).objects.some(o => o.metadata.name === 'merchant-analysis-redis-backup')).toBe(false);
  });

  it('backs up no Redis of the PostgreSQL systems: cache, broker queue and results are not restored (see RedisBackup)', () => {
    for (const system of ['quality-billing', 'qcat', 'finance-ai', 'ai-bookkeeping']) {
      expect(synthChart(system, ENVIRONMENTS.prod).objects.filter(o => /redis-backup/.test(o.metadata.name))).toEqual([]);
    }
  });
});

describe('RedisBackup and RedisRestore bad input', () => {
  it('refuses a Redis that evicts keys (a cache): nothing in it is worth restoring', () => {
    const chart = testChart();
    const redis = new RedisReplication(chart, 'Cache', { usedAsBroker: false });
    expectValidationError(() => new RedisBackup(chart, 'Backup', { redis, backupStorage: storage }), { path: 'test/Backup', field: 'redis', value: 'test/Cache', allowed: /keeps its keys.*evicts keys/ });
  });

  it('refuses a schedule outside merchant-analysis\'s maintenance window\'s hours at synth, naming the CronJob', () => {
    const chart = shippedSystem('merchant-analysis').create(ENVIRONMENTS.prod) as MerchantAnalysisStack;
    new RedisBackup(chart, 'NoonRedisBackup', { redis: chart.redis, backupStorage: storage, schedule: '0 12 * * *', timeZone: 'Asia/Shanghai' });
    let error: unknown;
    try { Testing.synth(chart); } catch (e) { error = e; }
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toEqual(expect.objectContaining({ path: 'merchant-analysis/NoonRedisBackup/CronJob', field: 'schedule', value: '0 12 * * *' }));
    expect((error as ValidationError).allowed).toContain('within the maintenance window\'s hours 02:00–04:00 Asia/Shanghai');
  });

  it('refuses a restore of a snapshot id that is neither "latest" nor a UTC time', () => {
    const chart = shippedSystem('merchant-analysis').create(ENVIRONMENTS.prod) as MerchantAnalysisStack;
    expectValidationError(() => new RedisRestore(chart, 'R', { backup: chart.redisBackup!, backupId: 'yesterday' }), { path: 'merchant-analysis/R', field: 'backupId', value: 'yesterday', allowed: /latest/ });
  });

  it('refuses a restore for a chart that backs up no Redis', () => {
    const chart = shippedSystem('quality-billing').create(ENVIRONMENTS.prod);
    expectValidationError(() => redisRestoreObjects(chart), { path: 'quality-billing', field: 'store', value: 'redis', allowed: /merchant-analysis/ });
  });
});

describe('redisRestoreObjects (npm run restore -- --store redis)', () => {
  const objects = redisRestoreObjects(shippedSystem('merchant-analysis').create(ENVIRONMENTS.prod), { now: new Date('2026-11-29T18:00:00Z') }) as K8sObject[];
  const job = find(objects, 'Job', 'merchant-analysis-redis-restore-20261129t1800');

  it('downloads the snapshot, then writes data pod 0\'s volume with the server\'s image, once', () => {
    expect(job.spec.backoffLimit).toBe(0);
    const pod = podSpec(job);
    expect(pod.volumes).toContainEqual({ name: 'data', persistentVolumeClaim: { claimName: 'data-merchant-analysis-redis-0' } });
    expect(envOf(pod.initContainers[0])).toEqual(expect.objectContaining({ BACKUP_KIND: 'redis', BACKUP_ID: 'latest', S3_BUCKET: 'merchant-analysis-backups' }));
    const restore = envOf(pod.containers[0]);
    expect(restore).toEqual(expect.objectContaining({ DATA_DIR: '/data', DATABASES: '16' }));
    expect(restore.STOPPED_HOSTS.split(' ')).toEqual([0, 1, 2].map(i => `merchant-analysis-redis-${i}.merchant-analysis-redis-headless:6379`).concat('merchant-analysis-redis-sentinel:26379'));
    expect(pod.containers[0].volumeMounts).toContainEqual({ name: 'data', mountPath: '/data' });
  });

  it('carries its scripts and the policies that let it see whether the data pods and sentinels are stopped', () => {
    expect(Object.keys(find(objects, 'ConfigMap', 'merchant-analysis-redis-restore-scripts').data).sort()).toEqual(['fetch.sh', 'redis-restore.sh']);
    const policies = objects.filter(o => o.kind === 'NetworkPolicy').map(o => o.metadata.name).sort();
    expect(policies).toEqual(['merchant-analysis-redis-restore', 'merchant-analysis-redis-restore-to-merchant-analysis-redis', 'merchant-analysis-redis-restore-to-merchant-analysis-redis-sent']);
    expect(objects.map(o => o.kind).sort()).toEqual(['ConfigMap', 'Job', 'NetworkPolicy', 'NetworkPolicy', 'NetworkPolicy']);
  });

  it('restores a single Redis (no sentinels) the same way', () => {
    const chart = testChart();
    const set = new RedisReplication(chart, 'Redis', { replicas: 0, sentinels: 1 });
    new RedisBackup(chart, 'Backup', { redis: set, backupStorage: storage });
    const o = redisRestoreObjects(chart, { jobName: 'r' }) as K8sObject[];
    expect(envOf(podSpec(find(o, 'Job', 'r')).containers[0]).STOPPED_HOSTS).toBe('redis-0.redis-headless:6379 redis-sentinel:26379');
    expect(synth(chart).length).toBeGreaterThan(0);
  });
});

describe('npm run restore -- --system NAME --store redis|minio', () => {
  it('emits the Redis restore of merchant-analysis and the MinIO restore of ai-bookkeeping, in their namespaces', () => {
    const redis = restoreObjects({ system: 'merchant-analysis', env: 'prod', store: 'redis', backup: '20261125T023000Z' }, new Date('2026-11-25T06:40:00Z'));
    expect(redis.map(o => `${o.kind}/${o.metadata.name}`)).toContain('Job/merchant-analysis-redis-restore-20261125t0640');
    expect(envOf(podSpec(redis.find(o => o.kind === 'Job') as K8sObject).initContainers[0]).BACKUP_ID).toBe('20261125T023000Z');
    expect(redis.every(o => o.metadata.namespace === 'merchant-analysis')).toBe(true);
    const minio = restoreObjects({ system: 'ai-bookkeeping', env: 'staging', store: 'minio', jobName: 'm' });
    expect(minio.map(o => `${o.kind}/${o.metadata.name}`)).toContain('Job/m');
    expect(minio.every(o => o.metadata.namespace === 'ai-bookkeeping')).toBe(true);
  });

  it('fails with one clear message for a system without that store, an unknown store, a flag the store does not take, or an environment without backups', () => {
    const errors: string[] = [];
    const spy = jest.spyOn(console, 'error').mockImplementation((m: string) => { errors.push(m); });
    try {
      expect(restoreMain(['--env', 'prod', '--system', 'qcat', '--store', 'redis'])).toBe(1);
      expect(errors.pop()).toMatch(/"redis".*a store qcat has: "postgres" \(redis is in merchant-analysis\)/);
      expect(restoreMain(['--env', 'prod', '--system', 'qcat', '--store', 'tape'])).toBe(1);
      expect(errors.pop()).toMatch(/"tape".*one of "postgres", "mongodb", "redis", "minio"/);
      expect(restoreMain(['--env', 'prod', '--system', 'ai-bookkeeping', '--store', 'minio', '--backup', 'x'])).toBe(1);
      expect(errors.pop()).toMatch(/--store minio.*--backup.*one of --name/);
      expect(restoreMain(['--env', 'dev', '--system', 'merchant-analysis', '--store', 'redis'])).toBe(1);
      expect(errors.pop()).toMatch(/backups enabled: this environment has none to restore/);
    } finally {
      spy.mockRestore();
    }
  });
});
