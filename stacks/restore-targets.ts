import { Construct } from 'constructs';
import { ValidationError } from '../lib/errors';
import { MongoRestore } from '../constructs/backup/mongo-restore';
import { PointInTimeRestore } from '../constructs/backup/point-in-time-restore';
import { PostgresRestore } from '../constructs/backup/postgres-restore';
import { addRedisRestore } from '../constructs/backup/redis-restore';
import { addMinioRestore } from '../constructs/backup/minio-restore';
import type { MerchantAnalysisStack } from './merchant-analysis-stack';
import type { SystemChart } from './system-chart';
import { isPostgresSystem } from './system-stack';

/** A flag of `npm run restore` that a store may take (besides `--system`, `--env` and `--store`). */
export type RestoreFlag = 'backup' | 'target-database' | 'replace' | 'pitr' | 'name';

/** What a restore asks for, as the command line gives it: a flag not given is undefined. */
export interface RestoreParameters {
  /** `--backup`: "latest" or a backup id. @default - the store's default (the newest complete backup) */
  readonly backup?: string;
  /** `--target-database`: the database restored into. @default - the store's default (its application database) */
  readonly targetDatabase?: string;
  /** `--replace`: drop a target that holds data first. @default - the store's default (refuse such a target) */
  readonly replace?: boolean;
  /** `--pitr`: a point-in-time target. @default - none: a logical restore */
  readonly pitr?: string;
  /** `--name`: the Job's name. @default - the store's, ending in `stamp` */
  readonly jobName?: string;
  /** The UTC time for default Job names, e.g. "20261125t0640" (Jobs are immutable: each restore gets its own). */
  readonly stamp: string;
}

/**
 * One data store `npm run restore` restores: an entry of `RESTORE_TARGETS`. A store added later
 * (Redis, MinIO) is one more entry: its `--store` name, the systems that back it up, the flags it
 * takes, and `build`, which adds its restore construct to the system's stack as deployed, so the
 * names, storage and credentials are the ones the backups were written with.
 */
export interface RestoreTarget {
  /** The `--store` value. */
  readonly store: string;
  /** The systems (`--system`) that have this store and back it up. */
  readonly systems: readonly string[];
  /** The flags it takes, each with what it means for this store (shown by `--help` and in errors). */
  readonly flags: Readonly<Partial<Record<RestoreFlag, string>>>;
  /** Pairs of its flags that cannot be given together. @default - none */
  readonly conflicts?: readonly (readonly [RestoreFlag, RestoreFlag])[];
  /**
   * Adds the restore's constructs to `stack` (the system's stack for the environment) and returns
   * the construct whose Kubernetes objects are emitted. Throws a ValidationError when the
   * environment has no backup of this store (`noBackups`).
   */
  build(stack: SystemChart, p: RestoreParameters): Construct;
}

/** The error for an environment that backs up nothing the restore could read. */
export function noBackups(stack: SystemChart): ValidationError {
  const env = stack.environment;
  return new ValidationError(`Environment ${JSON.stringify(env.name)}`, 'backup', env.backup, 'backups enabled: this environment has none to restore');
}

/** PostgreSQL: a logical dump (`PostgresRestore`) or, with `--pitr`, pgBackRest's point in time (`PointInTimeRestore`). */
export const POSTGRES_RESTORE: RestoreTarget = {
  store: 'postgres',
  systems: ['quality-billing', 'qcat', 'finance-ai', 'ai-bookkeeping'],
  flags: {
    backup: 'logical restore: "latest" or a backup id such as 20261125T020000Z (default latest)',
    'target-database': 'logical restore: the database restored into (default the application\'s)',
    replace: 'logical restore: drop and recreate a target that has tables',
    pitr: 'point in time, pgBackRest: latest | set:<label> | time:<timestamp with zone>',
    name: 'the Job\'s name (default <server>-restore-<UTC time>, <server>-pitr-restore-<UTC time>)',
  },
  conflicts: [['pitr', 'backup'], ['pitr', 'target-database'], ['pitr', 'replace']],
  build(stack, p) {
    if (!isPostgresSystem(stack)) throw new ValidationError(stack.node.path, 'store', 'postgres', 'a system that runs PostgreSQL');
    if (!stack.backup) throw noBackups(stack);
    if (p.pitr !== undefined) {
      if (!stack.pointInTimeRecovery) {
        const env = stack.environment;
        throw env.backup !== false && env.backup.pointInTimeRecovery
          ? new ValidationError(`System ${JSON.stringify(stack.system.name)}`, 'backup.pointInTimeRecovery', false, `true: ${stack.system.name} has no point-in-time recovery (logical restores only)`)
          : new ValidationError(`Environment ${JSON.stringify(env.name)}`, 'backup.pointInTimeRecovery', false, 'true: this environment has no point-in-time recovery');
      }
      return new PointInTimeRestore(stack, 'PointInTimeRestore', {
        recovery: stack.pointInTimeRecovery, target: p.pitr, jobName: p.jobName ?? `${stack.postgres.name}-pitr-restore-${p.stamp}`,
      });
    }
    return new PostgresRestore(stack, 'Restore', {
      postgres: stack.postgres, backupStorage: stack.backup.backupStorage, tier: stack.environment.tier,
      backupId: p.backup, targetDatabase: p.targetDatabase, replace: p.replace,
      jobName: p.jobName ?? `${stack.postgres.name}-restore-${p.stamp}`,
    });
  },
};

