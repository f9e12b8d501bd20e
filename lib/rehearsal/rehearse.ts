import { DeploymentPlan, serviceAwaitsEndpoints } from '../deployment-plan';
import {
  containersOf, DeclaredConnection, declaredConnections, describeKey, externalSecretTargets, K8sJson, keyOf, objectKey, peerMatches, podLabels, readyAfterJobs,
  podReferences, podTemplate, POD_KINDS, selects, serviceSelects, workloadsBehind,
} from '../k8s-objects';
import { ByteQuantity, CpuQuantity } from '../quantity';
import {
  AWAIT_RULES, API_CALL, awaitRule, CLAIM_BINDING, CONNECT_TIMEOUT, CONTAINER_START, CONTROLLER_REACTION, DEFAULT_BACKOFF_LIMIT, EXTERNAL_SECRET_SYNC, INGRESS_ADDRESS,
  INIT_CONTAINER_RUN, jobBackoff, KUBECTL_RETRY_INTERVAL, LOAD_BALANCER_PROVISIONING, MIGRATION_JOB_RUN, Seconds,
  SERVICE_STRAGGLER_WAIT, SETTLE_HORIZON, SETUP_JOB_RUN, SUSPENDED_JOB, VOLUME_PROVISIONING, WAIT_FOR_JOB_POLL,
} from './rules';

/**
 * A discrete-event model of a cluster receiving a chart's objects: no cluster and no Pulumi
 * engine runs. Events (an object applied, a pod placed, started, ready, a Job attempt failing or
 * completing, a timeout) are processed in time order; after each, every pending thing is checked
 * against the rules in ./rules.ts. What never happens is explained as chains of waits.
 */

/** How the objects reach the cluster. */
export type DeliveryPath = 'pulumi' | 'kubectl';

/** The nodes the objects run on. */
export interface ClusterCapacity {
  readonly nodes: number;
  /** Allocatable CPU of one node, in millicores. */
  readonly cpuMillisPerNode: number;
  /** Allocatable memory of one node, in bytes. */
  readonly memoryBytesPerNode: number;
  /**
   * Whether a claim asking ReadWriteMany can be bound: a StorageClass offering shared file storage
   * (EFS, Filestore, Azure Files, NFS, CephFS). Block storage (EBS, GCE PD, Azure Disk) offers
   * ReadWriteOnce only, and such a claim stays Pending with its readers.
   * @default true (the requirement README "Model files" documents)
   */
  readonly readWriteMany?: boolean;
}

/** What to rehearse. */
export interface RehearsalInput {
  /** The synthesized objects to deliver (the new version, for an upgrade). */
  readonly objects: readonly K8sJson[];
  /** The plan the Pulumi path carries out (ignored by kubectl, which applies everything at once). */
  readonly plan: DeploymentPlan;
  readonly capacity: ClusterCapacity;
  readonly path: DeliveryPath;
  /** For an upgrade: the objects of the running version, settled before the delivery starts. @default - a first install on an empty cluster */
  readonly previous?: readonly K8sJson[];
}

/** One thing that happened, for the order and the critical path. */
export interface RehearsalEvent {
  /** Seconds after the delivery started. */
  readonly at: Seconds;
  /** The object (or pod, "Deployment x pod 0") it happened to. */
  readonly subject: string;
  readonly what: string;
}

/** The outcome of one rehearsal. */
export interface RehearsalResult {
  readonly path: DeliveryPath;
  readonly upgrade: boolean;
  readonly converged: boolean;
  /** Seconds until the last object was ready (the critical-path estimate), when it converged. */
  readonly seconds?: Seconds;
  /** When each object became ready, in order. */
  readonly order: readonly RehearsalEvent[];
  /** The longest chain of waits, ending with the last object ready. */
  readonly criticalPath: readonly RehearsalEvent[];
  /** Each chain of waits that never ended: "X awaits no not-ready endpoints ← Y dependsOn X". */
  readonly blocked: readonly string[];
  /** Objects that failed (a provider timeout, a Job out of retries). */
  readonly failures: readonly string[];
  /** Broken upgrade rules: a PDB minimum undercut, a new app pod serving before its migration, a manual step. */
  readonly violations: readonly string[];
  /** Secrets the objects reference and do not contain (made by hand, or by the Pulumi program). */
  readonly externalSecrets: readonly string[];
  /** What the cluster must offer beyond nodes, e.g. a StorageClass with ReadWriteMany for a shared claim. */
  readonly requirements: readonly string[];
}

/* eslint-disable @typescript-eslint/no-explicit-any */
type Json = any;

interface Pod {
  readonly owner: string;
  readonly index: number;
  readonly revision: 'old' | 'new';
  readonly cpu: number;
  readonly memory: number;
  placedAt?: Seconds;
  startedAt?: Seconds;
  readyAt?: Seconds;
  availableAt?: Seconds;
  terminatedAt?: Seconds;
  /** Why it is not ready yet, with what it waits on. */
  waiting?: Blocker[];
}

interface Blocker {
  /** Key (or external Secret key) waited on; undefined for a root cause. */
  readonly on?: string;
  readonly reason: string;
}

interface JobRun {
  attempts: number;
  failures: number;
  startedAt?: Seconds;
  attemptAt?: Seconds;
  completeAt?: Seconds;
  failed?: string;
}

/** Whether a Job is suspended (`spec.suspend: true`): the Job controller creates no pod for it (SUSPENDED_JOB). */
function suspended(o: K8sJson): boolean {
  return o.kind === 'Job' && (o.spec as Json)?.suspend === true;
}

/** Rehearses one delivery of one chart. */
export function rehearse(input: RehearsalInput): RehearsalResult {
  return new Simulation(input).run();
}

class Simulation {
  private readonly objects: readonly K8sJson[];
  private readonly byKey = new Map<string, K8sJson>();
  private readonly previous = new Map<string, K8sJson>();
  private readonly connections: DeclaredConnection[];
  private readonly external: Set<string>;
  /** Secrets the External Secrets Operator writes: Secret key → the ExternalSecret's key. */
  private readonly written: Map<string, string>;
  private readonly upgrade: boolean;
  private now = 0;
  private seq = 0;
  private readonly queue: Array<{ at: Seconds; seq: number; run: () => void }> = [];
  /** When each object (and each external Secret) exists in the API. */
  private readonly created = new Map<string, Seconds>();
  /** When each object's await condition held (the provider's, and for kubectl the same condition). */
  private readonly ready = new Map<string, Seconds>();
  private readonly failed = new Map<string, string>();
  private readonly pods: Pod[] = [];
  private readonly jobs = new Map<string, JobRun>();
  private readonly events: RehearsalEvent[] = [];
  /** For the critical path: what each subject's readiness came after. */
  private readonly after = new Map<string, { at: Seconds; subject: string; what: string; prev?: string }>();
  private readonly violations: string[] = [];
  private readonly requested = new Set<string>();
  /** Objects the delivery changes (all of them on a first install). */
  private readonly changed = new Set<string>();
  private readonly endpointsSince = new Map<string, Seconds>();
  /** Objects of the running version whose new spec is not applied yet (upgrade). */
  private readonly pendingUpdates = new Set<string>();
  /** When the current spec of each workload reached the API (its controller acts on it a moment later). */
  private readonly appliedAt = new Map<string, Seconds>();
  private readonly wakes = new Set<Seconds>();

