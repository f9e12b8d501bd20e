import { App } from 'cdk8s';
import { ENVIRONMENTS } from '../../lib/environments';
import { SystemChart } from '../../stacks/system-chart';
import { metricNames } from '../../lib/monitoring/dashboards';
import { QCAT_BUSINESS_METRICS } from '../../stacks/qcat-stack';
import { SYSTEMS } from '../../stacks/systems';
import { envOf, expectValidationError, find, K8sObject, podSpec, synthChart, synthSystem } from '../helpers';
import { MERCHANT_SERVICES } from '../../stacks/merchant-analysis-stack';
import { alertGroups } from '../../lib/monitoring/alert-rules';

const container = (o: K8sObject, name?: string) => podSpec(o).containers.find((c: any) => name === undefined || c.name === name);
const cronJobs = (objects: K8sObject[]) => Object.fromEntries(objects.filter(o => o.kind === 'CronJob').map(o => [o.metadata.name, o.spec.schedule]));
const configFile = (objects: K8sObject[], name: string, file: string) => find(objects, 'ConfigMap', name).data[file] as string;

describe('every system', () => {
  it('can be installed beside the others: no two systems share a namespace or a cluster-scoped name', () => {
    const seen = new Map<string, string>();
    for (const sys of SYSTEMS) {
      const { objects } = synthChart(sys.name, ENVIRONMENTS.prod);
      for (const o of objects.filter(x => ['Namespace', 'ClusterRole', 'ClusterRoleBinding'].includes(x.kind))) {
        const key = `${o.kind}/${o.metadata.name}`;
        expect(seen.get(key)).toBeUndefined();
        seen.set(key, sys.name);
      }
    }
    expect([...seen.keys()].filter(k => k.startsWith('Namespace/')).length).toBeGreaterThanOrEqual(SYSTEMS.length);
  });

  it.each(SYSTEMS.map(s => [s.name]))('%s labels every workload as part of itself', sys => {
    const { objects } = synthChart(sys, ENVIRONMENTS.staging);
    for (const o of objects.filter(x => ['Deployment', 'StatefulSet', 'CronJob', 'Job'].includes(x.kind))) {
      expect(o.metadata.labels?.['app.kubernetes.io/part-of']).toBe(sys);
    }
  });
});