/** MongoDB (merchant-analysis): a dump of `MongoBackup`, restored by `MongoRestore`. */
export const MONGODB_RESTORE: RestoreTarget = {
  store: 'mongodb',
  systems: ['merchant-analysis'],
  flags: {
    backup: '"latest" or a dump id such as 20261125T020000Z (default latest)',
    'target-database': 'the database the application database\'s collections are restored into (default the application\'s)',
    replace: 'drop a target that holds documents first',
    name: 'the Job\'s name (default <replica set>-restore-<UTC time>)',
  },
  build(stack, p) {
    const s = stack as Partial<MerchantAnalysisStack> & SystemChart;
    if (!s.mongo) throw new ValidationError(stack.node.path, 'store', 'mongodb', 'a system that runs MongoDB');
    if (!s.mongoBackup) throw noBackups(stack);
    return new MongoRestore(stack, 'MongoRestore', {
      mongo: s.mongo, backupStorage: s.mongoBackup.backupStorage, tier: stack.environment.tier,
      backupId: p.backup, targetDatabase: p.targetDatabase, replace: p.replace,
      jobName: p.jobName ?? `${s.mongo.name}-restore-${p.stamp}`,
    });
  },
};

/** Redis (merchant-analysis): an RDB snapshot of `RedisBackup`, loaded by `RedisRestore`. */
export const REDIS_RESTORE: RestoreTarget = {
  store: 'redis',
  systems: ['merchant-analysis'],
  flags: {
    backup: '"latest" or a snapshot id such as 20261125T023000Z (default latest)',
    name: 'the Job\'s name (default <redis>-restore-<UTC time>)',
  },
  build(stack, p) {
    const restore = addRedisRestore(stack, { backupId: p.backup, jobName: p.jobName, stamp: p.stamp });
    if (!restore) throw noBackups(stack);
    return restore;
  },
};

/** MinIO (ai-bookkeeping): every bucket's mirror of `MinioMirror`, copied back by `MinioRestore`. */
export const MINIO_RESTORE: RestoreTarget = {
  store: 'minio',
  systems: ['ai-bookkeeping'],
  flags: {
    name: 'the Job\'s name (default <minio>-restore-<UTC time>)',
  },
  build(stack, p) {
    const restore = addMinioRestore(stack, { jobName: p.jobName, stamp: p.stamp });
    if (!restore) throw noBackups(stack);
    return restore;
  },
};

/**
 * Every store `npm run restore` restores. A system's default store (`--store` not given) is the
 * first entry that lists it, so the databases come first.
 */
export const RESTORE_TARGETS: readonly RestoreTarget[] = [POSTGRES_RESTORE, MONGODB_RESTORE, REDIS_RESTORE, MINIO_RESTORE];

/**
 * The entry of `targets` for a system and `--store` (or the system's default store). An unknown
 * store, or one the system does not have, is a ValidationError naming the value and what is allowed.
 */
export function restoreTarget(system: string, store?: string, targets: readonly RestoreTarget[] = RESTORE_TARGETS): RestoreTarget {
  const has = targets.filter(t => t.systems.includes(system));
  const list = (ts: readonly RestoreTarget[]) => ts.map(t => `"${t.store}"`).join(', ');
  if (store === undefined) {
    if (!has.length) throw new ValidationError(`System ${JSON.stringify(system)}`, 'store', undefined, `a system with a store to restore: ${targets.map(t => `${t.store} (${t.systems.join(', ')})`).join('; ')}`);
    return has[0];
  }
  const found = targets.find(t => t.store === store);
  if (!found) throw new ValidationError('npm run restore', '--store', store, `one of ${list(targets)}`);
  if (!has.includes(found)) throw new ValidationError(`System ${JSON.stringify(system)}`, 'store', store, `a store ${system} has: ${list(has) || 'none'} (${store} is in ${found.systems.join(', ')})`);
  return found;
}

/**
 * Checks the flags given against what `target` takes: a flag the store does not take, or two that
 * conflict, is a ValidationError naming the flag, the store and the flags allowed.
 */
export function checkRestoreFlags(target: RestoreTarget, given: readonly RestoreFlag[]): void {
  const takes = Object.keys(target.flags) as RestoreFlag[];
  const flags = (fs: readonly RestoreFlag[]) => fs.map(f => `--${f}`).join(', ');
  for (const f of given) {
    if (!takes.includes(f)) throw new ValidationError(`--store ${target.store}`, 'flag', `--${f}`, `one of ${flags(takes)} (the flags --store ${target.store} takes)`);
  }
  for (const [a, b] of target.conflicts ?? []) {
    if (given.includes(a) && given.includes(b)) {
      const allowed = takes.filter(f => f !== a && !(target.conflicts ?? []).some(([x, y]) => x === a && y === f));
      throw new ValidationError(`--store ${target.store} --${a}`, 'flag', `--${b}`, `only ${flags(allowed)} besides --${a}`);
    }
  }
}
