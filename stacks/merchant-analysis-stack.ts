import { Construct } from 'constructs';
import { S3Location } from '../lib/backup/s3';
import { EnvironmentSpec } from '../lib/environments';
import { AppService } from '../constructs/app/app-service';
import { ConfigBackup } from '../constructs/backup/config-backup';
import { MongoBackup } from '../constructs/backup/mongo-backup';
import { RedisBackup } from '../constructs/backup/redis-backup';
import { Consul } from '../constructs/data/consul';
import { MongoMaintenance } from '../constructs/data/mongo-maintenance';
import { MongoReplicaSet } from '../constructs/data/mongo-replica-set';
import { IMonitorable } from '../constructs/monitoring/prometheus';
import { Pushgateway } from '../constructs/monitoring/pushgateway';
import { plainEnv } from '../constructs/core/pod-spec';
import { RedisReplication } from '../constructs/data/redis-replication';
import { Jaeger } from '../constructs/monitoring/jaeger';
import { Drill } from '../constructs/drill/drill';
import { BackupFlow, SystemChart, SystemDefinition, SystemStackProps, systemBackupStorage } from './system-chart';

/** Props of `MerchantAnalysisStack`. */
export type MerchantAnalysisStackProps = SystemStackProps;

/** One service of the platform, as data: the stack declares them in one loop. */
export interface MicroserviceSpec {
  /** Object name after the system prefix, and the image's name (seed 003's compose services). */
  readonly name: string;
  /** Image repository under "merchant-analysis/". */
  readonly image: string;
  /** The gateway reaches it under this environment variable (its base URL). */
  readonly urlEnv: string;
}

/** The four services behind the gateway (seed 003 §4). */
export const MERCHANT_SERVICES: readonly MicroserviceSpec[] = [
  { name: 'data-simulator', image: 'data-simulator', urlEnv: 'DATA_SIMULATOR_URL' },
  { name: 'cashflow-predictor', image: 'cashflow', urlEnv: 'CASHFLOW_PREDICTOR_URL' },
  { name: 'cost-analyzer', image: 'cost-analyzer', urlEnv: 'COST_ANALYZER_URL' },
  { name: 'compliance-checker', image: 'compliance', urlEnv: 'COMPLIANCE_CHECKER_URL' },
];

/** The API gateway in front of the services (seed 003 §4). */
export const MERCHANT_GATEWAY = { name: 'api-gateway', image: 'api-gateway' } as const;

/**
 * merchant-analysis on seed 003's hardware (8 cores / 16 GB / 100 GB SSD, the "compact" tier):
 * one node in dev, three in staging and prod; dev keeps one of each stateful member.
 */
export const MERCHANT_ANALYSIS: SystemDefinition = {
  name: 'merchant-analysis', title: 'Merchant Analysis', database: 'merchant_analysis',
  applications: [MERCHANT_GATEWAY.name, ...MERCHANT_SERVICES.map(s => s.name)],
  // Logs: 14 days at most of an estimated 1 GiB a day, what the compact tier's 25 GiB volume holds.
  // Seed 003 §维护计划: routine maintenance every Sunday 02:00–04:00.
  maintenanceWindow: { weekday: 'Sunday', start: '02:00', end: '04:00' },
  environment: (env: EnvironmentSpec) => ({
    tier: 'compact', nodes: env.name === 'dev' ? 1 : 3, logRetentionDays: Math.min(env.logRetentionDays, 14), dailyLogVolume: '1Gi',
  }),
};

/**
 * merchant-analysis (seed 003) for one environment: an API gateway (2 replicas, 8000) in front of
 * four services (2 replicas each), declared as data in `MERCHANT_SERVICES`; MongoDB 5 as replica
 * set rs0 of three members; Redis master + two replicas with Sentinel; Prometheus with the
 * Pushgateway (9091), Grafana and Alertmanager with the seed's SLO alerts (CPU < 70 %, memory
 * < 80 %, p95 < 500 ms, errors < 0.1 %); Elasticsearch/Kibana log shipping; Jaeger tracing
 * (in memory in dev, on Elasticsearch otherwise) reached over OTLP; Consul servers for discovery;
 * a daily verified mongodump, a daily verified Redis RDB snapshot (from a replica) and a weekly
 * configuration export to S3; a weekly validation of the
 * database inside the Sunday 02:00–04:00 maintenance window, during which Alertmanager mutes alerts
 * that are not critical.
 */
export class MerchantAnalysisStack extends SystemChart {
  public readonly mongo: MongoReplicaSet;
  public readonly redis: RedisReplication;
  public readonly gateway: AppService;
  public readonly services: readonly AppService[];
  public readonly pushgateway: Pushgateway;
  public readonly jaeger: Jaeger;
  public readonly consul: Consul;
  /** The daily mongodump, when the environment has backups. */
  public readonly mongoBackup?: MongoBackup;
  /** The daily verified RDB snapshot of the replicated Redis (seed 003 §备份策略 1), when the environment has backups. */
  public readonly redisBackup?: RedisBackup;
  /** The weekly configuration export (seed 003 §备份策略 2), when the environment has backups. */
  public readonly configBackup?: ConfigBackup;
  /** The weekly validation of the database, inside the maintenance window. */
  public readonly mongoMaintenance: MongoMaintenance;
  /**
   * The quarterly service drill (seed 003 "regular drills"): the gateway's and the four services'
   * Deployments restarted, then each `/health`, inside the maintenance window, with its record
   * beside the backups; when the environment has backups (the record's bucket).
   */
  public readonly serviceDrill?: Drill;
  private readonly backupStorage?: S3Location;

