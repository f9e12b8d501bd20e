import { AppService } from '../../constructs/app/app-service';
import { Redis } from '../../constructs/data/redis';
import { planCapacity } from '../../lib/capacity';
import { ENVIRONMENTS } from '../../lib/environments';
import { envOf, find, podSpec, synth, testChart } from '../helpers';

const conf = (objects: ReturnType<typeof synth>) => Object.fromEntries(
  find(objects, 'ConfigMap', 'redis-config').data['redis.conf'].split('\n').filter((l: string) => l && !l.startsWith('#')).map((l: string) => [l.split(' ')[0], l.slice(l.indexOf(' ') + 1)]));

describe('Redis', () => {
  it('never evicts keys when it is a broker, and persists with AOF', () => {
    const chart = testChart();
    new Redis(chart, 'Redis');
    const c = conf(synth(chart));
    expect(c['maxmemory-policy']).toBe('noeviction');
    expect(c.appendonly).toBe('yes');
    // The recommended 1Gi limit less 103 MiB overhead, halved for a fork's copy-on-write: 460 MiB.
    expect(Number(c.maxmemory)).toBe(460 * 1024 * 1024);
    // No RDB snapshots besides AOF: one fork fewer to size for.
    expect(c.save).toBe('""');
  });

  it('has the capacity planner hold its fork peak against the memory the node reserves for it', () => {
    const peakCheck = (resources?: { cpuRequest: string; cpuLimit: string; memoryRequest: string; memoryLimit: string }) => {
      const redis = new Redis(testChart(), 'Redis', { resources });
      return planCapacity(ENVIRONMENTS.prod, redis.sizings()).checks.find(c => c.name === 'memory peaks fit their requests')!;
    };
    const fits = peakCheck();
    expect(fits.passed).toBe(true);
    // 1Gi limit: 2 x 460 + 103 = 1023 MiB.
    expect(fits.detail).toContain('redis peak 1023Mi (maxmemory 460Mi + fork copy-on-write 460Mi + overhead 103Mi) of request 1.00Gi');
    // A request below the peak: the node would be overcommitted while Redis rewrites its AOF.
    const short = peakCheck({ cpuRequest: '250m', cpuLimit: '1', memoryRequest: '512Mi', memoryLimit: '1Gi' });
    expect(short.passed).toBe(false);
    expect(short.detail).toMatch(/above the memory request: redis peak 1023Mi/);
  });

  it('evicts LRU only when declared a pure cache, and then refuses a broker client', () => {
    const chart = testChart();
    const redis = new Redis(chart, 'Redis', { usedAsBroker: false });
    expect(conf(synth(chart))['maxmemory-policy']).toBe('allkeys-lru');
    const app = new AppService(chart, 'Api');
    expect(() => app.connectTo(redis.broker)).toThrow(/usedAsBroker/);
    expect(() => app.connectTo(redis.cache)).not.toThrow();
  });

  it('takes its password from a Secret at start, never from the config file', () => {
    const chart = testChart();
    new Redis(chart, 'Redis');
    const objects = synth(chart);
    const main = podSpec(find(objects, 'StatefulSet', 'redis')).containers[0];
    expect(main.args).toEqual(['/etc/redis/redis.conf', '--dir', '/data', '--requirepass', '$(REDIS_PASSWORD)']);
    expect(envOf(main).REDIS_PASSWORD).toBe('secret:redis-credentials/password');
    expect(conf(objects).requirepass).toBeUndefined();
  });

  it('hands out the seed\'s logical databases: 0 cache, 1 broker, 2 results', () => {
    const chart = testChart();
    const redis = new Redis(chart, 'Redis');
    expect([redis.cache, redis.broker, redis.results].map(d => [d.connection.db, d.envVar])).toEqual([
      [0, 'REDIS_URL'], [1, 'CELERY_BROKER_URL'], [2, 'CELERY_RESULT_BACKEND'],
    ]);
  });

  it('exposes metrics through a redis_exporter sidecar on 9121', () => {
    const chart = testChart();
    const redis = new Redis(chart, 'Redis');
    const sts = find(synth(chart), 'StatefulSet', 'redis');
    expect(podSpec(sts).containers[1].ports[0].containerPort).toBe(9121);
    expect(redis.metrics.port).toBe(9121);
  });

  it('lets a client of three logical databases in with one NetworkPolicy rule, not one per database', () => {
    const chart = testChart();
    const redis = new Redis(chart, 'Redis');
    const app = new AppService(chart, 'Api');
    app.connectTo(redis.cache).connectTo(redis.broker).connectTo(redis.results);
    const objects = synth(chart);
    const fromApi = (rules: any[]) => rules.filter(r => JSON.stringify(r).includes('"app.kubernetes.io/name":"api"') && r.ports.some((p: any) => p.port === 6379));
    expect(fromApi(find(objects, 'NetworkPolicy', 'redis').spec.ingress)).toHaveLength(1);
    const toRedis = find(objects, 'NetworkPolicy', 'api').spec.egress.filter((r: any) => JSON.stringify(r).includes('"app.kubernetes.io/name":"redis"'));
    expect(toRedis).toHaveLength(1);
  });

  it('treats a rule given again with its peer\'s fields in another order as the same rule', () => {
    const chart = testChart();
    const redis = new Redis(chart, 'Redis');
    redis.allowIngressFrom({ podSelector: { matchLabels: { a: '1' } }, namespaceSelector: { matchLabels: { b: '2' } } }, [6379]);
    redis.allowIngressFrom({ namespaceSelector: { matchLabels: { b: '2' } }, podSelector: { matchLabels: { a: '1' } } }, [6379]);
    redis.allowIngressFrom({ podSelector: { matchLabels: { a: '1' } }, namespaceSelector: { matchLabels: { b: '2' } } }, [6380]);
    const rules = find(synth(chart), 'NetworkPolicy', 'redis').spec.ingress.filter((r: any) => r.from[0].namespaceSelector);
    expect(rules.map((r: any) => r.ports[0].port)).toEqual([6379, 6380]);
  });
});
