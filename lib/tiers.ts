import { ValidationError } from './errors';
import { ByteQuantity, CpuQuantity } from './quantity';

/** The name of a documented hardware tier (seed 000 §1.1; seed 003's "compact"). */
export type TierName = 'minimum' | 'recommended' | 'compact';

/** One node of a hardware tier. */
export interface Tier {
  readonly name: TierName;
  /** CPU cores of one node. */
  readonly cpu: CpuQuantity;
  /** Memory of one node. */
  readonly memory: ByteQuantity;
  /** SSD disk of one node. */
  readonly disk: ByteQuantity;
}

/**
 * Seed 000 §1.1 hardware requirements: minimum 4 cores / 8 GB / 100 GB SSD, recommended
 * 8 cores / 16 GB / 500 GB SSD. Memory is read as GiB (what a node with "8 GB" reports to
 * the kubelet); disk as decimal GB, as disks are sold.
 */
export const TIERS: Readonly<Record<TierName, Tier>> = {
  minimum: {
    name: 'minimum',
    cpu: CpuQuantity.cores(4),
    memory: ByteQuantity.gibibytes(8),
    disk: ByteQuantity.parse('100G'),
  },
  recommended: {
    name: 'recommended',
    cpu: CpuQuantity.cores(8),
    memory: ByteQuantity.gibibytes(16),
    disk: ByteQuantity.parse('500G'),
  },
  // Seed 003 (merchant-analysis): 8 cores / 16 GB / 100 GB SSD — the recommended node on a small disk.
  compact: {
    name: 'compact',
    cpu: CpuQuantity.cores(8),
    memory: ByteQuantity.gibibytes(16),
    disk: ByteQuantity.parse('100G'),
  },
};

/** Looks a tier up by name, with an error that lists the known tiers. */
export function tier(name: string, path = 'Tier'): Tier {
  const t = (TIERS as Record<string, Tier | undefined>)[name];
  if (!t) throw new ValidationError(path, 'tier', name, `one of ${Object.keys(TIERS).map(k => `"${k}"`).join(', ')}`);
  return t;
}

/** What the kubelet and the system keep of one node, and what is left for pods. */
export interface NodeAllocatable {
  readonly cpu: CpuQuantity;
  readonly memory: ByteQuantity;
  /** Disk left for persistent volumes after the system reservation. */
  readonly disk: ByteQuantity;
  readonly reservedCpu: CpuQuantity;
  readonly reservedMemory: ByteQuantity;
  readonly reservedDisk: ByteQuantity;
}

/** Hard eviction threshold the kubelet keeps free (GKE: memory.available < 100Mi). */
export const EVICTION_THRESHOLD = ByteQuantity.mebibytes(100);

/**
 * Share of each node's disk kept for the OS, container images, logs and emptyDir volumes.
 * Not a published figure: the kubelet's default image GC starts at 85 % disk use and
 * nodefs.available eviction at 10 %, so 20 % keeps PVCs clear of both.
 */
export const SYSTEM_DISK_SHARE = 0.2;

/**
 * CPU the kubelet reserves, by GKE's published formula ("Allocatable memory and CPU
 * resources", cloud.google.com/kubernetes-engine/docs/concepts/plan-node-sizes):
 * 6 % of the first core, 1 % of the next, 0.5 % of the next 2, 0.25 % of every core above 4.
 */
export function reservedCpu(cpu: CpuQuantity): CpuQuantity {
  const bands: Array<[number, number]> = [[1000, 0.06], [1000, 0.01], [2000, 0.005], [Infinity, 0.0025]];
  return CpuQuantity.millis(Math.ceil(band(cpu.millicores, bands)));
}

/**
 * Memory the kubelet reserves, by the same GKE formula: 255 MiB on machines under 1 GiB,
 * otherwise 25 % of the first 4 GiB, 20 % of the next 4, 10 % of the next 8, 6 % of the next
 * 112 and 2 % above 128 GiB; the eviction threshold comes on top.
 */
export function reservedMemory(memory: ByteQuantity): ByteQuantity {
  const GiB = 2 ** 30;
  if (memory.bytes < GiB) return ByteQuantity.mebibytes(255);
  const bands: Array<[number, number]> = [[4 * GiB, 0.25], [4 * GiB, 0.2], [8 * GiB, 0.1], [112 * GiB, 0.06], [Infinity, 0.02]];
  return ByteQuantity.mebibytes(Math.ceil(band(memory.bytes, bands) / 2 ** 20));
}

/** Allocatable capacity of one node of a tier. */
export function nodeAllocatable(t: Tier): NodeAllocatable {
  const rCpu = reservedCpu(t.cpu);
  const rMem = reservedMemory(t.memory).plus(EVICTION_THRESHOLD);
  const rDisk = ByteQuantity.gibibytes(Math.ceil(t.disk.gibibytes * SYSTEM_DISK_SHARE));
  return {
    cpu: CpuQuantity.millis(t.cpu.millicores - rCpu.millicores),
    memory: ByteQuantity.parse(String(t.memory.bytes - rMem.bytes)),
    disk: ByteQuantity.parse(String(Math.floor(t.disk.bytes - rDisk.bytes))),
    reservedCpu: rCpu,
    reservedMemory: rMem,
    reservedDisk: rDisk,
  };
}

/** Applies a progressive rate table: each band takes `rate` of the amount that falls inside it. */
function band(amount: number, bands: Array<[number, number]>): number {
  let left = amount;
  let total = 0;
  for (const [width, rate] of bands) {
    const inBand = Math.min(left, width);
    total += inBand * rate;
    left -= inBand;
    if (left <= 0) break;
  }
  return total;
}
