/**
 * Reading synthesized Kubernetes objects as plain JSON (what `chart.toJson()` returns): their
 * keys, pod templates, label selectors, the objects a pod references and the connections a pod
 * declares. Shared by the deployment plan and the delivery rehearsal; imports neither cdk8s nor
 * Pulumi.
 */

/** A synthesized Kubernetes object. */
export interface K8sJson {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly labels?: Readonly<Record<string, string>>;
    readonly annotations?: Readonly<Record<string, string>>;
  };
  readonly [field: string]: unknown;
}

/** "<kind>/<namespace>/<name>" ("_" for cluster-scoped objects). */
export function objectKey(o: Pick<K8sJson, 'kind' | 'metadata'>): string {
  return keyOf(o.kind, o.metadata.namespace, o.metadata.name);
}

/** The key of an object given by kind, namespace and name. */
export function keyOf(kind: string, namespace: string | undefined, name: string): string {
  return `${kind}/${namespace ?? '_'}/${name}`;
}

/** "Kind name" for messages: the key without the namespace. */
export function describeKey(key: string): string {
  const [kind, , ...name] = key.split('/');
  return `${kind} ${name.join('/')}`;
}

/** Kinds whose objects run pods from a template. */
/**
 * Annotation of a workload whose pods cannot become ready before a Job of its namespace has run
 * part of its work (Kibana before the log setup Job sets the `kibana_system` password). That Job
 * polls the workload itself, so it must not wait for it to be ready before it starts.
 */
export const READY_AFTER_JOB_ANNOTATION = 'quality-billing.io/ready-after-job';

/** The Jobs (keys) a workload declares it becomes ready only after (`READY_AFTER_JOB_ANNOTATION`). */
export function readyAfterJobs(o: K8sJson): string[] {
  const value = (o.metadata as { annotations?: Record<string, string> }).annotations?.[READY_AFTER_JOB_ANNOTATION];
  return value ? value.split(',').map(name => keyOf('Job', o.metadata.namespace, name.trim())) : [];
}

export const POD_KINDS: ReadonlySet<string> = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob', 'ReplicaSet']);

/* eslint-disable @typescript-eslint/no-explicit-any */
type Json = any;

/** The pod template (`metadata` and `spec`) of a pod-running object, else undefined. */
export function podTemplate(o: K8sJson): { metadata?: { labels?: Record<string, string> }; spec: Json } | undefined {
  const spec = o.spec as Json;
  if (!POD_KINDS.has(o.kind) || !spec) return undefined;
  if (o.kind === 'CronJob') return spec.jobTemplate?.spec?.template;
  return spec.template;
}

/** The labels of the pods an object runs. */
export function podLabels(o: K8sJson): Readonly<Record<string, string>> {
  return podTemplate(o)?.metadata?.labels ?? {};
}

/** A label selector as Kubernetes writes it (`matchLabels`, `matchExpressions`) or a Service's plain map. */
export interface LabelSelector {
  readonly matchLabels?: Readonly<Record<string, string>>;
  readonly matchExpressions?: ReadonlyArray<{ key: string; operator: string; values?: readonly string[] }>;
}

/** Whether `selector` selects `labels` (an empty selector selects everything, as in a NetworkPolicy). */
export function selects(selector: LabelSelector | undefined, labels: Readonly<Record<string, string>>): boolean {
  if (!selector) return true;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    const inValues = has && (e.values ?? []).includes(labels[e.key]);
    if (e.operator === 'In' && !inValues) return false;
    if (e.operator === 'NotIn' && inValues) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

/** Whether a Service's plain selector map selects `labels` (a Service without selector selects nothing). */
export function serviceSelects(service: K8sJson, labels: Readonly<Record<string, string>>): boolean {
  const selector = (service.spec as Json)?.selector as Record<string, string> | undefined;
  if (!selector || Object.keys(selector).length === 0) return false;
  return selects({ matchLabels: selector }, labels);
}

/** Why a pod needs another object, found in its spec. */
export interface PodReference {
  readonly kind: 'Secret' | 'ConfigMap' | 'PersistentVolumeClaim' | 'ServiceAccount' | 'Job';
  readonly name: string;
  /** How the pod refers to it ("mounts Secret x", "init container wait-for-migration waits for Job y"). */
  readonly reason: string;
}

/** Every container of a pod spec, init containers first. */
export function containersOf(spec: Json): Json[] {
  return [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])];
}

/**
 * The Secrets, ConfigMaps, PVCs and ServiceAccount a pod template references, and the Jobs its
 * init containers wait for (an init container with a JOB_NAME variable runs the wait program of
 * lib/wait-for-job.ts). Optional references are left out: the pod starts without them.
 */
