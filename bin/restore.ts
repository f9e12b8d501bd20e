import { parseArgs } from 'util';
import { ApiObject, App } from 'cdk8s';
import { dump } from 'js-yaml';
import { Construct } from 'constructs';
import { environment } from '../lib/environments';
import { ValidationError } from '../lib/errors';
import { PointInTimeRestore } from '../constructs/backup/point-in-time-restore';
import { PostgresRestore } from '../constructs/backup/postgres-restore';
import { minioRestoreObjects } from '../constructs/backup/minio-restore';
import { redisRestoreObjects } from '../constructs/backup/redis-restore';
import { shippedSystem } from '../stacks/systems';
import { QualityBillingStack, QualityBillingStackProps } from '../stacks/quality-billing-stack';
import { reportError } from './errors';

/** What to restore. */
export interface RestoreRequest {
  /** Environment whose database is restored. */
  readonly env: string;
  /** Logical restore: "latest" or a backup id. Ignored with `pitr`. @default "latest" */
  readonly backup?: string;
  /** Logical restore: the database restored into. @default - the app's database */
  readonly targetDatabase?: string;
  /** Logical restore: drop and recreate a target that has tables. @default false */
  readonly replace?: boolean;
  /** Physical restore with pgBackRest: "latest", "set:<label>" or "time:<timestamp with zone>". */
  readonly pitr?: string;
  /** Job name. @default - "<server>-restore-<UTC time>" or "<server>-pitr-restore-<UTC time>" */
  readonly jobName?: string;
  /** The stack props the environment is deployed with (backup storage, images). */
  readonly stackProps?: Partial<QualityBillingStackProps>;
}

/**
 * The objects of a restore Job for an environment, built from the same stack as the deployment
 * so the storage, credentials, images and names are those the backups were written with.
 */
export function restoreObjects(r: RestoreRequest, now = new Date()): Record<string, any>[] {
  const env = environment(r.env);
  const stack = new QualityBillingStack(new App(), 'quality-billing', { environment: env, ...r.stackProps });
  if (!stack.backup) throw new ValidationError(`Environment ${JSON.stringify(env.name)}`, 'backup', env.backup, 'backups enabled: this environment has none to restore');
  const stamp = now.toISOString().replace(/[-:]/g, '').slice(0, 13).toLowerCase(); // 20261125t0640
  let restore: Construct;
  if (r.pitr !== undefined) {
    if (!stack.pointInTimeRecovery) throw new ValidationError(`Environment ${JSON.stringify(env.name)}`, 'backup.pointInTimeRecovery', false, 'true: this environment has no point-in-time recovery');
    restore = new PointInTimeRestore(stack, 'PointInTimeRestore', {
      recovery: stack.pointInTimeRecovery, target: r.pitr, jobName: r.jobName ?? `${stack.postgres.name}-pitr-restore-${stamp}`,
    });
  } else {
    restore = new PostgresRestore(stack, 'Restore', {
      postgres: stack.postgres, backupStorage: stack.backup.backupStorage, tier: env.tier,
      backupId: r.backup, targetDatabase: r.targetDatabase, replace: r.replace,
      jobName: r.jobName ?? `${stack.postgres.name}-restore-${stamp}`,
    });
  }
  return restore.node.findAll().filter((c): c is ApiObject => c instanceof ApiObject).map(o => o.toJson());
}

/** A restore of a system's Redis or MinIO (`npm run restore -- --system NAME --store redis|minio`). */
export interface StoreRestoreRequest {
  /** The shipped system ("merchant-analysis" has a Redis backup, "ai-bookkeeping" a MinIO mirror). */
  readonly system: string;
  /** Environment whose store is restored. */
  readonly env: string;
  /** What is restored. */
  readonly store: 'redis' | 'minio';
  /** Redis: "latest" or a snapshot id. @default "latest" */
  readonly backup?: string;
  /** Job name. @default - "<redis or minio>-restore-<UTC time>" */
  readonly jobName?: string;
  /** The stack props the environment is deployed with (backup storage, images). */
  readonly stackProps?: Record<string, unknown>;
}

/** The objects of a Redis or MinIO restore Job, built from the system's own stack for the environment. */
export function storeRestoreObjects(r: StoreRestoreRequest, now = new Date()): Record<string, any>[] {
  const stack = shippedSystem(r.system).create(environment(r.env), r.stackProps ?? {});
  if (r.store === 'redis') return redisRestoreObjects(stack, { backupId: r.backup, jobName: r.jobName, now });
  return minioRestoreObjects(stack, { jobName: r.jobName, now });
}

/**
 * `npm run restore -- --env prod [--backup ID] [--target-database NAME] [--replace] [--pitr TARGET] [--name JOB]`
 * (quality-billing's PostgreSQL), or `--system NAME --store redis|minio --env ENV [--backup ID] [--name JOB]`: YAML on stdout.
 */
export function main(argv: string[]): number {
  let verbose = argv.includes('--verbose');
  try {
    const { values } = parseArgs({
      args: argv,
      options: {
        env: { type: 'string', short: 'e' },
        backup: { type: 'string' },
        'target-database': { type: 'string' },
        replace: { type: 'boolean', default: false },
        pitr: { type: 'string' },
        name: { type: 'string' },
        system: { type: 'string' },
        store: { type: 'string' },
        verbose: { type: 'boolean', default: false },
      },
    });
    verbose = values.verbose === true;
    if (!values.env) throw new Error('--env is required: the environment whose database is restored (e.g. --env prod)');
    if (values.store !== undefined && values.store !== 'postgres') {
      if (values.store !== 'redis' && values.store !== 'minio') throw new ValidationError('restore', 'store', values.store, '"redis" or "minio" (with --system), or "postgres" (the default)');
      if (!values.system) throw new Error(`--system is required with --store ${values.store} (e.g. --system merchant-analysis)`);
      const objects = storeRestoreObjects({ system: values.system, env: values.env, store: values.store, backup: values.backup, jobName: values.name });
      process.stdout.write(objects.map(o => dump(o, { noRefs: true, lineWidth: -1 })).join('---\n'));
      return 0;
    }
    const objects = restoreObjects({
      env: values.env, backup: values.backup, targetDatabase: values['target-database'], replace: values.replace,
      pitr: values.pitr, jobName: values.name,
    });
    process.stdout.write(objects.map(o => dump(o, { noRefs: true, lineWidth: -1 })).join('---\n'));
    return 0;
  } catch (e) {
    return reportError(e, { verbose, context: 'restore' });
  }
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
