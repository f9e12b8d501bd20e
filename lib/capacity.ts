import { EnvironmentSpec } from './environments';
import { CapacityError } from './errors';
import { ByteQuantity, CpuQuantity } from './quantity';
import { effectivePodResources, ResourceSpec, WorkloadSizing } from './sizing';
import { nodeAllocatable, NodeAllocatable, tier, Tier } from './tiers';
import { ConnectionBudget } from './tuning';

/** A PostgreSQL server's configured `max_connections` against what its clients can open. */
export interface ConnectionCheckInput {
  readonly server: string;
  readonly budget: ConnectionBudget;
  readonly maxConnections: number;
}

/** The outcome of one check. */
export interface CapacityCheck {
  readonly name: string;
  readonly passed: boolean;
  readonly detail: string;
}

/** One workload's row in the report. */
export interface CapacityRow {
  readonly workload: WorkloadSizing;
  readonly perPod: ResourceSpec;
  readonly totalCpuRequest: number;
  readonly totalMemoryRequest: number;
  readonly totalStorage: number;
}

/** What one workload keeps after losing a node: the pods that still run and the minimum it needs. */
export interface NodeLossOutcome {
  /** The workload's name. */
  readonly workload: string;
  /** Pods it runs on the nodes left (a DaemonSet's pod on the lost node is not counted). */
  readonly replicas: number;
  /** Pods that find room on the nodes left. */
  readonly running: number;
  /** Pods that stay Pending: no node left has room for them, or each already runs one of a one-per-node set. */
  readonly pending: number;
  /** Pods it needs running to stay available. */
  readonly needed: number;
  /** Where `needed` comes from: its quorum, its PodDisruptionBudget (replicas - 1), a singleton's one pod, or none for Jobs and CronJobs (they wait). */
  readonly basis: 'quorum' | 'disruption budget' | 'singleton' | 'batch';
  /** Whether `running` covers `needed`. */
  readonly available: boolean;
}

/** The capacity plan of an environment: rows, totals and checks. */
export interface CapacityPlan {
  readonly environment: EnvironmentSpec;
  readonly tier: Tier;
  readonly node: NodeAllocatable;
  readonly rows: readonly CapacityRow[];
  readonly checks: readonly CapacityCheck[];
  readonly passed: boolean;
  /** Each workload after losing one node, where the environment asks for that check. @default - not checked */
  readonly nodeLoss?: readonly NodeLossOutcome[];
}

interface PodDemand { workload: string; cpu: number; memory: number; onePerNode: boolean; daemon?: boolean }

/**
 * Plans an environment (DESIGN.md §5): requests fit the nodes' allocatable capacity, every pod
 * fits one node, one-per-node workloads do not outnumber nodes, the pods can actually be placed
 * (first-fit decreasing bin packing, CPU and memory together), they still can after losing a
 * node where the environment asks for it, volumes fit the disks and PostgreSQL accepts every
 * client's connections. Pure: it reads sizings and returns the plan; `assertCapacity` throws.
 */
