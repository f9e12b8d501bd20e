import { ValidationError } from './errors';
import {
  declaredConnections, describeKey, externalSecretTargets, K8sJson, keyOf, objectKey, podLabels, podReferences, POD_KINDS, selects, serviceSelects,
} from './k8s-objects';

/**
 * The deployment plan: which synthesized object waits for which before it is applied, and why.
 * It is data, computed from the objects alone, so the Pulumi adapter only carries it out and the
 * rehearsal (lib/rehearsal/) can check it against the provider's await rules.
 *
 * The rule that keeps it free of deadlocks: an object waits only for what it *uses* (the Secrets,
 * ConfigMaps, ServiceAccount, RBAC and NetworkPolicies of its pods, the Job its init container
 * waits for, the server a Job connects to, the Services an Ingress routes to), never for the
 * Services in front of its own pods. Before @pulumi/kubernetes 4.17.0 a Service awaited ready
 * endpoints and deadlocked with a workload waiting for it (pulumi-kubernetes #1974); since #3142
 * (4.17.0) it is ready once its Endpoints have settled with no not-ready address, so selecting no
 * pod yet no longer holds it. It still waits while a pod it selects runs unready, so a Service is
 * kept from being a prerequisite of what its pods' readiness needs as well.
 */

/** One wait: the object waits for `on` to be applied and ready. */
export interface PlanWait {
  /** Key ("Kind/namespace/name") of the object waited for. */
  readonly on: string;
  /** Why, in words ("references Secret db-credentials", "needs server StatefulSet x-postgres ready"). */
  readonly reason: string;
}

/** A Secret the objects reference but do not contain: made by hand, or by the Pulumi program. */
export interface ExternalSecret {
  /** Key of the Secret ("Secret/<namespace>/<name>"). */
  readonly key: string;
  readonly namespace: string;
  readonly name: string;
  /** Keys of the objects that reference it. */
  readonly referencedBy: readonly string[];
}

/** The dependency graph to apply. */
export interface DeploymentPlan {
  /** Every object's key, in an order that applies each after everything it waits for. */
  readonly order: readonly string[];
  /** For each object key, what it waits for (empty when nothing). Keys of external Secrets appear as `on`. */
  readonly waits: Readonly<Record<string, readonly PlanWait[]>>;
  /** The Secrets referenced and not among the objects, in order of first reference. */
  readonly externalSecrets: readonly ExternalSecret[];
}

/* eslint-disable @typescript-eslint/no-explicit-any */
type Json = any;

const FIRST_KINDS = new Set(['Namespace', 'CustomResourceDefinition']);

/**
 * Computes the plan from the synthesized objects (`chart.toJson()`). Throws a ValidationError
 * when two objects share a key or the waits form a cycle (naming the chain).
 */