  constructor(scope: Construct, id: string, props: MerchantAnalysisStackProps) {
    super(scope, id, props, MERCHANT_ANALYSIS);
    const env = this.environment;
    const prefix = this.prefix;
    const single = env.nodes === 1;
    this.mongo = new MongoReplicaSet(this, 'Mongo', {
      name: `${prefix}-mongodb`, tier: env.tier, members: single ? 1 : 3, allowSingleMember: single,
      database: MERCHANT_ANALYSIS.database, appUser: 'merchant',
    });
    // Seed 003 §维护计划: routine maintenance inside the Sunday window.
    this.mongoMaintenance = new MongoMaintenance(this, 'MongoMaintenance', { mongo: this.mongo, tier: env.tier, timeZone: env.timeZone });
    this.redis = new RedisReplication(this, 'Redis', { name: `${prefix}-redis`, tier: env.tier, replicas: single ? 0 : 2, sentinels: single ? 1 : 3 });
    this.consul = new Consul(this, 'Consul', { name: `${prefix}-consul`, tier: env.tier, servers: single ? 1 : 3 });
    this.pushgateway = new Pushgateway(this, 'Pushgateway', { name: `${prefix}-pushgateway`, tier: env.tier });
    this.addLogging();
    this.jaeger = new Jaeger(this, 'Jaeger', {
      name: `${prefix}-jaeger`, tier: env.tier,
      ...(this.logging ? { mode: 'production', elasticsearch: this.logging.elasticsearch, retentionDays: env.logRetentionDays } : { mode: 'all-in-one' }),
    });

    const replicas = single ? 1 : 2;
    // Each application its own image (`appImages`), each placeholder its own repository.
    const service = (id: string, name: string, imageName: string) => new AppService(this, id, {
      name: `${prefix}-${name}`, replicas, tier: env.tier, settings: { ...this.settings, image: this.applicationImage(name, `merchant-analysis/${imageName}:1.0.0`) }, command: [], workers: 1,
    })
      .connectTo(this.mongo)
      .connectTo(this.redis)
      .connectTo(this.consul)
      .connectTo(this.jaeger)
      .connectTo(this.pushgateway);
    this.services = MERCHANT_SERVICES.map(s => service(`Service-${s.name}`, s.name, s.image));
    this.gateway = service('Gateway', MERCHANT_GATEWAY.name, MERCHANT_GATEWAY.image);
    MERCHANT_SERVICES.forEach((s, i) => {
      const target = this.services[i];
      this.gateway.addEnv(plainEnv(s.urlEnv, `http://${target.name}:${target.servicePort}`));
      target.acceptTrafficFrom(this.gateway, target.port);
    });
    this.addEdge(this.gateway);
    this.addMonitoring([this.gateway, ...this.services, this.pushgateway, this.jaeger, this.consul]);

    if (env.backup !== false) {
      const storage: S3Location = { ...systemBackupStorage(env.name, MERCHANT_ANALYSIS.name), prefix: env.name, ...props.backupStorage };
      this.backupStorage = storage;
      this.mongoBackup = new MongoBackup(this, 'MongoBackup', { mongo: this.mongo, backupStorage: storage, tier: env.tier, timeZone: env.timeZone, retentionDays: env.backup.retentionDays });
      // 02:30 daily: inside the maintenance window's hours, as the synth requires of backups here.
      this.redisBackup = new RedisBackup(this, 'RedisBackup', { redis: this.redis, backupStorage: storage, tier: env.tier, timeZone: env.timeZone, retentionDays: env.backup.retentionDays, schedule: '30 2 * * *' });
      this.configBackup = new ConfigBackup(this, 'ConfigBackup', {
        // Sunday 03:00: inside the maintenance window, while the 02:00 dump runs (the planner counts both).
        name: `${prefix}-config-backup`, backupStorage: storage, tier: env.tier, timeZone: env.timeZone, schedule: '0 3 * * 0',
        retentionDays: Math.max(env.backup.retentionDays, 28), apiServer: props.apiServer,
      });
      // Sunday 02:30 in each quarter's first month: inside the window (drills are maintenance here), after the 02:00 dump started.
      this.serviceDrill = new Drill(this, 'ServiceDrill', {
        kind: 'service', record: { system: MERCHANT_ANALYSIS.name, environment: env.name, storage }, timeZone: env.timeZone, tier: env.tier, apiServer: props.apiServer,
        deployments: this.appDeployments(), healthChecks: this.appServices(), schedule: this.quarterlyDrillSchedule(30),
      });
      const drill = { name: this.serviceDrill.cronJob!.name, spec: this.serviceDrill.cronJobSpec! };
      this.withMonitoring(m => m.alertOnDrills([drill]));
    }
  }

  /** Where drill records go: `<environment>/drills/<kind>/` of the backup bucket, beside the dumps. */
  public drillRecordStorage(): S3Location | undefined {
    return this.backupStorage;
  }

  public backupDestination(): string | undefined {
    const s = this.mongoBackup?.backupStorage;
    return s && `s3://${s.bucket}/${s.prefix}`;
  }

  public backupFlows(): BackupFlow[] {
    return [
      ...this.mongoBackup ? [{ workload: this.mongoBackup.name, label: 'mongodump daily', direction: 'to-storage' as const }] : [],
      ...this.redisBackup ? [{ workload: this.redisBackup.name, label: 'Redis RDB daily', direction: 'to-storage' as const }] : [],
      ...this.configBackup ? [{ workload: this.configBackup.name, label: 'weekly configuration export', direction: 'to-storage' as const }] : [],
    ];
  }

  protected dataStores(): IMonitorable[] {
    return [this.mongo, this.redis];
  }
}
