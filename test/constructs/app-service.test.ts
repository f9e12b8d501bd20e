import { AppService } from '../../constructs/app/app-service';
import { MigrationJob } from '../../constructs/app/migration-job';
import { Postgres } from '../../constructs/data/postgres';
import { Redis } from '../../constructs/data/redis';
import { SecretKeyRef } from '../../lib/secrets';
import { envOf, expectValidationError, find, podSpec, synth, testChart } from '../helpers';

function build(replicas = 3, tier: 'minimum' | 'recommended' = 'recommended') {
  const chart = testChart();
  const postgres = new Postgres(chart, 'Postgres', { tier });
  const redis = new Redis(chart, 'Redis', { tier });
  const migration = new MigrationJob(chart, 'Migration', { tier, settings: { image: 'registry.example:5000/qb/api:2.3.1' } }).connectTo(postgres);
  const app = new AppService(chart, 'Api', { replicas, tier, settings: { image: 'registry.example:5000/qb/api:2.3.1' } })
    .connectTo(postgres).connectTo(redis.cache).connectTo(redis.broker).connectTo(redis.results).waitFor(migration);
  const objects = synth(chart);
  return { chart, app, postgres, redis, migration, objects, deployment: find(objects, 'Deployment', 'api') };
}

describe('AppService', () => {
  it('serves uvicorn on 8000 with the seed\'s 4 workers and metrics on 9090 at the recommended tier', () => {
    const { deployment, objects } = build();
    const api = podSpec(deployment).containers[0];
    expect(api.command).toEqual(expect.arrayContaining(['uvicorn', 'main:app', '--host', '0.0.0.0', '--port', '8000']));
    expect(api.command[api.command.indexOf('--workers') + 1]).toBe('4');
    expect(api.ports).toEqual([{ name: 'http', containerPort: 8000 }, { name: 'metrics', containerPort: 9090 }]);
    const svc = find(objects, 'Service', 'api');
    expect(svc.spec.ports.map((p: any) => p.port)).toEqual([8000, 9090]);
  });

  it('uses the seed 000 §4.2 resources at the recommended tier and half of them at the minimum tier', () => {
    const rec = podSpec(build().deployment).containers[0].resources;
    expect(rec).toEqual({ requests: { cpu: '500m', memory: '512Mi' }, limits: { cpu: '1', memory: '1Gi' } });
    const min = podSpec(build(1, 'minimum').deployment).containers[0];
    expect(min.resources).toEqual({ requests: { cpu: '250m', memory: '256Mi' }, limits: { cpu: '500m', memory: '512Mi' } });
    expect(min.command[min.command.indexOf('--workers') + 1]).toBe('2');
  });

  it('takes its tier as every construct does, and still reads the deprecated settings.tier', () => {
    expect(new AppService(testChart(), 'Api', { tier: 'minimum' }).resources.cpuLimit.toString()).toBe('500m');
    expect(new AppService(testChart(), 'Api', { settings: { tier: 'minimum' } }).tier).toBe('minimum');
    expect(new AppService(testChart(), 'Api', { tier: 'minimum', settings: { tier: 'minimum' } }).tier).toBe('minimum');
    expectValidationError(() => new AppService(testChart(), 'Api', { tier: 'minimum', settings: { tier: 'recommended' } }),
      { path: 'test/Api', field: 'settings.tier', value: 'recommended', allowed: /deprecated spelling of tier.*"minimum"/ });
  });

  it('probes liveness on /health (30 s delay, 10 s period) and readiness on /ready (5 s, 5 s)', () => {
    const api = podSpec(build().deployment).containers[0];
    expect(api.livenessProbe).toMatchObject({ httpGet: { path: '/health', port: 'http' }, initialDelaySeconds: 30, periodSeconds: 10 });
    expect(api.readinessProbe).toMatchObject({ httpGet: { path: '/ready', port: 'http' }, initialDelaySeconds: 5, periodSeconds: 5 });
  });

  it('takes its connections from the Secrets and the Redis databases of seed 000 §2.2', () => {
    const env = envOf(podSpec(build().deployment).containers[0]);
    expect(env).toMatchObject({
      DATABASE_URL: 'secret:db-credentials/url',
      DATABASE_POOL_SIZE: '20',
      REDIS_PASSWORD: 'secret:redis-credentials/password',
      REDIS_URL: 'redis://:$(REDIS_PASSWORD)@redis:6379/0',
      CELERY_BROKER_URL: 'redis://:$(REDIS_PASSWORD)@redis:6379/1',
      CELERY_RESULT_BACKEND: 'redis://:$(REDIS_PASSWORD)@redis:6379/2',
      APP_SECRET_KEY: 'secret:app-secrets/secret-key',
      LOG_LEVEL: 'INFO',
      LOG_FORMAT: 'json',
      PROMETHEUS_PORT: '9090',
    });
    // Kubernetes expands $(REDIS_PASSWORD) only from variables defined earlier in the list.
    const names = podSpec(build().deployment).containers[0].env.map((e: any) => e.name);
    expect(names.indexOf('REDIS_PASSWORD')).toBeLessThan(names.indexOf('REDIS_URL'));
  });

  it('rolls out without dropping below its replicas and has a PDB and spread when replicated', () => {
    const { deployment, objects } = build(3);
    expect(deployment.spec.replicas).toBe(3);
    expect(deployment.spec.strategy.rollingUpdate).toEqual({ maxSurge: 1, maxUnavailable: 0 });
    expect(find(objects, 'PodDisruptionBudget', 'api').spec.maxUnavailable).toBe(1);
    const spread = podSpec(deployment).topologySpreadConstraints;
    expect(spread.map((s: any) => s.topologyKey)).toEqual(['kubernetes.io/hostname', 'topology.kubernetes.io/zone']);
  });

  it('has no PDB with a single replica, which would block every node drain', () => {
    const { objects } = build(1);
    expect(objects.filter(o => o.kind === 'PodDisruptionBudget')).toEqual([]);
  });

  it('waits for the migration Job of its own version before it starts', () => {
    const { deployment, migration, objects } = build();
    const init = podSpec(deployment).initContainers;
    expect(init).toHaveLength(1);
    expect(envOf(init[0]).JOB_NAME).toBe(migration.jobName());
    expect(objects.filter(o => o.kind === 'Job').map(o => o.metadata.name)).toEqual([migration.jobName()]);
    expect(podSpec(deployment).serviceAccountName).toBe(migration.waiterServiceAccountName);
  });

  it('opens exactly the declared paths in its NetworkPolicy', () => {
    const { objects } = build();
    const own = find(objects, 'NetworkPolicy', 'api');
    const egress = own.spec.egress.map((r: any) => [r.to[0].podSelector?.matchLabels?.['app.kubernetes.io/name'] ?? r.to[0].ipBlock?.cidr, r.ports.map((p: any) => p.port)]);
    expect(egress).toEqual(expect.arrayContaining([['postgres', [5432]], ['redis', [6379]]]));
    const pg = find(objects, 'NetworkPolicy', 'postgres');
    expect(pg.spec.ingress.some((r: any) => r.from[0].podSelector.matchLabels['app.kubernetes.io/name'] === 'api' && r.ports[0].port === 5432)).toBe(true);
  });

  it('counts (replicas + surge) x workers x pool in the PostgreSQL budget', () => {
    const { app, postgres } = build(3);
    expect(app.maxDatabaseConnections()).toBe((3 + 1) * 4 * 20);
    expect(postgres.connectionBudget().lines.map(l => l.connections)).toContain(320);
  });

  it('reads extra secrets from Secret references and passes extra plain settings as values', () => {
    const chart = testChart();
    new AppService(chart, 'Api', { settings: { extraEnv: { FEATURE_X: 'on' }, extraSecretEnv: { LLM_API_KEY: SecretKeyRef.of('llm', 'api-key') } } });
    const env = envOf(podSpec(find(synth(chart), 'Deployment', 'api')).containers[0]);
    expect(env.FEATURE_X).toBe('on');
    expect(env.LLM_API_KEY).toBe('secret:llm/api-key');
  });

  it('never puts a refused secret value in the error message', () => {
    expect(() => new AppService(testChart(), 'Api', { settings: { extraEnv: { DB_PASSWORD: 'hunter2' } } })).toThrow(/^(?!.*hunter2)/s);
  });

  it('refuses the same connection twice', () => {
    const { app, postgres } = build();
    expect(() => app.connectTo(postgres)).toThrow(/each client connected once/);
  });
});