  constructor(private readonly input: RehearsalInput) {
    this.objects = input.objects;
    for (const o of input.objects) this.byKey.set(objectKey(o), o);
    for (const o of input.previous ?? []) this.previous.set(objectKey(o), o);
    this.upgrade = input.previous !== undefined;
    this.connections = declaredConnections(input.objects);
    this.external = new Set(input.plan.externalSecrets.map(e => e.key));
    this.written = externalSecretTargets(input.objects);
  }

  run(): RehearsalResult {
    if (this.upgrade) this.settlePrevious();
    for (const o of this.objects) {
      const key = objectKey(o);
      const before = this.previous.get(key);
      if (!before || JSON.stringify(before) !== JSON.stringify(o)) {
        this.changed.add(key);
        this.ready.delete(key);
      }
    }
    if (this.input.path === 'kubectl') {
      for (const key of this.external) this.created.set(key, 0); // made by hand before the apply (README)
      this.schedule(0, () => this.kubectlApply());
    }
    this.progress();
    while (this.queue.length > 0) {
      let i = 0;
      for (let j = 1; j < this.queue.length; j++) {
        const a = this.queue[j];
        const b = this.queue[i];
        if (a.at < b.at || (a.at === b.at && a.seq < b.seq)) i = j;
      }
      const [e] = this.queue.splice(i, 1);
      if (e.at > SETTLE_HORIZON) break;
      this.now = e.at;
      e.run();
      this.progress();
    }
    return this.result();
  }

  /* --------------------------------------------------------------------------------- delivery */

  private schedule(at: Seconds, run: () => void): void {
    this.queue.push({ at, seq: this.seq++, run });
  }

  /** `kubectl apply --server-side -f dir/`: every object in file order; one whose namespace is missing fails, and the run is retried. */
  private kubectlApply(): void {
    let failures = 0;
    for (const o of this.objects) {
      const key = objectKey(o);
      if (!this.changed.has(key) || this.created.has(key) && !this.pendingUpdates.has(key)) continue;
      const ns = o.metadata.namespace;
      if (ns && this.byKey.has(keyOf('Namespace', undefined, ns)) && !this.created.has(keyOf('Namespace', undefined, ns))) {
        failures++;
        continue;
      }
      const immutable = this.immutableChange(key);
      if (immutable) {
        this.addViolation(`manual step: kubectl apply cannot change ${describeKey(key)} (${immutable} is immutable); it must be deleted by hand`);
        this.failed.set(key, `${immutable} is immutable`);
        this.requested.add(key);
        continue;
      }
      this.apply(key, this.now, 'applied by kubectl');
    }
    if (failures > 0) this.schedule(this.now + KUBECTL_RETRY_INTERVAL, () => this.kubectlApply());
  }

  /** Pulumi: an object is created (or updated) once everything it waits for is ready. */
  private pulumiStep(): void {
    const plan = this.input.plan;
    for (const key of this.external) {
      if (this.requested.has(key)) continue;
      const ns = key.split('/')[1];
      const nsKey = keyOf('Namespace', undefined, ns);
      if (this.byKey.has(nsKey) && !this.ready.has(nsKey)) continue;
      this.requested.add(key);
      this.schedule(this.now + API_CALL, () => {
        this.created.set(key, this.now);
        this.ready.set(key, this.now);
        this.after.set(`${key} created`, { at: this.now, subject: key, what: 'created by the Pulumi program', prev: nsKey });
        this.record(key, 'ready', `${key} created`);
      });
    }
    for (const key of plan.order) {
      if (this.requested.has(key) || !this.changed.has(key)) continue;
      const waits = plan.waits[key] ?? [];
      if (!waits.every(w => this.ready.has(w.on))) continue;
      this.requested.add(key);
      const last = waits.reduce<string | undefined>((a, w) => (a === undefined || this.ready.get(w.on)! > this.ready.get(a)! ? w.on : a), undefined);
      this.schedule(this.now + API_CALL, () => {
        this.apply(key, this.now, this.previous.has(key) ? 'updated by Pulumi' : 'created by Pulumi', last && this.ready.get(last)! > 0 ? last : undefined);
        const rule = awaitRule(this.byKey.get(key)!);
        if (rule) {
          const started = this.now;
          this.schedule(started + rule.timeout, () => {
            if (!this.ready.has(key) && !this.failed.has(key)) this.failed.set(key, `timed out after ${rule.timeout / 60} min awaiting ${rule.awaits} (${rule.source})`);
          });
        }
      });
    }
  }

  private apply(key: string, at: Seconds, what: string, after?: string): void {
    this.requested.add(key);
    this.pendingUpdates.delete(key);
    const o = this.byKey.get(key)!;
    const wasThere = this.previous.has(key);
    this.created.set(key, wasThere ? this.created.get(key) ?? at : at);
    this.ready.delete(key);
    this.endpointsSince.delete(key);
    this.after.set(`${key} created`, { at, subject: key, what, prev: after });
    this.events.push({ at, subject: key, what });
    if (POD_KINDS.has(o.kind) && o.kind !== 'CronJob') this.startRollout(key, at);
  }

  /* ------------------------------------------------------------------------------- controllers */