describe('QCAT (seed 001)', () => {
  const { stack, objects } = synthSystem('qcat', ENVIRONMENTS.prod);

  it('serves the API and WebSocket on 8082 with the image\'s own entrypoint', () => {
    const api = container(find(objects, 'Deployment', 'qcat-api'), 'api');
    expect(api.ports).toContainEqual({ name: 'http', containerPort: 8082 });
    expect(api.command).toBeUndefined();
    expect(find(objects, 'Service', 'qcat-api').spec.ports[0]).toMatchObject({ name: 'http', port: 8082 });
  });

  it('has the nginx edge pass Upgrade/Connection with hour-long timeouts, HSTS and CSP on 80/443', () => {
    const conf = configFile(objects, 'qcat-edge-config', 'nginx.conf');
    expect(conf).toContain('proxy_set_header Upgrade $http_upgrade;');
    expect(conf).toContain('proxy_set_header Connection $connection_upgrade;');
    expect(conf).toMatch(/proxy_read_timeout 3600s;/);
    expect(conf).toContain('server qcat-api:8082 ');
    expect(conf).toMatch(/add_header Strict-Transport-Security/);
    expect(conf).toMatch(/add_header Content-Security-Policy/);
    expect(find(objects, 'Service', 'qcat-edge').spec.ports.map((p: any) => p.port)).toEqual([80, 443]);
  });

  it('gives the Ingress (staging) an hour-long read timeout for WebSockets', () => {
    const staging = synthSystem('qcat', ENVIRONMENTS.staging).objects;
    expect(find(staging, 'Ingress', 'qcat-api').metadata.annotations?.['nginx.ingress.kubernetes.io/proxy-read-timeout']).toBe('3600');
  });

  it('keeps Prometheus data 200 hours and serves Grafana on 3000, Alertmanager on 9093', () => {
    const prometheus = container(find(objects, 'StatefulSet', 'qcat-prometheus'), 'prometheus');
    expect(prometheus.args).toContain('--storage.tsdb.retention.time=200h');
    expect(find(objects, 'Service', 'qcat-grafana').spec.ports[0].port).toBe(3000);
    expect(find(objects, 'Service', 'qcat-alertmanager').spec.ports[0].port).toBe(9093);
  });

  it('routes alerts to Slack and e-mail with grouping and inhibition', () => {
    const am = configFile(objects, 'qcat-alertmanager-config', 'alertmanager.yml');
    expect(am).toMatch(/slack_configs/);
    expect(am).toMatch(/email_configs/);
    expect(am).toMatch(/group_by/);
    expect(am).toMatch(/inhibit_rules/);
    expect(am).toContain('#qcat-alerts');
  });

  it('shows the QCAT overview: health, request rate, response time and the seed\'s business metrics', () => {
    const dashboards = objects.filter(o => o.kind === 'ConfigMap' && Object.keys(o.data ?? {}).some(k => k === 'qcat-overview.json'));
    expect(dashboards).toHaveLength(1);
    const dashboard = JSON.parse(dashboards[0].data['qcat-overview.json']);
    expect(dashboard.title).toBe('QCAT — system overview');
    const exprs: string[] = dashboard.panels.map((p: any) => p.targets[0].expr);
    const metrics = new Set(exprs.flatMap(e => metricNames(e)));
    for (const m of [...QCAT_BUSINESS_METRICS, 'http_requests_total', 'http_request_duration_seconds_bucket']) expect(metrics).toContain(m);
    // No Celery in QCAT: neither its panels nor its alert.
    expect([...metrics].some(m => m.startsWith('celery_'))).toBe(false);
    expect(configFile(objects, 'qcat-prometheus-rules', 'alerts.yml')).not.toContain('CeleryTaskFailures');
  });

  it('backs up daily at 02:00, keeps 30 days, restore-tests monthly', () => {
    expect(cronJobs(objects)).toMatchObject({ 'qcat-postgres-backup': '0 2 * * *', 'qcat-postgres-restore-test': '0 4 1 * *' });
    expect(envOf(container(find(objects, 'CronJob', 'qcat-postgres-backup'), 'upload')).RETENTION_DAYS).toBe('30');
    expect(stack.backup?.retentionDays).toBe(30);
    // Staging too: QCAT's 30 days override the environment's 7.
    const staging = synthSystem('qcat', ENVIRONMENTS.staging).objects;
    expect(envOf(container(find(staging, 'CronJob', 'qcat-postgres-backup'), 'upload')).RETENTION_DAYS).toBe('30');
  });

  it('exports its configuration weekly with a Role that can list, never read Secrets', () => {
    expect(cronJobs(objects)['qcat-config-backup']).toBe('0 5 * * 0');
    const role = find(objects, 'Role', 'qcat-config-backup');
    expect(role.rules.flatMap((r: any) => r.verbs)).toEqual(role.rules.map(() => 'list'));
    expect(role.rules.flatMap((r: any) => r.resources)).not.toContain('secrets');
    expect(role.rules.flatMap((r: any) => r.resources)).toEqual(expect.arrayContaining(['configmaps', 'deployments', 'ingresses']));
    const upload = envOf(container(find(objects, 'CronJob', 'qcat-config-backup'), 'upload'));
    expect(upload).toMatchObject({ BACKUP_KIND: 'config', S3_PREFIX: 'prod', RETENTION_DAYS: '30' });
    // The other systems' seeds ask for no configuration backup.
    expect(synthSystem('finance-ai', ENVIRONMENTS.prod).objects.some(o => o.metadata.name.endsWith('config-backup'))).toBe(false);
  });

  it('runs migrations before serving only when the commands are given', () => {
    // Without commands the only Jobs are the logging's setup (index template, snapshot policy).
    expect(objects.filter(o => o.kind === 'Job').map(o => o.metadata.name)).toEqual([expect.stringMatching(/^qcat-log-setup/), expect.stringMatching(/^qcat-log-snapshots/)]);
    const { objects: withMigration } = synthSystem('qcat', ENVIRONMENTS.dev, { migrationCommands: [['./qcat', 'migrate']] } as never);
    const job = withMigration.find(o => o.kind === 'Job' && o.metadata.name.startsWith('qcat-migrate'))!;
    expect(container(job, 'main').command).toEqual(['./qcat', 'migrate']);
    expect(podSpec(find(withMigration, 'Deployment', 'qcat-api')).initContainers).toHaveLength(1);
  });
});

