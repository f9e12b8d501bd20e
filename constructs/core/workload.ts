import { ApiObject, Chart } from 'cdk8s';
import { k8s } from './k8s';
import { Construct, IConstruct } from 'constructs';
import { isDeepStrictEqual } from 'util';
import { ValidationError } from '../../lib/errors';
import { recommendedLabels, RecommendedLabels, selectorLabels } from '../../lib/labels';
import { WorkloadSizing } from '../../lib/sizing';
import { ApiServerAddress, checkApiServer, checkDnsLabel } from '../../lib/validate';
import { lazy } from './lazy';

/** A TCP port with the name Kubernetes objects refer to it by. */
export interface NamedPort {
  readonly name: string;
  readonly port: number;
}

/** Where Prometheus finds a component's metrics. */
export interface MetricsEndpoint {
  /** The Service that fronts the pods. */
  readonly serviceName: string;
  /** Name of the Service port that serves the metrics (what discovery keeps). */
  readonly portName: string;
  readonly port: number;
  readonly path: string;
  /** Keep the `job` and `instance` labels the series carry (a Pushgateway's pushed series). @default false */
  readonly honorLabels?: boolean;
}

const SIZED = Symbol.for('quality-billing-infra.SizedWorkload');

/** Something that runs pods and states their sizing for the capacity planner. */
export interface ISizedWorkload extends IConstruct {
  /** Replicas, per-container resources and storage of each pod set it runs, computed when asked so later changes count. */
  sizings(): WorkloadSizing[];
}

/**
 * Every sized workload below `scope`, in construct-tree order. A CronJob's sizing gets the
 * schedule and deadlines of the CronJob object of its name below `scope` (`runs`), read from the
 * object itself (with `json`) so the capacity planner sees what Kubernetes will run.
 */
export function collectSizings(scope: IConstruct, json: ObjectJson = o => o.toJson()): WorkloadSizing[] {
  const all = scope.node.findAll();
  const sizings = all
    .filter((c): c is ISizedWorkload & IConstruct => (c as unknown as Record<symbol, boolean>)[SIZED] === true)
    .flatMap(c => c.sizings());
  if (!sizings.some(s => s.kind === 'CronJob' && !s.runs)) return sizings;
  const cronJobs = new Map(all.filter((c): c is ApiObject => c instanceof ApiObject && c.kind === 'CronJob').map(o => [o.name, o]));
  return sizings.map(s => {
    const object = s.kind === 'CronJob' && !s.runs ? cronJobs.get(s.name) : undefined;
    return object ? { ...s, runs: cronJobRuns(json(object).spec as k8s.CronJobSpec) } : s;
  });
}

/** An object's synthesized JSON (`ApiObject.toJson()`, or the same from `objectJsonOnce`). */
export type ObjectJson = (object: ApiObject) => ReturnType<ApiObject['toJson']>;

/**
 * `toJson()` of each object, computed on first use and then remembered, for checks that read the
 * same objects within one validation: `toJson` resolves and converts the whole object, the cost
 * cdk8s's synth pays once more afterwards. Only for one pass: a later change to an object would
 * not be seen.
 */
export function objectJsonOnce(): ObjectJson {
  const known = new Map<ApiObject, ReturnType<ApiObject['toJson']>>();
  return object => {
    if (!known.has(object)) known.set(object, object.toJson());
    return known.get(object);
  };
}

/** When a CronJob's runs can hold their pods: its schedule, time zone and deadlines. */
export function cronJobRuns(spec: k8s.CronJobSpec): NonNullable<WorkloadSizing['runs']> {
  return {
    schedule: spec.schedule,
    timeZone: spec.timeZone,
    startingDeadlineSeconds: spec.startingDeadlineSeconds,
    activeDeadlineSeconds: spec.jobTemplate.spec?.activeDeadlineSeconds,
  };
}

/** Marks a construct as a sized workload for `collectSizings`. */
export function registerSizedWorkload(c: ISizedWorkload): void {
  Object.defineProperty(c, SIZED, { value: true });
}

/** The name and labels a workload is known by. */
export interface WorkloadIdentity {
  /** Object name (DNS-1123 label). */
  readonly name: string;
  /** Value of `app.kubernetes.io/component`. */
  readonly component: string;
  /** Value of `app.kubernetes.io/version`. */
  readonly version: string;
  /** Value of `app.kubernetes.io/part-of`. */
  readonly partOf?: string;
  /** Namespace of the workload's objects. @default - the chart's */
  readonly namespace?: string;
}

/**
 * Base of every workload construct: its identity (name, recommended labels, selector) and its
 * NetworkPolicy, whose rules follow from the connections declared on it.
 */