export function planCapacity(env: EnvironmentSpec, workloads: readonly WorkloadSizing[], connections: readonly ConnectionCheckInput[] = [], extraChecks: readonly CapacityCheck[] = []): CapacityPlan {
  const t = tier(env.tier, `Environment ${env.name}`);
  const node = nodeAllocatable(t);
  const rows: CapacityRow[] = workloads.map(w => {
    const perPod = effectivePodResources(w);
    return {
      workload: w,
      perPod,
      totalCpuRequest: perPod.cpuRequest.millicores * w.replicas,
      totalMemoryRequest: perPod.memoryRequest.bytes * w.replicas,
      totalStorage: podStorage(w) * w.replicas,
    };
  });
  const podsOf = (replicas: (r: CapacityRow) => number): PodDemand[] => rows.flatMap(r => Array.from({ length: replicas(r) }, () => ({
    workload: r.workload.name,
    cpu: r.perPod.cpuRequest.millicores,
    memory: r.perPod.memoryRequest.bytes,
    onePerNode: r.workload.onePerNode ?? false,
    daemon: r.workload.kind === 'DaemonSet',
  })));
  const pods = podsOf(r => r.workload.replicas);

  const cpuTotal = sum(rows.map(r => r.totalCpuRequest));
  const memTotal = sum(rows.map(r => r.totalMemoryRequest));
  const checks: CapacityCheck[] = [];

  checks.push({
    name: 'requests fit allocatable',
    passed: cpuTotal <= node.cpu.millicores * env.nodes && memTotal <= node.memory.bytes * env.nodes,
    detail: `CPU ${fmtCpu(cpuTotal)} of ${fmtCpu(node.cpu.millicores * env.nodes)}, memory ${fmtMem(memTotal)} of ${fmtMem(node.memory.bytes * env.nodes)}`,
  });

  const tooBig = rows.filter(r => r.perPod.cpuRequest.millicores > node.cpu.millicores || r.perPod.memoryRequest.bytes > node.memory.bytes);
  checks.push({
    name: 'every pod fits one node',
    passed: tooBig.length === 0,
    detail: tooBig.length === 0
      ? `largest pod ${fmtCpu(Math.max(0, ...rows.map(r => r.perPod.cpuRequest.millicores)))} / ${fmtMem(Math.max(0, ...rows.map(r => r.perPod.memoryRequest.bytes)))} vs node ${node.cpu} / ${fmtMem(node.memory.bytes)}`
      : `too large for a ${t.name} node: ${tooBig.map(r => r.workload.name).join(', ')}`,
  });

  const crowded = rows.filter(r => r.workload.onePerNode && r.workload.replicas > env.nodes);
  checks.push({
    name: 'one-per-node replicas fit nodes',
    passed: crowded.length === 0,
    detail: crowded.length === 0 ? `${env.nodes} node(s)` : `more replicas than ${env.nodes} node(s): ${crowded.map(r => `${r.workload.name} (${r.workload.replicas})`).join(', ')}`,
  });

  // A set of pods packed on the environment's nodes: passes when every pod finds room.
  const placementCheck = (name: string, demand: readonly PodDemand[], fits: string, noRoom: string): CapacityCheck => {
    const { unplaced } = binPack(demand, env.nodes, node);
    return { name, passed: unplaced.length === 0, detail: unplaced.length === 0 ? fits : `${noRoom}: ${summarize(unplaced)}` };
  };
  checks.push(placementCheck('pods can be placed', pods, `first-fit decreasing places ${pods.length} pod(s) on ${env.nodes} node(s)`, 'no room for'));

  let nodeLoss: NodeLossOutcome[] | undefined;
  if (env.survivesNodeLoss) {
    // The lost node's DaemonSet pod goes with it; every other pod is scheduled again on the rest
    // under the same constraints: a one-per-node set never gets two members on one node, so what
    // finds no room stays Pending. A workload survives while its quorum or PodDisruptionBudget
    // minimum still runs.
    const degradedReplicas = (r: CapacityRow) => (r.workload.kind === 'DaemonSet' ? Math.max(0, r.workload.replicas - 1) : r.workload.replicas);
    const degradedPods = podsOf(degradedReplicas);
    const degraded = binPack(degradedPods, env.nodes - 1, node);
    nodeLoss = rows.map(r => nodeLossOutcome(r.workload, degradedReplicas(r), degraded.unplaced.filter(p => p.workload === r.workload.name).length));
    const lost = nodeLoss.filter(o => !o.available);
    const pending = degraded.unplaced.length === 0
      ? `all ${degradedPods.length} pod(s) fit on ${env.nodes - 1} node(s)`
      : `on ${env.nodes - 1} node(s) ${degraded.unplaced.length} pod(s) stay Pending: ${summarize(degraded.unplaced)}`;
    checks.push({
      name: 'survives losing one node',
      passed: env.nodes >= 2 && lost.length === 0,
      detail: lost.length === 0
        ? `${pending}${degraded.unplaced.length ? '; every workload keeps its quorum or disruption-budget minimum' : ''}`
        : `${pending}; loses availability: ${lost.map(o => `${o.workload} (${o.running} of ${o.replicas} run, ${neededText(o)})`).join(', ')}`,
    });
  }

  if (rows.some(r => (r.workload.releaseSurge ?? 0) > 0)) {
    // A release (a new application image, `pulumi up` or `kubectl apply`) rolls every application
    // Deployment at once; with maxUnavailable 0 each first starts its surge pods beside the old
    // ones (Kubernetes' rolling update rules), so they must find room or the rollout never ends.
    const surging = podsOf(r => r.workload.replicas + (r.workload.releaseSurge ?? 0));
    checks.push(placementCheck('room for a release\'s rolling update', surging,
      `the ${surging.length - pods.length} surge pod(s) of a release fit beside the running pods on ${env.nodes} node(s)`,
      'a release\'s surge pods find no room (the rollout would stall)'));
  }

  if (rows.some(r => (r.workload.maxReplicas ?? r.workload.replicas) > r.workload.replicas)) {
    // Every autoscaler at its maximum at once: the worst case the HPA bounds allow.
    const scaled = podsOf(r => r.workload.maxReplicas ?? r.workload.replicas);
    checks.push(placementCheck('fits at maximum autoscaling', scaled,
      `all ${scaled.length} pod(s) at their autoscalers' maximum fit on ${env.nodes} node(s)`, 'at maximum autoscaling no room for'));
  }

  const storageTotal = sum(rows.map(r => r.totalStorage));
  const scratchTotal = sum(rows.map(r => (r.workload.scratchStorage?.bytes ?? 0) * r.workload.replicas));
  const biggestVolume = Math.max(0, ...rows.map(r => podStorage(r.workload)));
  checks.push({
    name: 'volumes fit disk',
    passed: storageTotal <= node.disk.bytes * env.nodes && biggestVolume <= node.disk.bytes,
    detail: `volumes ${fmtMem(storageTotal)}${scratchTotal ? ` (scratch ${fmtMem(scratchTotal)} of it)` : ''} of ${fmtMem(node.disk.bytes * env.nodes)} (${Math.round(t.disk.bytes / 1e9)}GB per node less ${fmtMem(node.reservedDisk.bytes)} for the system); largest ${fmtMem(biggestVolume)}`,
  });

  for (const c of connections) {
    checks.push({
      name: `connections of ${c.server}`,
      passed: c.maxConnections >= c.budget.maxConnections,
      detail: `max_connections ${c.maxConnections}, needed ${c.budget.maxConnections} (clients ${c.budget.clients} + headroom ${c.budget.headroom} + superuser ${c.budget.superuserReserved})`,
    });
  }

  checks.push(...extraChecks);
  return { environment: env, tier: t, node, rows, checks, passed: checks.every(c => c.passed), nodeLoss };
}

