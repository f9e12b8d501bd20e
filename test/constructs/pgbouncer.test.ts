import { AppService } from '../../constructs/app/app-service';
import { PgBouncer } from '../../constructs/data/pgbouncer';
import { Postgres } from '../../constructs/data/postgres';
import { ENVIRONMENTS } from '../../lib/environments';
import { IMAGE_CATALOG } from '../../lib/images';
import { envOf, expectValidationError, find, podSpec, synth, synthStack, testChart } from '../helpers';

describe('PgBouncer', () => {
  it('hands clients a DATABASE_URL through the pool and holds pool + reserve per pod against PostgreSQL', () => {
    const chart = testChart();
    const postgres = new Postgres(chart, 'Postgres');
    const pooler = new PgBouncer(chart, 'Pooler', { postgres, defaultPoolSize: 10, reservePoolSize: 2 });
    new AppService(chart, 'Api', { name: 'api', replicas: 2 }).connectTo(pooler);
    const objects = synth(chart);
    const api = podSpec(find(objects, 'Deployment', 'api')).containers[0];
    expect(envOf(api).DATABASE_URL).toBe('secret:db-credentials/pooler-url');
    const ini = find(objects, 'ConfigMap', 'pgbouncer-config').data['pgbouncer.ini'];
    expect(ini).toMatch(/^pool_mode = transaction$/m);
    expect(ini).toMatch(/^default_pool_size = 10$/m);
    expect(ini).toMatch(/^max_db_connections = 12$/m);
    expect(ini).toMatch(/^quality_billing = host=postgres port=5432 dbname=quality_billing$/m);
    // Two replicas plus the rollout's surge pod, 12 connections each.
    expect(postgres.connectionBudget().lines).toContainEqual({ client: 'pgbouncer (2+1 surge) pods x (10 pool + 2 reserve)', connections: 36 });
    // The API's pools count against max_client_conn, not against PostgreSQL.
    expect(postgres.connectionBudget().lines.map(l => l.client).join('\n')).not.toContain('api');
    // (2 replicas + 1 surge) x 4 uvicorn workers x pool 20, and the exporter's admin-console session.
    expect(pooler.clientBudget().clients).toBe((2 + 1) * 4 * 20 + 1);
    expect(Number(/^max_client_conn = (\d+)$/m.exec(ini)![1])).toBeGreaterThanOrEqual(pooler.clientBudget().clients);
  });

  it('keeps the password out of the manifests: the auth_file is written at start from the Secret', () => {
    const chart = testChart();
    const postgres = new Postgres(chart, 'Postgres');
    new PgBouncer(chart, 'Pooler', { postgres });
    const objects = synth(chart);
    const [pgbouncer, exporter] = podSpec(find(objects, 'Deployment', 'pgbouncer')).containers;
    expect(pgbouncer.image).toBe(IMAGE_CATALOG.pgbouncer.toString());
    expect(exporter.image).toBe(IMAGE_CATALOG.pgbouncerExporter.toString());
    expect(envOf(pgbouncer).PGBOUNCER_PASSWORD).toBe('secret:db-credentials/password');
    expect(pgbouncer.command.join(' ')).toContain('userlist.txt');
    // A password with @ / ? # % inside a URL breaks its parsing: the exporter gets it as PGPASSWORD
    // (lib/pq reads it from the environment), and no URL in the pod refers to the Secret.
    expect(envOf(exporter).PGPASSWORD).toBe('secret:db-credentials/password');
    const urls = [...exporter.args, ...(exporter.env ?? []).map((e: { value?: string }) => e.value ?? '')]
      .flatMap((a: string) => a.match(/[a-z]+:\/\/\S+/g) ?? []);
    expect(urls.length).toBeGreaterThan(0);
    for (const url of urls) {
      expect(url).not.toMatch(/\$\(|PASSWORD/);
      expect(new URL(url).password).toBe('');
    }
  });

  it('runs 2 replicas on different nodes with a PodDisruptionBudget in prod, scraped and alerted on', () => {
    const { stack, objects } = synthStack(ENVIRONMENTS.prod);
    const deployment = find(objects, 'Deployment', 'quality-billing-pgbouncer');
    expect(deployment.spec.replicas).toBe(2);
    expect(podSpec(deployment).affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey).toBe('kubernetes.io/hostname');
    expect(find(objects, 'PodDisruptionBudget', 'quality-billing-pgbouncer').spec.maxUnavailable).toBe(1);
    expect(stack.capacity.rows.find(r => r.workload.name === 'quality-billing-pgbouncer')?.workload).toMatchObject({ replicas: 2, onePerNode: true });
    expect(find(objects, 'ConfigMap', 'quality-billing-prometheus-config').data['prometheus.yml']).toContain('quality-billing-pgbouncer;metrics');
    expect(find(objects, 'ConfigMap', 'quality-billing-prometheus-rules').data['alerts.yml']).toContain('alert: PgBouncerClientsWaiting');
  });

  it('leaves dev without a pooler: clients connect to PostgreSQL directly', () => {
    const { stack, objects } = synthStack(ENVIRONMENTS.dev);
    expect(stack.pooler).toBeUndefined();
    expect(envOf(podSpec(find(objects, 'Deployment', 'quality-billing-api')).containers[0]).DATABASE_URL).toBe('secret:db-credentials/url');
  });
});

describe('PgBouncer bad input', () => {
  it('refuses a pool larger than a max_connections set by hand, naming the size that fits', () => {
    const chart = testChart();
    const postgres = new Postgres(chart, 'Postgres', { maxConnections: 50 });
    new PgBouncer(chart, 'Pooler', { postgres, defaultPoolSize: 20 });
    // 3 pods x (20 + 5) = 75 > 50; 3 x (p + 5) + exporter + maintenance + headroom 5 + superuser 3 <= 50 gives p = 8.
    expectValidationError(() => synth(chart), { path: /Pooler$/, field: 'defaultPoolSize', value: 20, allowed: /^at most 8: 3 pods .* max_connections 50 of test\/Postgres \(needed 88\)/ });
  });

  it('accepts the largest pool that fits', () => {
    const chart = testChart();
    const postgres = new Postgres(chart, 'Postgres', { maxConnections: 50 });
    new PgBouncer(chart, 'Pooler', { postgres, defaultPoolSize: 8 });
    expect(() => synth(chart)).not.toThrow();
  });

  it('refuses a client with server-side prepared statements in transaction mode, and takes it in session mode', () => {
    const chart = testChart();
    const postgres = new Postgres(chart, 'Postgres');
    const transaction = new PgBouncer(chart, 'Pooler', { postgres });
    const app = new AppService(chart, 'Api', { name: 'api', settings: { serverSidePreparedStatements: true } });
    expectValidationError(() => app.connectTo(transaction), { path: /Pooler$/, field: 'poolMode', value: 'transaction', allowed: /"session", because test\/Api declares serverSidePreparedStatements.*statement_cache_size=0/ });
    // Why, truthfully: not the pinned image's version (it has max_prepared_statements), but the
    // settings proven on Debian's 1.18, which lack it; and how to opt in.
    let allowed = '';
    try { app.connectTo(transaction); } catch (e) { allowed = (e as { allowed: string }).allowed; }
    expect(allowed).toContain('max_prepared_statements');
    expect(allowed).toContain('1.18');
    expect(allowed).toContain(`poolMode: 'session'`);
    expect(allowed).not.toMatch(/only from 1\.21/);
    const session = new PgBouncer(chart, 'SessionPooler', { name: 'pgbouncer-session', postgres, poolMode: 'session' });
    expect(() => app.connectTo(session)).not.toThrow();
    expect(find(synth(chart), 'ConfigMap', 'pgbouncer-session-config').data['pgbouncer.ini']).toMatch(/^pool_mode = session$/m);
  });

  it.each([
    ['defaultPoolSize', 0], ['reservePoolSize', -1], ['replicas', 0], ['poolMode', 'statement'], ['maxClientConn', 0],
  ])('refuses %s %p', (field, value) => {
    const chart = testChart();
    const postgres = new Postgres(chart, 'Postgres');
    expectValidationError(() => new PgBouncer(chart, 'Pooler', { postgres, [field]: value }), { path: /Pooler$/, field, value, allowed: /./ });
  });
});
