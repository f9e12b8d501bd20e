import { ApiObject, JsonPatch } from 'cdk8s';
import { Construct } from 'constructs';
import { ValidationError } from '../lib/errors';
import { K8sJson, workloadsBehind } from '../lib/k8s-objects';
import { KEDA_PAUSED_REPLICAS, SKIP_AWAIT_ANNOTATION } from '../lib/standby-promotion';
import { checkDnsLabel } from '../lib/validate';
import { ArchiveStandby } from '../constructs/backup/archive-standby';
import { AppWorkload } from '../constructs/app/app-workload';
import { CeleryQueueScaler } from '../constructs/app/celery-queue-scaler';
import { MigrationJob } from '../constructs/app/migration-job';
import { validateAtSynth } from '../constructs/core/validation';
import { ConnectionCheckInput } from '../lib/capacity';
import { IMAGE_CATALOG } from '../lib/images';
import { PointInTimeRecovery } from '../constructs/backup/point-in-time-recovery';
import { ConfigBackup } from '../constructs/backup/config-backup';
import { PostgresBackup } from '../constructs/backup/postgres-backup';
import { RestoreTest } from '../constructs/backup/restore-test';
import { Drill } from '../constructs/drill/drill';
import { S3Location } from '../lib/backup/s3';
import { DrillKind } from '../lib/drill/kinds';
import { IMonitorable } from '../constructs/monitoring/prometheus';
import { IConnectable } from '../constructs/core/connections';
import { PgBouncer } from '../constructs/data/pgbouncer';
import { Postgres } from '../constructs/data/postgres';
import { Redis } from '../constructs/data/redis';
import { BackupFlow, SystemChart, SystemDefinition, SystemStackProps, systemBackupStorage } from './system-chart';

export * from './system-chart';

/** Options of `SystemStack.addBackups`. */
export interface BackupOptions {
  /** Schedule of the daily logical backup. @default "0 2 * * *" */
  readonly logicalSchedule?: string;
  /** Schedule of the full pgBackRest backup. @default "0 3 * * *" */
  readonly fullSchedule?: string;
  /** Schedule of the incremental pgBackRest backups. @default "0 9,15,21 * * *" */
  readonly incrementalSchedule?: string;
  /** Also export the namespace's configuration weekly (seed 001), to `<environment>/config/` of the bucket. @default false */
  readonly weeklyConfigBackup?: boolean;
}

/** Options of `SystemStack.addDrills`: the quarterly drills of seed 002. */
export interface ScheduledDrillOptions {
  /**
   * Run the switchover drill (`patronictl switchover` to the synchronous standby) on schedule where
   * PostgreSQL has Patroni standbys. Production included: seed 002 asks for a quarterly switchover,
   * and with synchronous replication a planned switchover loses no committed transaction and pauses
   * writes for seconds, the only way to prove that production's own failover path works.
   * @default true
   */
  readonly switchover?: boolean;
  /** Run the service drill (rollout restart of the application Deployments, then their health) on schedule. @default true */
  readonly service?: boolean;
  /**
   * Schedule of the switchover drill, read in the environment's time zone. With a maintenance
   * window it must start and end inside it (component "drill").
   * @default "0 5 2 1,4,7,10 *" (the 2nd of each quarter's first month at 05:00, after the night's backups and the monthly restore test); with a maintenance window, the window's opening on each of its weekdays in each quarter's first month (cron cannot say "the first Sunday": a day of month and a weekday together mean either)
   */
  readonly switchoverSchedule?: string;
  /** Schedule of the service drill. @default - 30 minutes after the switchover drill's (its deadline is 15 minutes) */
  readonly serviceSchedule?: string;
}

/**
 * A seed system on PostgreSQL and Redis (quality-billing, QCAT, finance-ai, ai-bookkeeping): the
 * shared chart of `SystemChart` plus both servers, their monitoring and connection budget, and
 * the backups the environment asks for. A system's stack builds its own applications in its
 * constructor; the parts come from the same constructs, so no system carries a copy of one.
 * Capacity and PostgreSQL's memory are checked at synth (cdk8s validations of the chart and of
 * `Postgres`).
 */
export abstract class SystemStack extends SystemChart {
  public readonly postgres: Postgres;
  /** PgBouncer in front of PostgreSQL, when the environment has a pooler (`connectionPooler`). */
  public readonly pooler?: PgBouncer;
  public readonly redis: Redis;
  private readonly backupPolicy: false | { readonly retentionDays: number; readonly pointInTimeRecovery: boolean };
  private readonly backupParts: { backup?: PostgresBackup; restoreTest?: RestoreTest; pointInTimeRecovery?: PointInTimeRecovery; configBackup?: ConfigBackup; standby?: ArchiveStandby } = {};
  private readonly drillParts: Partial<Record<Exclude<DrillKind, 'restore'>, Drill>> = {};
  private standbyApplied = false;