  /** The pod count a workload wants: its replicas, the HPA's minimum when the HPA owns the count, one per node for a DaemonSet. */
  private desiredReplicas(o: K8sJson): number {
    const spec = o.spec as Json;
    if (o.kind === 'Job') return 1;
    if (o.kind === 'DaemonSet') return this.input.capacity.nodes;
    if (typeof spec?.replicas === 'number') return spec.replicas;
    const hpa = this.objects.find(h => h.kind === 'HorizontalPodAutoscaler' && h.metadata.namespace === o.metadata.namespace
      && (h.spec as Json)?.scaleTargetRef?.kind === o.kind && (h.spec as Json)?.scaleTargetRef?.name === o.metadata.name);
    if (hpa) return (hpa.spec as Json)?.minReplicas ?? 1;
    // A KEDA ScaledObject's HPA holds at least minReplicaCount (KEDA's default 0; an
    // activation would start the first pod, which no queue does during a delivery).
    const scaled = this.objects.find(h => h.kind === 'ScaledObject' && h.apiVersion.startsWith('keda.sh/') && h.metadata.namespace === o.metadata.namespace
      && ((h.spec as Json)?.scaleTargetRef?.kind ?? 'Deployment') === o.kind && (h.spec as Json)?.scaleTargetRef?.name === o.metadata.name);
    if (scaled) return (scaled.spec as Json)?.minReplicaCount ?? 0;
    return 1;
  }

  private startRollout(key: string, at: Seconds): void {
    const o = this.byKey.get(key)!;
    if (o.kind === 'Job') {
      this.jobs.set(key, { attempts: 0, failures: 0 });
      const deadline = (o.spec as Json)?.activeDeadlineSeconds;
      // A suspended Job's deadline does not run: it counts from .status.startTime, which is set (and,
      // on resume, reset) only when the Job runs (Kubernetes docs, "Suspending a Job").
      if (typeof deadline === 'number' && !suspended(o)) {
        this.schedule(at + deadline, () => {
          const run = this.jobs.get(key)!;
          if (run.completeAt === undefined && !run.failed) this.failJob(key, `DeadlineExceeded: not complete within activeDeadlineSeconds ${deadline}`);
        });
      }
    }
    this.appliedAt.set(key, at);
    this.wake(at + CONTROLLER_REACTION);
  }

  /** An event that only makes the model look again (a timer the cluster or the provider runs). */
  private wake(at: Seconds): void {
    if (at <= this.now || this.wakes.has(at)) return;
    this.wakes.add(at);
    this.schedule(at, () => undefined);
  }

  private reconcileAll(): void {
    for (const [key, at] of this.appliedAt) if (this.now >= at + CONTROLLER_REACTION) this.reconcile(key);
  }

  private alivePods(key: string): Pod[] {
    return this.pods.filter(p => p.owner === key && p.terminatedAt === undefined);
  }

  /** The workload controllers: create pods, roll out new revisions without undercutting availability. */
  private reconcile(key: string): void {
    const o = this.byKey.get(key)!;
    const spec = (o.spec ?? {}) as Json;
    const replicas = this.desiredReplicas(o);
    const alive = this.alivePods(key);
    const fresh = alive.filter(p => p.revision === 'new');
    const old = alive.filter(p => p.revision === 'old');
    const newPod = (index: number) => this.newPod(key, index);
    if (o.kind === 'Job') {
      if (fresh.length === 0 && !suspended(o) && !this.jobs.get(key)?.failed && this.jobs.get(key)?.completeAt === undefined) newPod(0);
      return;
    }
    if (o.kind === 'Deployment') {
      const recreate = spec.strategy?.type === 'Recreate';
      if (recreate) {
        for (const p of old) this.terminate(p);
        for (let i = fresh.length; i < replicas; i++) newPod(i);
        return;
      }
      const surge = resolveCount(spec.strategy?.rollingUpdate?.maxSurge ?? '25%', replicas, true);
      const unavailable = resolveCount(spec.strategy?.rollingUpdate?.maxUnavailable ?? '25%', replicas, false);
      const available = (ps: Pod[]) => ps.filter(p => p.availableAt !== undefined && p.availableAt <= this.now).length;
      // New pods up to replicas + maxSurge in all; old pods go while replicas - maxUnavailable stay available.
      const fill = () => {
        const now = this.alivePods(key);
        let count = now.filter(p => p.revision === 'new').length;
        for (let total = now.length; count < replicas && total < replicas + surge; total++) newPod(count++);
      };
      fill();
      let avail = available(old) + available(this.alivePods(key).filter(p => p.revision === 'new'));
      for (const p of old) {
        if (avail - (p.availableAt !== undefined ? 1 : 0) < replicas - unavailable) break;
        if (p.availableAt !== undefined) avail--;
        this.terminate(p);
      }
      fill();
      return;
    }
    if (o.kind === 'StatefulSet') {
      const parallel = spec.podManagementPolicy === 'Parallel';
      if (old.length > 0) {
        // RollingUpdate: the highest ordinal first, one at a time, each replaced pod ready before the next.
        if (fresh.some(p => p.readyAt === undefined)) return;
        const highest = old.reduce((a, p) => (p.index > a.index ? p : a));
        this.terminate(highest);
        newPod(highest.index);
        return;
      }
      for (let i = 0; i < replicas; i++) {
        if (fresh.some(p => p.index === i)) continue;
        // OrderedReady: pod i is created only when pods 0..i-1 are ready.
        if (!parallel && fresh.some(p => p.index < i && p.readyAt === undefined)) break;
        if (!parallel && i > 0 && !fresh.some(p => p.index === i - 1)) break;
        newPod(i);
      }
      return;
    }
    if (o.kind === 'DaemonSet') {
      const maxUnavailable = resolveCount(spec.updateStrategy?.rollingUpdate?.maxUnavailable ?? 1, replicas, false);
      const notReadyNew = fresh.filter(p => p.readyAt === undefined).length;
      let budget = Math.max(0, maxUnavailable - notReadyNew);
      for (const p of old) {
        if (budget-- <= 0) break;
        this.terminate(p);
        newPod(p.index);
      }
      for (let i = 0; i < replicas; i++) if (!this.alivePods(key).some(p => p.index === i)) newPod(i);
    }
  }

  private newPod(owner: string, index: number): Pod {
    const o = this.byKey.get(owner)!;
    const { cpu, memory } = podRequests(o);
    const pod: Pod = { owner, index, revision: 'new', cpu, memory };
    this.pods.push(pod);
    return pod;
  }

  private terminate(p: Pod): void {
    if (p.terminatedAt === undefined) p.terminatedAt = this.now;
  }

  /* ---------------------------------------------------------------------------------- kubelet */

  /** Whether an object (or external Secret) exists now. */
  private exists(key: string): boolean {
    const t = this.created.get(key);
    return t !== undefined && t <= this.now;
  }