describe('finance-ai (seed 002)', () => {
  const { objects } = synthSystem('finance-ai', ENVIRONMENTS.prod);
  const deployment = find(objects, 'Deployment', 'finance-ai-api');
  const api = container(deployment, 'api');

  it('runs 3 replicas at 500m/1Gi requests and 2000m/4Gi limits, probed on 8000', () => {
    for (const env of Object.values(ENVIRONMENTS)) expect(find(synthSystem('finance-ai', env).objects, 'Deployment', 'finance-ai-api').spec.replicas).toBe(3);
    expect(api.resources).toEqual({ requests: { cpu: '500m', memory: '1Gi' }, limits: { cpu: '2', memory: '4Gi' } });
    expect(api.ports).toContainEqual({ name: 'http', containerPort: 8000 });
    expect(api.livenessProbe).toMatchObject({ httpGet: { path: '/health', port: 'http' }, initialDelaySeconds: 30, periodSeconds: 10 });
    expect(api.readinessProbe).toMatchObject({ httpGet: { path: '/ready', port: 'http' } });
  });

  it('exposes a LoadBalancer Service on port 80 to 8000 and an Ingress', () => {
    const service = find(objects, 'Service', 'finance-ai-api');
    expect(service.spec.type).toBe('LoadBalancer');
    expect(service.spec.ports).toEqual([{ name: 'http', port: 80, targetPort: 'http' }]);
    // Prometheus reads the API's 9090 through a Service that stays inside the cluster.
    expect(find(objects, 'Service', 'finance-ai-api-metrics').spec).toMatchObject({ ports: [{ name: 'metrics', port: 9090, targetPort: 'metrics' }] });
    expect(find(objects, 'Service', 'finance-ai-api-metrics').spec.type).toBeUndefined();
    expect(find(objects, 'ConfigMap', 'finance-ai-prometheus-config').data['prometheus.yml']).toContain('regex: finance-ai-api-metrics;metrics');
    const ingress = find(objects, 'Ingress', 'finance-ai-api');
    expect(ingress.spec.rules[0].http.paths[0].backend.service).toEqual({ name: 'finance-ai-api', port: { name: 'http' } });
    const clusterIp = synthSystem('finance-ai', ENVIRONMENTS.prod, { apiServiceType: 'ClusterIP' } as never).objects;
    expect(find(clusterIp, 'Service', 'finance-ai-api').spec.type).toBeUndefined();
    expect(JSON.stringify(find(clusterIp, 'NetworkPolicy', 'finance-ai-api').spec.ingress)).not.toContain('0.0.0.0/0');
  });

  it('reads settings from the finance-ai-config ConfigMap and credentials from finance-ai-secrets, none inline', () => {
    const config = find(objects, 'ConfigMap', 'finance-ai-config');
    expect(config.data).toEqual({ log_level: 'INFO', log_format: 'json', llm_api_url: 'https://api.openai.com/v1' });
    const env = Object.fromEntries(api.env.map((e: any) => [e.name, e.valueFrom ?? e.value]));
    expect(env.LOG_LEVEL).toEqual({ configMapKeyRef: { name: 'finance-ai-config', key: 'log_level' } });
    // Through PgBouncer in prod: its URL sits beside the direct one, in the same Secret.
    expect(env.DATABASE_URL).toEqual({ secretKeyRef: { name: 'finance-ai-secrets', key: 'pooler-url' } });
    expect(env.API_KEY).toEqual({ secretKeyRef: { name: 'finance-ai-secrets', key: 'api-key' } });
    expect(env.LLM_API_KEY).toEqual({ secretKeyRef: { name: 'finance-ai-secrets', key: 'llm-api-key' } });
    // A change of the ConfigMap rolls the pods.
    expect(deployment.spec.template.metadata.annotations['quality-billing.io/config-checksum']).toMatch(/^[0-9a-f]{64}$/);
  });

  it('keeps revision history, so kubectl rollout undo has revisions to return to', () => {
    expect(deployment.spec.revisionHistoryLimit).toBe(10);
  });

  it('runs PostgreSQL 14 and Redis', () => {
    expect(container(find(objects, 'StatefulSet', 'finance-ai-postgres'), 'postgres').image).toMatch(/postgres.*:14\./);
    expect(find(objects, 'StatefulSet', 'finance-ai-redis')).toBeDefined();
  });

  it('backs up fully at 02:00 (kept 30 days) and incrementally every 6 hours (kept 7 days) to S3, with WAL archiving', () => {
    const schedules = cronJobs(objects);
    expect(schedules['finance-ai-postgres-backup-full']).toBe('0 2 * * *');
    expect(schedules['finance-ai-postgres-backup-incr']).toBe('0 8,14,20 * * *');
    const conf = configFile(objects, 'finance-ai-postgres-pgbackrest', 'pgbackrest.conf');
    expect(conf).toMatch(/repo1-retention-full=30/);
    expect(conf).toMatch(/repo1-type=s3/);
    expect(configFile(objects, 'finance-ai-postgres-files', 'postgresql.conf')).toMatch(/^archive_mode = 'on'$/m);
    // backup.sh runs in the database container (kubectl exec) and expires incrementals by this age.
    expect(container(find(objects, 'CronJob', 'finance-ai-postgres-backup-incr')).args.slice(-2)).toEqual(['/etc/pgbackrest/backup.sh', 'incr']);
    expect(envOf(container(find(objects, 'StatefulSet', 'finance-ai-postgres'), 'postgres')).INCR_RETENTION_DAYS).toBe('7');
    // Even in staging: the system asks for point-in-time recovery and 30 days.
    expect(cronJobs(synthSystem('finance-ai', ENVIRONMENTS.staging).objects)['finance-ai-postgres-backup-full']).toBe('0 2 * * *');
  });
});

