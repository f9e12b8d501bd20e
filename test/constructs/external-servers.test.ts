import { AppService } from '../../constructs/app/app-service';
import { CeleryWorker } from '../../constructs/app/celery-worker';
import { MigrationJob } from '../../constructs/app/migration-job';
import { PostgresBackup } from '../../constructs/backup/postgres-backup';
import { RestoreTest } from '../../constructs/backup/restore-test';
import { Postgres } from '../../constructs/data/postgres';
import { Redis } from '../../constructs/data/redis';
import { S3Location } from '../../lib/backup/s3';
import { IMAGE_CATALOG } from '../../lib/images';
import { SecretKeyRef } from '../../lib/secrets';
import { envOf, expectValidationError, find, K8sObject, podSpec, synth, testChart } from '../helpers';

// A managed PostgreSQL (and Redis) the chart did not create, given only an address and Secrets.
const HOST = 'orders.c1x2y3.eu-west-1.rds.amazonaws.com';
const SUBNET = '10.20.0.0/16';
const BUCKET: S3Location = {
  bucket: 'orders-backups', prefix: 'prod/postgres', region: 'eu-west-1',
  accessKeyId: SecretKeyRef.of('s3', 'id'), secretAccessKey: SecretKeyRef.of('s3', 'secret'),
};
const external = (extra: Partial<Parameters<typeof Postgres.fromConnection>[2]> = {}) => ({
  name: 'orders-db', host: HOST, cidr: SUBNET, database: 'orders', user: 'orders_app',
  passwordSecret: SecretKeyRef.of('orders-rds', 'password'), urlSecret: SecretKeyRef.of('orders-rds', 'url'), storage: '50Gi', ...extra,
});

function chartWithExternalDb(extra: Partial<Parameters<typeof Postgres.fromConnection>[2]> = {}) {
  const chart = testChart();
  const db = Postgres.fromConnection(chart, 'Db', external(extra));
  const migration = new MigrationJob(chart, 'Migrate', { settings: { image: 'orders:3.1.4' } }).connectTo(db);
  const api = new AppService(chart, 'Api', { name: 'orders-api', replicas: 2, settings: { image: 'orders:3.1.4' } }).connectTo(db).waitFor(migration);
  const backup = new PostgresBackup(chart, 'Backup', { postgres: db, backupStorage: BUCKET });
  const restoreTest = new RestoreTest(chart, 'RestoreTest', { postgres: db, backupStorage: BUCKET });
  return { chart, db, migration, api, backup, restoreTest };
}

const egressTo = (policy: K8sObject, cidr: string) => policy.spec.egress.filter((r: any) => r.to.some((p: any) => p.ipBlock?.cidr === cidr));

