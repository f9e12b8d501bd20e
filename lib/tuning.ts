import { ValidationError } from './errors';
import { ByteQuantity, CpuQuantity } from './quantity';

/**
 * Tuning formulas. Each is a pure function of the container's resources so that a tier change
 * re-tunes every component in the same synth.
 */

/** Seed 000 §2.5 starts uvicorn with `--workers 4`: the ceiling at the recommended tier. */
export const SEED_UVICORN_WORKERS = 4;
/** Seed 000 §2.2 `DATABASE_POOL_SIZE=20`. */
export const SEED_DATABASE_POOL_SIZE = 20;

/** Memory one uvicorn worker of a FastAPI app is budgeted (the seed's 1 Gi limit over its 4 workers). */
const MEMORY_PER_UVICORN_WORKER = ByteQuantity.mebibytes(256);
/** CPU one uvicorn worker is budgeted (the seed's 1000m limit over its 4 workers: async I/O-bound). */
const CPU_PER_UVICORN_WORKER = CpuQuantity.millis(250);

/**
 * uvicorn worker processes for a container: the seed's ratio of 4 workers to 1 core and 1 Gi,
 * capped at the seed's 4 and never below 1. Recommended tier (1 core, 1 Gi) gives 4; minimum
 * (500m, 512 Mi) gives 2.
 */
export function uvicornWorkers(cpuLimit: CpuQuantity, memoryLimit: ByteQuantity): number {
  const byCpu = Math.floor(cpuLimit.millicores / CPU_PER_UVICORN_WORKER.millicores);
  const byMemory = Math.floor(memoryLimit.bytes / MEMORY_PER_UVICORN_WORKER.bytes);
  return Math.max(1, Math.min(SEED_UVICORN_WORKERS, byCpu, byMemory));
}

/** Memory a Celery prefork child is budgeted: a Python process with the app imported. */
const MEMORY_PER_CELERY_CHILD = ByteQuantity.mebibytes(384);

/**
 * Celery prefork concurrency: two children per core of the CPU limit (tasks mostly wait on
 * PostgreSQL and HTTP), bounded by the memory limit after one child's share is kept for the
 * main process and the `celery inspect` probes (each a Python process of its own); at least 1.
 */
export function celeryConcurrency(cpuLimit: CpuQuantity, memoryLimit: ByteQuantity): number {
  const byCpu = Math.floor((cpuLimit.millicores * 2) / 1000);
  const byMemory = Math.floor(memoryLimit.bytes / MEMORY_PER_CELERY_CHILD.bytes) - 1;
  return Math.max(1, Math.min(byCpu, byMemory));
}

/**
 * Memory a Redis server uses besides its data set: allocator fragmentation, client input and
 * output buffers, the AOF buffer. 10 % of the container limit, at least 32 MiB.
 */
export function redisOverhead(memoryLimit: ByteQuantity): ByteQuantity {
  return ByteQuantity.mebibytes(Math.max(32, Math.ceil(memoryLimit.mebibytes / 10)));
}

/**
 * Redis `maxmemory` for a server that persists by forking (AOF rewrites here; RDB snapshots are off,
 * lib/redis-config.ts). Redis's administration guide (redis.io/docs/latest/operate/oss_and_stack/
 * management/admin/, "Memory"): "If you are using Redis in a write-heavy application, while saving
 * an RDB file on disk or rewriting the AOF log, Redis can use up to 2 times the memory normally
 * used", and "make sure to size your memory accordingly". A broker queue is write-heavy, so the
 * data set, a full copy-on-write copy of it and the overhead must fit the container limit:
 * maxmemory = (limit - overhead) / 2. At 75 % of the limit a busy broker could be OOM-killed
 * during a rewrite.
 */
export function redisMaxMemory(memoryLimit: ByteQuantity): ByteQuantity {
  return ByteQuantity.mebibytes(Math.floor((memoryLimit.mebibytes - redisOverhead(memoryLimit).mebibytes) / 2));
}