  protected constructor(scope: Construct, id: string, props: SystemStackProps, system: SystemDefinition) {
    super(scope, id, props, system);
    const env = this.environment;
    this.backupPolicy = env.backup === false ? false : { ...env.backup, ...system.backup };
    const pitr = this.backupPolicy !== false && this.backupPolicy.pointInTimeRecovery;
    this.postgres = new Postgres(this, 'Postgres', {
      name: `${this.prefix}-postgres`, tier: env.tier, timeZone: env.timeZone,
      database: system.database, user: system.database, urlSecret: system.databaseUrlSecret,
      image: props.postgresImage ?? (pitr ? IMAGE_CATALOG.postgresPgbackrest.toString() : undefined),
      standbys: env.postgresStandbys, apiServer: props.apiServer,
    });
    if (env.connectionPooler > 0) {
      this.pooler = new PgBouncer(this, 'PgBouncer', { name: `${this.prefix}-pgbouncer`, postgres: this.postgres, replicas: env.connectionPooler, tier: env.tier });
      this.withMonitoring(m => m.alertOnPooler());
    }
    this.redis = new Redis(this, 'Redis', { name: `${this.prefix}-redis`, tier: env.tier });
    const site = props.standbySite;
    if (site) {
      const path = this.node.path;
      checkDnsLabel(path, 'standbySite.cluster', site.cluster);
      checkDnsLabel(path, 'standbySite.primaryCluster', site.primaryCluster);
      if (site.cluster === site.primaryCluster && site.allowSameCluster !== true) {
        throw new ValidationError(path, 'standbySite.cluster', site.cluster,
          `a cluster other than standbySite.primaryCluster ("${site.primaryCluster}"): a standby in its primary's cluster is lost with it (allowSameCluster: true for a rehearsal)`);
      }
      if (!pitr) {
        throw new ValidationError(path, 'standbySite', `system "${system.name}" in environment "${env.name}" without point-in-time recovery`,
          'left out, or a system and environment with point-in-time recovery (backup.pointInTimeRecovery: true): the standby replays the primary\'s pgBackRest WAL archive, which only point-in-time recovery writes');
      }
      // At synth: the applications a subclass adds after this constructor are scaled to 0 too.
      validateAtSynth(this, () => {
        if (!this.backupParts.standby) throw new ValidationError(path, 'standbySite', site.cluster, 'a stack that calls addBackups(): the standby is set up with the point-in-time recovery');
        if (site.promoted !== true) this.holdUntilPromotion();
      });
    }
  }

  /** The standby replaying the primary's WAL archive, in a standby site (`standbySite`). */
  public get standby(): ArchiveStandby | undefined {
    return this.backupParts.standby;
  }

  /**
   * A standby site before promotion: the application Deployments run 0 replicas (an HPA whose
   * target has 0 replicas stays inactive, Kubernetes docs "Horizontal Pod Autoscaling", implicit
   * maintenance-mode deactivation; KEDA's ScaledObject is paused at 0 with its
   * `autoscaling.keda.sh/paused-replicas` annotation, KEDA docs "Pause autoscaling"), the migration
   * Job and every CronJob are suspended (a backup or maintenance of a read-only standby fails).
   * Capacity is still planned for the promoted site. JSON patches, applied once at synth.
   *
   * The site's first `pulumi up` must converge, so what waits for something that cannot happen
   * before promotion carries `pulumi.com/skipAwait: "true"` (pulumi-kubernetes docs, "Resource
   * annotations"): the suspended migration Job (the provider awaits Complete, batch/v1/job.d.ts, and
   * a suspended Job runs no pod, Kubernetes docs "Suspending a Job") and, belt-and-braces, every
   * Service whose pods are all those of held Deployments (since @pulumi/kubernetes 4.17.0, #3142, a
   * Service selecting no pod is ready once its Endpoints settle; the annotation keeps a provider
   * older than that from timing out). The Deployments at 0 need none: the provider counts one at 0 replicas ready
   * (pulumi-kubernetes #688), their Available condition holds with 0 pods. The promoted manifests
   * carry none of these (no hold, no skipAwait), as the primary's do.
   */
  private holdUntilPromotion(): void {
    if (this.standbyApplied) return;
    this.standbyApplied = true;
    const held: ApiObject[] = [];
    for (const c of this.node.findAll()) {
      if (c instanceof MigrationJob) {
        c.job.addJsonPatch(JsonPatch.add('/spec/suspend', true));
        c.job.metadata.addAnnotation(SKIP_AWAIT_ANNOTATION, 'true');
      } else if (c instanceof AppWorkload && 'deployment' in c) {
        const deployment = (c as { deployment: ApiObject }).deployment;
        deployment.addJsonPatch(JsonPatch.add('/spec/replicas', 0));
        held.push(deployment);
      } else if (c instanceof CeleryQueueScaler) c.scaledObject.metadata.addAnnotation(KEDA_PAUSED_REPLICAS, '0');
      else if (c instanceof ApiObject && c.kind === 'CronJob') c.addJsonPatch(JsonPatch.add('/spec/suspend', true));
    }
    const objects = this.node.findAll().filter((c): c is ApiObject => c instanceof ApiObject);
    const json = new Map(objects.map(o => [o, o.toJson() as K8sJson]));
    const heldJson = new Set(held.map(d => json.get(d)!));
    for (const service of objects.filter(o => o.kind === 'Service')) {
      const behind = workloadsBehind([...json.values()], json.get(service)!).filter(w => w.kind !== 'Job');
      if (behind.length > 0 && behind.every(w => heldJson.has(w))) service.metadata.addAnnotation(SKIP_AWAIT_ANNOTATION, 'true');
    }
  }