  /** Checks each pod that is not ready against what it needs; starts it when nothing is missing. */
  private kubelet(): void {
    const cap = this.input.capacity;
    for (const p of this.pods) {
      if (p.terminatedAt !== undefined || p.startedAt !== undefined) continue;
      const o = this.byKey.get(p.owner)!;
      const waiting: Blocker[] = [];
      if (p.placedAt === undefined) {
        if (p.cpu > cap.cpuMillisPerNode || p.memory > cap.memoryBytesPerNode) {
          waiting.push({ reason: `cannot be placed: its requests (${p.cpu}m CPU, ${mib(p.memory)} Mi) exceed a node's allocatable (${cap.cpuMillisPerNode}m, ${mib(cap.memoryBytesPerNode)} Mi)` });
        } else {
          const used = this.pods.filter(q => q.placedAt !== undefined && q.terminatedAt === undefined);
          const cpu = used.reduce((n, q) => n + q.cpu, 0) + p.cpu;
          const memory = used.reduce((n, q) => n + q.memory, 0) + p.memory;
          if (cpu > cap.cpuMillisPerNode * cap.nodes || memory > cap.memoryBytesPerNode * cap.nodes) {
            waiting.push({ reason: `Pending: the cluster's ${cap.nodes} node(s) have no room left for its requests` });
          } else {
            p.placedAt = this.now;
          }
        }
      }
      const ns = o.metadata.namespace;
      for (const r of podReferences(o)) {
        const key = keyOf(r.kind, ns, r.name);
        if (r.kind === 'Job') {
          if (!this.jobComplete(key)) waiting.push({ on: key, reason: r.reason });
        } else if (r.kind === 'PersistentVolumeClaim' && this.byKey.has(key) && !this.sharedStorage(key)) {
          // A root cause, not a wait on the claim: under skipAwait the claim counts as ready.
          waiting.push({ reason: `${r.reason}, which asks ReadWriteMany of a cluster with no StorageClass offering it (ProvisioningFailed; the pod stays Pending)` });
        } else if (this.written.has(key)) {
          // The kubelet retries a pod whose Secret is missing (CreateContainerConfigError) until the operator has written it.
          const writer = this.written.get(key)!;
          if (!this.secretWritten(writer)) waiting.push({ on: writer, reason: `${r.reason}, which ${describeKey(writer)} has not had written yet` });
        } else if (!this.exists(key) && (this.byKey.has(key) || this.external.has(key))) {
          waiting.push({ on: key, reason: r.reason });
        } else if (!this.byKey.has(key) && !this.external.has(key)) {
          waiting.push({ reason: `${r.reason}, which nothing creates` });
        }
      }
      for (const job of readyAfterJobs(o)) {
        // Its pods cannot become ready before that Job has run (READY_AFTER_JOB_ANNOTATION).
        if (!this.jobComplete(job)) waiting.push({ on: job, reason: `becomes ready only after ${describeKey(job)} has run` });
      }
      for (const c of this.connections.filter(x => x.from === p.owner)) {
        const blocked = this.networkPolicyBlocks(c);
        if (blocked) waiting.push({ on: c.to, reason: `cannot reach ${describeKey(c.to)} on port ${c.port}: ${blocked}` });
      }
      if (o.kind === 'Job') {
        for (const c of this.connections.filter(x => x.from === p.owner)) {
          // The attempt itself tries the servers; here only note what it waits on for the chains.
          if (!this.ready.has(c.to)) waiting.push({ on: c.to, reason: `needs server ${describeKey(c.to)} ready` });
        }
      }
      p.waiting = waiting;
      const hard = waiting.filter(w => !(o.kind === 'Job' && w.reason.startsWith('needs server')));
      if (p.placedAt === undefined || hard.length > 0) continue;
      p.startedAt = this.now;
      const causes = podReferences(o).map(r => keyOf(r.kind, ns, r.name)).map(k => this.written.get(k) ?? k).filter(k => this.created.has(k) || this.jobs.get(k)?.completeAt !== undefined);
      const lastCause = causes.reduce<string | undefined>((a, k) => (a === undefined || this.eventTime(k) > this.eventTime(a) ? k : a), undefined);
      const subject = podName(p);
      const template = podTemplate(o)!.spec;
      const waitsForJob = podReferences(o).some(r => r.kind === 'Job');
      const inits = (template.initContainers ?? []).length;
      const initTime = (waitsForJob ? WAIT_FOR_JOB_POLL : 0) + (inits - (waitsForJob ? 1 : 0)) * INIT_CONTAINER_RUN;
      const newVolumes = ((o.spec as Json)?.volumeClaimTemplates ?? []).length > 0 && !this.previous.has(p.owner) ? VOLUME_PROVISIONING : 0;
      // A new claim of the chart's own is provisioned once its first consumer is placed (CLAIM_BINDING): every consumer waits for that.
      const claimWait = Math.max(0, ...podReferences(o).filter(r => r.kind === 'PersistentVolumeClaim').map(r => keyOf(r.kind, ns, r.name))
        .filter(k => this.byKey.has(k) && !this.previous.has(k))
        .map(k => Math.min(...this.claimConsumers(k).map(c => c.placedAt!)) + VOLUME_PROVISIONING - this.now));
      const startAt = this.now + Math.max(newVolumes, claimWait) + initTime + CONTAINER_START;
      const lastAt = lastCause !== undefined && this.eventTime(lastCause) > (this.appliedAt.get(p.owner) ?? 0) ? lastCause : `${p.owner} created`;
      this.after.set(`${subject} start`, { at: this.now, subject, what: 'placed, everything it references present', prev: lastAt });
      if (o.kind === 'Job') {
        const run = this.jobs.get(p.owner)!;
        run.startedAt = run.startedAt ?? this.now;
        this.schedule(startAt, () => this.jobAttempt(p));
        continue;
      }
      const delay = probeDelay(template);
      const readyAt = startAt + delay;
      const minReady = (o.spec as Json)?.minReadySeconds ?? 0;
      this.schedule(readyAt, () => {
        if (p.terminatedAt !== undefined) return;
        p.readyAt = this.now;
        this.after.set(subject, { at: this.now, subject, what: `ready (volumes ${newVolumes}s, init ${initTime}s, start ${CONTAINER_START}s, probe delay ${delay}s)`, prev: `${subject} start` });
        this.checkServesAfterMigration(p);
      });
      this.schedule(readyAt + minReady, () => {
        // The Deployment controller counts a pod available minReadySeconds after it is ready.
        if (p.terminatedAt !== undefined) return;
        p.availableAt = this.now;
      });
    }
  }

  /** Whether the chart's Job `key` has completed by now (a Job the chart lacks never does). */
  private jobComplete(key: string): boolean {
    const run = this.jobs.get(key);
    return this.byKey.has(key) && run?.completeAt !== undefined && run.completeAt <= this.now;
  }