/** The most a Redis server with `redisMaxMemory` uses, a fork included: 2 x maxmemory + overhead. */
export function redisPeakMemory(memoryLimit: ByteQuantity): ByteQuantity {
  return ByteQuantity.mebibytes(2 * redisMaxMemory(memoryLimit).mebibytes + redisOverhead(memoryLimit).mebibytes);
}

/** That peak with its parts, for the capacity planner (`WorkloadSizing.peakMemory`). */
export function redisPeakBreakdown(memoryLimit: ByteQuantity): { bytes: ByteQuantity; breakdown: string } {
  const max = redisMaxMemory(memoryLimit).mebibytes;
  return { bytes: redisPeakMemory(memoryLimit), breakdown: `maxmemory ${max}Mi + fork copy-on-write ${max}Mi + overhead ${redisOverhead(memoryLimit).mebibytes}Mi` };
}

/** One client of PostgreSQL and the most connections it can hold at once. */
export interface ConnectionBudgetLine {
  /** Who holds the connections (e.g. `AppService x3 pods x4 workers x20 pool`). */
  readonly client: string;
  /** The most connections it can open. */
  readonly connections: number;
}

/** PostgreSQL's default `superuser_reserved_connections`, kept for an operator to get in. */
export const SUPERUSER_RESERVED_CONNECTIONS = 3;

/** The connection budget and the `max_connections` it implies. */
export interface ConnectionBudget {
  readonly lines: readonly ConnectionBudgetLine[];
  /** Sum of every client's connections. */
  readonly clients: number;
  /** Spare connections for ad-hoc sessions (psql, a one-off job): 10 % of clients, at least 5. */
  readonly headroom: number;
  readonly superuserReserved: number;
  /** `max_connections` = clients + headroom + superuser reserved. */
  readonly maxConnections: number;
}

/** Adds up the clients of a PostgreSQL server into `max_connections` (DESIGN.md §5). */
export function connectionBudget(lines: readonly ConnectionBudgetLine[]): ConnectionBudget {
  const clients = checkedLines(lines).reduce((n, l) => n + l.connections, 0);
  const headroom = Math.max(5, Math.ceil(clients * 0.1));
  return {
    lines,
    clients,
    headroom,
    superuserReserved: SUPERUSER_RESERVED_CONNECTIONS,
    maxConnections: clients + headroom + SUPERUSER_RESERVED_CONNECTIONS,
  };
}

/** The clients of a connection pooler (apps → PgBouncer) and the `max_client_conn` they need. */
export interface PoolerClientBudget {
  readonly lines: readonly ConnectionBudgetLine[];
  /** Sum of every client's connections. */
  readonly clients: number;
  /** Spare client connections (a pod restarting while its old connections time out): 10 % of clients, at least 10. */
  readonly headroom: number;
  /**
   * `max_client_conn` of each PgBouncer replica: clients + headroom. Every replica can take every
   * client, because a Service spreads connections unevenly and, with one replica down (a rollout,
   * a lost node), the others take them all.
   */
  readonly maxClientConn: number;
}

/** Adds up the clients of a pooler into the `max_client_conn` each of its replicas needs. */
export function poolerClientBudget(lines: readonly ConnectionBudgetLine[]): PoolerClientBudget {
  const clients = checkedLines(lines).reduce((n, l) => n + l.connections, 0);
  const headroom = Math.max(10, Math.ceil(clients * 0.1));
  return { lines, clients, headroom, maxClientConn: clients + headroom };
}

/** The server side of a pooler (PgBouncer → PostgreSQL). */
export interface PoolerServerConnections {
  /** Per replica: `default_pool_size`. */
  readonly poolSize: number;
  /** Per replica: `reserve_pool_size`. */
  readonly reservePoolSize: number;
  /** Replicas that run at once, the rolling update's surge included. */
  readonly pods: number;
  /** pods x (pool + reserve): the most PostgreSQL connections the pooler holds (its `max_db_connections` caps each replica). */
  readonly connections: number;
}

