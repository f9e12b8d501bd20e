import { PointInTimeRecovery } from '../../constructs/backup/point-in-time-recovery';
import { PointInTimeRestore } from '../../constructs/backup/point-in-time-restore';
import { PostgresBackup } from '../../constructs/backup/postgres-backup';
import { PostgresRestore } from '../../constructs/backup/postgres-restore';
import { RestoreTest } from '../../constructs/backup/restore-test';
import { Postgres } from '../../constructs/data/postgres';
import { main as restoreMain, restoreObjects } from '../../bin/restore';
import { S3Location } from '../../lib/backup/s3';
import { ENVIRONMENTS } from '../../lib/environments';
import { SecretKeyRef } from '../../lib/secrets';
import { envOf, expectValidationError, find, podSpec, synth, synthStack, testChart } from '../helpers';

const STORAGE: S3Location = {
  bucket: 'qb-backups', prefix: 'test/postgres', region: 'eu-west-1',
  accessKeyId: SecretKeyRef.of('s3', 'id'), secretAccessKey: SecretKeyRef.of('s3', 'secret'),
};

function setup() {
  const chart = testChart();
  const postgres = new Postgres(chart, 'Postgres', { tier: 'minimum' });
  return { chart, postgres };
}

describe('PostgresBackup', () => {
  it('is a CronJob at 02:00 in its time zone that never overlaps, skips runs missed by an hour and keeps failed Jobs', () => {
    const { chart, postgres } = setup();
    new PostgresBackup(chart, 'Backup', { postgres, backupStorage: STORAGE, timeZone: 'Asia/Shanghai', tier: 'minimum' });
    const cj = find(synth(chart), 'CronJob', 'postgres-backup');
    expect(cj.spec).toMatchObject({ schedule: '0 2 * * *', timeZone: 'Asia/Shanghai', concurrencyPolicy: 'Forbid', startingDeadlineSeconds: 3600, failedJobsHistoryLimit: 3 });
    expect(cj.spec.jobTemplate.spec.activeDeadlineSeconds).toBe(6 * 3600);
    const pod = podSpec(cj);
    // Dump (postgres image) first, upload (aws-cli image) after, on a shared scratch volume sized like the database.
    expect(pod.initContainers.map((c: any) => [c.name, c.image.split(':')[0]])).toEqual([['dump', 'postgres']]);
    expect(pod.containers.map((c: any) => [c.name, c.image.split(':')[0]])).toEqual([['upload', 'amazon/aws-cli']]);
    expect(pod.volumes.find((v: any) => v.name === 'work').emptyDir.sizeLimit).toBe('40Gi');
    expect(pod.containers[0].resources.limits).toEqual({ cpu: '500m', memory: '512Mi' });
    expect(pod.containers[0].securityContext).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
  });

  it('takes every credential from Secret references and sends the retention and bucket to the upload', () => {
    const { chart, postgres } = setup();
    new PostgresBackup(chart, 'Backup', { postgres, backupStorage: { ...STORAGE, endpoint: 'https://minio.internal:9000' }, retentionDays: 7 });
    const pod = podSpec(find(synth(chart), 'CronJob', 'postgres-backup'));
    expect(envOf(pod.initContainers[0]).PGPASSWORD).toBe('secret:db-credentials/password');
    expect(envOf(pod.containers[0])).toMatchObject({
      AWS_ACCESS_KEY_ID: 'secret:s3/id', AWS_SECRET_ACCESS_KEY: 'secret:s3/secret', RETENTION_DAYS: '7', MIN_KEEP: '3',
      S3_BUCKET: 'qb-backups', S3_PREFIX: 'test/postgres', S3_ENDPOINT: 'https://minio.internal:9000', AWS_S3_ADDRESSING_STYLE: 'path',
    });
  });

  it('may reach only the server and the storage port, and the server accepts it', () => {
    const { chart, postgres } = setup();
    new PostgresBackup(chart, 'Backup', { postgres, backupStorage: { ...STORAGE, endpoint: 'https://minio.internal:9000', cidr: '10.9.0.0/16' } });
    const objects = synth(chart);
    const own = find(objects, 'NetworkPolicy', 'postgres-backup');
    expect(own.spec.egress).toEqual([
      { to: [{ podSelector: { matchLabels: postgres.selector } }], ports: [{ protocol: 'TCP', port: 5432 }] },
      { to: [{ ipBlock: { cidr: '10.9.0.0/16' } }], ports: [{ protocol: 'TCP', port: 9000 }] },
    ]);
    const server = find(objects, 'NetworkPolicy', 'postgres-backup-to-postgres');
    expect(server.spec.podSelector.matchLabels).toEqual(postgres.selector);
    expect(server.spec.ingress[0].ports).toEqual([{ protocol: 'TCP', port: 5432 }]);
  });

  it('counts its connections in the server\'s budget', () => {
    const { chart, postgres } = setup();
    const before = postgres.maxConnections();
    new PostgresBackup(chart, 'Backup', { postgres, backupStorage: STORAGE });
    expect(postgres.connectionBudget().lines.map(l => l.client)).toContain('postgres-backup (snapshot session + pg_dump)');
    expect(postgres.maxConnections()).toBeGreaterThan(before);
  });

  it('ships the scripts once per server, shared by backup and restore test', () => {
    const { chart, postgres } = setup();
    new PostgresBackup(chart, 'Backup', { postgres, backupStorage: STORAGE });
    new RestoreTest(chart, 'RestoreTest', { postgres, backupStorage: STORAGE });
    const maps = synth(chart).filter(o => o.kind === 'ConfigMap' && o.metadata.name === 'postgres-backup-scripts');
    expect(maps).toHaveLength(1);
    expect(Object.keys(maps[0].data).sort()).toEqual(['drill-check.sh', 'drill-record.sh', 'dump.sh', 'fetch.sh', 'restore-drill.sh', 'restore.sh', 'upload.sh']);
  });

  it.each([
    ['retentionDays', { retentionDays: 0 }, 'retentionDays', 0, /integer from 1/],
    ['bucket', { backupStorage: { ...STORAGE, bucket: 'Bad_Bucket' } }, 'backupStorage.bucket', 'Bad_Bucket', /S3 bucket name/],
    ['prefix', { backupStorage: { ...STORAGE, prefix: '/prod/' } }, 'backupStorage.prefix', '/prod/', /key prefix/],
    ['plain-HTTP endpoint', { backupStorage: { ...STORAGE, endpoint: 'http://minio:9000' } }, 'backupStorage.endpoint', 'http://minio:9000', /HTTPS endpoint/],
    ['schedule', { schedule: '0 25 * * *' }, 'schedule', '0 25 * * *', /cron/i],
    ['cidr', { backupStorage: { ...STORAGE, cidr: 'minio' } }, 'backupStorage.cidr', 'minio', /IPv4 CIDR/],
  ] as const)('refuses a bad %s, naming the field', (_label, props, field, value, allowed) => {
    const { chart, postgres } = setup();
    expectValidationError(() => new PostgresBackup(chart, 'Backup', { postgres, backupStorage: STORAGE, ...props as object }), { path: /Backup$/, field, value, allowed });
  });
});

