import { ByteQuantity, CpuQuantity } from '../../lib/quantity';
import { nodeAllocatable, reservedCpu, reservedMemory, tier, TIERS } from '../../lib/tiers';
import { expectValidationError } from '../helpers';

const MiB = 2 ** 20;

describe('hardware tiers (seed 000 §1.1)', () => {
  it.each([
    ['minimum', 4, 8, 100],
    ['recommended', 8, 16, 500],
  ] as const)('%s: %i cores, %i GB memory, %i GB SSD', (name, cores, memoryGiB, diskGB) => {
    const t = tier(name);
    expect(t.cpu.millicores).toBe(cores * 1000);
    expect(t.memory.bytes).toBe(memoryGiB * 2 ** 30);
    expect(t.disk.bytes).toBe(diskGB * 1e9);
  });

  it('refuses an unknown tier and lists the known ones', () => {
    expectValidationError(() => tier('large'), { path: 'Tier', field: 'tier', value: 'large', allowed: /"minimum", "recommended"/ });
  });
});

describe('GKE allocatable formula', () => {
  // CPU: 6 % of core 1, 1 % of core 2, 0.5 % of cores 3-4, 0.25 % of every core above 4.
  it.each([
    [1, 60],
    [2, 60 + 10],
    [4, 60 + 10 + 2 * 5],
    [8, 60 + 10 + 2 * 5 + 4 * 2.5],
    [16, 60 + 10 + 2 * 5 + 12 * 2.5],
  ])('reserves the published CPU share of %i cores: %dm', (cores, expectedMillis) => {
    expect(reservedCpu(CpuQuantity.cores(cores)).millicores).toBe(expectedMillis);
  });

  // Memory: 25 % of the first 4 GiB, 20 % of the next 4, 10 % of the next 8, 6 % of the next 112, 2 % above.
  it.each([
    [0.5, 255],
    [4, 0.25 * 4096],
    [8, 0.25 * 4096 + 0.2 * 4096],
    [16, 0.25 * 4096 + 0.2 * 4096 + 0.1 * 8192],
    [32, 0.25 * 4096 + 0.2 * 4096 + 0.1 * 8192 + 0.06 * 16384],
  ])('reserves the published memory share of %d GiB: %d MiB', (gib, expectedMiB) => {
    expect(reservedMemory(ByteQuantity.gibibytes(gib)).bytes).toBe(Math.ceil(expectedMiB) * MiB);
  });

  it.each([
    ['minimum', 4000 - 80, 8192 - (1024 + 819.2) - 100],
    ['recommended', 8000 - 90, 16384 - (1024 + 819.2 + 819.2) - 100],
  ] as const)('a %s node leaves %dm CPU and %d MiB for pods (eviction threshold included)', (name, cpu, memMiB) => {
    const a = nodeAllocatable(TIERS[name]);
    expect(a.cpu.millicores).toBe(cpu);
    expect(Math.abs(a.memory.bytes / MiB - memMiB)).toBeLessThan(1);
  });

  it('keeps 20 % of the disk for the system', () => {
    const a = nodeAllocatable(TIERS.minimum);
    // 100 GB = 93.13 GiB; 20 % rounded up to whole GiB = 19 GiB.
    expect(a.reservedDisk.bytes).toBe(19 * 2 ** 30);
    expect(a.disk.bytes).toBe(100e9 - 19 * 2 ** 30);
  });
});