  /**
   * What the applications and workers connect to: the pooler when the environment has one, else
   * PostgreSQL itself. Migrations connect to `postgres` directly (DDL and advisory locks want a
   * session of their own, not a transaction-pooled one).
   */
  public get database(): IConnectable {
    return this.pooler ?? this.postgres;
  }

  /** The daily logical backup, when the environment has backups. */
  public get backup(): PostgresBackup | undefined {
    return this.backupParts.backup;
  }

  /** The monthly restore test, when the environment has backups. */
  public get restoreTest(): RestoreTest | undefined {
    return this.backupParts.restoreTest;
  }

  /** WAL archiving and full/incremental backups, when the system has point-in-time recovery. */
  public get pointInTimeRecovery(): PointInTimeRecovery | undefined {
    return this.backupParts.pointInTimeRecovery;
  }

  /** The weekly configuration export, when the system asks for it and the environment has backups. */
  public get configBackup(): ConfigBackup | undefined {
    return this.backupParts.configBackup;
  }

  /** The daily verified logical backup, the monthly restore test and, with point-in-time recovery, pgBackRest. */
  protected addBackups(o: BackupOptions = {}): void {
    const policy = this.backupPolicy;
    if (policy === false) return;
    const env = this.environment;
    const props = this.stackProps;
    const site = props.standbySite;
    const primaryStorage = { ...systemBackupStorage(env.name, this.system.name), ...site?.primaryBackupStorage };
    // A standby site's own repository defaults to a sibling of the primary's: "<prefix>-<cluster>".
    const storage = site
      ? { ...primaryStorage, prefix: `${primaryStorage.prefix}-${site.cluster}`, ...props.backupStorage }
      : { ...systemBackupStorage(env.name, this.system.name), ...props.backupStorage };
    const common = { postgres: this.postgres, backupStorage: storage, tier: env.tier, timeZone: env.timeZone };
    this.backupParts.backup = new PostgresBackup(this, 'Backup', { ...common, retentionDays: policy.retentionDays, schedule: o.logicalSchedule });
    this.backupParts.restoreTest = new RestoreTest(this, 'RestoreTest', common);
    if (policy.pointInTimeRecovery) {
      const pitr = this.backupParts.pointInTimeRecovery = new PointInTimeRecovery(this, 'PointInTimeRecovery', {
        ...common,
        fullSchedule: o.fullSchedule,
        incrementalSchedule: o.incrementalSchedule,
        fullRetentionDays: policy.retentionDays,
        incrementalRetentionDays: Math.min(7, policy.retentionDays),
        apiServer: props.apiServer,
      });
      // Archiving nobody watches fails silently: its failures, age and backlog alert (issue 18 §3).
      this.withMonitoring(m => m.alertOnWalArchiving(pitr));
      if (site) this.backupParts.standby = new ArchiveStandby(this, 'Standby', { recovery: pitr, primaryRepository: primaryStorage, primaryStanza: site.primaryStanza });
    }
    if (o.weeklyConfigBackup) {
      // Beside the database's folder: "<environment>/postgres" → "<environment>", then "config/<id>/".
      const prefix = storage.prefix.replace(/\/postgres$/, '') || storage.prefix;
      this.backupParts.configBackup = new ConfigBackup(this, 'ConfigBackup', {
        name: `${this.prefix}-config-backup`, backupStorage: { ...storage, prefix }, tier: env.tier, timeZone: env.timeZone,
        retentionDays: Math.max(policy.retentionDays, 28), apiServer: props.apiServer,
      });
    }
  }