export function deploymentPlan(objects: readonly K8sJson[]): DeploymentPlan {
  const byKey = new Map<string, K8sJson>();
  for (const o of objects) {
    const key = objectKey(o);
    if (byKey.has(key)) throw new ValidationError('DeploymentPlan', 'objects', key, 'one object per kind, namespace and name');
    byKey.set(key, o);
  }
  const waits: Record<string, PlanWait[]> = {};
  const external = new Map<string, { namespace: string; name: string; referencedBy: string[] }>();
  const connections = declaredConnections(objects);
  const crds = objects.filter(o => o.kind === 'CustomResourceDefinition');
  // Secrets the External Secrets Operator writes for an ExternalSecret of the chart: a reader waits
  // for the ExternalSecret, which is ready (Pulumi: awaited through pulumi.com/waitFor) once written.
  const written = externalSecretTargets(objects);

  for (const o of objects) {
    const key = objectKey(o);
    const list: PlanWait[] = [];
    const add = (on: string, reason: string) => {
      if (on !== key && !list.some(w => w.on === on)) list.push({ on, reason });
    };
    const ns = o.metadata.namespace;
    // A Secret the chart does not contain is an input: listed, and still waited for.
    const addSecret = (name: string, reason: string) => {
      const target = keyOf('Secret', ns, name);
      if (byKey.has(target)) return add(target, reason);
      const writer = written.get(target);
      if (writer) return add(writer, `${reason}, which ${describeKey(writer)} has the External Secrets Operator write (Ready once written)`);
      const e = external.get(target) ?? { namespace: ns ?? 'default', name, referencedBy: [] as string[] };
      if (!e.referencedBy.includes(key)) e.referencedBy.push(key);
      external.set(target, e);
      add(target, `${reason} (made outside the chart)`);
    };
    if (ns && byKey.has(keyOf('Namespace', undefined, ns))) add(keyOf('Namespace', undefined, ns), `lives in Namespace ${ns}`);
    const group = o.apiVersion.includes('/') ? o.apiVersion.split('/')[0] : '';
    const crd = crds.find(c => (c.spec as Json)?.group === group && (c.spec as Json)?.names?.kind === o.kind);
    if (crd) add(objectKey(crd), `is a ${o.kind}, defined by CustomResourceDefinition ${crd.metadata.name}`);

    if (POD_KINDS.has(o.kind)) {
      for (const r of podReferences(o)) {
        const target = keyOf(r.kind, ns, r.name);
        if (r.kind === 'Secret') addSecret(r.name, r.reason);
        else if (byKey.has(target)) add(target, r.reason);
        if (r.kind === 'ServiceAccount') {
          for (const b of objects.filter(x => (x.kind === 'RoleBinding' || x.kind === 'ClusterRoleBinding') && bindsServiceAccount(x, r.name, ns))) {
            add(objectKey(b), `${b.kind} ${b.metadata.name} grants ServiceAccount ${r.name} its permissions`);
          }
        }
      }
      // Under a default-deny policy a pod started before its allow rules cannot reach anything.
      for (const p of objects.filter(x => x.kind === 'NetworkPolicy' && x.metadata.namespace === ns && selects((x.spec as Json)?.podSelector, podLabels(o)))) {
        add(objectKey(p), `NetworkPolicy ${p.metadata.name} selects its pods`);
      }
      // A Job runs once against its servers: they must be ready before it starts, or its retries run out.
      if (o.kind === 'Job') {
        for (const c of connections.filter(x => x.from === key)) {
          add(c.to, `needs server ${describeKey(c.to)} ready (port ${c.port}, ${c.source})`);
          if (c.service) add(c.service, `connects through Service ${describeKey(c.service).split(' ')[1]}`);
        }
      }
    }
    if (o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding') {
      const ref = o.roleRef as Json;
      const roleKey = keyOf(ref.kind, ref.kind === 'Role' ? ns : undefined, ref.name);
      if (byKey.has(roleKey)) add(roleKey, `grants ${ref.kind} ${ref.name}`);
      for (const s of (o.subjects as Json[]) ?? []) {
        const saKey = keyOf('ServiceAccount', s.namespace ?? ns, s.name);
        if (s.kind === 'ServiceAccount' && byKey.has(saKey)) add(saKey, `binds ServiceAccount ${s.name}`);
      }
    }
    if (o.kind === 'Ingress') {
      const spec = o.spec as Json;
      const backends = [spec.defaultBackend, ...(spec.rules ?? []).flatMap((r: Json) => (r.http?.paths ?? []).map((p: Json) => p.backend))];
      for (const b of backends) {
        const svc = b?.service?.name;
        if (svc && byKey.has(keyOf('Service', ns, svc))) add(keyOf('Service', ns, svc), `routes to Service ${svc}`);
      }
      for (const t of spec.tls ?? []) if (t.secretName) addSecret(t.secretName, `serves TLS from Secret ${t.secretName}`);
    }
    if (o.kind === 'HorizontalPodAutoscaler') {
      const ref = (o.spec as Json)?.scaleTargetRef;
      if (ref && byKey.has(keyOf(ref.kind, ns, ref.name))) add(keyOf(ref.kind, ns, ref.name), `scales ${ref.kind} ${ref.name}`);
    }
    if (isKedaObject(o, 'ScaledObject')) {
      // KEDA's docs (concepts/authentication): the ScaledObject after the Secret and the workload it refers to.
      const ref = scaleTarget(o);
      if (byKey.has(keyOf(ref.kind, ns, ref.name))) add(keyOf(ref.kind, ns, ref.name), `scales ${ref.kind} ${ref.name}`);
      for (const t of ((o.spec as Json)?.triggers ?? []) as Json[]) {
        const auth = t.authenticationRef;
        const authKind = auth?.kind ?? 'TriggerAuthentication';
        const authKey = keyOf(authKind, authKind === 'TriggerAuthentication' ? ns : undefined, auth?.name ?? '');
        if (auth?.name && byKey.has(authKey)) add(authKey, `authenticates its trigger with ${authKind} ${auth.name}`);
      }
    }
    if (isKedaObject(o, 'TriggerAuthentication')) {
      for (const r of ((o.spec as Json)?.secretTargetRef ?? []) as Json[]) if (r.name) addSecret(r.name, `reads ${r.parameter} from Secret ${r.name}`);
    }
    waits[key] = list;
  }

  assertOneAutoscalerPerWorkload(objects);
  const order = topologicalOrder(objects.map(objectKey), waits);
  const externalSecrets = [...external.entries()].map(([key, e]) => ({ key, ...e }));
  return { order, waits, externalSecrets };
}

