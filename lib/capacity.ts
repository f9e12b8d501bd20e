import { batchOccupancy, concurrentSets, describeWeekSpan } from './batch-overlap';
import { EnvironmentSpec } from './environments';
import { CapacityError } from './errors';
import { ByteQuantity, CpuQuantity } from './quantity';
import { effectivePodResources, ResourceSpec, WorkloadSizing } from './sizing';
import { nodeAllocatable, NodeAllocatable, tier, Tier } from './tiers';
import { ConnectionBudget, PoolerClientBudget } from './tuning';

/**
 * A PostgreSQL server's configured `max_connections` against what its clients can open
 * (PgBouncer → PostgreSQL when a pooler is in front: its pools are then among the clients), and
 * the pooler's `max_client_conn` against what the applications open (apps → PgBouncer).
 */
export interface ConnectionCheckInput {
  readonly server: string;
  readonly budget: ConnectionBudget;
  readonly maxConnections: number;
  /** The pooler in front of the server, when there is one. @default - none: clients connect directly */
  readonly pooler?: PoolerCheckInput;
}

/** A connection pooler's client side: its `max_client_conn` against its clients' connections. */
export interface PoolerCheckInput {
  /** The pooler's name. */
  readonly name: string;
  /** The clients' connections. */
  readonly budget: PoolerClientBudget;
  /** `max_client_conn` of each replica. */
  readonly maxClientConn: number;
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

/** Requests of a set of pods: CPU in millicores, memory in bytes. */
export interface RequestTotals {
  readonly cpu: number;
  readonly memory: number;
}

/**
 * The CronJobs of a plan over one week (issue 21 §4): which ones take room only while their runs
 * can overlap, the set of them that can run at once with the largest requests, and when.
 */
export interface ScheduledJobsSummary {
  /** CronJobs counted only beside those whose runs can overlap theirs. */
  readonly scheduled: readonly string[];
  /** CronJobs counted as always running: no schedule known or no active deadline. */
  readonly alwaysRunning: readonly string[];
  /** The concurrent set with the largest requests (share of the nodes), and when in the week it first runs. */
  readonly peak: { readonly names: readonly string[]; readonly when: string } & RequestTotals;
  /** Requests of every CronJob at once: what the planner counted before it knew time. */
  readonly allAtOnce: RequestTotals;
  /** Maximal concurrent sets checked (each beside every other pod). */
  readonly sets: number;
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
  /** The CronJobs' peak concurrent set, where the plan has CronJobs. @default - no CronJobs */
  readonly scheduledJobs?: ScheduledJobsSummary;
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
  // CronJobs take room only while a run can be active (issue 21 §4): the checks that count pods
  // run once for each maximal set of CronJobs that can run together, beside every other pod, and
  // report the first set that fails or else the peak set.
  const batch = scheduledJobScenarios(rows, env, node);
  const podsOf = (replicas: (r: CapacityRow) => number, idle: ReadonlySet<string> = new Set()): PodDemand[] => rows
    .filter(r => !idle.has(r.workload.name))
    .flatMap(r => Array.from({ length: replicas(r) }, () => ({
      workload: r.workload.name,
      cpu: r.perPod.cpuRequest.millicores,
      memory: r.perPod.memoryRequest.bytes,
      onePerNode: r.workload.onePerNode ?? false,
      daemon: r.workload.kind === 'DaemonSet',
    })));
  const acrossScenarios = (evaluate: (sc: BatchScenario) => CapacityCheck): CapacityCheck => {
    const results = batch.scenarios.map(sc => ({ sc, check: evaluate(sc) }));
    const failed = results.find(r => !r.check.passed);
    const shown = failed ?? results.find(r => r.sc === batch.peak)!;
    return shown.sc.label ? { ...shown.check, detail: `${shown.check.detail} (${failed ? 'while' : 'peak:'} ${shown.sc.label})` } : shown.check;
  };

  const checks: CapacityCheck[] = [];

  checks.push(acrossScenarios(sc => {
    const counted = rows.filter(r => !sc.idle.has(r.workload.name));
    const cpuTotal = sum(counted.map(r => r.totalCpuRequest));
    const memTotal = sum(counted.map(r => r.totalMemoryRequest));
    return {
      name: 'requests fit allocatable',
      passed: cpuTotal <= node.cpu.millicores * env.nodes && memTotal <= node.memory.bytes * env.nodes,
      detail: `CPU ${fmtCpu(cpuTotal)} of ${fmtCpu(node.cpu.millicores * env.nodes)}, memory ${fmtMem(memTotal)} of ${fmtMem(node.memory.bytes * env.nodes)}`,
    };
  }));

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
  checks.push(acrossScenarios(sc => {
    const placed = podsOf(r => r.workload.replicas, sc.idle);
    return placementCheck('pods can be placed', placed, `first-fit decreasing places ${placed.length} pod(s) on ${env.nodes} node(s)`, 'no room for');
  }));

