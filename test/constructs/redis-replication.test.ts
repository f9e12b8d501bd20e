import { AppService } from '../../constructs/app/app-service';
import { RedisReplication } from '../../constructs/data/redis-replication';
import { envOf, expectValidationError, find, modelClass, podSpec, synth, testChart } from '../helpers';

describe('RedisReplication', () => {
  const chart = testChart();
  const redis = new RedisReplication(chart, 'Cache', { name: 'cache', tier: 'minimum' });
  const api = new AppService(chart, 'Api').connectTo(redis);
  const objects = synth(chart);

  it('runs a master and two replicas and three sentinels, each set one per node with one allowed down', () => {
    for (const [name, replicas] of [['cache', 3], ['cache-sentinel', 3]] as const) {
      const sts = find(objects, 'StatefulSet', name);
      expect(sts.spec.replicas).toBe(replicas);
      expect(podSpec(sts).affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey).toBe('kubernetes.io/hostname');
      expect(find(objects, 'PodDisruptionBudget', name).spec.maxUnavailable).toBe(1);
    }
    expect(redis.sizings()[0]).toMatchObject({ replicas: 3, onePerNode: true });
    expect(redis.sentinel.sizings()[0]).toMatchObject({ replicas: 3, onePerNode: true });
  });

  it('reuses the Redis construct\'s redis.conf rules: maxmemory from the limit, noeviction for queues', () => {
    const conf = find(objects, 'ConfigMap', 'cache-config').data['redis.conf'];
    expect(conf).toContain(`maxmemory ${redis.maxMemory.bytes}`);
    expect(conf).toContain('maxmemory-policy noeviction');
    expect(conf).toContain('appendonly yes');
  });

  it('gives clients the sentinels, the master name and the password, never a URL with it', () => {
    const env = envOf(podSpec(find(objects, 'Deployment', api.name)).containers[0]);
    expect(env).toMatchObject({ REDIS_PASSWORD: 'secret:redis-credentials/password', REDIS_SENTINEL_HOSTS: 'cache-sentinel:26379', REDIS_MASTER_NAME: 'cache' });
    for (const [policy, port] of [['cache', 6379], ['cache-sentinel', 26379]] as const) {
      const from = find(objects, 'NetworkPolicy', policy).spec.ingress.filter((r: any) => r.ports.some((p: any) => p.port === port))
        .flatMap((r: any) => r.from.map((f: any) => f.podSelector.matchLabels['app.kubernetes.io/name']));
      expect(from).toContain('api');
    }
  });

  it('lets data pods and sentinels reach each other as failover needs, and nothing else in', () => {
    const data = find(objects, 'NetworkPolicy', 'cache').spec.ingress.flatMap((r: any) => r.from.map((f: any) => f.podSelector.matchLabels['app.kubernetes.io/name']));
    expect([...new Set(data)].sort()).toEqual(['api', 'cache', 'cache-sentinel']);
  });

  it('refuses an even number of sentinels, and a lone sentinel over replicas', () => {
    expectValidationError(() => new RedisReplication(testChart(), 'R', { sentinels: 2 }), { path: 'test/R', field: 'sentinels', value: 2, allowed: /odd number/ });
    expectValidationError(() => new RedisReplication(testChart(), 'R', { sentinels: 1 }), { path: 'test/R', field: 'sentinels', value: 1, allowed: /at least 3 when there are replicas/ });
    const dev = synth((() => { const c = testChart(); new RedisReplication(c, 'R', { replicas: 0, sentinels: 1 }); return c; })());
    expect(find(dev, 'StatefulSet', 'redis').spec.replicas).toBe(1);
    expect(dev.filter(o => o.kind === 'PodDisruptionBudget')).toEqual([]);
  });

  it('is valid against the Kubernetes schema, every container restricted with limits', () => {
    for (const o of objects.filter(x => x.metadata.name.startsWith('cache'))) {
      const Model = modelClass(o);
      expect(() => new Model(o).validate()).not.toThrow();
    }
    for (const sts of ['cache', 'cache-sentinel'].map(n => find(objects, 'StatefulSet', n))) {
      for (const c of podSpec(sts).containers) {
        expect(c.securityContext).toMatchObject({ runAsNonRoot: true, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true });
        expect(c.resources.limits.memory).toBeDefined();
        expect(c.livenessProbe).not.toEqual(c.readinessProbe);
      }
    }
  });
});