export function podReferences(o: K8sJson): PodReference[] {
  const template = podTemplate(o);
  if (!template) return [];
  const spec = template.spec ?? {};
  const refs: PodReference[] = [];
  const add = (r: PodReference) => {
    if (!refs.some(x => x.kind === r.kind && x.name === r.name)) refs.push(r);
  };
  for (const v of spec.volumes ?? []) {
    if (v.configMap?.name && !v.configMap.optional) add({ kind: 'ConfigMap', name: v.configMap.name, reason: `mounts ConfigMap ${v.configMap.name}` });
    if (v.secret?.secretName && !v.secret.optional) add({ kind: 'Secret', name: v.secret.secretName, reason: `mounts Secret ${v.secret.secretName}` });
    if (v.persistentVolumeClaim?.claimName) add({ kind: 'PersistentVolumeClaim', name: v.persistentVolumeClaim.claimName, reason: `mounts PersistentVolumeClaim ${v.persistentVolumeClaim.claimName}` });
    for (const s of v.projected?.sources ?? []) {
      if (s.configMap?.name && !s.configMap.optional) add({ kind: 'ConfigMap', name: s.configMap.name, reason: `mounts ConfigMap ${s.configMap.name}` });
      if (s.secret?.name && !s.secret.optional) add({ kind: 'Secret', name: s.secret.name, reason: `mounts Secret ${s.secret.name}` });
    }
  }
  for (const c of containersOf(spec)) {
    for (const e of c.env ?? []) {
      const s = e.valueFrom?.secretKeyRef;
      if (s?.name && !s.optional) add({ kind: 'Secret', name: s.name, reason: `references Secret ${s.name}` });
      const m = e.valueFrom?.configMapKeyRef;
      if (m?.name && !m.optional) add({ kind: 'ConfigMap', name: m.name, reason: `references ConfigMap ${m.name}` });
    }
    for (const f of c.envFrom ?? []) {
      if (f.secretRef?.name && !f.secretRef.optional) add({ kind: 'Secret', name: f.secretRef.name, reason: `references Secret ${f.secretRef.name}` });
      if (f.configMapRef?.name && !f.configMapRef.optional) add({ kind: 'ConfigMap', name: f.configMapRef.name, reason: `references ConfigMap ${f.configMapRef.name}` });
    }
  }
  for (const s of spec.imagePullSecrets ?? []) if (s.name) add({ kind: 'Secret', name: s.name, reason: `pulls its image with Secret ${s.name}` });
  if (spec.serviceAccountName && spec.serviceAccountName !== 'default') {
    add({ kind: 'ServiceAccount', name: spec.serviceAccountName, reason: `runs as ServiceAccount ${spec.serviceAccountName}` });
  }
  for (const c of spec.initContainers ?? []) {
    const job = (c.env ?? []).find((e: Json) => e.name === 'JOB_NAME' && typeof e.value === 'string');
    if (job) add({ kind: 'Job', name: job.value, reason: `init container ${c.name} waits for Job ${job.value}` });
  }
  return refs;
}

/** A connection a pod declares: to the pods of another workload, on a port. */
export interface DeclaredConnection {
  /** Key of the workload whose pods connect. */
  readonly from: string;
  /** Key of the workload whose pods are connected to. */
  readonly to: string;
  readonly port: number;
  /** Key of the Service the connection goes through, when the pod names one. */
  readonly service?: string;
  /** Where the declaration was found ("NetworkPolicy x egress", "env ES_URL"). */
  readonly source: string;
}

/** Whether an object is a Service whose selector picks the pods of `workload`. */
function servicesOf(objects: readonly K8sJson[], workload: K8sJson): K8sJson[] {
  return objects.filter(s => s.kind === 'Service' && s.metadata.namespace === workload.metadata.namespace && serviceSelects(s, podLabels(workload)));
}

/** The workloads (long-running or Job) whose pods a Service selects. */
export function workloadsBehind(objects: readonly K8sJson[], service: K8sJson): K8sJson[] {
  return objects.filter(w => POD_KINDS.has(w.kind) && w.kind !== 'CronJob' && w.metadata.namespace === service.metadata.namespace && serviceSelects(service, podLabels(w)));
}

/** Whether a NetworkPolicy peer matches a workload's pods, seen from a policy in `policyNamespace`. */
export function peerMatches(peer: Json, policyNamespace: string | undefined, workload: K8sJson): boolean {
  if (!peer.podSelector && !peer.namespaceSelector) return false; // an ipBlock
  const ns = workload.metadata.namespace;
  if (peer.namespaceSelector) {
    if (!selects(peer.namespaceSelector, { 'kubernetes.io/metadata.name': ns ?? 'default' })) return false;
  } else if (ns !== policyNamespace) {
    return false;
  }
  return selects(peer.podSelector ?? {}, podLabels(workload));
}