  let nodeLoss: NodeLossOutcome[] | undefined;
  if (env.survivesNodeLoss) {
    // The lost node's DaemonSet pod goes with it; every other pod is scheduled again on the rest
    // under the same constraints: a one-per-node set never gets two members on one node, so what
    // finds no room stays Pending. A workload survives while its quorum or PodDisruptionBudget
    // minimum still runs.
    const degradedReplicas = (r: CapacityRow) => (r.workload.kind === 'DaemonSet' ? Math.max(0, r.workload.replicas - 1) : r.workload.replicas);
    const outcomes = new Map<BatchScenario, NodeLossOutcome[]>();
    checks.push(acrossScenarios(sc => {
      const counted = rows.filter(r => !sc.idle.has(r.workload.name));
      const degradedPods = podsOf(degradedReplicas, sc.idle);
      const degraded = binPack(degradedPods, env.nodes - 1, node);
      const scenarioLoss = counted.map(r => nodeLossOutcome(r.workload, degradedReplicas(r), degraded.unplaced.filter(p => p.workload === r.workload.name).length));
      outcomes.set(sc, scenarioLoss);
      const lost = scenarioLoss.filter(o => !o.available);
      const pending = degraded.unplaced.length === 0
        ? `all ${degradedPods.length} pod(s) fit on ${env.nodes - 1} node(s)`
        : `on ${env.nodes - 1} node(s) ${degraded.unplaced.length} pod(s) stay Pending: ${summarize(degraded.unplaced)}`;
      return {
        name: 'survives losing one node',
        passed: env.nodes >= 2 && lost.length === 0,
        detail: lost.length === 0
          ? `${pending}${degraded.unplaced.length ? '; every workload keeps its quorum or disruption-budget minimum' : ''}`
          : `${pending}; loses availability: ${lost.map(o => `${o.workload} (${o.running} of ${o.replicas} run, ${neededText(o)})`).join(', ')}`,
      };
    }));
    // The table shows the set the check reports: the first that loses availability, else the peak.
    const shown = batch.scenarios.find(sc => outcomes.get(sc)!.some(o => !o.available)) ?? batch.peak;
    nodeLoss = outcomes.get(shown);
  }

  if (rows.some(r => (r.workload.releaseSurge ?? 0) > 0)) {
    // A release (a new application image, `pulumi up` or `kubectl apply`) rolls every application
    // Deployment at once; with maxUnavailable 0 each first starts its surge pods beside the old
    // ones (Kubernetes' rolling update rules), so they must find room or the rollout never ends.
    checks.push(acrossScenarios(sc => {
      const surging = podsOf(r => r.workload.replicas + (r.workload.releaseSurge ?? 0), sc.idle);
      const surge = sum(rows.map(r => r.workload.releaseSurge ?? 0));
      return placementCheck('room for a release\'s rolling update', surging,
        `the ${surge} surge pod(s) of a release fit beside the running pods on ${env.nodes} node(s)`,
        'a release\'s surge pods find no room (the rollout would stall)');
    }));
  }

  if (rows.some(r => (r.workload.maxReplicas ?? r.workload.replicas) > r.workload.replicas)) {
    // Every autoscaler at its maximum at once: the worst case the HPA bounds allow.
    checks.push(acrossScenarios(sc => {
      const scaled = podsOf(r => r.workload.maxReplicas ?? r.workload.replicas, sc.idle);
      return placementCheck('fits at maximum autoscaling', scaled,
        `all ${scaled.length} pod(s) at their autoscalers' maximum fit on ${env.nodes} node(s)`, 'at maximum autoscaling no room for');
    }));
  }

  const peaking = rows.filter(r => r.workload.peakMemory);
  if (peaking.length > 0) {
    // A container above its request uses memory the scheduler gave to other pods; above its limit it is OOM-killed.
    const over = peaking.filter(r => r.workload.peakMemory!.bytes.bytes > r.workload.containers[0].memoryRequest.bytes);
    const line = (r: CapacityRow) => `${r.workload.name} peak ${fmtMem(r.workload.peakMemory!.bytes.bytes)} (${r.workload.peakMemory!.breakdown}) of request ${fmtMem(r.workload.containers[0].memoryRequest.bytes)}`;
    checks.push({
      name: 'memory peaks fit their requests',
      passed: over.length === 0,
      detail: over.length === 0 ? peaking.map(line).join('; ') : `above the memory request: ${over.map(line).join('; ')}`,
    });
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
    if (c.pooler) {
      const p = c.pooler;
      checks.push({
        name: `client connections of ${p.name}`,
        passed: p.maxClientConn >= p.budget.clients,
        detail: `apps → PgBouncer: max_client_conn ${p.maxClientConn} per replica, clients ${p.budget.clients} (+ headroom ${p.budget.headroom})`,
      });
    }
    checks.push({
      name: `connections of ${c.server}`,
      passed: c.maxConnections >= c.budget.maxConnections,
      detail: `${c.pooler ? 'PgBouncer → PostgreSQL: ' : ''}max_connections ${c.maxConnections}, needed ${c.budget.maxConnections} (clients ${c.budget.clients} + headroom ${c.budget.headroom} + superuser ${c.budget.superuserReserved})`,
    });
  }