describe('Postgres.fromConnection: a database this chart did not create', () => {
  const { chart, migration } = chartWithExternalDb();
  const objects = synth(chart);

  it('hands the app and the migration Job DATABASE_URL from the given Secret', () => {
    expect(envOf(podSpec(find(objects, 'Deployment', 'orders-api')).containers[0]).DATABASE_URL).toBe('secret:orders-rds/url');
    const job = find(objects, 'Job', migration.jobName());
    expect(envOf(podSpec(job).containers[0]).DATABASE_URL).toBe('secret:orders-rds/url');
  });

  it('lets each client reach the database\'s address block on its port, and nothing more towards it', () => {
    for (const name of ['orders-api', 'migrate', 'orders-db-backup']) {
      expect(egressTo(find(objects, 'NetworkPolicy', name), SUBNET)).toEqual([{ to: [{ ipBlock: { cidr: SUBNET } }], ports: [{ protocol: 'TCP', port: 5432 }] }]);
    }
    // The restore drill runs its own server and never reaches this one.
    expect(egressTo(find(objects, 'NetworkPolicy', 'orders-db-restore-test'), SUBNET)).toEqual([]);
  });

  it('runs no server and writes no policy for server pods it does not have', () => {
    expect(objects.filter(o => o.kind === 'StatefulSet')).toEqual([]);
    expect(objects.filter(o => o.metadata.name.includes('-to-orders-db'))).toEqual([]);
    expect(objects.filter(o => o.kind === 'ConfigMap').map(o => o.metadata.name).sort()).toEqual(['migrate-wait-script', 'orders-db-backup-scripts']);
  });

  it('backs up through libpq to the given host with the password Secret, on scratch space sized by `storage`', () => {
    const pod = podSpec(find(objects, 'CronJob', 'orders-db-backup'));
    expect(envOf(pod.initContainers[0])).toMatchObject({
      PGHOST: HOST, PGPORT: '5432', PGUSER: 'orders_app', PGDATABASE: 'orders', PGPASSWORD: 'secret:orders-rds/password',
    });
    expect(pod.initContainers[0].image).toBe(IMAGE_CATALOG.postgres.toString());
    expect(pod.volumes.find((v: any) => v.name === 'work').emptyDir.sizeLimit).toBe('50Gi');
    expect(pod.volumes.find((v: any) => v.name === 'scripts').configMap.name).toBe('orders-db-backup-scripts');
    const restore = podSpec(find(objects, 'CronJob', 'orders-db-restore-test'));
    expect(envOf(restore.initContainers[1])).toEqual({ BACKUP_DIR: '/backup', SCRATCH_DIR: '/backup/server', TARGET_DATABASE: 'orders', DRILL_DIR: '/backup/drill/checks', DRILL_BUDGET_SECONDS: '21480' });
    expect(restore.volumes.find((v: any) => v.name === 'work').emptyDir.sizeLimit).toBe('25Gi'); // half of `storage`: the dump and the restored database
  });

  it('defaults the address block of an IPv4 host to that one address', () => {
    const c = testChart();
    const db = Postgres.fromConnection(c, 'Db', { host: '10.0.3.17', database: 'orders', user: 'orders' });
    new AppService(c, 'Api', { replicas: 1 }).connectTo(db);
    expect(egressTo(find(synth(c), 'NetworkPolicy', 'api'), '10.0.3.17/32')).toHaveLength(1);
  });

  it('refuses a host name without the address block a NetworkPolicy needs', () => {
    expectValidationError(() => Postgres.fromConnection(testChart(), 'Db', { host: HOST, database: 'orders', user: 'orders' }),
      { path: 'test/Db', field: 'cidr', value: undefined, allowed: /address block .*0\.0\.0\.0\/0/ });
  });

  it('needs the backup\'s scratch size when the database\'s size is unknown', () => {
    const c = testChart();
    const db = Postgres.fromConnection(c, 'Db', { host: '10.0.3.17', database: 'orders', user: 'orders' });
    expectValidationError(() => new PostgresBackup(c, 'Backup', { postgres: db, backupStorage: BUCKET }),
      { path: 'test/Backup', field: 'scratchSize', value: undefined, allowed: /not run by this chart/ });
    new PostgresBackup(c, 'Backup2', { postgres: db, backupStorage: BUCKET, scratchSize: '20Gi' });
  });

  it('skips the max_connections check when the server\'s limit is not given, and holds the budget against it when it is', () => {
    // 2 pods + 1 surge x uvicorn workers x 20, the migration's 2, the backup's and restore test's 2 each.
    expect(() => synth(chartWithExternalDb().chart)).not.toThrow();
    const { chart: tight, db } = chartWithExternalDb({ maxConnections: 50 });
    const needed = db.connectionBudget().maxConnections;
    expect(needed).toBeGreaterThan(50);
    expectValidationError(() => synth(tight), { path: 'test/Db', field: 'maxConnections', value: 50, allowed: new RegExp(`at least ${needed}: .*orders-api`) });
    expect(() => synth(chartWithExternalDb({ maxConnections: needed }).chart)).not.toThrow();
  });
});

describe('Redis.fromConnection: a cache this chart did not create', () => {
  it('hands a worker the same variables as an in-cluster Redis, with egress to its address', () => {
    const chart = testChart();
    const redis = Redis.fromConnection(chart, 'Cache', { host: '10.0.5.9', passwordSecret: SecretKeyRef.of('elasticache', 'auth') });
    new CeleryWorker(chart, 'Worker', { name: 'worker', queues: ['default'] }).connectTo(redis.cache).connectTo(redis.broker);
    const objects = synth(chart);
    expect(envOf(podSpec(find(objects, 'Deployment', 'worker')).containers[0])).toMatchObject({
      REDIS_PASSWORD: 'secret:elasticache/auth',
      REDIS_URL: 'redis://:$(REDIS_PASSWORD)@10.0.5.9:6379/0',
      CELERY_BROKER_URL: 'redis://:$(REDIS_PASSWORD)@10.0.5.9:6379/1',
    });
    expect(egressTo(find(objects, 'NetworkPolicy', 'worker'), '10.0.5.9/32')[0]).toEqual({ to: [{ ipBlock: { cidr: '10.0.5.9/32' } }], ports: [{ protocol: 'TCP', port: 6379 }] });
    expect(objects.filter(o => o.kind === 'StatefulSet')).toEqual([]);
  });

  it('refuses a broker on a server declared to evict keys', () => {
    const chart = testChart();
    const redis = Redis.fromConnection(chart, 'Cache', { host: '10.0.5.9', usedAsBroker: false });
    expectValidationError(() => new CeleryWorker(chart, 'Worker', { queues: ['default'] }).connectTo(redis.broker),
      { path: 'test/Cache', field: 'usedAsBroker', value: false, allowed: /Celery broker/ });
  });
});
