import { k8s } from '../core/k8s';
import { Construct } from 'constructs';
import { FETCH_SCRIPT } from '../../lib/backup/logical-scripts';
import { REDIS_RESTORE_SCRIPT } from '../../lib/backup/redis-scripts';
import { ValidationError } from '../../lib/errors';
import { IMAGE_CATALOG } from '../../lib/images';
import { DATABASE_IMAGE_UID } from '../../lib/security';
import { WorkloadSizing } from '../../lib/sizing';
import { emptyDir, plainEnv, restrictedContainer, runOncePodSpec, secretEnv } from '../core/pod-spec';
import { Workload } from '../core/workload';
import { s3ClientEnv } from './logical-backup-workload';
import { RedisBackup, redisServerFacts } from './redis-backup';
import { backupInChart, restoreJob, restoreReaches, RestoreJobOptions, restoreObjectsFromBackup } from './restore-job';
import { jobNameStamp } from '../../lib/schedule';

/** Props of `RedisRestore`. */
export interface RedisRestoreProps {
  /** The backup whose snapshots are restored (its Redis, storage and sizing). */
  readonly backup: RedisBackup;
  /** "latest" (the newest complete snapshot) or a snapshot id such as "20261125T023000Z". @default "latest" */
  readonly backupId?: string;
  /** Name of the Job (Jobs are immutable: each restore gets its own). @default "<redis>-restore" */
  readonly jobName?: string;
}

const WORK_DIR = '/backup';
const SCRIPTS_DIR = '/opt/backup';

/**
 * A one-off Job that puts a Redis snapshot back (seed 003: Redis 恢复). Its first container
 * downloads the snapshot and checks its SHA256SUMS (the logical backup's fetch); the second, from
 * the server's own image, checks it with `redis-check-rdb` and writes it into the volume of data
 * pod 0 as the AOF the server loads at start (lib/backup/redis-scripts.ts says how and why).
 * Nothing is written when a check fails, or while a data pod or sentinel still answers.
 *
 * Runbook (README "Redis restore"): scale the sentinels' and the data pods' StatefulSets to 0,
 * apply this Job and wait for it, then scale the data pods and the sentinels back. With no
 * sentinel to ask, every data pod starts from pod 0 as the master (the start script's rule for a
 * new set), so the replicas copy the restored data; the sentinels keep their state in an emptyDir
 * and start afresh.
 */
export class RedisRestore extends Workload {
  public readonly job: k8s.KubeJob;
  /** The backup restored from. */
  public readonly backup: RedisBackup;

  constructor(scope: Construct, id: string, props: RedisRestoreProps) {
    const b = props.backup;
    const r = b.redis;
    super(scope, id, { name: `${r.name}-restore`, component: 'restore', version: r.image.version });
    const path = this.node.path;
    this.backup = b;
    const facts = redisServerFacts(path, 'backup.redis', r);
    const backupId = props.backupId ?? 'latest';
    if (backupId !== 'latest' && !/^\d{8}T\d{6}Z$/.test(backupId)) {
      throw new ValidationError(path, 'backupId', backupId, '"latest" or a snapshot id such as "20261125T023000Z"');
    }
    const storage = b.backupStorage;
    this.allowEgressTo({ ipBlock: { cidr: storage.cidr } }, [storage.endpointPort]);
    // Its check that the servers are stopped must reach them if they are not.
    for (const { workload, port } of facts.servers) restoreReaches(this, workload, port);

    const scripts = new k8s.KubeConfigMap(this, 'Scripts', { metadata: { name: `${this.name}-scripts`, labels: this.labels }, data: { 'fetch.sh': FETCH_SCRIPT, 'redis-restore.sh': REDIS_RESTORE_SCRIPT } });
    const mounts = [{ name: 'work', mountPath: WORK_DIR }, { name: 'scripts', mountPath: SCRIPTS_DIR, readOnly: true }, { name: 'tmp', mountPath: '/tmp' }];
    const fetch = restrictedContainer({
      name: 'fetch', image: IMAGE_CATALOG.awsCli, uid: DATABASE_IMAGE_UID, resources: b.resources,
      command: ['bash', `${SCRIPTS_DIR}/fetch.sh`],
      env: [...s3ClientEnv(storage, WORK_DIR), plainEnv('BACKUP_KIND', 'redis'), plainEnv('BACKUP_ID', backupId)],
      volumeMounts: mounts,
    });
    const restore = restrictedContainer({
      name: 'restore', image: facts.image, uid: DATABASE_IMAGE_UID, resources: b.resources,
      command: ['sh', `${SCRIPTS_DIR}/redis-restore.sh`],
      env: [
        secretEnv('REDISCLI_AUTH', facts.passwordSecret), plainEnv('BACKUP_DIR', WORK_DIR), plainEnv('DATA_DIR', '/data'),
        plainEnv('DATABASES', facts.databases), plainEnv('SCRATCH_DIR', '/tmp'),
        plainEnv('STOPPED_HOSTS', [...facts.dataHosts, ...facts.sentinelHost ? [facts.sentinelHost] : []].join(' ')),
      ],
      volumeMounts: [...mounts, { name: 'data', mountPath: '/data' }],
    });
    this.job = restoreJob(this, props.jobName ?? this.name, 4 * 3600, {
      metadata: { labels: this.labels },
      spec: runOncePodSpec(DATABASE_IMAGE_UID, {
        initContainers: [fetch],
        containers: [restore],
        volumes: [
          emptyDir('work', facts.storage.toString()),
          { name: 'scripts', configMap: { name: scripts.name, defaultMode: 0o555 } },
          emptyDir('tmp', '64Mi'),
          // Data pod 0's claim (the StatefulSet's volumeClaimTemplate "data").
          { name: 'data', persistentVolumeClaim: { claimName: `data-${r.name}-0` } },
        ],
      }),
    });
  }

  public sizings(): WorkloadSizing[] {
    return [{ name: this.name, kind: 'Job', replicas: 1, containers: [this.backup.resources], initContainers: [this.backup.resources] }];
  }
}

/** What `redisRestoreObjects` restores. */
export interface RedisRestoreOptions extends RestoreJobOptions {
  /** "latest" or a snapshot id. @default "latest" */
  readonly backupId?: string;
}

/**
 * Adds a `RedisRestore` under `stack` from the chart's own `RedisBackup` (so the storage,
 * credentials, image and names are those the snapshots were written with); undefined when the
 * chart backs up no Redis. `stamp` ends the default Job name (`jobNameStamp`).
 */
export function addRedisRestore(stack: Construct, o: { readonly backupId?: string; readonly jobName?: string; readonly stamp: string }): RedisRestore | undefined {
  const backup = backupInChart(stack, RedisBackup);
  return backup && new RedisRestore(stack, 'RedisRestore', { backup, backupId: o.backupId, jobName: o.jobName ?? `${backup.redis.name}-restore-${o.stamp}` });
}

/**
 * The objects of a Redis restore Job for a synthesized system's chart (`addRedisRestore`). A
 * ValidationError when the chart backs up no Redis (which systems do: see `RedisBackup`).
 */
export function redisRestoreObjects(stack: Construct, o: RedisRestoreOptions = {}): Record<string, any>[] {
  return restoreObjectsFromBackup(stack, 'redis', 'back up a Redis (merchant-analysis in staging and prod)',
    () => addRedisRestore(stack, { backupId: o.backupId, jobName: o.jobName, stamp: jobNameStamp(o.now ?? new Date()) }));
}
