import { Construct } from 'constructs';
import { AppService } from '../constructs/app/app-service';
import { MigrationJob } from '../constructs/app/migration-job';
import { MinioMirror } from '../constructs/backup/minio-mirror';
import { MinIO } from '../constructs/data/minio';
import { BackupFlow, SystemDefinition, SystemStack, SystemStackProps } from './system-stack';

/** Props of `AiBookkeepingStack`. */
export interface AiBookkeepingStackProps extends SystemStackProps {
  /** Buckets the MinIO bootstrap creates; the API and admin service get the first as S3_BUCKET. @default ["ai-bookkeeping"] */
  readonly buckets?: readonly string[];
}

/**
 * ai-bookkeeping (seed 004): backups kept 7 days; the nginx edge in every environment, since the
 * seed's failover to the backup API instance is nginx's.
 */
export const AI_BOOKKEEPING: SystemDefinition = {
  name: 'ai-bookkeeping', title: 'AI Bookkeeping', database: 'ai_bookkeeping',
  backup: { retentionDays: 7, pointInTimeRecovery: false },
  edge: 'nginx',
};

/**
 * ai-bookkeeping (seed 004) for one environment: the API as a primary Deployment on 8000 and a
 * standby instance on 8001 that the nginx edge uses only while the primary is out
 * (`max_fails=3 fail_timeout=30s backup`, `proxy_next_upstream`), both rolled without downtime;
 * the admin service on 8002; PostgreSQL, Redis and MinIO object storage on 9000 (console 9001)
 * with its buckets bootstrapped; migrations as a Job before the new version serves; a verified
 * daily compressed dump kept 7 days with a monthly restore test; MinIO's buckets mirrored daily to
 * the backup storage.
 */
export class AiBookkeepingStack extends SystemStack {
  public readonly migration: MigrationJob;
  public readonly api: AppService;
  /** The standby API instance (seed 004's :8001). */
  public readonly apiBackup: AppService;
  public readonly admin: AppService;
  public readonly minio: MinIO;
  /** The daily mirror of MinIO's buckets to the backup storage, when the environment has backups. */
  public readonly minioBackup?: MinioMirror;

  constructor(scope: Construct, id: string, props: AiBookkeepingStackProps) {
    super(scope, id, props, AI_BOOKKEEPING);
    const env = this.environment;
    const settings = this.settings;
    this.minio = new MinIO(this, 'MinIO', { name: `${this.prefix}-minio`, tier: env.tier, buckets: props.buckets ?? ['ai-bookkeeping'] });
    // Seed 004's `deploy.sh --migrate-only`: the server's migrations (alembic) before the code serves.
    this.migration = new MigrationJob(this, 'Migration', { name: `${this.prefix}-migrate`, tier: env.tier, settings, commands: [['alembic', 'upgrade', 'head']], apiServer: props.apiServer })
      .connectTo(this.postgres);
    // Pools of 10 (5 for the admin service): three services share a PostgreSQL sized for one on the minimum tier.
    const api = (id: string, name: string, port: number, replicas: number, asgiApp: string, databasePoolSize: number) => new AppService(this, id, { name, port, replicas, tier: env.tier, settings, asgiApp, databasePoolSize })
      .connectTo(this.database)
      .connectTo(this.redis.cache)
      .connectTo(this.minio)
      .waitFor(this.migration);
    this.api = api('Api', `${this.prefix}-api`, 8000, env.appReplicas, 'app.main:app', 10);
    this.apiBackup = api('ApiBackup', `${this.prefix}-api-backup`, 8001, 1, 'app.main:app', 10);
    this.admin = api('Admin', `${this.prefix}-admin`, 8002, 1, 'admin.main:app', 5);
    this.addEdge(this.api, { backupApp: this.apiBackup });
    this.addMonitoring([this.api, this.apiBackup, this.admin, this.minio]);
    this.addLogging();
    this.addBackups();
    if (this.backup) {
      // Beside the database's folder: "<environment>/postgres" → "<environment>", then "minio/<bucket>/".
      const storage = this.backup.backupStorage;
      this.minioBackup = new MinioMirror(this, 'MinioBackup', {
        minio: this.minio, backupStorage: { ...storage, prefix: storage.prefix.replace(/\/postgres$/, '') || storage.prefix }, tier: env.tier, timeZone: env.timeZone,
      });
    }
  }

  public backupFlows(): BackupFlow[] {
    return [...super.backupFlows(), ...this.minioBackup ? [{ workload: this.minioBackup.name, label: 'MinIO buckets mirrored daily', direction: 'to-storage' as const }] : []];
  }
}
