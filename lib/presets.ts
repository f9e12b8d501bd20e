import { ResourceQuantities } from './sizing';
import { TierName } from './tiers';

/** The components whose resources a tier sets (Bitnami-style resource presets, one per tier). */
export type ComponentName =
  | 'app' | 'migration' | 'celeryWorker' | 'celeryBeat'
  | 'postgres' | 'postgresExporter' | 'postgresMaintenance' | 'pgbouncer' | 'pgbouncerExporter'
  | 'redis' | 'redisExporter' | 'waitForMigration'
  | 'prometheus' | 'alertmanager' | 'grafana' | 'kubeStateMetrics' | 'celeryExporter'
  | 'edge' | 'edgeExporter'
  | 'elasticsearch' | 'kibana' | 'filebeat' | 'logSetup'
  | 'backup' | 'backupTrigger'
  | 'minio' | 'minioBootstrap'
  | 'mongo' | 'mongoExporter' | 'mongoInit'
  | 'redisSentinel'
  | 'pushgateway' | 'jaeger' | 'jaegerQuery' | 'consul';

/** Persistent storage a tier gives each stateful component. */
export interface StoragePreset {
  readonly postgres: string;
  readonly redis: string;
  readonly prometheus: string;
  readonly alertmanager: string;
  readonly grafana: string;
  readonly elasticsearch: string;
  readonly minio: string;
  readonly mongo: string;
  readonly consul: string;
}

/**
 * Resources per component and tier. The recommended app row is seed 000 §4.2 verbatim
 * (512Mi/500m requests, 1Gi/1000m limits); the minimum tier halves it. Databases get a memory
 * limit equal to their request so the kernel never reclaims what PostgreSQL's and Redis's
 * tuning counted on.
 */