function isKedaObject(o: K8sJson, kind: string): boolean {
  return o.kind === kind && o.apiVersion.startsWith('keda.sh/');
}

/** A ScaledObject's target, with KEDA's defaults (apps/v1 Deployment). */
function scaleTarget(o: K8sJson): { kind: string; name: string } {
  const ref = (o.spec as Json)?.scaleTargetRef ?? {};
  return { kind: ref.kind ?? 'Deployment', name: ref.name };
}

/**
 * A KEDA ScaledObject creates and owns an HPA for its target (keda.sh/docs/2.10/concepts/scaling-deployments);
 * a second HPA on the same workload would fight it, and KEDA's admission webhook rejects a
 * ScaledObject whose target another HPA already scales (keda.sh/docs/2.10/concepts/admission-webhooks).
 * Throws a ValidationError naming both.
 */
export function assertOneAutoscalerPerWorkload(objects: readonly K8sJson[]): void {
  const scalers = new Map<string, string>();
  for (const o of objects) {
    let target: { kind: string; name: string } | undefined;
    if (isKedaObject(o, 'ScaledObject')) target = scaleTarget(o);
    else if (o.kind === 'HorizontalPodAutoscaler') target = (o.spec as Json)?.scaleTargetRef;
    if (!target?.name) continue;
    const key = keyOf(target.kind, o.metadata.namespace, target.name);
    const other = scalers.get(key);
    if (other) {
      throw new ValidationError('DeploymentPlan', 'autoscalers', `${other} and ${describeKey(objectKey(o))} both scale ${describeKey(key)}`,
        'one autoscaler per workload: a KEDA ScaledObject owns the HPA it creates, so the workload has no other HorizontalPodAutoscaler');
    }
    scalers.set(key, describeKey(objectKey(o)));
  }
}

/** Whether a (Cluster)RoleBinding binds the ServiceAccount `name` of `namespace`. */
function bindsServiceAccount(binding: K8sJson, name: string, namespace: string | undefined): boolean {
  return ((binding.subjects as Json[]) ?? []).some(s => s.kind === 'ServiceAccount' && s.name === name && (s.namespace ?? binding.metadata.namespace) === namespace);
}

/**
 * Kahn's order over `keys` (stable: among ready keys, the input order wins; Namespaces and CRDs
 * first). Waits on keys outside `keys` (external Secrets) are ignored. A cycle throws a
 * ValidationError naming the chain.
 */