  /** The scheduled drills (`addDrills`), by kind; the restore drill is the monthly `restoreTest`. */
  public get drills(): Readonly<Partial<Record<Exclude<DrillKind, 'restore'>, Drill>>> {
    return { ...this.drillParts };
  }

  /** Where drill records go in the backup bucket: the backups' prefix without "/postgres". */
  public drillRecordStorage(): S3Location {
    const storage = { ...systemBackupStorage(this.environment.name, this.system.name), ...this.stackProps.backupStorage };
    return { ...storage, prefix: storage.prefix.replace(/\/postgres$/, '') || storage.prefix };
  }

  /**
   * The scheduled drills seed 002 asks for each quarter, with their records beside the backups:
   * switchover (where PostgreSQL has standbys) and service recovery as CronJobs; the data-recovery
   * drill is the monthly restore test, which already runs more often than quarterly and writes the
   * same record. Needs backups (the records go to their bucket): an environment without any (dev)
   * gets no drill. The DrillOverdue alert watches each CronJob. Call after the applications and
   * `addBackups`.
   */
  protected addDrills(o: ScheduledDrillOptions = {}): void {
    const env = this.environment;
    if (o.switchover === true && (this.postgres.members < 2 || !this.backup)) {
      throw new ValidationError(this.node.path, 'drills.switchover', true, `false: environment "${env.name}" ${this.postgres.members < 2 ? 'runs PostgreSQL without Patroni standbys (postgresStandbys 0), so there is no standby to switch over to' : 'has no backups, so no bucket for the drill\'s record'}`);
    }
    if (!this.backup) return;
    const at = (minute: number) => this.quarterlyDrillSchedule(minute);
    const record = { system: this.system.name, environment: env.name, storage: this.drillRecordStorage() };
    const common = { record, timeZone: env.timeZone, tier: env.tier, apiServer: this.stackProps.apiServer };
    if ((o.switchover ?? true) && this.postgres.members > 1) {
      this.drillParts.switchover = new Drill(this, 'SwitchoverDrill', { ...common, kind: 'switchover', postgres: this.postgres, schedule: o.switchoverSchedule ?? at(0) });
    }
    if (o.service ?? true) {
      this.drillParts.service = new Drill(this, 'ServiceDrill', {
        ...common, kind: 'service', deployments: this.appDeployments(), healthChecks: this.appServices(), schedule: o.serviceSchedule ?? at(30),
      });
    }
    const drills = Object.values(this.drillParts);
    if (drills.length) this.withMonitoring(m => m.alertOnDrills(drills.map(d => ({ name: d.cronJob!.name, spec: d.cronJobSpec! }))));
  }

  public backupDestination(): string | undefined {
    const s = this.backup?.backupStorage;
    return s && `s3://${s.bucket}/${s.prefix}`;
  }

  public backupFlows(): BackupFlow[] {
    if (!this.backup) return [];
    const to = (workload: string, label: string): BackupFlow => ({ workload, label, direction: 'to-storage' });
    return [
      to(this.backup.name, 'pg_dump daily'),
      ...this.restoreTest ? [{ workload: this.restoreTest.name, label: 'monthly restore test', direction: 'from-storage' as const }] : [],
      ...this.pointInTimeRecovery ? [to(this.postgres.name, 'WAL + full/incr, pgBackRest')] : [],
      ...this.configBackup ? [to(this.configBackup.name, 'weekly configuration export')] : [],
    ];
  }

  protected usesPostgres(): boolean {
    return true;
  }

  protected dataStores(): IMonitorable[] {
    return [this.postgres, ...this.pooler ? [this.pooler] : [], this.redis];
  }

  protected connectionChecks(): ConnectionCheckInput[] {
    const p = this.pooler;
    return [{
      server: this.postgres.name, budget: this.postgres.connectionBudget(), maxConnections: this.postgres.maxConnections(),
      pooler: p && { name: p.name, budget: p.clientBudget(), maxClientConn: p.maxClientConn() },
    }];
  }
}

/**
 * Whether a system's chart runs on PostgreSQL and Redis (a `SystemStack`). Not `instanceof`:
 * cdk8s's Chart answers `instanceof` for every chart (its Symbol.hasInstance).
 */
export function isPostgresSystem(chart: SystemChart): chart is SystemStack {
  return (chart as Partial<SystemStack>).postgres !== undefined;
}
