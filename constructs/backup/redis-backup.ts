import { k8s } from '../core/k8s';
import { Construct } from 'constructs';
import { REDIS_BACKUP_SCRIPT } from '../../lib/backup/redis-scripts';
import { resolveS3Location, ResolvedS3Location, S3Location } from '../../lib/backup/s3';
import { ValidationError } from '../../lib/errors';
import { ImageRef } from '../../lib/images';
import { RESOURCE_PRESETS } from '../../lib/presets';
import { ByteQuantity } from '../../lib/quantity';
import { checkCronSchedule } from '../../lib/schedule';
import { SecretKeyRef } from '../../lib/secrets';
import { ResourceQuantities, resources, ResourceSpec, WorkloadSizing } from '../../lib/sizing';
import { tier as lookupTier, TierName } from '../../lib/tiers';
import { checkInteger } from '../../lib/validate';
import { Redis } from '../data/redis';
import { RedisReplication } from '../data/redis-replication';
import { plainEnv, secretEnv } from '../core/pod-spec';
import { Workload } from '../core/workload';
import { uploadBackupCronJob } from './upload-backup-job';

/** A Redis this chart runs: a single server (`Redis`) or a replicated set with sentinels (`RedisReplication`). */
export type BackedUpRedis = Redis | RedisReplication;

/** What the backup and restore need to know of a Redis this chart runs. */
export interface RedisServerFacts {
  /** Object name of the data pods' StatefulSet. */
  readonly name: string;
  /** The data pods' image: its redis-cli, redis-check-rdb and redis-server run the backup and restore. */
  readonly image: ImageRef;
  /** Data port. */
  readonly port: number;
  /** The password, as REDISCLI_AUTH. */
  readonly passwordSecret: SecretKeyRef;
  /** Logical databases of redis.conf. */
  readonly databases: number;
  /** Size of a data pod's volume: the scratch space a snapshot may need. */
  readonly storage: ByteQuantity;
  /** `host:port` of every data pod (pod 0 first). */
  readonly dataHosts: string[];
  /** `host:port` of the sentinels' Service, for a replicated set. */
  readonly sentinelHost?: string;
  /** The workloads whose pods the restore must find stopped (data pods, sentinels), with the port each listens on. */
  readonly servers: ReadonlyArray<{ readonly workload: Workload; readonly port: number }>;
}

/**
 * The facts of a Redis for its backup and restore, or a ValidationError (at `path`, field
 * `field`) for one that holds no data worth restoring: a cache that evicts keys (`allkeys-lru`).
 */
export function redisServerFacts(path: string, field: string, redis: BackedUpRedis): RedisServerFacts {
  if (!redis.usedAsBroker) {
    throw new ValidationError(path, field, redis.node.path, 'a Redis that keeps its keys (usedAsBroker, maxmemory-policy noeviction): this one is a cache that evicts keys (allkeys-lru), whose content a restore must not bring back');
  }
  const common = { name: redis.name, image: redis.image, port: redis.port, passwordSecret: redis.passwordSecret, databases: redis.databases, storage: redis.storage };
  if (redis instanceof RedisReplication) {
    return {
      ...common,
      dataHosts: Array.from({ length: redis.replicas + 1 }, (_, i) => `${redis.name}-${i}.${redis.headlessServiceName}:${redis.port}`),
      sentinelHost: `${redis.sentinel.name}:${redis.sentinelPort}`,
      servers: [{ workload: redis, port: redis.port }, { workload: redis.sentinel, port: redis.sentinelPort }],
    };
  }
  return { ...common, dataHosts: [`${redis.name}:${redis.port}`], servers: [{ workload: redis, port: redis.port }] };
}

/** Props of `RedisBackup`. */
export interface RedisBackupProps {
  /** The Redis to back up. */
  readonly redis: BackedUpRedis;
  /** Where snapshots go: `<prefix>/redis/<UTC id>/`. */
  readonly backupStorage: S3Location;
  /** Cron schedule. @default "30 2 * * *" (inside merchant-analysis's 02:00–04:00 maintenance hours) */
  readonly schedule?: string;
  /** IANA time zone of the schedule. @default "UTC" */
  readonly timeZone?: string;
  /** Days a snapshot is kept; the newest 3 complete ones always are. @default 30 */
  readonly retentionDays?: number;
  /** Tier whose "backup" preset sizes the containers. @default "recommended" */
  readonly tier?: TierName;
  /** Requests and limits of each container. @default - the tier's "backup" preset */
  readonly resources?: ResourceQuantities;
}