  private eventTime(key: string): Seconds {
    return this.jobs.get(key)?.completeAt ?? this.ready.get(key) ?? this.created.get(key) ?? 0;
  }

  /** A Job attempt: succeeds when every server it connects to is ready within the connect timeout. */
  private jobAttempt(p: Pod): void {
    const run = this.jobs.get(p.owner)!;
    if (run.failed || run.completeAt !== undefined) return;
    run.attempts++;
    run.attemptAt = this.now;
    const start = this.now;
    this.schedule(start + CONNECT_TIMEOUT, () => {
      if (run.failed || run.completeAt !== undefined) return;
      const servers = this.connections.filter(c => c.from === p.owner);
      const unready = servers.filter(c => !this.serverReady(c));
      if (unready.length === 0) {
        const serversAt = Math.max(start, ...servers.map(c => this.ready.get(c.to) ?? start));
        const o = this.byKey.get(p.owner)!;
        const duration = o.metadata.labels?.['app.kubernetes.io/component'] === 'migration' ? MIGRATION_JOB_RUN : SETUP_JOB_RUN;
        const last = servers.reduce<string | undefined>((a, c) => (a === undefined || (this.ready.get(c.to) ?? 0) > (this.ready.get(a) ?? 0) ? c.to : a), undefined);
        this.schedule(serversAt + duration, () => {
          if (run.failed) return;
          run.completeAt = this.now;
          p.readyAt = this.now;
          // A Succeeded pod no longer holds its requests on the node.
          p.terminatedAt = this.now;
          const what = `completed (attempt ${run.attempts}, run ${duration}s)`;
          this.after.set(podName(p), { at: this.now, subject: podName(p), what, prev: last && (this.ready.get(last) ?? 0) > start ? last : `${podName(p)} start` });
        });
        return;
      }
      run.failures++;
      const limit = (this.byKey.get(p.owner)!.spec as Json)?.backoffLimit ?? DEFAULT_BACKOFF_LIMIT;
      const why = unready.map(c => `${describeKey(c.to)} not reachable on ${c.port}`).join(', ');
      if (run.failures > limit) {
        this.failJob(p.owner, `BackoffLimitExceeded: ${run.failures} failed attempts (backoffLimit ${limit}); last: ${why}`);
        p.terminatedAt = this.now;
        return;
      }
      this.schedule(this.now + jobBackoff(run.failures), () => this.jobAttempt(p));
    });
  }

  private failJob(key: string, why: string): void {
    const run = this.jobs.get(key)!;
    run.failed = why;
    this.failed.set(key, `Failed: ${why}`);
  }

  /** A server a client reaches: all its replicas ready and the NetworkPolicies letting the connection through. */
  private serverReady(c: DeclaredConnection): boolean {
    return this.workloadReady(c.to) && !this.networkPolicyBlocks(c);
  }

  /**
   * Whether the NetworkPolicies block a declared connection: the client's policies must allow the
   * egress and the server's the ingress (a pod no policy of a direction selects is open in it).
   */
  private networkPolicyBlocks(c: DeclaredConnection): string | undefined {
    const from = this.byKey.get(c.from)!;
    const to = this.byKey.get(c.to)!;
    const policies = this.objects.filter(x => x.kind === 'NetworkPolicy');
    const direction = (dir: 'Ingress' | 'Egress', subject: K8sJson, peer: K8sJson): boolean | undefined => {
      const applying = policies.filter(p => p.metadata.namespace === subject.metadata.namespace && selects((p.spec as Json).podSelector, podLabels(subject))
        && ((p.spec as Json).policyTypes ?? ['Ingress']).includes(dir));
      if (applying.length === 0) return undefined;
      return applying.some(p => ((p.spec as Json)[dir === 'Ingress' ? 'ingress' : 'egress'] ?? []).some((rule: Json) => {
        const peers = rule[dir === 'Ingress' ? 'from' : 'to'];
        const portOk = !rule.ports || rule.ports.some((x: Json) => Number(x.port) === c.port);
        return portOk && (!peers || peers.some((q: Json) => peerMatches(q, p.metadata.namespace, peer)));
      }));
    };
    if (direction('Egress', from, to) === false) return `no NetworkPolicy selecting ${describeKey(c.from)} allows egress to it on ${c.port}`;
    if (direction('Ingress', to, from) === false) return `no NetworkPolicy selecting ${describeKey(c.to)} allows ingress from ${describeKey(c.from)} on ${c.port}`;
    return undefined;
  }

  /* --------------------------------------------------------------------------- await conditions */

  private workloadReady(key: string): boolean {
    const o = this.byKey.get(key);
    if (!o || !this.created.has(key)) return false;
    const alive = this.alivePods(key);
    const fresh = alive.filter(p => p.revision === 'new');
    const replicas = this.desiredReplicas(o);
    if (o.kind === 'Deployment') return alive.length === fresh.length && fresh.filter(p => p.availableAt !== undefined && p.availableAt <= this.now).length >= replicas;
    return alive.length === fresh.length && fresh.filter(p => p.readyAt !== undefined && p.readyAt <= this.now).length >= replicas;
  }

  /** Whether the operator has written the target Secret of the ExternalSecret `key` by now (EXTERNAL_SECRET_SYNC after it was created). */
  private secretWritten(key: string): boolean {
    const at = this.created.get(key);
    if (at === undefined) return false;
    if (this.now < at + EXTERNAL_SECRET_SYNC) { this.wake(at + EXTERNAL_SECRET_SYNC); return false; }
    return true;
  }