export function topologicalOrder(keys: readonly string[], waits: Readonly<Record<string, readonly PlanWait[]>>): string[] {
  assertAcyclic(waits);
  const known = new Set(keys);
  const rank = (k: string) => (FIRST_KINDS.has(k.split('/')[0]) ? 0 : 1);
  const sorted = [...keys].sort((a, b) => rank(a) - rank(b));
  const remaining = new Map(sorted.map(k => [k, (waits[k] ?? []).filter(w => known.has(w.on)).length]));
  const dependents = new Map<string, string[]>();
  for (const k of sorted) for (const w of waits[k] ?? []) if (known.has(w.on)) dependents.set(w.on, [...dependents.get(w.on) ?? [], k]);
  const order: string[] = [];
  const done = new Set<string>();
  while (order.length < sorted.length) {
    const next = sorted.find(k => !done.has(k) && remaining.get(k) === 0);
    if (next === undefined) break; // unreachable: assertAcyclic has passed
    order.push(next);
    done.add(next);
    for (const d of dependents.get(next) ?? []) remaining.set(d, remaining.get(d)! - 1);
  }
  return order;
}

/** Throws a ValidationError naming the chain of waits when `waits` has a cycle. */
export function assertAcyclic(waits: Readonly<Record<string, readonly PlanWait[]>>): void {
  const cycle = findCycle(waits);
  if (!cycle) return;
  const chain = cycle.map(step => `${describeKey(step.key)} ${step.reason}`).join(' → ');
  throw new ValidationError('DeploymentPlan', 'waits', chain, 'a plan without a cycle: nothing can be applied while each object of the chain waits for the next');
}

/** One step of a cycle: `key` waits for the next step's object because of `reason`. */
export interface CycleStep {
  readonly key: string;
  readonly reason: string;
}

/** The first cycle of waits found by depth-first search, as steps, else undefined. */
export function findCycle(waits: Readonly<Record<string, readonly PlanWait[]>>): CycleStep[] | undefined {
  const state = new Map<string, 'open' | 'closed'>();
  const stack: CycleStep[] = [];
  const visit = (key: string): CycleStep[] | undefined => {
    state.set(key, 'open');
    for (const w of waits[key] ?? []) {
      stack.push({ key, reason: w.reason });
      if (state.get(w.on) === 'open') {
        const start = stack.findIndex(s => s.key === w.on);
        return stack.slice(start);
      }
      if (!state.has(w.on)) {
        const found = visit(w.on);
        if (found) return found;
      }
      stack.pop();
    }
    state.set(key, 'closed');
    return undefined;
  };
  for (const key of Object.keys(waits)) {
    if (state.has(key)) continue;
    const found = visit(key);
    if (found) return found;
  }
  return undefined;
}

/**
 * Whether a Service is one whose Pulumi await watches its endpoints: it has a selector and is
 * neither headless (clusterIP None, with or without a selector) nor ExternalName, as in
 * pulumi-kubernetes provider/pkg/await/service.go shouldWaitForPods (3.30.0+, #2475). Since 4.17.0
 * (#3142) that await ends once the Endpoints have settled for 10 s with no not-ready address: it
 * holds only while a selected pod runs unready (lib/rehearsal/rules.ts AWAIT_RULES.Service).
 */
export function serviceAwaitsEndpoints(service: K8sJson): boolean {
  const spec = (service.spec ?? {}) as Json;
  // The provider skips every await of an object annotated so (pulumi-kubernetes docs, "pulumi.com/skipAwait"):
  // the Services on the pods Patroni labels at run time (belt-and-braces since 4.17.0: none selected is ready).
  if (service.metadata.annotations?.['pulumi.com/skipAwait'] === 'true') return false;
  if (spec.type === 'ExternalName' || spec.clusterIP === 'None') return false;
  return serviceSelects(service, { ...spec.selector });
}