const TIER_PRESETS = {
  minimum: {
    app: { cpuRequest: '250m', cpuLimit: '500m', memoryRequest: '256Mi', memoryLimit: '512Mi' },
    migration: { cpuRequest: '100m', cpuLimit: '500m', memoryRequest: '256Mi', memoryLimit: '512Mi' },
    waitForMigration: { cpuRequest: '10m', cpuLimit: '100m', memoryRequest: '32Mi', memoryLimit: '64Mi' },
    celeryWorker: { cpuRequest: '250m', cpuLimit: '1', memoryRequest: '384Mi', memoryLimit: '768Mi' },
    celeryBeat: { cpuRequest: '50m', cpuLimit: '250m', memoryRequest: '128Mi', memoryLimit: '256Mi' },
    postgres: { cpuRequest: '500m', cpuLimit: '2', memoryRequest: '1Gi', memoryLimit: '1Gi' },
    postgresExporter: { cpuRequest: '20m', cpuLimit: '100m', memoryRequest: '32Mi', memoryLimit: '64Mi' },
    // PgBouncer is one single-threaded process: one core is all it can use; a few KiB per connection.
    pgbouncer: { cpuRequest: '50m', cpuLimit: '500m', memoryRequest: '32Mi', memoryLimit: '64Mi' },
    pgbouncerExporter: { cpuRequest: '10m', cpuLimit: '50m', memoryRequest: '16Mi', memoryLimit: '32Mi' },
    postgresMaintenance: { cpuRequest: '50m', cpuLimit: '250m', memoryRequest: '64Mi', memoryLimit: '128Mi' },
    redis: { cpuRequest: '100m', cpuLimit: '500m', memoryRequest: '512Mi', memoryLimit: '512Mi' },
    redisExporter: { cpuRequest: '20m', cpuLimit: '100m', memoryRequest: '32Mi', memoryLimit: '64Mi' },
    prometheus: { cpuRequest: '200m', cpuLimit: '1', memoryRequest: '512Mi', memoryLimit: '1Gi' },
    alertmanager: { cpuRequest: '20m', cpuLimit: '200m', memoryRequest: '64Mi', memoryLimit: '128Mi' },
    grafana: { cpuRequest: '50m', cpuLimit: '500m', memoryRequest: '128Mi', memoryLimit: '256Mi' },
    kubeStateMetrics: { cpuRequest: '20m', cpuLimit: '200m', memoryRequest: '64Mi', memoryLimit: '128Mi' },
    celeryExporter: { cpuRequest: '20m', cpuLimit: '200m', memoryRequest: '64Mi', memoryLimit: '128Mi' },
    edge: { cpuRequest: '100m', cpuLimit: '500m', memoryRequest: '64Mi', memoryLimit: '128Mi' },
    edgeExporter: { cpuRequest: '10m', cpuLimit: '100m', memoryRequest: '16Mi', memoryLimit: '32Mi' },
    elasticsearch: { cpuRequest: '500m', cpuLimit: '1', memoryRequest: '2Gi', memoryLimit: '2Gi' },
    kibana: { cpuRequest: '100m', cpuLimit: '500m', memoryRequest: '512Mi', memoryLimit: '1Gi' },
    filebeat: { cpuRequest: '50m', cpuLimit: '200m', memoryRequest: '100Mi', memoryLimit: '200Mi' },
    logSetup: { cpuRequest: '10m', cpuLimit: '100m', memoryRequest: '16Mi', memoryLimit: '32Mi' },
    backup: { cpuRequest: '100m', cpuLimit: '500m', memoryRequest: '128Mi', memoryLimit: '512Mi' },
    backupTrigger: { cpuRequest: '10m', cpuLimit: '100m', memoryRequest: '32Mi', memoryLimit: '64Mi' },
    minio: { cpuRequest: '100m', cpuLimit: '1', memoryRequest: '512Mi', memoryLimit: '512Mi' },
    minioBootstrap: { cpuRequest: '10m', cpuLimit: '200m', memoryRequest: '32Mi', memoryLimit: '128Mi' },
    mongo: { cpuRequest: '250m', cpuLimit: '1', memoryRequest: '1Gi', memoryLimit: '1Gi' },
    mongoExporter: { cpuRequest: '20m', cpuLimit: '100m', memoryRequest: '32Mi', memoryLimit: '64Mi' },
    mongoInit: { cpuRequest: '50m', cpuLimit: '500m', memoryRequest: '128Mi', memoryLimit: '256Mi' },
    redisSentinel: { cpuRequest: '20m', cpuLimit: '200m', memoryRequest: '32Mi', memoryLimit: '64Mi' },
    pushgateway: { cpuRequest: '20m', cpuLimit: '200m', memoryRequest: '32Mi', memoryLimit: '128Mi' },
    jaeger: { cpuRequest: '100m', cpuLimit: '1', memoryRequest: '256Mi', memoryLimit: '512Mi' },
    jaegerQuery: { cpuRequest: '50m', cpuLimit: '500m', memoryRequest: '128Mi', memoryLimit: '256Mi' },
    consul: { cpuRequest: '50m', cpuLimit: '500m', memoryRequest: '128Mi', memoryLimit: '256Mi' },
  },
  recommended: {
    app: { cpuRequest: '500m', cpuLimit: '1', memoryRequest: '512Mi', memoryLimit: '1Gi' },
    migration: { cpuRequest: '250m', cpuLimit: '1', memoryRequest: '512Mi', memoryLimit: '1Gi' },
    waitForMigration: { cpuRequest: '10m', cpuLimit: '100m', memoryRequest: '32Mi', memoryLimit: '64Mi' },
    celeryWorker: { cpuRequest: '500m', cpuLimit: '2', memoryRequest: '768Mi', memoryLimit: '1536Mi' },
    celeryBeat: { cpuRequest: '100m', cpuLimit: '500m', memoryRequest: '128Mi', memoryLimit: '256Mi' },
    postgres: { cpuRequest: '2', cpuLimit: '4', memoryRequest: '4Gi', memoryLimit: '4Gi' },
    postgresExporter: { cpuRequest: '50m', cpuLimit: '200m', memoryRequest: '64Mi', memoryLimit: '128Mi' },
    pgbouncer: { cpuRequest: '100m', cpuLimit: '1', memoryRequest: '64Mi', memoryLimit: '128Mi' },
    pgbouncerExporter: { cpuRequest: '10m', cpuLimit: '100m', memoryRequest: '32Mi', memoryLimit: '64Mi' },
    postgresMaintenance: { cpuRequest: '100m', cpuLimit: '500m', memoryRequest: '128Mi', memoryLimit: '256Mi' },
    redis: { cpuRequest: '250m', cpuLimit: '1', memoryRequest: '1Gi', memoryLimit: '1Gi' },
    redisExporter: { cpuRequest: '50m', cpuLimit: '100m', memoryRequest: '64Mi', memoryLimit: '128Mi' },
    prometheus: { cpuRequest: '500m', cpuLimit: '2', memoryRequest: '2Gi', memoryLimit: '2Gi' },
    alertmanager: { cpuRequest: '50m', cpuLimit: '200m', memoryRequest: '64Mi', memoryLimit: '128Mi' },
    grafana: { cpuRequest: '100m', cpuLimit: '1', memoryRequest: '256Mi', memoryLimit: '512Mi' },
    kubeStateMetrics: { cpuRequest: '50m', cpuLimit: '200m', memoryRequest: '128Mi', memoryLimit: '256Mi' },
    celeryExporter: { cpuRequest: '50m', cpuLimit: '200m', memoryRequest: '64Mi', memoryLimit: '128Mi' },
    edge: { cpuRequest: '250m', cpuLimit: '1', memoryRequest: '128Mi', memoryLimit: '256Mi' },
    edgeExporter: { cpuRequest: '10m', cpuLimit: '100m', memoryRequest: '16Mi', memoryLimit: '32Mi' },
    elasticsearch: { cpuRequest: '1', cpuLimit: '2', memoryRequest: '4Gi', memoryLimit: '4Gi' },
    kibana: { cpuRequest: '250m', cpuLimit: '1', memoryRequest: '768Mi', memoryLimit: '1Gi' },
    filebeat: { cpuRequest: '100m', cpuLimit: '500m', memoryRequest: '128Mi', memoryLimit: '256Mi' },
    logSetup: { cpuRequest: '10m', cpuLimit: '100m', memoryRequest: '16Mi', memoryLimit: '32Mi' },
    backup: { cpuRequest: '250m', cpuLimit: '1', memoryRequest: '256Mi', memoryLimit: '1Gi' },
    backupTrigger: { cpuRequest: '10m', cpuLimit: '100m', memoryRequest: '32Mi', memoryLimit: '64Mi' },
    minio: { cpuRequest: '250m', cpuLimit: '1', memoryRequest: '1Gi', memoryLimit: '1Gi' },
    minioBootstrap: { cpuRequest: '10m', cpuLimit: '200m', memoryRequest: '32Mi', memoryLimit: '128Mi' },
    mongo: { cpuRequest: '500m', cpuLimit: '2', memoryRequest: '2Gi', memoryLimit: '2Gi' },
    mongoExporter: { cpuRequest: '20m', cpuLimit: '100m', memoryRequest: '32Mi', memoryLimit: '64Mi' },
    mongoInit: { cpuRequest: '50m', cpuLimit: '500m', memoryRequest: '128Mi', memoryLimit: '256Mi' },
    redisSentinel: { cpuRequest: '20m', cpuLimit: '200m', memoryRequest: '32Mi', memoryLimit: '64Mi' },
    pushgateway: { cpuRequest: '20m', cpuLimit: '200m', memoryRequest: '32Mi', memoryLimit: '128Mi' },
    jaeger: { cpuRequest: '200m', cpuLimit: '1', memoryRequest: '512Mi', memoryLimit: '1Gi' },
    jaegerQuery: { cpuRequest: '50m', cpuLimit: '500m', memoryRequest: '128Mi', memoryLimit: '256Mi' },
    consul: { cpuRequest: '50m', cpuLimit: '500m', memoryRequest: '128Mi', memoryLimit: '256Mi' },
  },
} satisfies Readonly<Record<'minimum' | 'recommended', Readonly<Record<ComponentName, ResourceQuantities>>>>;