/** Disk one pod of `w` takes on its node: its persistent volume and its scratch (emptyDir) space. */
function podStorage(w: WorkloadSizing): number {
  return (w.storagePerReplica?.bytes ?? 0) + (w.scratchStorage?.bytes ?? 0);
}

/** What `w` needs running after losing a node, against what still runs. */
function nodeLossOutcome(w: WorkloadSizing, replicas: number, pending: number): NodeLossOutcome {
  const basis: NodeLossOutcome['basis'] = w.quorum !== undefined ? 'quorum'
    : w.kind === 'Job' || w.kind === 'CronJob' ? 'batch'
      : w.kind === 'DaemonSet' || replicas > 1 ? 'disruption budget' : 'singleton';
  const needed = basis === 'quorum' ? w.quorum!
    : basis === 'batch' ? 0
      // A DaemonSet's pods on the nodes left are all it should run; others may lose one pod (their PDB).
      : w.kind === 'DaemonSet' ? replicas : basis === 'disruption budget' ? replicas - 1 : 1;
  const running = replicas - pending;
  return { workload: w.name, replicas, running, pending, needed, basis, available: running >= needed };
}

function neededText(o: NodeLossOutcome): string {
  return o.basis === 'batch' ? 'waits for room' : `${o.basis} ${o.needed}`;
}

/** Plans and throws a CapacityError carrying the rendered report when any check fails. */
export function assertCapacity(env: EnvironmentSpec, workloads: readonly WorkloadSizing[], connections: readonly ConnectionCheckInput[] = [], extraChecks: readonly CapacityCheck[] = []): CapacityPlan {
  const plan = planCapacity(env, workloads, connections, extraChecks);
  if (!plan.passed) {
    throw new CapacityError(env.name, plan.checks.filter(c => !c.passed).map(c => c.name), renderCapacityReport(plan));
  }
  return plan;
}