/**
 * The daily Redis backup (seed 003: `redis-cli save`): a CronJob whose pod takes a point-in-time
 * RDB snapshot, proves it with `redis-check-rdb`, and uploads it with the logical backup's verified
 * upload and retention (checksums last, the newest 3 complete snapshots always kept). Its name
 * contains "backup", which the BackupMissing alert watches.
 *
 * Where the snapshot comes from: a replica in sync with its master when the set has one, not the
 * primary. A snapshot forks the server; the fork's copy-on-write pages grow with every write the
 * server takes meanwhile, and the primary is the one taking all the writes (and its fork pauses
 * it for the page-table copy), so a replica pays that instead. The backup pod cannot read a
 * replica's volume (ReadWriteOnce, another pod's), so instead of `BGSAVE` + `LASTSAVE` + copying
 * dump.rdb it runs `redis-cli --rdb` against the replica, which forks the same point-in-time RDB
 * for a replication sync and streams it to the pod (redis.io: redis-cli, "Remote backups of RDB
 * files"); a replica whose link to its master is down refuses, so a stale replica is never used.
 *
 * Which Redis is backed up (the stacks decide, for issue 21 §2): merchant-analysis's replicated
 * Redis, which holds the services' data. Not the Redis of the PostgreSQL systems (quality-billing,
 * QCAT, finance-ai, ai-bookkeeping): it carries a cache (rebuilt from PostgreSQL), Celery's broker
 * queue and Celery's result backend. A restored queue would run again every task done since the
 * snapshot (a billing run charged twice), and results are kept a day (Celery's `result_expires`)
 * for clients waiting on a task now: a day-old copy of either does harm or nothing. Their AOF on a
 * persistent volume is what keeps them across restarts.
 */
export class RedisBackup extends Workload {
  public readonly cronJob: k8s.KubeCronJob;
  public readonly backupStorage: ResolvedS3Location;
  public readonly resources: ResourceSpec;
  public readonly retentionDays: number;
  /** The Redis backed up. */
  public readonly redis: BackedUpRedis;

  constructor(scope: Construct, id: string, props: RedisBackupProps) {
    const r = props.redis;
    super(scope, id, { name: `${r.name}-backup`, component: 'backup', version: r.image.version });
    const path = this.node.path;
    const facts = redisServerFacts(path, 'redis', r);
    this.redis = r;
    this.backupStorage = resolveS3Location(path, 'backupStorage', props.backupStorage);
    this.retentionDays = checkInteger(path, 'retentionDays', props.retentionDays ?? 30, 1, 3650);
    const t = lookupTier(props.tier ?? 'recommended', path).name;
    this.resources = resources(props.resources ?? RESOURCE_PRESETS[t].backup, path, 'resources');
    const schedule = checkCronSchedule(path, 'schedule', props.schedule ?? '30 2 * * *');
    r.acceptTrafficFrom(this, r.port);

    this.cronJob = uploadBackupCronJob(this, {
      kind: 'redis', backupStorage: this.backupStorage, retentionDays: this.retentionDays, schedule, timeZone: props.timeZone ?? 'UTC',
      // An RDB of a dataset that fits the server's memory limit is written and uploaded in minutes.
      activeDeadlineSeconds: 3600, resources: this.resources, scratchSize: facts.storage.toString(),
      produce: {
        name: 'snapshot', image: r.image, shell: 'sh', script: REDIS_BACKUP_SCRIPT,
        env: [secretEnv('REDISCLI_AUTH', facts.passwordSecret), plainEnv('REDIS_HOSTS', facts.dataHosts.join(' '))],
      },
    });
  }

  public sizings(): WorkloadSizing[] {
    return [{ name: this.name, kind: 'CronJob', replicas: 1, containers: [this.resources], initContainers: [this.resources] }];
  }
}