const HOST_PORT = /(?:^|[/@,\s])([a-z0-9]([-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*):(\d{2,5})\b/g;

/**
 * The connections each workload's pods declare: the egress rules of the NetworkPolicies that
 * select them (the constructs write one rule per `connectTo`), and every `host:port` in their
 * environment or arguments that names a Service of the chart (`http://x-elasticsearch:9200`,
 * `x-mongodb-0.x-mongodb:27017`). CronJobs are included; their connections start on schedule.
 */
export function declaredConnections(objects: readonly K8sJson[]): DeclaredConnection[] {
  const workloads = objects.filter(o => POD_KINDS.has(o.kind));
  const policies = objects.filter(o => o.kind === 'NetworkPolicy');
  const services = objects.filter(o => o.kind === 'Service');
  const out: DeclaredConnection[] = [];
  const readyAfter = new Map(workloads.map(w => [objectKey(w), readyAfterJobs(w)]));
  const add = (c: DeclaredConnection) => {
    if (c.from === c.to) return;
    // A Job that the server becomes ready only after polls the server itself: not a prerequisite.
    if (readyAfter.get(c.to)?.includes(c.from)) return;
    if (!out.some(x => x.from === c.from && x.to === c.to && x.port === c.port && x.service === c.service)) out.push(c);
  };
  for (const w of workloads) {
    const from = objectKey(w);
    for (const p of policies) {
      const spec = p.spec as Json;
      if (p.metadata.namespace !== w.metadata.namespace || !selects(spec.podSelector, podLabels(w))) continue;
      for (const rule of spec.egress ?? []) {
        for (const peer of rule.to ?? []) {
          for (const target of workloads.filter(t => t.kind !== 'CronJob' && t.kind !== 'Job' && peerMatches(peer, p.metadata.namespace, t))) {
            for (const port of (rule.ports ?? []).map((x: Json) => Number(x.port)).filter((n: number) => Number.isInteger(n))) {
              const via = servicesOf(objects, target).find(s => ((s.spec as Json).ports ?? []).some((sp: Json) => Number(sp.targetPort ?? sp.port) === port || Number(sp.port) === port));
              add({ from, to: objectKey(target), port, service: via ? objectKey(via) : undefined, source: `NetworkPolicy ${p.metadata.name} egress` });
            }
          }
        }
      }
    }
    const spec = podTemplate(w)?.spec ?? {};
    for (const c of containersOf(spec)) {
      const values: Array<[string, string]> = [
        ...(c.env ?? []).filter((e: Json) => typeof e.value === 'string').map((e: Json) => [`env ${e.name}`, e.value] as [string, string]),
        ...[...(c.args ?? []), ...(c.command ?? [])].filter((a: Json) => typeof a === 'string').map((a: string) => [`argument of ${c.name}`, a] as [string, string]),
      ];
      for (const [where, value] of values) {
        for (const m of value.matchAll(HOST_PORT)) {
          const labels = m[1].split('.');
          const port = Number(m[4]);
          // "svc", "svc.ns", "svc.ns.svc.cluster.local", or a StatefulSet pod "pod-0.svc".
          const candidates = [{ name: labels[0], ns: labels[1] }, { name: labels[1], ns: labels[2] }];
          for (const cand of candidates) {
            if (!cand.name) continue;
            const ns = cand.ns && cand.ns !== 'svc' ? cand.ns : w.metadata.namespace;
            const svc = services.find(s => s.metadata.name === cand.name && s.metadata.namespace === ns);
            if (!svc) continue;
            for (const target of workloadsBehind(objects, svc).filter(t => t.kind !== 'Job')) {
              add({ from, to: objectKey(target), port: targetPort(svc, port, target), service: objectKey(svc), source: `${where} of ${c.name}` });
            }
            break;
          }
        }
      }
    }
  }
  return out;
}

/** The pod port a Service port leads to (a named target port is looked up in the pod's containers). */
function targetPort(service: K8sJson, port: number, workload: K8sJson): number {
  const sp = ((service.spec as Json).ports ?? []).find((p: Json) => Number(p.port) === port);
  if (!sp || sp.targetPort === undefined) return port;
  if (typeof sp.targetPort === 'number') return sp.targetPort;
  for (const c of containersOf(podTemplate(workload)?.spec)) {
    const named = (c.ports ?? []).find((p: Json) => p.name === sp.targetPort);
    if (named) return Number(named.containerPort);
  }
  return port;
}

/** API group of the External Secrets Operator's objects. */
export const EXTERNAL_SECRETS_GROUP = 'external-secrets.io';

/**
 * The Secrets the External Secrets Operator writes for the ExternalSecrets among `objects`:
 * "Secret/<namespace>/<name>" → the ExternalSecret's key. The target Secret is named by
 * `spec.target.name`, else after the ExternalSecret ("target.name … Defaults to the .metadata.name
 * of the ExternalSecret resource": external-secrets.io, API spec of ExternalSecretTarget), in the
 * ExternalSecret's namespace. It exists only once the operator has reconciled the ExternalSecret.
 */
export function externalSecretTargets(objects: readonly K8sJson[]): Map<string, string> {
  const targets = new Map<string, string>();
  for (const o of objects) {
    if (o.kind !== 'ExternalSecret' || !o.apiVersion.startsWith(`${EXTERNAL_SECRETS_GROUP}/`)) continue;
    const name = (o.spec as Json)?.target?.name ?? o.metadata.name;
    targets.set(keyOf('Secret', o.metadata.namespace, name), objectKey(o));
  }
  return targets;
}