  /** Whether an object's await condition holds now (see AWAIT_RULES, awaitRule). */
  private conditionHolds(key: string): boolean {
    const o = this.byKey.get(key)!;
    if (!this.exists(key)) return false;
    switch (o.kind) {
      case 'ExternalSecret':
        // Ready (the condition pulumi.com/waitFor awaits) once its Secret is written.
        return this.secretWritten(key);
      case 'Service': {
        const spec = (o.spec ?? {}) as Json;
        if (spec.type === 'LoadBalancer' && this.now < this.created.get(key)! + LOAD_BALANCER_PROVISIONING) { this.wake(this.created.get(key)! + LOAD_BALANCER_PROVISIONING); return false; }
        if (!serviceAwaitsEndpoints(o)) return true;
        // pulumi-kubernetes 4.17.0+ (#3142): no selected pod listed under notReadyAddresses, then the
        // Endpoints settled for SERVICE_STRAGGLER_WAIT; selecting no pod with an IP is such a state.
        if (this.notReadyEndpoints(o).length > 0) { this.endpointsSince.delete(key); return false; }
        const since = this.endpointsSince.get(key) ?? this.now;
        this.endpointsSince.set(key, since);
        if (this.now < since + SERVICE_STRAGGLER_WAIT) { this.wake(since + SERVICE_STRAGGLER_WAIT); return false; }
        return true;
      }
      case 'PersistentVolumeClaim':
        // Under skipAwait the provider reports it ready once created; else Bound (CLAIM_BINDING).
        return awaitRule(o) === undefined || this.claimBound(key);
      case 'Deployment': case 'StatefulSet': case 'DaemonSet':
        return this.workloadReady(key);
      case 'Job': {
        // A suspended Job runs no pod and never completes (SUSPENDED_JOB): under skipAwait the provider
        // reports it ready once created; kubectl waits for nothing, and Suspended is its settled state.
        if (suspended(o)) return this.input.path === 'kubectl' || awaitRule(o) === undefined;
        const run = this.jobs.get(key);
        return run?.completeAt !== undefined && run.completeAt <= this.now;
      }
      case 'Ingress': {
        if (this.now < this.created.get(key)! + INGRESS_ADDRESS) { this.wake(this.created.get(key)! + INGRESS_ADDRESS); return false; }
        const spec = (o.spec ?? {}) as Json;
        const backends = [spec.defaultBackend, ...(spec.rules ?? []).flatMap((r: Json) => (r.http?.paths ?? []).map((x: Json) => x.backend))];
        return backends.every(b => !b?.service?.name || this.exists(keyOf('Service', o.metadata.namespace, b.service.name)));
      }
      default:
        return true;
    }
  }

  /**
   * The live pods a Service selects that have an IP but are not ready: the endpoints controller lists
   * them under notReadyAddresses. A pod has an IP once placed and started, or once placed when only
   * its readiness waits (READY_AFTER_JOB_ANNOTATION: it runs, and its probe fails until the Job has run).
   */
  private notReadyEndpoints(service: K8sJson): Pod[] {
    const runsUnready = (p: Pod) => p.startedAt !== undefined
      || (p.placedAt !== undefined && (p.waiting ?? []).length > 0 && p.waiting!.every(w => w.reason.startsWith('becomes ready only after')));
    return this.pods.filter(p => p.terminatedAt === undefined && this.byKey.get(p.owner)!.metadata.namespace === service.metadata.namespace
      && this.byKey.get(p.owner)!.kind !== 'Job' && serviceSelects(service, podLabels(this.byKey.get(p.owner)!))
      && runsUnready(p) && !(p.readyAt !== undefined && p.readyAt <= this.now));
  }

  /** Whether the cluster can bind the claim: any but a ReadWriteMany one on a cluster without such storage. */
  private sharedStorage(key: string): boolean {
    return this.input.capacity.readWriteMany !== false || !asksReadWriteMany(this.byKey.get(key)!);
  }

  /** Pods, live and placed, whose volumes include the claim. */
  private claimConsumers(key: string): Pod[] {
    return this.pods.filter(p => p.terminatedAt === undefined && p.placedAt !== undefined && podReferences(this.byKey.get(p.owner)!)
      .some(r => r.kind === 'PersistentVolumeClaim' && keyOf(r.kind, this.byKey.get(p.owner)!.metadata.namespace, r.name) === key));
  }

  /** Whether a claim is Bound: settled before an upgrade, else provisioned after its first consumer was placed (CLAIM_BINDING). */
  private claimBound(key: string): boolean {
    if (this.previous.has(key)) return true;
    if (!this.sharedStorage(key)) return false;
    const first = this.claimConsumers(key).reduce<Seconds | undefined>((a, p) => (a === undefined || p.placedAt! < a ? p.placedAt! : a), undefined);
    if (first === undefined) return false;
    if (this.now < first + VOLUME_PROVISIONING) { this.wake(first + VOLUME_PROVISIONING); return false; }
    return true;
  }

  /** After every event: deliver what can be delivered, run the kubelet, record what became ready. */
  private progress(): void {
    for (let round = 0; round < 10; round++) {
      const before = this.ready.size;
      if (this.input.path === 'pulumi') this.pulumiStep();
      this.reconcileAll();
      this.kubelet();
      for (const key of this.byKey.keys()) {
        if (this.ready.has(key) || this.failed.has(key) || !this.created.has(key) || this.pendingUpdates.has(key)) continue;
        if (this.conditionHolds(key)) {
          this.ready.set(key, this.now);
          const o = this.byKey.get(key)!;
          const rule = awaitRule(o);
          this.record(key, rule ? `ready (${rule.awaits})` : 'ready', this.lastPodOf(key) ?? `${key} created`);
        }
      }
      if (this.ready.size === before) break;
    }
    if (this.upgrade) this.checkDisruptionBudgets();
  }

  private lastPodOf(key: string): string | undefined {
    const o = this.byKey.get(key)!;
    const owners = o.kind === 'Service' ? workloadsBehind(this.objects, o).map(objectKey) : [key];
    const pods = this.pods.filter(p => owners.includes(p.owner) && p.terminatedAt === undefined && p.readyAt !== undefined);
    const last = pods.reduce<Pod | undefined>((a, p) => (a === undefined || p.readyAt! > a.readyAt! ? p : a), undefined);
    return last && this.after.has(podName(last)) ? podName(last) : undefined;
  }

  private record(subject: string, what: string, prev: string): void {
    const e = { at: this.now, subject, what };
    this.events.push(e);
    this.after.set(subject, { ...e, prev });
  }

  private addViolation(v: string): void {
    if (!this.violations.includes(v)) this.violations.push(v);
  }

  /* ----------------------------------------------------------------------------------- upgrade */

