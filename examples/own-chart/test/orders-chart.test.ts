import { Testing } from 'cdk8s';
import { OrdersChart } from '../src/orders-chart';

// How a team tests its own chart in CI: assertions on what matters, plus a reviewed snapshot.
const synth = () => Testing.synth(new OrdersChart(Testing.app(), 'orders', { image: 'registry.example.com/orders:3.1.4' }));
const find = (objects: any[], kind: string, name: string) => objects.find(o => o.kind === kind && o.metadata.name === name);

describe('OrdersChart', () => {
  const objects = synth();

  it('gives the API its DATABASE_URL from the Secret, never a literal', () => {
    const api = find(objects, 'Deployment', 'orders-api');
    const env = api.spec.template.spec.containers[0].env;
    expect(env).toContainEqual({ name: 'DATABASE_URL', valueFrom: { secretKeyRef: { name: 'orders-db', key: 'url' } } });
  });

  it('lets the API, and only declared clients, reach PostgreSQL on 5432', () => {
    const policy = find(objects, 'NetworkPolicy', 'orders-db');
    const from = policy.spec.ingress.filter((r: any) => r.ports.some((p: any) => p.port === 5432)).flatMap((r: any) => r.from);
    expect(from.map((p: any) => p.podSelector.matchLabels['app.kubernetes.io/name'])).toContain('orders-api');
  });

  it('sizes max_connections for the API\'s pools', () => {
    const conf: string = find(objects, 'ConfigMap', 'orders-db-config').data['postgresql.conf'];
    const maxConnections = Number(/max_connections = (\d+)/.exec(conf)![1]);
    expect(maxConnections).toBeGreaterThanOrEqual(3 * 2 * 20); // 2 replicas + 1 surge, workers x pool
  });

  it('matches the reviewed snapshot', () => {
    expect(objects).toMatchSnapshot();
  });
});
