import { ByteQuantity, CpuQuantity } from '../../lib/quantity';
import { celeryConcurrency, connectionBudget, postgresTuning, redisMaxMemory, redisOverhead, redisPeakMemory, uvicornWorkers } from '../../lib/tuning';

const cpu = CpuQuantity.parse;
const mem = ByteQuantity.parse;

describe('uvicorn workers', () => {
  it.each([
    ['1', '1Gi', 4], // seed 000: --workers 4 at 1000m / 1Gi
    ['500m', '512Mi', 2],
    ['4', '8Gi', 4], // never above the seed's 4
    ['100m', '128Mi', 1], // never below 1
    ['2', '512Mi', 2], // memory bounds it: 512Mi / 256Mi
  ])('%s CPU and %s memory give %i workers', (c, m, expected) => {
    expect(uvicornWorkers(cpu(c), mem(m))).toBe(expected);
  });
});

describe('Celery concurrency', () => {
  // 2 children per core, and memory / 384Mi minus one child's share for the main process and probes.
  it.each([
    ['2', '2Gi', 4], // cpu 4, memory floor(2048/384)=5 - 1 = 4
    ['2', '1536Mi', 3], // memory 4 - 1
    ['1', '768Mi', 1], // memory 2 - 1
    ['500m', '4Gi', 1], // cpu 1
    ['100m', '128Mi', 1], // at least 1
  ])('%s CPU and %s memory give %i children', (c, m, expected) => {
    expect(celeryConcurrency(cpu(c), mem(m))).toBe(expected);
  });
});

describe('Redis maxmemory', () => {
  // (limit - overhead) / 2, overhead = max(32 MiB, 10 % of the limit): a fork's copy-on-write may double the data set.
  it.each([['1Gi', 460], ['512Mi', 230], ['100Mi', 34]])('leaves a %s limit room for the data set twice: %d MiB', (m, mib) => {
    expect(redisMaxMemory(mem(m)).bytes).toBe(mib * 2 ** 20);
  });

  it('peaks at twice maxmemory plus the overhead, within the limit', () => {
    for (const m of ['1Gi', '512Mi', '100Mi', '3Gi']) {
      const peak = redisPeakMemory(mem(m));
      expect(peak.bytes).toBeLessThanOrEqual(mem(m).bytes);
      expect(peak.bytes).toBe(2 * redisMaxMemory(mem(m)).bytes + redisOverhead(mem(m)).bytes);
    }
  });
});

describe('PostgreSQL connection budget', () => {
  it('adds clients, 10 % headroom (at least 5) and 3 superuser connections', () => {
    const b = connectionBudget([{ client: 'api', connections: 320 }, { client: 'workers', connections: 54 }, { client: 'beat', connections: 2 }]);
    expect(b.clients).toBe(376);
    expect(b.headroom).toBe(38); // ceil(37.6)
    expect(b.maxConnections).toBe(376 + 38 + 3);
  });

  it('keeps at least 5 spare connections for a small budget', () => {
    expect(connectionBudget([{ client: 'one', connections: 10 }]).maxConnections).toBe(10 + 5 + 3);
  });

  it('refuses a negative or fractional client', () => {
    expect(() => connectionBudget([{ client: 'x', connections: -1 }])).toThrow(/connections of x/);
    expect(() => connectionBudget([{ client: 'y', connections: 1.5 }])).toThrow(/connections of y/);
  });
});

describe('PostgreSQL memory tuning (PGTune web profile on the memory limit)', () => {
  it('gives shared_buffers a quarter, effective_cache_size three quarters and splits the rest as work_mem', () => {
    const t = postgresTuning(mem('4Gi'), 100);
    expect(t.sharedBuffers.bytes).toBe(1024 * 2 ** 20);
    expect(t.effectiveCacheSize.bytes).toBe(3072 * 2 ** 20);
    expect(t.maintenanceWorkMem.bytes).toBe(256 * 2 ** 20); // 4096 / 16
    expect(t.workMem.bytes).toBe(Math.floor((3072 * 1024) / (3 * 100)) * 1024);
  });

  it('caps maintenance_work_mem at 2 GiB', () => {
    expect(postgresTuning(mem('64Gi'), 100).maintenanceWorkMem.bytes).toBe(2048 * 2 ** 20);
  });

  it('accepts the most connections whose backends fit and refuses one more', () => {
    // 1Gi: 768 MiB after shared_buffers; 2/3 of it for 2 MiB backends = 256; 1 MiB work_mem x 3 = 256.
    expect(postgresTuning(mem('1Gi'), 256).maxConnections).toBe(256);
    expect(() => postgresTuning(mem('1Gi'), 257, 'test/Db')).toThrow(/test\/Db: invalid maxConnections 257.*at most 256 connections.*pooler/);
  });
});