  /** The running version: every previous object exists and is ready, its pods ready. */
  private settlePrevious(): void {
    for (const [key, o] of this.previous) {
      // Created long ago: a load balancer's or an Ingress's address is already there.
      this.created.set(key, -SETTLE_HORIZON);
      this.ready.set(key, 0);
      if (!POD_KINDS.has(o.kind) || o.kind === 'CronJob' || !this.byKey.has(key)) continue;
      this.appliedAt.set(key, -CONTROLLER_REACTION);
      if (o.kind === 'Job') { this.jobs.set(key, { attempts: 1, failures: 0, completeAt: 0 }); continue; }
      const { cpu, memory } = podRequests(o);
      for (let i = 0; i < this.desiredReplicas(o); i++) {
        this.pods.push({ owner: key, index: i, revision: 'old', cpu, memory, placedAt: 0, startedAt: 0, readyAt: 0, availableAt: 0 });
      }
    }
    for (const key of this.external) {
      this.created.set(key, 0);
      this.ready.set(key, 0);
      this.requested.add(key);
    }
    for (const o of this.objects) {
      const key = objectKey(o);
      const before = this.previous.get(key);
      if (before && JSON.stringify(before) !== JSON.stringify(o)) {
        this.pendingUpdates.add(key);
        // Its controller keeps the running pods until the new spec arrives.
        this.appliedAt.delete(key);
      }
      // Pods of an unchanged workload stay; they become this version's pods.
      if (before && JSON.stringify(before) === JSON.stringify(o)) {
        for (const p of this.pods.filter(q => q.owner === key)) (p as { revision: string }).revision = 'new';
      }
    }
  }

  /** An immutable field an update would change, else undefined. */
  private immutableChange(key: string): string | undefined {
    const before = this.previous.get(key);
    const after = this.byKey.get(key)!;
    if (!before) return undefined;
    const fields: Record<string, string[]> = {
      Job: ['template', 'selector', 'completions'], StatefulSet: ['volumeClaimTemplates', 'serviceName', 'selector', 'podManagementPolicy'],
      Deployment: ['selector'], DaemonSet: ['selector'],
    };
    for (const f of fields[after.kind] ?? []) {
      if (JSON.stringify((before.spec as Json)?.[f]) !== JSON.stringify((after.spec as Json)?.[f])) return `spec.${f}`;
    }
    return undefined;
  }

  /** Every PodDisruptionBudget's minimum stays ready at every step of the upgrade. */
  private checkDisruptionBudgets(): void {
    for (const pdb of this.objects.filter(o => o.kind === 'PodDisruptionBudget')) {
      const spec = (pdb.spec ?? {}) as Json;
      const owners = this.objects.filter(w => POD_KINDS.has(w.kind) && w.kind !== 'Job' && w.kind !== 'CronJob'
        && w.metadata.namespace === pdb.metadata.namespace && selects(spec.selector, podLabels(w)));
      const expected = owners.reduce((n, w) => n + this.desiredReplicas(w), 0);
      const ready = this.pods.filter(p => p.terminatedAt === undefined && p.readyAt !== undefined && p.readyAt <= this.now
        && owners.some(w => objectKey(w) === p.owner)).length;
      const min = spec.minAvailable !== undefined ? resolveCount(spec.minAvailable, expected, true)
        : expected - resolveCount(spec.maxUnavailable ?? 0, expected, false);
      if (ready < min) this.addViolation(`PodDisruptionBudget ${pdb.metadata.name}: ${ready} ready < minimum ${min} at ${this.now}s`);
    }
  }

  /** A new pod running an image some migration Job runs must not be ready before that Job completed. */
  private checkServesAfterMigration(p: Pod): void {
    if (!this.upgrade || p.revision !== 'new') return;
    const o = this.byKey.get(p.owner)!;
    const images = new Set(containersOf(podTemplate(o)?.spec).map(c => c.image));
    for (const job of this.objects.filter(j => j.kind === 'Job' && j.metadata.labels?.['app.kubernetes.io/component'] === 'migration')) {
      if (!containersOf(podTemplate(job)?.spec).some(c => images.has(c.image))) continue;
      if (!this.jobComplete(objectKey(job))) {
        this.addViolation(`${podName(p)} (image ${[...images].join(', ')}) ready at ${this.now}s before ${describeKey(objectKey(job))} completed`);
      }
    }
  }

  /* ------------------------------------------------------------------------------------ result */

  private result(): RehearsalResult {
    const keys = [...this.byKey.keys()].filter(k => this.changed.has(k) || !this.upgrade);
    const notReady = keys.filter(k => !this.ready.has(k));
    const converged = notReady.length === 0 && this.failed.size === 0 && this.violations.length === 0;
    const order = this.events.filter(e => e.what.startsWith('ready') && this.byKey.has(e.subject)).sort((a, b) => a.at - b.at);
    const last = order[order.length - 1];
    return {
      path: this.input.path,
      upgrade: this.upgrade,
      converged,
      seconds: converged ? last?.at ?? 0 : undefined,
      order,
      criticalPath: converged && last ? this.criticalPath(last.subject) : [],
      blocked: notReady.length > 0 ? this.explain(notReady) : [],
      failures: [...this.failed.entries()].map(([k, why]) => `${describeKey(k)}: ${why}`),
      violations: [...this.violations],
      externalSecrets: [...this.external].map(describeKey),
      requirements: this.objects.filter(asksReadWriteMany)
        .map(c => `a StorageClass offering ReadWriteMany (${(c.spec as Json)?.storageClassName ? `"${(c.spec as Json).storageClassName}"` : 'the cluster\'s default'}) for ${describeKey(objectKey(c))}`),
    };
  }

  private criticalPath(subject: string): RehearsalEvent[] {
    const chain: RehearsalEvent[] = [];
    const seen = new Set<string>();
    let cur: string | undefined = subject;
    while (cur && !seen.has(cur)) {
      seen.add(cur);
      const a = this.after.get(cur);
      if (!a) break;
      chain.unshift({ at: a.at, subject: a.subject, what: a.what });
      cur = a.prev;
    }
    return chain;
  }

