import { Construct } from 'constructs';
import { SecretKeyRef } from '../lib/secrets';
import { AppConfig } from '../constructs/app/app-config';
import { AppService } from '../constructs/app/app-service';
import { ModelFiles } from '../constructs/backup/model-files';
import { ScheduledDrillOptions, SystemDefinition, SystemStack, SystemStackProps, systemBackupStorage } from './system-stack';

/** Props of `FinanceAiStack`. */
export interface FinanceAiStackProps extends SystemStackProps {
  /** How the API's Service is exposed: seed 002 puts a LoadBalancer on port 80 beside the Ingress; "ClusterIP" serves it only through the Ingress (TLS). @default "LoadBalancer" */
  readonly apiServiceType?: 'LoadBalancer' | 'ClusterIP';
  /**
   * The quarterly drills of seed 002 (switchover and service recovery as CronJobs; data recovery is
   * the monthly restore test), in every environment with backups; `false` runs none.
   * @default - both, where the environment has backups (staging, prod) — the switchover where PostgreSQL has standbys
   */
  readonly drills?: ScheduledDrillOptions | false;
}

/** The Secret seed 002 creates with `kubectl create secret generic finance-ai-secrets`. */
export const FINANCE_AI_SECRETS = 'finance-ai-secrets';

/** finance-ai (seed 002): full backups kept 30 days, incrementals 7 days, point-in-time recovery, behind an Ingress. */
export const FINANCE_AI: SystemDefinition = {
  name: 'finance-ai', title: 'finance-ai', database: 'finance_ai',
  backup: { retentionDays: 30, pointInTimeRecovery: true },
  edge: 'ingress',
  databaseUrlSecret: SecretKeyRef.of(FINANCE_AI_SECRETS, 'database-url'),
  // dev runs on two minimum-tier nodes, not one: the seed's three 1 GiB API replicas leave one
  // node 808 MiB, so a release's surge pod (maxUnavailable 0) would never be placed and every
  // rolling update would stall (the capacity check "room for a release's rolling update").
  environment: env => (env.name === 'dev' ? { nodes: Math.max(env.nodes, 2) } : {}),
};

/**
 * finance-ai (seed 002) for one environment: the FastAPI app on 8000 with 3 replicas at
 * 500m/1Gi requests and 2000m/4Gi limits, `/health` and `/ready` probes on 8000, a LoadBalancer
 * Service on port 80 and an Ingress; settings from the "finance-ai-config" ConfigMap and
 * credentials from the "finance-ai-secrets" Secret (database-url, redis-url, api-key, llm-api-key);
 * PostgreSQL 14 and Redis; full backups daily at 02:00 kept 30 days and incrementals every 6 hours
 * kept 7 days with point-in-time recovery. Ten ReplicaSets are kept, so `kubectl rollout undo`
 * (seed 002's rollback) always has the previous revisions.
 */
export class FinanceAiStack extends SystemStack {
  public readonly api: AppService;
  public readonly config: AppConfig;
  /** The model volume, its weekly archive to object storage and its restore, when the environment has backups. */
  public readonly models?: ModelFiles;

  constructor(scope: Construct, id: string, props: FinanceAiStackProps) {
    super(scope, id, props, FINANCE_AI);
    const env = this.environment;
    this.config = new AppConfig(this, 'Config', {
      name: `${this.prefix}-config`,
      // Seed 002's ConfigMap without its URLs, which carry the database password: those come from the Secret.
      data: { log_level: env.logLevel, log_format: 'json', llm_api_url: 'https://api.openai.com/v1' },
    });
    const secret = (key: string) => SecretKeyRef.of(FINANCE_AI_SECRETS, key);
    this.api = new AppService(this, 'Api', {
      name: `${this.prefix}-api`,
      replicas: 3,
      port: 8000,
      serviceType: props.apiServiceType ?? 'LoadBalancer',
      servicePort: 80,
      // Seed 002 names no pool size; 10 keeps 3 replicas (4 workers each, one surge pod) within a 1Gi PostgreSQL.
      databasePoolSize: 10,
      tier: env.tier,
      resources: { cpuRequest: '500m', memoryRequest: '1Gi', cpuLimit: '2000m', memoryLimit: '4Gi' },
      settings: {
        ...this.settings,
        config: { configMap: this.config, env: { LOG_LEVEL: 'log_level', LOG_FORMAT: 'log_format', LLM_API_URL: 'llm_api_url' } },
        extraSecretEnv: { API_KEY: secret('api-key'), LLM_API_KEY: secret('llm-api-key') },
      },
    })
      .connectTo(this.database)
      .connectTo(this.redis.cache);
    this.addEdge(this.api);
    this.addMonitoring([this.api]);
    // Seed 002 §11.2: logs archived to object storage (snapshots of the log indices, kept as the backups).
    this.addLogging({ archive: true });
    // Seed 002: full at 02:00, incremental every 6 hours; the logical dump (restore-tested) an hour before.
    this.addBackups({ logicalSchedule: '0 1 * * *', fullSchedule: '0 2 * * *', incrementalSchedule: '0 8,14,20 * * *' });
    // Seed 002 §11.2: model files backed up to object storage, beside the database's folder.
    if (env.backup !== false) {
      const storage = { ...systemBackupStorage(env.name, FINANCE_AI.name), ...props.backupStorage };
      this.models = new ModelFiles(this, 'ModelFiles', {
        name: `${this.prefix}-models`, backupStorage: { ...storage, prefix: storage.prefix.replace(/\/postgres$/, '') },
        tier: env.tier, timeZone: env.timeZone, retentionDays: FINANCE_AI.backup?.retentionDays,
        // ReadWriteMany: the API's replicas, one per node, all read it.
        storageClassName: props.sharedStorageClass,
      }).mountInto(this.api);
    }
    // Seed 002: a switchover, a data-recovery and a service-recovery drill every quarter, each recorded.
    if (props.drills !== false) this.addDrills(props.drills);
  }
}
