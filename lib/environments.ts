import { ValidationError } from './errors';
import { TierName, TIERS } from './tiers';
import { checkDnsLabel, checkInteger, checkOneOf, checkReplicas } from './validate';

/**
 * An environment: the hardware it runs on and the switches that differ between dev and prod.
 * Everything else (resources, tuning, storage) is derived from it.
 */
export interface EnvironmentSpec {
  /** DNS-1123 label; also the folder under `dist/`. */
  readonly name: string;
  /** Hardware tier of every node (seed 000 §1.1). */
  readonly tier: TierName;
  /** Worker nodes the environment has. */
  readonly nodes: number;
  /** API replicas (seed 000 §4.2 runs 3 in production). */
  readonly appReplicas: number;
  /** Replicas of each Celery worker Deployment. */
  readonly celeryWorkerReplicas: number;
  /**
   * One Celery worker Deployment per queue (default, high_priority, low_priority) so that a flood
   * of low-priority tasks never delays high-priority ones; off, one worker consumes all three.
   */
  readonly celeryWorkerPerQueue: boolean;
  /** The capacity planner checks that every pod still fits after any one node is lost. */
  readonly survivesNodeLoss: boolean;
  /** IANA time zone for CronJob schedules. */
  readonly timeZone: string;
  /** Log level passed to the app (seed 000 §2.2: INFO). */
  readonly logLevel: 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR';
  /** Our own nginx TLS edge, or an Ingress for the cluster's ingress-nginx. */
  readonly edge: 'nginx' | 'ingress';
  /** Replicas of the nginx edge. */
  readonly edgeReplicas: number;
  /** Autoscalers may run up to ceil(replicas x this) API and worker pods; 1 turns autoscaling off. */
  readonly autoscaleFactor: number;
  /**
   * What the Celery workers scale on: `cpu`, an HPA on CPU use like the API; `queue`, a KEDA
   * ScaledObject on the length of their Redis queues (needs KEDA in the cluster), from
   * `celeryWorkerReplicas` to ceil(celeryWorkerReplicas x autoscaleFactor). A worker that waits on
   * I/O uses little CPU while its queue grows, so only `queue` adds workers for it.
   */
  readonly autoscaling: 'cpu' | 'queue';
  /**
   * Ship logs to Elasticsearch/Kibana. Off in dev: one minimum node has the CPU for it but an
   * Elasticsearch there would take a third of the node's memory for a developer's own logs,
   * which `kubectl logs` already shows.
   */
  readonly logging: boolean;
  /** Days logs are kept (the daily indices' deletion age). */
  readonly logRetentionDays: number;
  /** Raw log volume a day, for checking that the retention fits Elasticsearch's volume. */
  readonly dailyLogVolume: string;
  /**
   * Database backups to S3: a daily logical dump kept `retentionDays` with a monthly restore
   * test, and, with `pointInTimeRecovery`, pgBackRest WAL archiving with daily full backups kept
   * `retentionDays` and 6-hourly incrementals kept 7 days at most. `false`: none (dev, which has
   * no bucket by default).
   */
  readonly backup: false | BackupPolicy;
  /**
   * PgBouncer replicas between the applications and PostgreSQL (issue 18 §2); 0: the
   * applications connect directly (dev, where one replica of each keeps the budget small).
   */
  readonly connectionPooler: number;
  /**
   * Streaming standbys of each PostgreSQL server, promoted by Patroni when the primary fails
   * (issue 18); 0 runs the standalone single pod. An environment that survives node loss needs ≥ 1.
   */
  readonly postgresStandbys: number;
}

/** How an environment backs up its database. */
export interface BackupPolicy {
  readonly retentionDays: number;
  readonly pointInTimeRecovery: boolean;
}

/** The log levels the app accepts (seed 000 §2.2). */
export const LOG_LEVELS = ['DEBUG', 'INFO', 'WARNING', 'ERROR'] as const;

/** The three environments the project ships; users add their own with `defineEnvironment`. */
export const ENVIRONMENTS: Readonly<Record<'dev' | 'staging' | 'prod', EnvironmentSpec>> = {
  dev: {
    name: 'dev', tier: 'minimum', nodes: 1, appReplicas: 1, celeryWorkerReplicas: 1,
    celeryWorkerPerQueue: false, survivesNodeLoss: false, timeZone: 'Asia/Shanghai', logLevel: 'DEBUG',
    edge: 'nginx', edgeReplicas: 1, autoscaleFactor: 2, autoscaling: 'cpu',
    logging: false, logRetentionDays: 3, dailyLogVolume: '512Mi',
    backup: false, postgresStandbys: 0,
    connectionPooler: 0,
  },
  staging: {
    name: 'staging', tier: 'minimum', nodes: 2, appReplicas: 2, celeryWorkerReplicas: 1,
    celeryWorkerPerQueue: true, survivesNodeLoss: false, timeZone: 'Asia/Shanghai', logLevel: 'INFO',
    edge: 'ingress', edgeReplicas: 2, autoscaleFactor: 1.5, autoscaling: 'queue',
    logging: true, logRetentionDays: 7, dailyLogVolume: '1Gi',
    // Seed 004's 7-day profile; point-in-time recovery as in prod, so the runbook is rehearsed.
    backup: { retentionDays: 7, pointInTimeRecovery: true },
    // One pooler: a second could not surge beside the first on 2 nodes (no two on one node).
    connectionPooler: 1,
    // As prod, so failovers are rehearsed where they cost nothing.
    postgresStandbys: 1,
  },
  prod: {
    name: 'prod', tier: 'recommended', nodes: 3, appReplicas: 3, celeryWorkerReplicas: 2,
    celeryWorkerPerQueue: true, survivesNodeLoss: true, timeZone: 'Asia/Shanghai', logLevel: 'INFO',
    edge: 'nginx', edgeReplicas: 2, autoscaleFactor: 1.5, autoscaling: 'queue',
    logging: true, logRetentionDays: 30, dailyLogVolume: '3Gi',
    // Seeds 001/002: 30 days, full daily, incremental every 6 h, point-in-time recovery.
    backup: { retentionDays: 30, pointInTimeRecovery: true },
    connectionPooler: 2,
    // Two members on three nodes: after losing a node both still find one each (a third member
    // would stay Pending, one per node); with synchronous_mode a failover loses no commit.
    postgresStandbys: 1,
  },
};