describe('RestoreTest', () => {
  const drill = (extra: object = {}) => {
    const { chart, postgres } = setup();
    const budget = postgres.maxConnections();
    const test = new RestoreTest(chart, 'RestoreTest', { postgres, backupStorage: STORAGE, ...extra });
    const objects = synth(chart);
    return { postgres, budget, test, objects, cj: find(objects, 'CronJob', 'postgres-restore-test') };
  };

  it('runs monthly, once (a failure is a failed Job for the alert), and its finished Jobs and pods are deleted after a week', () => {
    const { cj } = drill();
    expect(cj.spec.schedule).toBe('0 4 1 * *');
    expect(cj.spec.jobTemplate.spec.backoffLimit).toBe(0);
    expect(cj.spec.jobTemplate.spec.ttlSecondsAfterFinished).toBe(7 * 86400);
    expect(envOf(podSpec(cj).initContainers[0]).BACKUP_ID).toBe('latest');
  });

  it('restores into a throwaway server it starts in its own pod, from the server\'s image, on a scratch emptyDir of half the server\'s 40Gi volume', () => {
    const { cj, postgres } = drill();
    const pod = podSpec(cj);
    const restore = pod.initContainers[1];
    expect(restore.image).toBe(postgres.image.toString());
    // A check of the drill: drill-check.sh runs the step and records its outcome.
    expect(restore.command).toEqual(['bash', '/opt/backup/drill-check.sh', 'restore it into a throwaway server and compare with its manifest', 'bash', '/opt/backup/restore-drill.sh']);
    // The dump and the throwaway server's data directory share the scratch volume.
    expect(envOf(restore)).toEqual({ BACKUP_DIR: '/backup', SCRATCH_DIR: '/backup/server', TARGET_DATABASE: 'quality_billing', DRILL_DIR: '/backup/drill/checks', DRILL_BUDGET_SECONDS: '21480' });
    expect(restore.volumeMounts).toContainEqual({ name: 'work', mountPath: '/backup' });
    expect(pod.volumes.find((v: any) => v.name === 'work').emptyDir.sizeLimit).toBe('20Gi');
    // The scheduler places the pod only where the node's disk has room for its scratch volumes: 20Gi and /tmp's 256Mi.
    expect(restore.resources.requests['ephemeral-storage']).toBe(`${20 * 1024 + 256}Mi`);
  });

  it('never connects to the live server: no libpq settings or password, no reserved connection, no network path to it', () => {
    const { cj, objects, postgres, budget } = drill();
    for (const c of [...podSpec(cj).initContainers, ...podSpec(cj).containers]) {
      expect(Object.keys(envOf(c)).filter(k => k.startsWith('PG'))).toEqual([]);
    }
    expect(postgres.connectionBudget().lines.map(l => l.client).filter(c => c.includes('restore-test'))).toEqual([]);
    expect(postgres.maxConnections()).toBe(budget);
    expect(objects.filter(o => o.metadata.name === 'postgres-restore-test-to-postgres')).toEqual([]);
    const egress = find(objects, 'NetworkPolicy', 'postgres-restore-test').spec.egress;
    expect(egress.flatMap((r: any) => r.ports ?? []).map((p: any) => p.port)).not.toContain(5432);
  });

  it('counts its CPU, memory and scratch space in the capacity plan', () => {
    const { test, cj } = drill({ scratchStorage: '25Gi' });
    expect(podSpec(cj).volumes.find((v: any) => v.name === 'work').emptyDir.sizeLimit).toBe('25Gi');
    const [sizing] = test.sizings();
    expect(sizing).toMatchObject({ name: 'postgres-restore-test', kind: 'CronJob', replicas: 1, containers: [test.resources], initContainers: [test.resources] });
    // The dump and the throwaway server's data (25Gi) and /tmp (256Mi).
    expect(sizing.scratchStorage!.bytes).toBe(25 * 2 ** 30 + 256 * 2 ** 20);
  });

  it('refuses a scratch storage size that is not a quantity', () => {
    const { chart, postgres } = setup();
    expectValidationError(() => new RestoreTest(chart, 'RestoreTest', { postgres, backupStorage: STORAGE, scratchStorage: 'lots' }),
      { path: /RestoreTest$/, field: 'scratchStorage', value: 'lots', allowed: /byte quantity/ });
  });
});

