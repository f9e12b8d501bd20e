import { ValidationError } from '../../lib/errors';
import { AppService } from '../../constructs/app/app-service';
import { Postgres } from '../../constructs/data/postgres';
import { SecretKeyRef } from '../../lib/secrets';
import { envOf, find, podSpec, synth, testChart } from '../helpers';

const confValue = (conf: string, key: string) => new Map(conf.split('\n').filter(l => l.includes(' = ')).map(l => l.split(' = ') as [string, string])).get(key);

function postgresConf(objects: ReturnType<typeof synth>, name = 'postgres'): string {
  return find(objects, 'ConfigMap', `${name}-config`).data['postgresql.conf'];
}

describe('Postgres', () => {
  it('runs PostgreSQL 14 as a StatefulSet on a volume sized by the tier', () => {
    for (const [tier, size] of [['minimum', '40Gi'], ['recommended', '200Gi']] as const) {
      const chart = testChart();
      new Postgres(chart, 'Postgres', { tier });
      const sts = find(synth(chart), 'StatefulSet', 'postgres');
      expect(podSpec(sts).containers[0].image).toMatch(/^postgres:14\./);
      expect(sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe(size);
      expect(sts.spec.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: 'Retain', whenScaled: 'Retain' });
    }
  });

  it('reads its password from a Secret reference and never from a literal', () => {
    const chart = testChart();
    new Postgres(chart, 'Postgres', { passwordSecret: SecretKeyRef.of('pg', 'pw') });
    const sts = find(synth(chart), 'StatefulSet', 'postgres');
    expect(envOf(podSpec(sts).containers[0]).POSTGRES_PASSWORD).toBe('secret:pg/pw');
    expect(envOf(podSpec(sts).containers[1]).DATA_SOURCE_PASS).toBe('secret:pg/pw');
  });

  it('raises max_connections as clients connect, from their declared pools', () => {
    const chart = testChart();
    const pg = new Postgres(chart, 'Postgres');
    const before = Number(confValue(postgresConf(synth(chart)), 'max_connections'));
    new AppService(chart, 'Api', { replicas: 2 }).connectTo(pg);
    const after = Number(confValue(postgresConf(synth(chart)), 'max_connections'));
    // 3 pods during a rollout x 4 workers x 20 pool, plus 10 % headroom.
    expect(after - before).toBeGreaterThanOrEqual(3 * 4 * 20);
    expect(after).toBe(pg.maxConnections());
  });

  it('restarts the server when its configuration changes, and only then', () => {
    const checksum = (clients: number) => {
      const chart = testChart();
      const pg = new Postgres(chart, 'Postgres');
      for (let i = 0; i < clients; i++) new AppService(chart, `Api${i}`, { name: `api-${i}`, replicas: 1 }).connectTo(pg);
      return find(synth(chart), 'StatefulSet', 'postgres').spec.template.metadata.annotations['quality-billing.io/config-checksum'];
    };
    expect(checksum(1)).toMatch(/^[0-9a-f]{64}$/);
    expect(checksum(1)).toBe(checksum(1));
    // A second client raises max_connections, so the file and its checksum change.
    expect(checksum(2)).not.toBe(checksum(1));
  });

  it('tunes memory from its limit: shared_buffers a quarter, effective_cache_size three quarters', () => {
    const chart = testChart();
    new Postgres(chart, 'Postgres', { resources: { cpuRequest: '1', cpuLimit: '2', memoryRequest: '8Gi', memoryLimit: '8Gi' } });
    const conf = postgresConf(synth(chart));
    expect(confValue(conf, 'shared_buffers')).toBe(`${2 * 1024 * 1024}kB`);
    expect(confValue(conf, 'effective_cache_size')).toBe(`${6 * 1024 * 1024}kB`);
    expect(confValue(conf, 'password_encryption')).toBe(`'scram-sha-256'`);
  });

  it('exposes metrics through a postgres_exporter sidecar on 9187', () => {
    const chart = testChart();
    const pg = new Postgres(chart, 'Postgres');
    const sts = find(synth(chart), 'StatefulSet', 'postgres');
    expect(podSpec(sts).containers.map((c: any) => c.name)).toEqual(['postgres', 'exporter']);
    expect(pg.metrics).toEqual({ serviceName: 'postgres', portName: 'metrics', port: 9187, path: '/metrics' });
  });

  it('gives clients a typed connection whose host is its Service', () => {
    const chart = testChart();
    const pg = new Postgres(chart, 'Postgres', { name: 'db' });
    const svc = find(synth(chart), 'Service', 'db');
    expect(pg.connection.host).toBe(svc.metadata.name);
    expect(pg.connection.port).toBe(svc.spec.ports[0].port);
  });

  it('runs VACUUM ANALYZE and REINDEX weekly, never twice at once', () => {
    const chart = testChart();
    new Postgres(chart, 'Postgres', { timeZone: 'Asia/Shanghai' });
    const cron = find(synth(chart), 'CronJob', 'postgres-maintenance');
    expect(cron.spec).toMatchObject({ schedule: '30 3 * * 0', timeZone: 'Asia/Shanghai', concurrencyPolicy: 'Forbid' });
    const script = podSpec(cron).containers[0].command.join(' ');
    expect(script).toContain('vacuumdb');
    expect(script).toContain('--analyze');
    expect(script).toContain('reindexdb');
  });

  it('fails synth when its clients need more connections than its memory holds', () => {
    const chart = testChart();
    const pg = new Postgres(chart, 'Postgres', { tier: 'minimum' });
    new AppService(chart, 'Api', { replicas: 20, tier: 'minimum' }).connectTo(pg);
    // The typed error itself, not cdk8s's plain "Validation failed" Error.
    expect(() => synth(chart)).toThrow(ValidationError);
    expect(() => synth(chart)).toThrow(/maxConnections.*pooler/s);
  });
});