  checks.push(...extraChecks);
  return { environment: env, tier: t, node, rows, checks, passed: checks.every(c => c.passed), nodeLoss, scheduledJobs: batch.summary };
}

/** One set of CronJobs that can run together: the CronJobs idle meanwhile, and when (empty label: there are no scheduled CronJobs). */
interface BatchScenario {
  readonly idle: ReadonlySet<string>;
  readonly label: string;
}

/**
 * The scenarios the pod-counting checks run: one per maximal set of CronJobs whose runs can
 * overlap over the week (`concurrentSets`), the rest idle meanwhile. A CronJob without a known
 * schedule or active deadline is in every set. Jobs (setup, migration, restore) run when they are
 * applied, at any time of the week, so they always count.
 */
function scheduledJobScenarios(rows: readonly CapacityRow[], env: EnvironmentSpec, node: NodeAllocatable): { scenarios: BatchScenario[]; peak: BatchScenario; summary?: ScheduledJobsSummary } {
  const cronRows = rows.filter(r => r.workload.kind === 'CronJob');
  const jobs = cronRows.map(r => ({ name: r.workload.name, occupancy: r.workload.runs ? batchOccupancy(r.workload.runs) : 'always' as const }));
  const scheduled = jobs.filter(j => j.occupancy !== 'always').map(j => j.name);
  if (scheduled.length === 0) {
    const all: BatchScenario = { idle: new Set(), label: '' };
    return { scenarios: [all], peak: all, summary: cronRows.length ? summaryOf(cronRows, cronRows.map(r => r.workload.name), [], 'all week', 1) : undefined };
  }
  const sets = concurrentSets(jobs);
  const requests = (names: readonly string[]): RequestTotals => {
    const counted = cronRows.filter(r => names.includes(r.workload.name));
    return { cpu: sum(counted.map(r => r.totalCpuRequest)), memory: sum(counted.map(r => r.totalMemoryRequest)) };
  };
  // The peak is the set taking the largest share of the nodes (CPU and memory shares added).
  const share = (x: RequestTotals) => x.cpu / node.cpu.millicores + x.memory / node.memory.bytes;
  const scenarios = sets.map(set => ({
    set,
    sc: { idle: new Set(scheduled.filter(n => !set.names.includes(n))), label: `${set.names.join(', ') || 'no CronJob'} run, ${describeWeekSpan(set.span, env.timeZone)} ${env.timeZone}` },
  }));
  const peak = scenarios.reduce((a, b) => (share(requests(b.set.names)) > share(requests(a.set.names)) ? b : a));
  const alwaysRunning = jobs.filter(j => j.occupancy === 'always').map(j => j.name);
  return {
    scenarios: scenarios.map(s => s.sc),
    peak: peak.sc,
    summary: summaryOf(cronRows, peak.set.names, scheduled, `${describeWeekSpan(peak.set.span, env.timeZone)} ${env.timeZone}`, sets.length, alwaysRunning),
  };
}

function summaryOf(cronRows: readonly CapacityRow[], peakNames: readonly string[], scheduled: readonly string[], when: string, sets: number,
  alwaysRunning: readonly string[] = cronRows.map(r => r.workload.name)): ScheduledJobsSummary {
  const inPeak = cronRows.filter(r => peakNames.includes(r.workload.name));
  return {
    scheduled,
    alwaysRunning,
    peak: { names: peakNames, when, cpu: sum(inPeak.map(r => r.totalCpuRequest)), memory: sum(inPeak.map(r => r.totalMemoryRequest)) },
    allAtOnce: { cpu: sum(cronRows.map(r => r.totalCpuRequest)), memory: sum(cronRows.map(r => r.totalMemoryRequest)) },
    sets,
  };
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
    ...renderScheduledJobs(plan),
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

/** The CronJobs' peak concurrent set against every CronJob at once, for the report. */
export function scheduledJobsLines(plan: CapacityPlan): string[] {
  const b = plan.scheduledJobs;
  if (!b) return [];
  return [
    `Peak concurrent CronJobs: ${b.peak.names.join(', ') || 'none'} at ${b.peak.when}: CPU ${fmtCpu(b.peak.cpu)}, memory ${fmtMem(b.peak.memory)} (every CronJob at once: CPU ${fmtCpu(b.allAtOnce.cpu)}, memory ${fmtMem(b.allAtOnce.memory)}; ${b.sets} concurrent set(s) checked)`,
    ...b.alwaysRunning.length ? [`Counted as always running (no schedule or active deadline known): ${b.alwaysRunning.join(', ')}`] : [],
  ];
}

function renderScheduledJobs(plan: CapacityPlan): string[] {
  const lines = scheduledJobsLines(plan);
  return lines.length ? [...lines, ''] : [];
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
