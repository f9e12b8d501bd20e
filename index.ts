/**
 * quality-billing-infra: cdk8s constructs and stacks for the quality-billing system and the other
 * seed systems (QCAT, finance-ai, merchant-analysis, ai-bookkeeping).
 *
 *   import { Postgres, Redis, AppService, QualityBillingStack, ENVIRONMENTS } from 'quality-billing-infra';
 *
 * Ordered by layer (lib ← constructs ← stacks). This entry point loads no Pulumi module; the
 * Pulumi layer is the subpath `quality-billing-infra/pulumi`.
 */

// lib: pure building blocks (no cdk8s, no Pulumi)
export * from './lib/errors';
export * from './lib/validate';
export * from './lib/quantity';
export * from './lib/tiers';
export * from './lib/presets';
export * from './lib/sizing';
export * from './lib/environments';
export * from './lib/capacity';
export * from './lib/tuning';
export * from './lib/celery-settings';
export * from './lib/keda-scaling';
export * from './lib/labels';
export * from './lib/images';
export * from './lib/schedule';
export * from './lib/batch-overlap';
export * from './lib/maintenance-window';
export * from './lib/drill/kinds';
export * from './lib/drill/record';
export * from './lib/secrets';
export * from './lib/secret-requirements';
export * from './lib/external-secrets';
export * from './lib/security';
export * from './lib/postgres-config';
export * from './lib/redis-config';
export * from './lib/redis-replication';
export * from './lib/mongo-replica-set-scripts';
export * from './lib/wait-for-job';
export * from './lib/monitoring/alert-rules';
export * from './lib/monitoring/alertmanager-config';
export * from './lib/monitoring/dashboards';
export * from './lib/monitoring/prometheus-config';
export * from './lib/backup/s3';
export * from './lib/backup/logical-scripts';
export * from './lib/backup/pgbackrest';
export * from './lib/backup/config-scripts';
export * from './lib/backup/mongodump-scripts';
export * from './lib/backup/mongorestore-scripts';

export * from './lib/logging/snapshots';
export * from './lib/backup/model-scripts';

export * from './lib/backup/redis-scripts';
export * from './lib/backup/minio-scripts';

// constructs/core: workload bases, pod spec helpers, connections
export * from './constructs/core/component';
export * from './constructs/core/workload';
export * from './constructs/core/pod-spec';
export * from './constructs/core/connections';
export * from './constructs/core/waitable';
export * from './constructs/core/validation';
export * from './constructs/core/lazy';
export * from './constructs/core/metrics-service';
export * from './constructs/core/stateful-server';
export * from './constructs/core/autoscaler';
export * from './constructs/core/restricted-namespace';
export * from './constructs/core/setup-job';
export * from './constructs/core/external-secrets';

// constructs/app: the application's workloads
export * from './constructs/app/app-workload';
export * from './constructs/app/app-service';
export * from './constructs/app/app-config';
export * from './constructs/app/migration-job';
export * from './constructs/app/celery-worker';
export * from './constructs/app/celery-queue-scaler';
export * from './constructs/app/celery-beat';

// constructs/data: the servers applications connect to
export * from './constructs/data/postgres-reference';
export * from './constructs/data/postgres';
export * from './constructs/data/external-postgres';
export * from './constructs/data/redis-database';
export * from './constructs/data/redis';
export * from './constructs/data/external-redis';
export * from './constructs/data/redis-replication';
export * from './constructs/data/mongo-replica-set';
export * from './constructs/data/mongo-maintenance';
export * from './constructs/data/minio';
export * from './constructs/data/consul';

// constructs: the platform families
export * from './constructs/edge/nginx-edge';
export * from './constructs/edge/app-ingress';
export * from './constructs/edge/tls-certificate';
export * from './constructs/monitoring/monitoring';
export * from './constructs/monitoring/prometheus';
export * from './constructs/monitoring/alertmanager';
export * from './constructs/monitoring/grafana';
export * from './constructs/monitoring/kube-state-metrics';
export * from './constructs/monitoring/celery-exporter';
export * from './constructs/monitoring/exporter-deployment';
export * from './constructs/monitoring/pushgateway';
export * from './constructs/monitoring/jaeger';
export * from './constructs/monitoring/jaeger-index-cleaner';
export * from './constructs/logging/logging';
export * from './constructs/logging/elasticsearch';
export * from './constructs/logging/kibana';
export * from './constructs/logging/filebeat';
export * from './constructs/logging/log-snapshots';
export * from './constructs/backup/model-files';
export * from './constructs/backup/logical-backup-workload';
export * from './constructs/backup/postgres-backup';
export * from './constructs/backup/restore-test';
export * from './constructs/drill/drill';
export * from './constructs/backup/postgres-restore';
export * from './constructs/backup/point-in-time-recovery';
export * from './constructs/backup/point-in-time-restore';
export * from './constructs/backup/config-backup';
export * from './constructs/backup/mongo-backup';
export * from './constructs/backup/mongo-restore';

export * from './constructs/backup/redis-backup';
export * from './constructs/backup/redis-restore';
export * from './constructs/backup/minio-mirror';
export * from './constructs/backup/minio-restore';
export * from './constructs/backup/restore-job';

// stacks: the shipped systems and their shared base
export * from './stacks/system-chart';
export * from './stacks/system-stack';
export * from './stacks/quality-billing-stack';
export * from './stacks/qcat-stack';
export * from './stacks/finance-ai-stack';
export * from './stacks/ai-bookkeeping-stack';
export * from './stacks/merchant-analysis-stack';
export * from './stacks/systems';
export * from './stacks/restore-targets';