describe('ai-bookkeeping (seed 004)', () => {
  const { objects } = synthSystem('ai-bookkeeping', ENVIRONMENTS.prod);

  it('runs the API on 8000, a standby on 8001 and the admin service on 8002', () => {
    expect(container(find(objects, 'Deployment', 'ai-bookkeeping-api'), 'api').ports).toContainEqual({ name: 'http', containerPort: 8000 });
    expect(container(find(objects, 'Deployment', 'ai-bookkeeping-api-backup'), 'api').ports).toContainEqual({ name: 'http', containerPort: 8001 });
    const admin = container(find(objects, 'Deployment', 'ai-bookkeeping-admin'), 'api');
    expect(admin.ports).toContainEqual({ name: 'http', containerPort: 8002 });
    expect(admin.command).toContain('admin.main:app');
  });

  it('fails the edge over to the standby (max_fails=3 fail_timeout=30s backup) in every environment, and lets it reach both', () => {
    for (const env of Object.values(ENVIRONMENTS)) {
      const o = synthSystem('ai-bookkeeping', env).objects;
      const conf = configFile(o, 'ai-bookkeeping-edge-config', 'nginx.conf');
      expect(conf).toContain('server ai-bookkeeping-api:8000 max_fails=3 fail_timeout=30s;');
      expect(conf).toContain('server ai-bookkeeping-api-backup:8001 max_fails=3 fail_timeout=30s backup;');
      expect(conf).toContain('proxy_next_upstream error timeout http_502 http_503 http_504;');
    }
    const policy = find(objects, 'NetworkPolicy', 'ai-bookkeeping-api-backup');
    const peers = policy.spec.ingress.filter((r: any) => r.ports.some((p: any) => p.port === 8001)).flatMap((r: any) => r.from);
    expect(peers).toEqual([{ podSelector: { matchLabels: expect.objectContaining({ 'app.kubernetes.io/name': 'ai-bookkeeping-edge' }) } }]);
  });

  it('rolls every Deployment out without downtime', () => {
    for (const d of ['api', 'api-backup', 'admin', 'edge'].map(n => find(objects, 'Deployment', `ai-bookkeeping-${n}`))) {
      expect(d.spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
    }
  });

  it('runs MinIO on 9000 and hands the apps its endpoint, bucket and application keys', () => {
    expect(find(objects, 'Service', 'ai-bookkeeping-minio').spec.ports.map((p: any) => [p.name, p.port])).toEqual([['s3', 9000], ['console', 9001]]);
    const env = envOf(container(find(objects, 'Deployment', 'ai-bookkeeping-api'), 'api'));
    expect(env).toMatchObject({
      S3_ENDPOINT_URL: 'http://ai-bookkeeping-minio:9000', S3_BUCKET: 'ai-bookkeeping',
      S3_ACCESS_KEY: 'secret:minio-credentials/app-access-key', S3_SECRET_KEY: 'secret:minio-credentials/app-secret-key',
    });
    expect(objects.some(o => o.kind === 'Job' && o.metadata.name.startsWith('ai-bookkeeping-minio-bootstrap-'))).toBe(true);
  });

  it('runs migrations (alembic) before any API serves', () => {
    const job = objects.find(o => o.kind === 'Job' && o.metadata.name.startsWith('ai-bookkeeping-migrate'))!;
    expect(container(job, 'main').command).toEqual(['alembic', 'upgrade', 'head']);
    for (const name of ['ai-bookkeeping-api', 'ai-bookkeeping-api-backup', 'ai-bookkeeping-admin']) {
      expect(podSpec(find(objects, 'Deployment', name)).initContainers.map((c: any) => c.name)).toEqual(['wait-for-migration']);
    }
  });

  it('dumps the database daily, compressed, and keeps 7 days', () => {
    expect(cronJobs(objects)['ai-bookkeeping-postgres-backup']).toBe('0 2 * * *');
    expect(envOf(container(find(objects, 'CronJob', 'ai-bookkeeping-postgres-backup'), 'upload')).RETENTION_DAYS).toBe('7');
    // pg_dump's custom format compresses every table (the seed's `| gzip`).
    expect(configFile(objects, 'ai-bookkeeping-postgres-backup-scripts', 'dump.sh')).toMatch(/--format=custom/);
    expect(objects.some(o => o.kind === 'CronJob' && o.metadata.name.includes('backup-full'))).toBe(false);
  });
});

describe('merchant-analysis (seed 003)', () => {
  const { stack, objects } = synthChart('merchant-analysis', ENVIRONMENTS.prod);
  const deployment = (name: string) => find(objects, 'Deployment', `merchant-analysis-${name}`);

  it('runs on seed 003\'s hardware: three compact nodes (8 cores, 16 GB, 100 GB SSD) in prod, surviving the loss of one', () => {
    expect(stack.environment).toMatchObject({ tier: 'compact', nodes: 3, survivesNodeLoss: true });
    expect(stack.capacity.passed).toBe(true);
    expect(synthChart('merchant-analysis', ENVIRONMENTS.dev).stack.environment).toMatchObject({ tier: 'compact', nodes: 1 });
  });

  it('runs the gateway and the four services with 2 replicas each, declared as data, the gateway their only caller', () => {
    expect(deployment('api-gateway').spec.replicas).toBe(2);
    const gatewayEnv = envOf(podSpec(deployment('api-gateway')).containers[0]);
    for (const s of MERCHANT_SERVICES) {
      const d = deployment(s.name);
      expect(d.spec.replicas).toBe(2);
      expect(podSpec(d).containers[0].image).toBe(`merchant-analysis/${s.image}:1.0.0`);
      expect(gatewayEnv[s.urlEnv]).toBe(`http://merchant-analysis-${s.name}:8000`);
      const callers = find(objects, 'NetworkPolicy', `merchant-analysis-${s.name}`).spec.ingress
        .filter((r: any) => r.ports.some((p: any) => p.port === 8000)).flatMap((r: any) => r.from.map((f: any) => f.podSelector?.matchLabels['app.kubernetes.io/name']));
      expect(callers).toEqual(['merchant-analysis-api-gateway']);
    }
  });

  it('runs each application on its own image: appImages by application name, appImage for the rest', () => {
    expect(stack.applications).toEqual(['api-gateway', ...MERCHANT_SERVICES.map(s => s.name)]);
    const images = { 'api-gateway': 'registry.example/gateway@sha256:' + 'a'.repeat(64), 'cost-analyzer': 'registry.example/cost@sha256:' + 'b'.repeat(64) };
    const given = synthChart('merchant-analysis', ENVIRONMENTS.prod, { appImage: 'registry.example/all:2.0.0', appImages: images }).objects;
    const image = (name: string) => podSpec(find(given, 'Deployment', `merchant-analysis-${name}`)).containers[0].image;
    expect(image('api-gateway')).toBe(images['api-gateway']);
    expect(image('cost-analyzer')).toBe(images['cost-analyzer']);
    expect(image('data-simulator')).toBe('registry.example/all:2.0.0');
    // Without either, each service runs its own placeholder repository.
    expect(new Set(MERCHANT_SERVICES.map(s => podSpec(deployment(s.name)).containers[0].image)).size).toBe(MERCHANT_SERVICES.length);
    // Only appImage: every application runs it, as before.
    const one = synthChart('merchant-analysis', ENVIRONMENTS.prod, { appImage: 'registry.example/all:2.0.0' }).objects;
    for (const name of ['api-gateway', ...MERCHANT_SERVICES.map(s => s.name)]) {
      expect(podSpec(find(one, 'Deployment', `merchant-analysis-${name}`)).containers[0].image).toBe('registry.example/all:2.0.0');
    }
  });

  it('rejects an image for an application the system does not have, naming those it has', () => {
    expect(() => synthChart('merchant-analysis', ENVIRONMENTS.prod, { appImages: { gateway: 'x:1' } }))
      .toThrow('merchant-analysis: invalid appImages key "gateway": expected one of "api-gateway", "data-simulator", "cashflow-predictor", "cost-analyzer", "compliance-checker"');
    expect(() => synthChart('qcat', ENVIRONMENTS.prod, { appImages: { api: 'x:1' } })).toThrow('expected one of "app"');
  });

  it('gives every service MongoDB rs0, Redis Sentinel, Consul, Jaeger (OTLP) and the Pushgateway', () => {
    for (const name of ['api-gateway', ...MERCHANT_SERVICES.map(s => s.name)]) {
      const env = envOf(podSpec(deployment(name)).containers[0]);
      expect(env.MONGODB_URI).toMatch(/^mongodb:\/\/merchant:\$\(MONGODB_PASSWORD\)@merchant-analysis-mongodb-0\.merchant-analysis-mongodb:27017,.*\/merchant_analysis\?replicaSet=rs0&authSource=admin$/);
      expect(env).toMatchObject({
        REDIS_SENTINEL_HOSTS: 'merchant-analysis-redis-sentinel:26379', REDIS_MASTER_NAME: 'merchant-analysis-redis',
        CONSUL_HOST: 'merchant-analysis-consul', CONSUL_PORT: '8500',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://merchant-analysis-jaeger-collector:4317', OTEL_SERVICE_NAME: `merchant-analysis-${name}`,
        PROMETHEUS_PUSHGATEWAY: 'http://merchant-analysis-pushgateway:9091',
      });
    }
  });

  it('runs MongoDB as three members, Redis as master + two replicas with three sentinels, three Consul servers', () => {
    expect(find(objects, 'StatefulSet', 'merchant-analysis-mongodb').spec.replicas).toBe(3);
    expect(find(objects, 'StatefulSet', 'merchant-analysis-redis').spec.replicas).toBe(3);
    expect(find(objects, 'StatefulSet', 'merchant-analysis-redis-sentinel').spec.replicas).toBe(3);
    expect(find(objects, 'StatefulSet', 'merchant-analysis-consul').spec.replicas).toBe(3);
    const dev = synthChart('merchant-analysis', ENVIRONMENTS.dev).objects;
    expect(find(dev, 'StatefulSet', 'merchant-analysis-mongodb').spec.replicas).toBe(1);
    expect(find(dev, 'StatefulSet', 'merchant-analysis-consul').spec.replicas).toBe(1);
  });

  it('keeps traces in memory in dev and in the logging Elasticsearch elsewhere', () => {
    const dev = synthChart('merchant-analysis', ENVIRONMENTS.dev).objects;
    expect(envOf(podSpec(find(dev, 'Deployment', 'merchant-analysis-jaeger')).containers[0]).SPAN_STORAGE_TYPE).toBe('memory');
    const collector = envOf(podSpec(deployment('jaeger-collector')).containers[0]);
    expect(collector).toMatchObject({ SPAN_STORAGE_TYPE: 'elasticsearch', ES_PASSWORD: 'secret:elasticsearch-credentials/elastic-password' });
    expect(find(objects, 'CronJob', 'merchant-analysis-jaeger-query-index-cleaner').spec.jobTemplate.spec.template.spec.containers[0].args[0]).toBe('14');
  });

  it('scrapes the Pushgateway keeping pushed labels, and alerts on the seed\'s SLOs but not on PostgreSQL or Celery', () => {
    const prometheus = find(objects, 'ConfigMap', 'merchant-analysis-prometheus-config').data['prometheus.yml'];
    expect(prometheus).toMatch(/job_name: merchant-analysis-pushgateway\n\s+metrics_path: \/metrics\n\s+honor_labels: true/);
    const names = stack.monitoring.alertGroups.map(g => g.alert);
    expect(names).toEqual(expect.arrayContaining(['ApiLatencyHigh', 'ApiErrorRateHigh', 'ContainerCpuHigh', 'ContainerMemoryHigh']));
    expect(names).not.toContain('PostgresConnectionsHigh');
    expect(names).not.toContain('CeleryTaskFailures');
    // The thresholds are the seed's: p95 500 ms, errors 0.1 %, CPU 70 %, memory 80 % (warning rules).
    const warn = (alert: string) => alertGroups({ namespace: 'x' }).find(g => g.alert === alert)!.rules.find(r => r.severity === 'warning')!.expr;
    expect(warn('ApiLatencyHigh')).toMatch(/> 0\.5$/);
    expect(warn('ApiErrorRateHigh')).toMatch(/> 0\.001$/);
    expect(warn('ContainerCpuHigh')).toMatch(/> 0\.7$/);
    expect(warn('ContainerMemoryHigh')).toMatch(/> 0\.8$/);
  });

  it('dumps MongoDB daily with its oplog, verified, to S3 with the environment\'s retention', () => {
    const cron = find(objects, 'CronJob', 'merchant-analysis-mongodb-backup');
    expect(cron.spec.schedule).toBe('0 2 * * *');
    const pod = cron.spec.jobTemplate.spec.template.spec;
    expect(envOf(pod.initContainers[0]).MONGODB_URI).toContain('?replicaSet=rs0&authSource=admin');
    expect(envOf(pod.containers[0])).toMatchObject({ BACKUP_KIND: 'mongodb', RETENTION_DAYS: '30', S3_PREFIX: 'prod' });
    const dump = find(objects, 'ConfigMap', 'merchant-analysis-mongodb-backup-scripts').data['dump.sh'];
    expect(dump).toContain('--oplog');
    expect(dump).toContain('mongorestore --dryRun');
    expect(synthChart('merchant-analysis', ENVIRONMENTS.dev).objects.some(o => o.metadata.name === 'merchant-analysis-mongodb-backup')).toBe(false);
  });
});

describe('a system chart read before its parts are set up', () => {
  /** A system that sets up nothing: no monitoring, no capacity check. */
  class BareSystem extends SystemChart {
    constructor() {
      super(new App(), 'bare', { environment: ENVIRONMENTS.dev }, { name: 'bare', title: 'Bare', database: 'bare' });
    }
  }

  it('names the part, says it is not set up and which call sets it up', () => {
    const bare = new BareSystem();
    expectValidationError(() => bare.monitoring, { path: 'bare', field: 'monitoring', value: 'not set up', allowed: /addMonitoring\(\)/ });
    expect(() => bare.monitoring).not.toThrow(/\(undefined\)/);
  });
});