/** The most server connections `pods` PgBouncer replicas open, each capped at its pool plus reserve. */
export function poolerServerConnections(poolSize: number, reservePoolSize: number, pods: number): PoolerServerConnections {
  return { poolSize, reservePoolSize, pods, connections: pods * (poolSize + reservePoolSize) };
}

function checkedLines(lines: readonly ConnectionBudgetLine[]): readonly ConnectionBudgetLine[] {
  for (const l of lines) {
    if (!Number.isInteger(l.connections) || l.connections < 0) {
      throw new ValidationError('ConnectionBudget', `connections of ${l.client}`, l.connections, 'an integer >= 0');
    }
  }
  return lines;
}

/** PostgreSQL memory settings derived from the container's memory limit. */
export interface PostgresTuning {
  readonly maxConnections: number;
  readonly sharedBuffers: ByteQuantity;
  readonly effectiveCacheSize: ByteQuantity;
  readonly maintenanceWorkMem: ByteQuantity;
  readonly workMem: ByteQuantity;
}

/** The smallest `work_mem` we accept before we say the server has too many connections for its memory. */
export const MIN_WORK_MEM = ByteQuantity.parse('1Mi');
/** Private memory of an idle backend process (catalog caches, stack): PostgreSQL's per-connection floor. */
export const BACKEND_OVERHEAD = ByteQuantity.mebibytes(2);

/**
 * PGTune's "web application" profile, applied to the container memory limit instead of the
 * host's RAM: shared_buffers 25 %, effective_cache_size 75 %, maintenance_work_mem 1/16
 * (at most 2 GiB), work_mem = (memory - shared_buffers) / (3 x max_connections).
 * Throws when the connections do not fit the memory left after shared_buffers: work_mem under
 * 1 MiB, or the backends' own overhead taking more than the two thirds that work_mem leaves.
 * A pooler in front, more memory or smaller client pools fix it.
 */
export function postgresTuning(memoryLimit: ByteQuantity, maxConnections: number, path = 'Postgres'): PostgresTuning {
  const mib = memoryLimit.mebibytes;
  const sharedBuffers = Math.floor(mib * 0.25);
  const afterBuffersKib = (mib - sharedBuffers) * 1024;
  const workMemKib = Math.floor(afterBuffersKib / (3 * maxConnections));
  const limit = Math.floor(Math.min(afterBuffersKib / (3 * MIN_WORK_MEM.bytes / 1024), (afterBuffersKib * 2 / 3) / (BACKEND_OVERHEAD.bytes / 1024)));
  if (maxConnections > limit) {
    throw new ValidationError(path, 'maxConnections', maxConnections,
      `at most ${limit} connections for a ${memoryLimit} memory limit (shared_buffers, 1MB work_mem and 2MB per backend must fit): ` +
      'give PostgreSQL more memory, lower the clients\' pool sizes or put a pooler in front');
  }
  return {
    maxConnections,
    sharedBuffers: ByteQuantity.mebibytes(sharedBuffers),
    effectiveCacheSize: ByteQuantity.mebibytes(Math.floor(mib * 0.75)),
    maintenanceWorkMem: ByteQuantity.mebibytes(Math.min(2048, Math.max(64, Math.floor(mib / 16)))),
    workMem: ByteQuantity.parse(`${workMemKib}Ki`),
  };
}

/**
 * WiredTiger cache of a mongod in a container: MongoDB's own default rule, 50 % of (memory − 1 GiB)
 * and at least 0.25 GB, applied to the container's memory limit — mongod would otherwise size it
 * from the node's memory and be OOM-killed.
 */
export function mongoCacheSizeGb(memoryLimit: ByteQuantity): number {
  const gb = (memoryLimit.bytes - 2 ** 30) / 2 / 2 ** 30;
  return Math.max(0.25, Math.floor(gb * 100) / 100);
}
