import { App } from 'cdk8s';
import { AppService } from '../../constructs/app/app-service';
import { CeleryWorker } from '../../constructs/app/celery-worker';
import { MigrationJob } from '../../constructs/app/migration-job';
import { Postgres } from '../../constructs/data/postgres';
import { Redis } from '../../constructs/data/redis';
import { RestrictedNamespace } from '../../constructs/core/restricted-namespace';
import { defineEnvironment } from '../../lib/environments';
import { QualityBillingStack } from '../../stacks/quality-billing-stack';
import { AppConfig } from '../../constructs/app/app-config';
import { MinIO } from '../../constructs/data/minio';
import { NginxEdge } from '../../constructs/edge/nginx-edge';
import { FinanceAiStack } from '../../stacks/finance-ai-stack';
import { ENVIRONMENTS } from '../../lib/environments';
import { expectValidationError, testChart } from '../helpers';

// Every prop that can be wrong fails at construction with the construct path, the field, the
// value and what is allowed.
type Case = [string, () => unknown, { path: string | RegExp; field: string; value: unknown; allowed: RegExp }];

const cases: Case[] = [
  ['replicas below 1', () => new AppService(testChart(), 'Api', { replicas: 0 }),
    { path: 'test/Api', field: 'replicas', value: 0, allowed: /integer from 1/ }],
  ['fractional replicas', () => new CeleryWorker(testChart(), 'Worker', { replicas: 1.5 }),
    { path: 'test/Worker', field: 'replicas', value: 1.5, allowed: /integer/ }],
  ['an unknown tier', () => new Postgres(testChart(), 'Postgres', { tier: 'huge' as never }),
    { path: 'test/Postgres', field: 'tier', value: 'huge', allowed: /"minimum", "recommended"/ }],
  ['a memory limit below its request', () => new Postgres(testChart(), 'Postgres', { resources: { cpuRequest: '1', cpuLimit: '2', memoryRequest: '2Gi', memoryLimit: '1Gi' } }),
    { path: 'test/Postgres', field: 'resources.memoryLimit', value: '1Gi', allowed: /at or above the request 2Gi/ }],
  ['a CPU limit below its request', () => new AppService(testChart(), 'Api', { resources: { cpuRequest: '2', cpuLimit: '500m', memoryRequest: '1Gi', memoryLimit: '1Gi' } }),
    { path: 'test/Api', field: 'resources.cpuLimit', value: '500m', allowed: /at or above the request 2/ }],
  ['a "latest" image', () => new AppService(testChart(), 'Api', { settings: { image: 'quality-billing:latest' } }),
    { path: 'test/Api', field: 'settings.image', value: 'quality-billing:latest', allowed: /never "latest"/ }],
  ['an untagged image', () => new Redis(testChart(), 'Redis', { image: 'redis' }),
    { path: 'test/Redis', field: 'image', value: 'redis', allowed: /pinned image/ }],
  ['a malformed memory quantity', () => new Redis(testChart(), 'Redis', { storage: '10 gigs' }),
    { path: 'test/Redis', field: 'storage', value: '10 gigs', allowed: /byte quantity/ }],
  ['a malformed CPU quantity', () => new CeleryWorker(testChart(), 'Worker', { resources: { cpuRequest: 'half', cpuLimit: '1', memoryRequest: '1Gi', memoryLimit: '1Gi' } }),
    { path: 'test/Worker', field: 'resources.cpuRequest', value: 'half', allowed: /CPU quantity/ }],
  ['a port out of range', () => new AppService(testChart(), 'Api', { port: 70000 }),
    { path: 'test/Api', field: 'port', value: 70000, allowed: /1 to 65535/ }],
  ['port 0', () => new Postgres(testChart(), 'Postgres', { port: 0 }),
    { path: 'test/Postgres', field: 'port', value: 0, allowed: /1 to 65535/ }],
  ['a schedule that is not cron', () => new Postgres(testChart(), 'Postgres', { maintenanceSchedule: 'every sunday' }),
    { path: 'test/Postgres', field: 'maintenanceSchedule', value: 'every sunday', allowed: /five-field cron/ }],
  ['a cron hour out of range', () => new Postgres(testChart(), 'Postgres', { maintenanceSchedule: '0 25 * * *' }),
    { path: 'test/Postgres', field: 'maintenanceSchedule', value: '0 25 * * *', allowed: /five-field cron/ }],
  ['a name that is not a DNS-1123 label', () => new AppService(testChart(), 'Api', { name: 'Quality_Billing' }),
    { path: 'test/Api', field: 'name', value: 'Quality_Billing', allowed: /DNS-1123 label/ }],
  ['a namespace that is not a DNS-1123 label', () => new RestrictedNamespace(testChart(), 'Ns', { name: 'qb.' }),
    { path: 'test/Ns', field: 'name', value: 'qb.', allowed: /DNS-1123 label/ }],
  ['a storage class that is not a DNS-1123 subdomain', () => new Postgres(testChart(), 'Postgres', { storageClassName: 'Fast SSD' }),
    { path: 'test/Postgres', field: 'storageClassName', value: 'Fast SSD', allowed: /DNS-1123 subdomain/ }],
  ['a database name PostgreSQL would need quoted', () => new Postgres(testChart(), 'Postgres', { database: 'Quality-Billing' }),
    { path: 'test/Postgres', field: 'database', value: 'Quality-Billing', allowed: /identifier/ }],
  ['an unknown log level', () => new CeleryWorker(testChart(), 'Worker', { settings: { logLevel: 'LOUD' as never } }),
    { path: 'test/Worker', field: 'settings.logLevel', value: 'LOUD', allowed: /"DEBUG", "INFO"/ }],
  ['duplicate Celery queues', () => new CeleryWorker(testChart(), 'Worker', { queues: ['default', 'default'] }),
    { path: 'test/Worker', field: 'queues', value: ['default', 'default'], allowed: /distinct queue names/ }],
  ['a queue name Celery cannot consume (a comma splits --queues)', () => new CeleryWorker(testChart(), 'Worker', { queues: ['default,urgent'] }),
    { path: 'test/Worker', field: 'queues[0]', value: 'default,urgent', allowed: /letters, digits/ }],
  ['a queue named like the key kombu keeps unacknowledged tasks in', () => new CeleryWorker(testChart(), 'Worker', { queues: ['default', 'unacked'] }),
    { path: 'test/Worker', field: 'queues[1]', value: 'unacked', allowed: /not a key kombu keeps/ }],
  ['a queue-autoscaling minimum above its maximum', () => {
    const chart = testChart();
    const redis = new Redis(chart, 'Redis');
    return new CeleryWorker(chart, 'Worker', { queues: ['default'] }).connectTo(redis.broker).autoscaleOnQueue({ broker: redis.broker, minReplicas: 4, maxReplicas: 3 });
  }, { path: 'test/Worker/QueueScaler', field: 'autoscaleOnQueue.minReplicas', value: 4, allowed: /at most maxReplicas \(3\)/ }],
  ['queue autoscaling on a worker that already has a CPU HPA', () => {
    const chart = testChart();
    const redis = new Redis(chart, 'Redis');
    return new CeleryWorker(chart, 'Worker', { queues: ['default'] }).autoscale({ maxReplicas: 3 }).autoscaleOnQueue({ broker: redis.broker, maxReplicas: 3 });
  }, { path: 'test/Worker', field: 'autoscaleOnQueue', value: 'a KEDA ScaledObject', allowed: /one autoscaler per worker/ }],
  ['a CPU HPA on a worker that KEDA already scales', () => {
    const chart = testChart();
    const redis = new Redis(chart, 'Redis');
    return new CeleryWorker(chart, 'Worker', { queues: ['default'] }).autoscaleOnQueue({ broker: redis.broker, maxReplicas: 3 }).autoscale({ maxReplicas: 3 });
  }, { path: 'test/Worker', field: 'autoscale', value: 'a CPU HorizontalPodAutoscaler', allowed: /one autoscaler per worker/ }],
  ['a grace period shorter than the task time limit', () => new CeleryWorker(testChart(), 'Worker', { taskTimeLimitSeconds: 900, shutdownGracePeriodSeconds: 600 }),
    { path: 'test/Worker', field: 'shutdownGracePeriodSeconds', value: 600, allowed: /at least 930 s: the task time limit \(900 s\)/ }],
  ['a scale-down stabilization window shorter than the grace period', () => {
    const chart = testChart();
    const redis = new Redis(chart, 'Redis');
    return new CeleryWorker(chart, 'Worker', { queues: ['default'] }).autoscaleOnQueue({ broker: redis.broker, maxReplicas: 3, scaleDownStabilizationSeconds: 599 });
  }, { path: 'test/Worker/QueueScaler', field: 'autoscaleOnQueue.scaleDownStabilizationSeconds', value: 599, allowed: /at least the pods' terminationGracePeriodSeconds \(600\)/ }],
  ['a scale-down stabilization window past the HPA\'s 3600 s', () => {
    const chart = testChart();
    const redis = new Redis(chart, 'Redis');
    return new CeleryWorker(chart, 'Worker', { queues: ['default'] }).autoscaleOnQueue({ broker: redis.broker, maxReplicas: 3, scaleDownStabilizationSeconds: 3601 });
  }, { path: 'test/Worker/QueueScaler', field: 'autoscaleOnQueue.scaleDownStabilizationSeconds', value: 3601, allowed: /3600/ }],
  ['a visibility timeout a running task outlasts', () => new CeleryWorker(testChart(), 'Worker', { taskTimeLimitSeconds: 600, visibilityTimeoutSeconds: 1000 }),
    { path: 'test/Worker', field: 'visibilityTimeoutSeconds', value: 1000, allowed: /more than 1200 s/ }],
  ['queue autoscaling on a database that is not the broker', () => {
    const chart = testChart();
    const redis = new Redis(chart, 'Redis');
    return new CeleryWorker(chart, 'Worker', { queues: ['default'] }).autoscaleOnQueue({ broker: redis.cache, maxReplicas: 3 });
  }, { path: 'test/Worker/QueueScaler', field: 'autoscaleOnQueue.broker', value: 'database 0 (REDIS_URL)', allowed: /broker database/ }],
  ['an unknown autoscaling mode', () => defineEnvironment({ name: 'x', autoscaling: 'memory' as never }),
    { path: 'Environment "x"', field: 'autoscaling', value: 'memory', allowed: /"cpu", "queue"/ }],
  ['an API server address that is not a CIDR', () => new MigrationJob(testChart(), 'Migration', { apiServer: { cidr: 'kubernetes.default', ports: [443] } }),
    { path: 'test/Migration', field: 'apiServer.cidr', value: 'kubernetes.default', allowed: /IPv4 CIDR/ }],
  ['a credential passed as a plain environment variable', () => new AppService(testChart(), 'Api', { settings: { extraEnv: { LLM_API_KEY: 'sk-123' } } }),
    { path: 'test/Api', field: 'settings.extraEnv.LLM_API_KEY', value: '(value withheld)', allowed: /extraSecretEnv/ }],
  ['an environment with no nodes', () => new QualityBillingStack(new App(), 'qb', { environment: defineEnvironment({ name: 'x' }, { ...defineEnvironment({ name: 'x' }), nodes: 0 }) }),
    { path: 'Environment "x"', field: 'nodes', value: 0, allowed: /integer from 1/ }],
  ['a stack namespace that is not a DNS-1123 label', () => new QualityBillingStack(new App(), 'qb', { environment: defineEnvironment({ name: 'x' }), namespace: 'Quality Billing' }),
    { path: 'qb', field: 'namespace', value: 'Quality Billing', allowed: /DNS-1123 label/ }],
  ['MinIO without buckets', () => new MinIO(testChart(), 'Files', { buckets: [] }),
    { path: 'test/Files', field: 'buckets', value: [], allowed: /at least one bucket/ }],
  ['a bucket name S3 refuses', () => new MinIO(testChart(), 'Files', { buckets: ['Invoices_2024'] }),
    { path: 'test/Files', field: 'buckets', value: 'Invoices_2024', allowed: /S3 bucket name/ }],
  ['a bucket twice', () => new MinIO(testChart(), 'Files', { buckets: ['docs', 'docs'] }),
    { path: 'test/Files', field: 'buckets', value: ['docs', 'docs'], allowed: /each bucket once/ }],
  ['the console on the S3 port', () => new MinIO(testChart(), 'Files', { buckets: ['docs'], consolePort: 9000 }),
    { path: 'test/Files', field: 'consolePort', value: 9000, allowed: /other than the S3 port 9000/ }],
  ['a ConfigMap value holding a URL with a password (seed 002\'s database_url)', () => new AppConfig(testChart(), 'Config', { name: 'finance-ai-config', data: { database_url: 'postgresql://user:password@db:5432/finance_ai' } }),
    { path: 'test/Config', field: 'data.database_url', value: '(value withheld: a URL with a password)', allowed: /goes in a Secret/ }],
  ['a ConfigMap key naming a credential', () => new AppConfig(testChart(), 'Config', { name: 'c', data: { api_key: 'x' } }),
    { path: 'test/Config', field: 'data.api_key', value: '(value withheld)', allowed: /credentials go in a Secret/ }],
  ['an env var read from a ConfigMap key it does not have', () => {
    const chart = testChart();
    const config = new AppConfig(chart, 'Config', { name: 'c', data: { log_level: 'INFO' } });
    return new AppService(chart, 'Api', { settings: { config: { configMap: config, env: { LOG_FORMAT: 'log_format' } } } });
  }, { path: 'test/Config', field: 'env LOG_FORMAT', value: 'log_format', allowed: /log_level/ }],
  ['a secret variable read from a ConfigMap', () => {
    const chart = testChart();
    const config = new AppConfig(chart, 'Config', { name: 'c', data: { key: 'x' } });
    return new AppService(chart, 'Api', { settings: { config: { configMap: config, env: { APP_SECRET_KEY: 'key' } } } });
  }, { path: 'test/Api', field: 'settings.config.env.APP_SECRET_KEY', value: 'APP_SECRET_KEY', allowed: /credentials come from Secrets/ }],
  ['the metrics port on the HTTP port', () => new AppService(testChart(), 'Api', { port: 8082, metricsPort: 8082 }),
    { path: 'test/Api', field: 'metricsPort', value: 8082, allowed: /other than the HTTP port 8082/ }],
  ['an ASGI app for a server that is not uvicorn', () => new AppService(testChart(), 'Api', { command: [], asgiApp: 'main:app' }),
    { path: 'test/Api', field: 'asgiApp', value: 'main:app', allowed: /left out when command is given/ }],
  ['an unknown Service type', () => new AppService(testChart(), 'Api', { serviceType: 'External' as never }),
    { path: 'test/Api', field: 'serviceType', value: 'External', allowed: /"ClusterIP", "LoadBalancer", "NodePort"/ }],
  ['both a backup API and a backup address', () => {
    const chart = testChart();
    const app = new AppService(chart, 'Api');
    return new NginxEdge(chart, 'Edge', { app, backupApp: new AppService(chart, 'Standby', { name: 'standby', port: 8001 }), backupUpstream: 'other:8001' });
  }, { path: 'test/Edge', field: 'backupUpstream', value: 'other:8001', allowed: /left out when backupApp is given/ }],
  ['the API as its own backup', () => {
    const chart = testChart();
    const app = new AppService(chart, 'Api');
    return new NginxEdge(chart, 'Edge', { app, backupApp: app });
  }, { path: 'test/Edge', field: 'backupApp', value: 'test/Api', allowed: /other than the API itself/ }],
  ['a system stack namespace that is not a DNS-1123 label', () => new FinanceAiStack(new App(), 'fa', { environment: ENVIRONMENTS.dev, namespace: 'Finance AI' }),
    { path: 'fa', field: 'namespace', value: 'Finance AI', allowed: /DNS-1123 label/ }],
];

describe('bad input', () => {
  it.each(cases)('refuses %s with an error naming path, field, value and what is allowed', (_name, build, expected) => {
    expectValidationError(build, expected);
  });
});