/**
 * Checks a user-defined environment and fills its defaults from `base` (default: dev).
 * Throws a ValidationError naming the field for anything out of range.
 */
export function defineEnvironment(spec: Partial<EnvironmentSpec> & { name: string }, base: EnvironmentSpec = ENVIRONMENTS.dev): EnvironmentSpec {
  const merged: EnvironmentSpec = { ...base, ...spec };
  // Unless given, an environment that survives node loss gets the standby it needs.
  const env: EnvironmentSpec = spec.postgresStandbys === undefined && merged.survivesNodeLoss
    ? { ...merged, postgresStandbys: Math.max(1, base.postgresStandbys) } : merged;
  const path = `Environment ${JSON.stringify(spec.name)}`;
  checkDnsLabel(path, 'name', env.name);
  checkOneOf(path, 'tier', env.tier, Object.keys(TIERS) as TierName[]);
  checkInteger(path, 'nodes', env.nodes, 1, 1000);
  checkReplicas(path, 'appReplicas', env.appReplicas);
  checkReplicas(path, 'celeryWorkerReplicas', env.celeryWorkerReplicas);
  checkOneOf(path, 'logLevel', env.logLevel, LOG_LEVELS);
  checkOneOf(path, 'edge', env.edge, ['nginx', 'ingress'] as const);
  checkOneOf(path, 'autoscaling', env.autoscaling, ['cpu', 'queue'] as const);
  checkReplicas(path, 'edgeReplicas', env.edgeReplicas);
  checkInteger(path, 'logRetentionDays', env.logRetentionDays, 1, 3650);
  checkInteger(path, 'connectionPooler', env.connectionPooler, 0, 100);
  if (typeof env.autoscaleFactor !== 'number' || !(env.autoscaleFactor >= 1 && env.autoscaleFactor <= 10)) {
    throw new ValidationError(path, 'autoscaleFactor', env.autoscaleFactor, 'a number from 1 (no autoscaling) to 10');
  }
  if (env.backup !== false) {
    if (typeof env.backup !== 'object' || env.backup === null) throw new ValidationError(path, 'backup', env.backup, 'false or { retentionDays, pointInTimeRecovery }');
    checkInteger(path, 'backup.retentionDays', env.backup.retentionDays, 1, 3650);
    if (typeof env.backup.pointInTimeRecovery !== 'boolean') throw new ValidationError(path, 'backup.pointInTimeRecovery', env.backup.pointInTimeRecovery, 'true or false');
  }
  if (env.survivesNodeLoss && env.nodes < 2) {
    throw new ValidationError(path, 'nodes', env.nodes, 'at least 2 nodes when survivesNodeLoss is true');
  }
  checkInteger(path, 'postgresStandbys', env.postgresStandbys, 0, 8);
  if (env.survivesNodeLoss && env.postgresStandbys < 1) {
    throw new ValidationError(path, 'postgresStandbys', env.postgresStandbys, 'at least 1 when survivesNodeLoss is true: the node of a lone PostgreSQL pod takes the database with it');
  }
  if (!isTimeZone(env.timeZone)) {
    throw new ValidationError(path, 'timeZone', env.timeZone, 'an IANA time zone such as "UTC" or "Asia/Shanghai"');
  }
  return env;
}

/** Looks up a shipped environment by name. */
export function environment(name: string): EnvironmentSpec {
  const env = (ENVIRONMENTS as Record<string, EnvironmentSpec | undefined>)[name];
  if (!env) throw new ValidationError('Environment', 'name', name, `one of ${Object.keys(ENVIRONMENTS).map(k => `"${k}"`).join(', ')}`);
  return env;
}

const canonicalZones = new Set<string>();

/**
 * Whether Intl knows the zone. The canonical IANA names are looked up in Intl's list; only an
 * alias ("Asia/Calcutta", "US/Eastern") builds a DateTimeFormat, whose first construction loads
 * ICU's zone data (tens of milliseconds, once per synth otherwise).
 */
function isTimeZone(tz: string): boolean {
  if (typeof tz !== 'string' || tz.length === 0) return false;
  if (canonicalZones.size === 0) for (const z of Intl.supportedValuesOf('timeZone')) canonicalZones.add(z);
  if (canonicalZones.has(tz)) return true;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}