/** Resources per component and tier; the compact tier's nodes are the recommended ones (only their disk is smaller). */
export const RESOURCE_PRESETS: Readonly<Record<TierName, Readonly<Record<ComponentName, ResourceQuantities>>>> = {
  ...TIER_PRESETS,
  compact: TIER_PRESETS.recommended,
};

/** PVC sizes per tier: PostgreSQL takes the bulk of the disk the tier leaves for volumes. */
export const STORAGE_PRESETS: Readonly<Record<TierName, StoragePreset>> = {
  minimum: { postgres: '40Gi', redis: '4Gi', prometheus: '10Gi', alertmanager: '1Gi', grafana: '1Gi', elasticsearch: '20Gi', minio: '10Gi', mongo: '20Gi', consul: '1Gi' },
  recommended: { postgres: '200Gi', redis: '10Gi', prometheus: '50Gi', alertmanager: '1Gi', grafana: '2Gi', elasticsearch: '150Gi', minio: '50Gi', mongo: '50Gi', consul: '2Gi' },
  // 100 GB disks (74 GiB for volumes): what one node holds of each.
  compact: { postgres: '30Gi', redis: '5Gi', prometheus: '15Gi', alertmanager: '1Gi', grafana: '1Gi', elasticsearch: '25Gi', minio: '10Gi', mongo: '25Gi', consul: '1Gi' },
};
