/**
 * quality-billing-infra: cdk8s constructs and stacks for the quality-billing system and the other seed
 * systems (QCAT, finance-ai, ai-bookkeeping).
 *
 *   import { Postgres, Redis, AppService, QualityBillingStack, ENVIRONMENTS } from 'quality-billing-infra';
 */

// lib: pure building blocks
export * from './lib/capacity';
export * from './lib/environments';
export * from './lib/errors';
export * from './lib/images';
export * from './lib/labels';
export * from './lib/postgres-config';
export * from './lib/presets';
export * from './lib/quantity';
export * from './lib/redis-config';
export * from './lib/schedule';
export * from './lib/secrets';
export * from './lib/security';
export * from './lib/sizing';
export * from './lib/tiers';
export * from './lib/tuning';
export * from './lib/validate';
export * from './lib/wait-for-job';
export * from './lib/monitoring/alert-rules';
export * from './lib/monitoring/alertmanager-config';
export * from './lib/monitoring/dashboards';
export * from './lib/monitoring/prometheus-config';

// constructs
export * from './constructs/app-service';
export * from './constructs/app-workload';
export * from './constructs/celery-beat';
export * from './constructs/celery-worker';
export * from './constructs/connections';
export * from './constructs/migration-job';
export * from './constructs/monitoring/alertmanager';
export * from './constructs/monitoring/celery-exporter';
export * from './constructs/monitoring/exporter-deployment';
export * from './constructs/monitoring/grafana';
export * from './constructs/monitoring/kube-state-metrics';
export * from './constructs/monitoring/monitoring';
export * from './constructs/monitoring/prometheus';
export * from './constructs/pod';
export * from './constructs/postgres';
export * from './constructs/redis';
export * from './constructs/restricted-namespace';
export * from './constructs/stateful-server';
export * from './constructs/workload';
export * from './constructs/minio';
export * from './constructs/mongo-replica-set';
export * from './constructs/redis-replication';
export * from './constructs/monitoring/pushgateway';
export * from './constructs/tracing/jaeger';
export * from './constructs/discovery/consul';
export * from './constructs/backup/mongo-backup';
export * from './lib/backup/mongo-scripts';
export * from './lib/redis-replication';
export * from './constructs/setup-job';
export * from './lib/mongo-scripts';
export * from './constructs/backup/config-backup';
export * from './lib/backup/config-scripts';
export * from './constructs/edge/nginx-edge';
export * from './constructs/edge/app-ingress';
export * from './constructs/edge/tls-certificate';
export * from './constructs/logging/logging';
export * from './constructs/logging/elasticsearch';
export * from './constructs/logging/kibana';
export * from './constructs/logging/filebeat';

// stacks and the synth entry point
export * from './stacks/system-stack';
export * from './stacks/quality-billing-stack';
export * from './stacks/qcat-stack';
export * from './stacks/finance-ai-stack';
export * from './stacks/ai-bookkeeping-stack';
export * from './stacks/merchant-analysis-stack';
export * from './stacks/systems';
export * from './constructs/app-config';
export { synthAll } from './bin/synth';
export * from './lib/backup/s3';
export * from './lib/backup/logical-scripts';
export * from './lib/backup/pgbackrest';
export * from './constructs/backup/logical-backup-workload';
export * from './constructs/backup/postgres-backup';
export * from './constructs/backup/restore-test';
export * from './constructs/backup/postgres-restore';
export * from './constructs/backup/point-in-time-recovery';
export * from './constructs/backup/point-in-time-restore';
export * from './lib/pulumi/cdk8s-chart';
export * from './lib/pulumi/stack-secrets';
export * from './lib/pulumi/backup-bucket';
export * from './lib/pulumi/image-repository';