export abstract class Workload extends Construct implements ISizedWorkload {
  /** Object name of the workload and its Service. */
  public readonly name: string;
  /** The recommended labels on every object of this workload. */
  public readonly labels: Record<string, string>;
  /** The labels that select this workload's pods. */
  public readonly selector: Record<string, string>;
  /** Namespace of its objects, when it is not the chart's. */
  public readonly explicitNamespace?: string;
  private readonly ingressRules: k8s.NetworkPolicyIngressRule[] = [];
  private readonly egressRules: k8s.NetworkPolicyEgressRule[] = [];

  protected constructor(scope: Construct, id: string, identity: WorkloadIdentity) {
    super(scope, id);
    this.name = checkDnsLabel(this.node.path, 'name', identity.name);
    const l: RecommendedLabels = { name: identity.name, instance: instanceOf(this), component: identity.component, version: identity.version, partOf: identity.partOf ?? partOfChart(this) };
    this.labels = recommendedLabels(l);
    this.selector = selectorLabels(l);
    this.explicitNamespace = identity.namespace;
    registerSizedWorkload(this);
    new k8s.KubeNetworkPolicy(this, 'NetworkPolicy', {
      metadata: { name: this.name, labels: this.labels, namespace: this.explicitNamespace },
      spec: {
        podSelector: { matchLabels: this.selector },
        policyTypes: ['Ingress', 'Egress'],
        ingress: lazy(() => (this.ingressRules.length ? this.ingressRules : undefined)),
        egress: lazy(() => (this.egressRules.length ? this.egressRules : undefined)),
      },
    });
  }

  public abstract sizings(): WorkloadSizing[];

  /**
   * Lets `peer` reach this workload's pods on `ports` (TCP unless `protocol` says UDP). Idempotent:
   * a rule that is already there (e.g. a client of several logical Redis databases) is not added again.
   */
  public allowIngressFrom(peer: k8s.NetworkPolicyPeer, ports: readonly number[], protocol: 'TCP' | 'UDP' = 'TCP'): void {
    addOnce(this.ingressRules, { from: [peer], ports: policyPorts(ports, protocol) });
  }

  /** Lets this workload's pods reach `peer` on `ports` (TCP unless `protocol` says UDP). Idempotent, as `allowIngressFrom`. */
  public allowEgressTo(peer: k8s.NetworkPolicyPeer, ports: readonly number[], protocol: 'TCP' | 'UDP' = 'TCP'): void {
    addOnce(this.egressRules, { to: [peer], ports: policyPorts(ports, protocol) });
  }

  /** Lets this workload's pods reach the Kubernetes API server (checked; the default is any address on 443 and 6443). */
  public allowEgressToApiServer(address?: ApiServerAddress): void {
    const a = checkApiServer(this.node.path, address);
    this.allowEgressTo({ ipBlock: { cidr: a.cidr } }, a.ports);
  }

  /** A NetworkPolicy peer that matches this workload's pods in its namespace. */
  public get peer(): k8s.NetworkPolicyPeer {
    return { podSelector: { matchLabels: this.selector } };
  }

  /** The namespace its objects live in. */
  public get namespace(): string {
    return this.explicitNamespace ?? Chart.of(this).namespace ?? 'default';
  }

  /** A peer matching this workload's pods as seen from `other`'s namespace. */
  public peerFor(other: Workload): k8s.NetworkPolicyPeer {
    if (other.namespace === this.namespace) return this.peer;
    return { ...this.peer, namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': this.namespace } } };
  }

  /** Allows traffic from `client` to this workload on `port`, in both workloads' policies. */
  public acceptTrafficFrom(client: Workload, port: number): void {
    if (client === this) throw new ValidationError(this.node.path, 'connection', client.node.path, 'a different workload');
    this.allowIngressFrom(client.peerFor(this), [port]);
    client.allowEgressTo(this.peerFor(client), [port]);
  }
}

function policyPorts(ports: readonly number[], protocol: 'TCP' | 'UDP'): k8s.NetworkPolicyPort[] {
  return ports.map(port => ({ protocol, port: k8s.IntOrString.fromNumber(port) }));
}

/** Appends `rule` unless an equal one is there; equality ignores the order of an object's fields. */
function addOnce<T>(rules: T[], rule: T): void {
  if (!rules.some(r => isDeepStrictEqual(r, rule))) rules.push(rule);
}

/** `app.kubernetes.io/part-of` of the chart, so a workload belongs to the system its stack deploys. */
function partOfChart(c: Construct): string | undefined {
  return Chart.of(c).labels['app.kubernetes.io/part-of'];
}

/** `app.kubernetes.io/instance`: the chart's name when there is one, so two installs never share selectors. */
function instanceOf(c: Construct): string {
  const chart = Chart.of(c);
  return chart.labels['app.kubernetes.io/instance'] ?? chart.node.id.toLowerCase();
}

/** The path a construct will have, for errors thrown before `super()` has created it. */
export function childPath(scope: IConstruct, id: string): string {
  return scope.node.path ? `${scope.node.path}/${id}` : id;
}