describe('PostgresRestore', () => {
  it('is a one-try Job restoring a named backup without replacing unless asked', () => {
    const { chart, postgres } = setup();
    new PostgresRestore(chart, 'Restore', { postgres, backupStorage: STORAGE, backupId: '20261125T020000Z', jobName: 'restore-1' });
    const job = find(synth(chart), 'Job', 'restore-1');
    expect(job.spec.backoffLimit).toBe(0);
    expect(envOf(podSpec(job).initContainers[0]).BACKUP_ID).toBe('20261125T020000Z');
    expect(envOf(podSpec(job).containers[0])).toMatchObject({ TARGET_DATABASE: 'quality_billing', REPLACE: 'false' });
  });

  it('refuses a backup id that is neither "latest" nor a backup time', () => {
    const { chart, postgres } = setup();
    expectValidationError(() => new PostgresRestore(chart, 'Restore', { postgres, backupStorage: STORAGE, backupId: 'yesterday' }),
      { field: 'backupId', value: 'yesterday', allowed: /"latest" or a backup id/ });
  });
});

describe('PointInTimeRecovery', () => {
  function pitr() {
    const { chart, postgres } = setup();
    const recovery = new PointInTimeRecovery(chart, 'Pitr', { postgres, backupStorage: STORAGE, timeZone: 'Asia/Shanghai' });
    return { chart, postgres, recovery, objects: synth(chart) };
  }

  it('turns on WAL archiving through pgBackRest in the server\'s configuration', () => {
    const { objects } = pitr();
    const conf: string = find(objects, 'ConfigMap', 'postgres-config').data['postgresql.conf'];
    expect(conf).toContain("archive_mode = 'on'");
    expect(conf).toContain("archive_command = 'bash /etc/pgbackrest/pgbackrest-archive-push.sh %p'");
    expect(find(objects, 'ConfigMap', 'postgres-pgbackrest').data['pgbackrest-archive-push.sh']).toContain('pgbackrest --stanza="$STANZA" archive-push "$1"');
    expect(conf).toContain("archive_timeout = '60s'");
    const br: string = find(objects, 'ConfigMap', 'postgres-pgbackrest').data['pgbackrest.conf'];
    expect(br).toContain('repo1-s3-bucket=qb-backups');
    expect(br).toContain('repo1-s3-endpoint=s3.eu-west-1.amazonaws.com');
    expect(br).toContain('repo1-path=/test/postgres/pgbackrest');
    expect(br).toContain('repo1-retention-full=30');
    expect(br).toContain('pg1-path=/var/lib/postgresql/data/pgdata');
    expect(br).not.toMatch(/s3-key/);
  });

  it('gives the server the repository keys from the Secret, the configuration, and egress to the storage', () => {
    const { objects } = pitr();
    const sts = find(objects, 'StatefulSet', 'postgres');
    const server = podSpec(sts).containers[0];
    expect(envOf(server)).toMatchObject({ PGBACKREST_REPO1_S3_KEY: 'secret:s3/id', PGBACKREST_REPO1_S3_KEY_SECRET: 'secret:s3/secret', STANZA: 'postgres', INCR_RETENTION_DAYS: '7' });
    expect(server.volumeMounts).toContainEqual({ name: 'pgbackrest', mountPath: '/etc/pgbackrest', readOnly: true });
    expect(find(objects, 'NetworkPolicy', 'postgres').spec.egress).toContainEqual({ to: [{ ipBlock: { cidr: '0.0.0.0/0' } }], ports: [{ protocol: 'TCP', port: 443 }] });
  });

  it('schedules a daily full and 6-hourly incrementals that exec into that one pod only', () => {
    const { objects } = pitr();
    const full = find(objects, 'CronJob', 'postgres-backup-full');
    const incr = find(objects, 'CronJob', 'postgres-backup-incr');
    expect([full.spec.schedule, incr.spec.schedule]).toEqual(['0 3 * * *', '0 9,15,21 * * *']);
    expect(full.spec.timeZone).toBe('Asia/Shanghai');
    expect(podSpec(full).containers[0].args).toEqual(['exec', 'postgres-0', '--namespace', 'test', '--container', 'postgres', '--', 'bash', '/etc/pgbackrest/backup.sh', 'full']);
    expect(podSpec(incr).containers[0].args.at(-1)).toBe('incr');
    const role = find(objects, 'Role', 'postgres-backup-physical');
    expect(role.rules).toEqual([
      { apiGroups: [''], resources: ['pods'], verbs: ['get'], resourceNames: ['postgres-0'] },
      { apiGroups: [''], resources: ['pods/exec'], verbs: ['create', 'get'], resourceNames: ['postgres-0'] },
    ]);
  });

  it('refuses incrementals kept longer than their full backups, and being enabled twice', () => {
    const { chart, postgres } = setup();
    expectValidationError(() => new PointInTimeRecovery(chart, 'Pitr', { postgres, backupStorage: STORAGE, fullRetentionDays: 7, incrementalRetentionDays: 8 }),
      { field: 'incrementalRetentionDays', value: 8, allowed: /from 1 to 7/ });
    new PointInTimeRecovery(chart, 'Pitr2', { postgres, backupStorage: STORAGE });
    expectValidationError(() => new PointInTimeRecovery(chart, 'Pitr3', { postgres, backupStorage: STORAGE }),
      { field: 'walArchiving', value: 'pgBackRest to s3://qb-backups/test/postgres/pgbackrest', allowed: /once/ });
  });

  it('restores with a Job on the server\'s volume, to a time, a set or the latest state', () => {
    const { chart, recovery } = pitr();
    new PointInTimeRestore(chart, 'Restore', { recovery, target: 'time:2026-11-25 10:00:00+08', jobName: 'pitr-1' });
    const job = find(synth(chart), 'Job', 'pitr-1');
    expect(podSpec(job).volumes).toContainEqual({ name: 'data', persistentVolumeClaim: { claimName: 'data-postgres-0' } });
    expect(envOf(podSpec(job).containers[0])).toMatchObject({ RESTORE_TARGET: 'time:2026-11-25 10:00:00+08', PGDATA: '/var/lib/postgresql/data/pgdata' });
    for (const target of ['yesterday', 'time:noon', 'set:latest']) {
      expectValidationError(() => new PointInTimeRestore(chart, `R-${target}`, { recovery, target }), { field: 'target', value: target, allowed: /"latest", "set:<backup label>" or "time:/ });
    }
  });

  it('refuses a server with standbys (Patroni): the Job writes member 0\'s volume only, and names the manual steps', () => {
    const chart = testChart();
    const postgres = new Postgres(chart, 'Postgres', { standbys: 1 });
    const recovery = new PointInTimeRecovery(chart, 'Pitr', { postgres, backupStorage: STORAGE });
    expectValidationError(() => new PointInTimeRestore(chart, 'Restore', { recovery }),
      { path: /Restore$/, field: 'recovery.postgres.standbys', value: 1, allowed: /data-postgres-0 only.*patronictl -c \/etc\/postgresql\/patroni.yml remove postgres.*postgresStandbys: 0/s });
  });
});

describe('backups in QualityBillingStack', () => {
  it('dev has none; staging and prod back up daily with point-in-time recovery on the pgBackRest image', () => {
    const dev = synthStack(ENVIRONMENTS.dev).objects;
    expect(dev.filter(o => /backup|restore/.test(o.metadata.name))).toEqual([]);
    for (const [env, days] of [[ENVIRONMENTS.staging, '7'], [ENVIRONMENTS.prod, '30']] as const) {
      const { objects } = synthStack(env);
      const backup = find(objects, 'CronJob', 'quality-billing-postgres-backup');
      expect(backup.spec.timeZone).toBe('Asia/Shanghai');
      expect(envOf(podSpec(backup).containers[0])).toMatchObject({ RETENTION_DAYS: days, S3_BUCKET: 'quality-billing-backups', S3_PREFIX: `${env.name}/postgres` });
      find(objects, 'CronJob', 'quality-billing-postgres-restore-test');
      find(objects, 'CronJob', 'quality-billing-postgres-backup-full');
      find(objects, 'CronJob', 'quality-billing-postgres-backup-incr');
      expect(podSpec(find(objects, 'StatefulSet', 'quality-billing-postgres')).containers[0].image).toMatch(/postgres-pgbackrest:/);
    }
  });
});

describe('npm run restore', () => {
  it('emits the restore Job and its NetworkPolicies for an environment', () => {
    const objects = restoreObjects({ env: 'prod', backup: '20261125T020000Z' }, new Date('2026-11-25T06:40:00Z'));
    expect(objects.map(o => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      'Job/quality-billing-postgres-restore-20261125t0640',
      'NetworkPolicy/quality-billing-postgres-restore',
      'NetworkPolicy/quality-billing-postgres-restore-to-quality-billing-postgres',
    ]);
    expect(objects.every(o => o.metadata.namespace === 'quality-billing')).toBe(true);
  });

  it('fails with one clear message for an environment without backups and without --env', () => {
    const errors: string[] = [];
    const spy = jest.spyOn(console, 'error').mockImplementation((m: string) => { errors.push(m); });
    try {
      expect(restoreMain(['--env', 'dev'])).toBe(1);
      expect(errors.join('\n')).toMatch(/Environment "dev".*backup.*this environment has none to restore/s);
      expect(restoreMain([])).toBe(1);
      expect(errors.join('\n')).toContain('--env is required');
      expect(restoreMain(['--env', 'staging', '--pitr', 'yesterday'])).toBe(1);
      expect(errors.join('\n')).toMatch(/target.*"yesterday"/s);
      // staging runs a Patroni cluster: npm run restore -- --pitr refuses it, naming the steps.
      expect(restoreMain(['--env', 'staging', '--pitr', 'latest'])).toBe(1);
      expect(errors.join('\n')).toMatch(/standbys.*patronictl.*remove quality-billing-postgres/s);
    } finally {
      spy.mockRestore();
    }
  });
});
