import { BatchSchedule } from './batch-overlap';
import { ValidationError } from './errors';
import { ByteQuantity, CpuQuantity } from './quantity';
import { checkReplicas } from './validate';

/** Requests and limits of one container. */
export interface ResourceSpec {
  /** CPU the scheduler reserves for the container. */
  readonly cpuRequest: CpuQuantity;
  /** CPU above which the container is throttled. */
  readonly cpuLimit: CpuQuantity;
  /** Memory the scheduler reserves for the container. */
  readonly memoryRequest: ByteQuantity;
  /** Memory above which the container is OOM-killed. */
  readonly memoryLimit: ByteQuantity;
}

/** Requests and limits written the way Kubernetes writes them, for props. */
export interface ResourceQuantities {
  /** CPU request, e.g. "500m". */
  readonly cpuRequest: string;
  /** CPU limit, e.g. "1". */
  readonly cpuLimit: string;
  /** Memory request, e.g. "512Mi". */
  readonly memoryRequest: string;
  /** Memory limit, e.g. "1Gi". */
  readonly memoryLimit: string;
}

/**
 * Builds a `ResourceSpec` from quantity strings, checking each and that no limit is below its
 * request. `path` and `field` name the prop in errors.
 */
export function resources(q: ResourceQuantities, path = 'Resources', field = 'resources'): ResourceSpec {
  const spec: ResourceSpec = {
    cpuRequest: CpuQuantity.parse(q.cpuRequest, path, `${field}.cpuRequest`),
    cpuLimit: CpuQuantity.parse(q.cpuLimit, path, `${field}.cpuLimit`),
    memoryRequest: ByteQuantity.parse(q.memoryRequest, path, `${field}.memoryRequest`),
    memoryLimit: ByteQuantity.parse(q.memoryLimit, path, `${field}.memoryLimit`),
  };
  return checkResources(spec, path, field);
}

/** Checks that limits are not below requests. */
export function checkResources(spec: ResourceSpec, path: string, field: string): ResourceSpec {
  if (spec.cpuLimit.millicores < spec.cpuRequest.millicores) {
    throw new ValidationError(path, `${field}.cpuLimit`, spec.cpuLimit.toString(),
      `a CPU limit at or above the request ${spec.cpuRequest}`);
  }
  if (spec.memoryLimit.bytes < spec.memoryRequest.bytes) {
    throw new ValidationError(path, `${field}.memoryLimit`, spec.memoryLimit.toString(),
      `a memory limit at or above the request ${spec.memoryRequest}`);
  }
  return spec;
}

/** Renders a ResourceSpec as the quantities Kubernetes expects. */
export function toQuantities(spec: ResourceSpec): ResourceQuantities {
  return {
    cpuRequest: spec.cpuRequest.toString(),
    cpuLimit: spec.cpuLimit.toString(),
    memoryRequest: spec.memoryRequest.toString(),
    memoryLimit: spec.memoryLimit.toString(),
  };
}

/** Adds resource specs (the containers of one pod). */
export function sumResources(specs: readonly ResourceSpec[]): ResourceSpec {
  if (specs.length === 0) throw new ValidationError('Resources', 'containers', specs, 'at least one container');
  return specs.reduce((a, b) => ({
    cpuRequest: a.cpuRequest.plus(b.cpuRequest),
    cpuLimit: a.cpuLimit.plus(b.cpuLimit),
    memoryRequest: a.memoryRequest.plus(b.memoryRequest),
    memoryLimit: a.memoryLimit.plus(b.memoryLimit),
  }));
}

/** The kinds of workload the capacity planner knows how to count. */
export type WorkloadKind = 'Deployment' | 'StatefulSet' | 'DaemonSet' | 'Job' | 'CronJob';

/**
 * What one workload asks of the cluster: the single type every construct states its sizing
 * through and the capacity planner reads (DESIGN.md §3).
 */
export interface WorkloadSizing {
  /** Stable display name (the construct path below the chart). */
  readonly name: string;
  /** Workload kind; Jobs count as running at the same time as everything else, CronJobs while their `runs` can run. */
  readonly kind: WorkloadKind;
  /** Pods that run at once. */
  readonly replicas: number;
  /** The most pods an autoscaler may run. @default - replicas (no autoscaler) */
  readonly maxReplicas?: number;
  /** Long-running containers of one pod (sidecars included). */
  readonly containers: readonly ResourceSpec[];
  /** Init containers of one pod; the scheduler reserves max(init, sum of containers). */
  readonly initContainers?: readonly ResourceSpec[];
  /** Persistent storage per replica. */
  readonly storagePerReplica?: ByteQuantity;
  /**
   * The most memory the first container uses at its peak, when that is above its steady state
   * (Redis while a fork's copy-on-write doubles its data set); the capacity planner holds it
   * against the container's memory request, which is what the scheduler reserves on the node.
   * @default - no peak beyond the request
   */
  readonly peakMemory?: { readonly bytes: ByteQuantity; readonly breakdown: string };
  /**
   * Node-disk scratch space one pod may fill: the size limits of its emptyDirs, which live on the
   * node's disk beside the volumes while the pod runs. @default - none counted
   */
  readonly scratchStorage?: ByteQuantity;
  /** Whether two replicas must never share a node (required anti-affinity or a hard topology spread). */
  readonly onePerNode?: boolean;
  /**
   * Members a consensus set needs running to stay available (MongoDB's or Raft's majority,
   * Sentinel's quorum); the capacity planner holds the pods left after losing a node against it.
   * @default - no quorum: the PodDisruptionBudget's minimum applies (replicas - 1 when replicated, 1 for a singleton, none for Jobs and CronJobs)
   */
  readonly quorum?: number;
  /**
   * Extra pods its rolling update starts on a release of the application (maxSurge with
   * maxUnavailable 0): a new image rolls every application Deployment at once, so the capacity
   * planner must find room for all of these pods beside the running ones, or the rollout stalls.
   * @default - none: it does not roll on an application release
   */
  readonly releaseSurge?: number;
  /**
   * When a CronJob's pods can run (its schedule and deadlines): the capacity planner counts them
   * only beside the other CronJobs whose runs can overlap theirs.
   * @default - not known: counted as always running
   */
  readonly runs?: BatchSchedule;
}

/** The members a consensus set of `members` needs to stay available: a strict majority. */
export function majority(members: number): number {
  return Math.floor(members / 2) + 1;
}

/** Checks a WorkloadSizing's replica count; resource specs are checked when they are built. */
export function checkSizing(s: WorkloadSizing, path: string): WorkloadSizing {
  checkReplicas(path, 'replicas', s.replicas);
  if (s.containers.length === 0) throw new ValidationError(path, 'containers', s.containers, 'at least one container');
  return s;
}

/**
 * The resources the scheduler reserves for one pod: the larger of the biggest init container and
 * the sum of the long-running containers, per resource (Kubernetes "effective request").
 */
export function effectivePodResources(s: WorkloadSizing): ResourceSpec {
  const main = sumResources(s.containers);
  const inits = s.initContainers ?? [];
  const maxBy = <T extends CpuQuantity | ByteQuantity>(pick: (r: ResourceSpec) => T, unit: (r: T) => number): T =>
    inits.map(pick).reduce((a, b) => (unit(b) > unit(a) ? b : a), pick(main));
  return {
    cpuRequest: maxBy(r => r.cpuRequest, q => q.millicores),
    cpuLimit: maxBy(r => r.cpuLimit, q => q.millicores),
    memoryRequest: maxBy(r => r.memoryRequest, q => q.bytes),
    memoryLimit: maxBy(r => r.memoryLimit, q => q.bytes),
  };
}