  /** What each unfinished object waits on, as edges between unfinished objects (or to a root cause). */
  private blockers(key: string): Blocker[] {
    const o = this.byKey.get(key)!;
    const out: Blocker[] = [];
    const add = (b: Blocker) => { if (!out.some(x => x.on === b.on && x.reason === b.reason)) out.push(b); };
    const failure = this.failed.get(key);
    if (!this.created.has(key)) {
      if (this.input.path === 'pulumi') {
        for (const w of this.input.plan.waits[key] ?? []) if (!this.ready.has(w.on)) add({ on: w.on, reason: `dependsOn ${describeKey(w.on)}` });
      } else if (!failure) {
        add({ reason: `never applied: namespace ${o.metadata.namespace} does not exist` });
      }
    }
    if (failure && !failure.startsWith('timed out')) add({ reason: failure });
    if (o.kind === 'PersistentVolumeClaim' && this.created.has(key) && awaitRule(o) && this.claimConsumers(key).length === 0) {
      add({ reason: `awaits Bound, and binds (${CLAIM_BINDING}) only once a pod that mounts it is placed: annotate it pulumi.com/skipAwait` });
    }
    if (o.kind === 'Service' && serviceAwaitsEndpoints(o)) {
      // Only a selected pod that runs unready holds it (4.17.0+, #3142): no pod at all is ready after the settle wait.
      for (const owner of new Set(this.notReadyEndpoints(o).map(p => p.owner))) add({ on: owner, reason: `awaits ${AWAIT_RULES.Service.awaits}` });
    }
    if (o.kind === 'Job' && suspended(o) && this.created.has(key)) {
      add({ reason: `awaits Complete, and is suspended (spec.suspend: ${SUSPENDED_JOB}): annotate it pulumi.com/skipAwait` });
    }
    if (POD_KINDS.has(o.kind) && o.kind !== 'CronJob') {
      if (o.kind === 'Job') {
        for (const c of this.connections.filter(x => x.from === key)) {
          if (!this.workloadReady(c.to)) add({ on: c.to, reason: `needs server ${describeKey(c.to)} ready` });
          const np = this.networkPolicyBlocks(c);
          if (np) add({ reason: `cannot reach ${describeKey(c.to)} on port ${c.port}: ${np}` });
        }
      }
      const pods = this.pods.filter(p => p.owner === key && p.terminatedAt === undefined && p.readyAt === undefined);
      for (const p of pods) for (const w of p.waiting ?? []) if (!(w.on && this.ready.has(w.on) && !w.reason.startsWith('cannot reach'))) add(w);
      if (!this.created.has(key) || pods.length === 0) {
        // Not created yet: what its pods will need all the same.
        for (const r of podReferences(o)) {
          const rk = keyOf(r.kind, o.metadata.namespace, r.name);
          if (r.kind === 'Job' && this.byKey.has(rk) && !this.ready.has(rk)) add({ on: rk, reason: r.reason });
        }
      }
    }
    if (failure && failure.startsWith('timed out') && out.length === 0) add({ reason: failure });
    return out;
  }

  /** Chains of waits that never end: every cycle (a deadlock), then every chain ending at a root cause. */
  private explain(notReady: string[]): string[] {
    const open = new Set(notReady);
    const edges = new Map(notReady.map(k => [k, this.blockers(k)]));
    const step = (k: string, b: Blocker) => `${describeKey(k)} ${b.reason}`;
    const lines: string[] = [];
    const seenCycles = new Set<string>();
    for (const start of notReady) {
      for (const first of edges.get(start)!.filter(b => b.on && open.has(b.on))) {
        // Shortest path back from first.on to start (breadth-first).
        const prev = new Map<string, { from: string; b: Blocker }>();
        const queue = [first.on!];
        const visited = new Set([first.on!]);
        while (queue.length > 0 && !visited.has(start)) {
          const k = queue.shift()!;
          for (const b of edges.get(k) ?? []) {
            if (!b.on || !open.has(b.on) || visited.has(b.on)) continue;
            visited.add(b.on);
            prev.set(b.on, { from: k, b });
            queue.push(b.on);
          }
        }
        if (first.on !== start && !visited.has(start)) continue;
        const path: Array<{ k: string; b: Blocker }> = [];
        let cur = start;
        while (cur !== first.on) {
          const p = prev.get(cur)!;
          path.unshift({ k: p.from, b: p.b });
          cur = p.from;
        }
        const cycle = [{ k: start, b: first }, ...path];
        const id = cycle.map(c => c.k).sort().join('|');
        if (seenCycles.has(id)) continue;
        seenCycles.add(id);
        lines.push(`deadlock: ${cycle.map(c => step(c.k, c.b)).join(' ← ')}`);
      }
    }
    // Root causes: an unfinished object whose wait leads to nothing unfinished.
    const roots = notReady.filter(k => edges.get(k)!.some(b => !b.on || !open.has(b.on)));
    for (const k of roots) {
      for (const b of edges.get(k)!.filter(x => !x.on || !open.has(x.on))) {
        if (b.on && this.ready.has(b.on) && !b.reason.startsWith('cannot reach')) continue;
        const dependents = notReady.filter(d => edges.get(d)!.some(x => x.on === k)).slice(0, 1);
        const head = dependents.map(d => step(d, edges.get(d)!.find(x => x.on === k)!));
        lines.push(`blocked: ${[...head, step(k, b)].join(' ← ')}`);
      }
    }
    return lines;
  }
}

/** Requests of one pod: the sum of its containers, or its largest init container if that is more (as the scheduler counts). */
export function podRequests(o: K8sJson): { cpu: number; memory: number } {
  const spec = podTemplate(o)?.spec ?? {};
  const cpu = (c: Json) => parseQuantity(c.resources?.requests?.cpu, 'cpu');
  const memory = (c: Json) => parseQuantity(c.resources?.requests?.memory, 'memory');
  const sum = (f: (c: Json) => number) => (spec.containers ?? []).reduce((n: number, c: Json) => n + f(c), 0);
  const init = (f: (c: Json) => number) => Math.max(0, ...(spec.initContainers ?? []).map(f));
  return { cpu: Math.max(sum(cpu), init(cpu)), memory: Math.max(sum(memory), init(memory)) };
}

function parseQuantity(value: unknown, kind: 'cpu' | 'memory'): number {
  if (typeof value !== 'string' && typeof value !== 'number') return 0;
  return kind === 'cpu' ? CpuQuantity.parse(String(value)).millicores : ByteQuantity.parse(String(value)).bytes;
}

/** An int-or-percent of `total` (surge rounds up, unavailability down, as the Deployment controller does). */
function resolveCount(value: unknown, total: number, roundUp: boolean): number {
  if (typeof value === 'number') return value;
  const m = /^(\d+)%$/.exec(String(value));
  if (!m) return Number(value) || 0;
  const exact = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(exact) : Math.floor(exact);
}

/** The delay before a started pod's first successful readiness check: the largest initial delay of its startup and readiness probes. */
function probeDelay(spec: Json): Seconds {
  return Math.max(0, ...(spec.containers ?? []).map((c: Json) => Math.max(c.startupProbe?.initialDelaySeconds ?? 0, c.readinessProbe?.initialDelaySeconds ?? 0)));
}

function podName(p: Pod): string {
  return `${p.owner} pod ${p.index}`;
}

function mib(bytes: number): number {
  return Math.round(bytes / 2 ** 20);
}

/** A PersistentVolumeClaim whose access modes include ReadWriteMany. */
function asksReadWriteMany(o: K8sJson): boolean {
  return o.kind === 'PersistentVolumeClaim' && ((o.spec as Json)?.accessModes ?? []).includes('ReadWriteMany');
}