/** Renders the plan as a plain-text report: one row per workload, totals against the tier, PASS/FAIL per check. */
export function renderCapacityReport(plan: CapacityPlan): string {
  const { environment: env, node } = plan;
  const header = ['workload', 'kind', 'replicas', 'cpu req/lim', 'mem req/lim', 'storage', 'total cpu', 'total mem'];
  const body = plan.rows.map(r => [
    r.workload.name,
    r.workload.kind,
    r.workload.maxReplicas && r.workload.maxReplicas > r.workload.replicas ? `${r.workload.replicas}-${r.workload.maxReplicas}` : String(r.workload.replicas),
    `${r.perPod.cpuRequest}/${r.perPod.cpuLimit}`,
    `${r.perPod.memoryRequest}/${r.perPod.memoryLimit}`,
    [r.workload.storagePerReplica?.toString(), r.workload.scratchStorage && `${r.workload.scratchStorage} scratch`].filter(Boolean).join(' + ') || '-',
    fmtCpu(r.totalCpuRequest),
    fmtMem(r.totalMemoryRequest),
  ]);
  const totals = ['TOTAL requests', '', String(plan.rows.reduce((n, r) => n + r.workload.replicas, 0)), '', '',
    fmtMem(sum(plan.rows.map(r => r.totalStorage))), fmtCpu(sum(plan.rows.map(r => r.totalCpuRequest))), fmtMem(sum(plan.rows.map(r => r.totalMemoryRequest)))];
  const capacity = ['ALLOCATABLE', '', `${env.nodes} node(s)`, '', '', fmtMem(node.disk.bytes * env.nodes),
    fmtCpu(node.cpu.millicores * env.nodes), fmtMem(node.memory.bytes * env.nodes)];
  const table = [header, ...body, totals, capacity];
  const widths = header.map((_, i) => Math.max(...table.map(row => row[i].length)));
  const line = (row: string[]) => row.map((cell, i) => (i >= 2 ? cell.padStart(widths[i]) : cell.padEnd(widths[i]))).join('  ').trimEnd();
  const rule = widths.map(w => '-'.repeat(w)).join('  ');
  const t = plan.tier;
  return [
    `Capacity report: environment ${env.name}, tier ${t.name} (${t.cpu} CPU, ${fmtMem(t.memory.bytes)}, ${Math.round(t.disk.bytes / 1e9)}GB disk per node) x ${env.nodes} node(s)`,
    `Allocatable per node (GKE formula): CPU ${node.cpu} (reserved ${node.reservedCpu}), memory ${fmtMem(node.memory.bytes)} (reserved ${fmtMem(node.reservedMemory.bytes)} incl. eviction), disk ${fmtMem(node.disk.bytes)}`,
    '',
    line(header), rule, ...body.map(line), rule, line(totals), line(capacity),
    '',
    ...plan.checks.map(c => `${c.passed ? 'PASS' : 'FAIL'}  ${c.name}: ${c.detail}`),
    '',
    ...renderNodeLoss(plan),
    plan.passed ? 'RESULT: PASS' : 'RESULT: FAIL',
  ].join('\n');
}

/**
 * The node-loss table: a header and one row per workload with Pending pods after losing a node
 * (what runs, what stays Pending, what it needs, "kept" or "LOST"); empty when none has.
 */
export function nodeLossTable(plan: CapacityPlan): string[][] {
  const affected = (plan.nodeLoss ?? []).filter(o => o.pending > 0);
  if (affected.length === 0) return [];
  return [
    ['workload', 'running', 'pending', 'needs', 'availability'],
    ...affected.map(o => [o.workload, `${o.running} of ${o.replicas}`, String(o.pending), neededText(o), o.available ? 'kept' : 'LOST']),
  ];
}

function renderNodeLoss(plan: CapacityPlan): string[] {
  const table = nodeLossTable(plan);
  if (table.length === 0) return [];
  const [header, ...body] = table;
  const widths = header.map((_, i) => Math.max(...table.map(row => row[i].length)));
  const line = (row: string[]) => row.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd();
  return [`After losing one node (${plan.environment.nodes - 1} node(s) left):`, line(header), ...body.map(line), ''];
}

/** First-fit decreasing over CPU and memory; pods of a one-per-node workload never share a node. */
function binPack(pods: readonly PodDemand[], nodes: number, node: NodeAllocatable): { unplaced: PodDemand[] } {
  const free = Array.from({ length: Math.max(0, nodes) }, () => ({ cpu: node.cpu.millicores, memory: node.memory.bytes, workloads: new Set<string>() }));
  // DaemonSet pods are on every node before anything else is scheduled; then the pods that must
  // not share a node (the most constrained), then dominant share: the pod that takes the largest
  // fraction of a node goes first.
  const share = (p: PodDemand) => Math.max(p.cpu / node.cpu.millicores, p.memory / node.memory.bytes);
  const ordered = [...pods].sort((a, b) => Number(b.daemon ?? false) - Number(a.daemon ?? false)
    || Number(b.onePerNode) - Number(a.onePerNode) || share(b) - share(a));
  const unplaced: PodDemand[] = [];
  for (const pod of ordered) {
    const target = free.find(n => n.cpu >= pod.cpu && n.memory >= pod.memory && !(pod.onePerNode && n.workloads.has(pod.workload)));
    if (!target) { unplaced.push(pod); continue; }
    target.cpu -= pod.cpu;
    target.memory -= pod.memory;
    target.workloads.add(pod.workload);
  }
  return { unplaced };
}

function summarize(pods: readonly PodDemand[]): string {
  const counts = new Map<string, number>();
  for (const p of pods) counts.set(p.workload, (counts.get(p.workload) ?? 0) + 1);
  return [...counts].map(([w, n]) => `${w} x${n}`).join(', ') || 'nothing';
}

function sum(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

function fmtCpu(millis: number): string {
  return millis === 0 ? '0' : CpuQuantity.millis(millis).toString();
}

function fmtMem(bytes: number): string {
  if (bytes === 0) return '0';
  const gib = bytes / ByteQuantity.gibibytes(1).bytes;
  return gib >= 1 ? `${gib.toFixed(2)}Gi` : `${Math.round(bytes / 2 ** 20)}Mi`;
}
