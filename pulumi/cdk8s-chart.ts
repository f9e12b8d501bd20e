import * as pulumi from '@pulumi/pulumi';
import * as k8s from '@pulumi/kubernetes';
import { ApiObject, Chart } from 'cdk8s';
import { validateTree } from '../constructs/core/validation';

/** Arguments of `Cdk8sChart`. */
export interface Cdk8sChartArgs {
  /** The cdk8s chart whose objects are applied (QualityBillingStack or any chart of your own). */
  readonly chart: Chart;
  /** Kubernetes provider (cluster, context). @default - the default provider (current kubeconfig context) */
  readonly provider?: k8s.Provider;
  /**
   * Strings replaced wherever they appear as a whole value in an object, by a value known only
   * at deployment (an image digest, a name derived from it). Keys are the synthesized strings.
   * @default - none
   */
  readonly substitutions?: Readonly<Record<string, pulumi.Input<string>>>;
  /**
   * Resources the workloads wait for (the Secrets they read). A function is called once the
   * chart's namespaces exist, so what it creates can live in them. @default - none
   */
  readonly workloadDependsOn?: pulumi.Input<pulumi.Resource>[] | ((namespaces: readonly pulumi.CustomResource[]) => pulumi.Input<pulumi.Resource>[]);
}

const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob']);
const FIRST_KINDS = new Set(['Namespace', 'CustomResourceDefinition']);

/**
 * Applies a cdk8s chart with Pulumi: one Pulumi resource per Kubernetes object, so previews and
 * diffs are per object, each a child of this component, named by its stable construct path.
 * Namespaces and CRDs come first; the migration Job (label `app.kubernetes.io/component:
 * migration`) before the Deployments and StatefulSets; the workloads after `workloadDependsOn`.
 * Built-in kinds become their typed `@pulumi/kubernetes` resources (so the provider's await
 * logic applies: a Job is done when it has succeeded); other kinds become CustomResources.
 */
export class Cdk8sChart extends pulumi.ComponentResource {
  /** The resources, by "<kind>/<namespace>/<name>" of the synthesized object. */
  public readonly resources: Readonly<Record<string, pulumi.CustomResource>>;

  constructor(name: string, args: Cdk8sChartArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super('quality-billing:index:Cdk8sChart', name, {}, opts);
    // The chart's validations (capacity, connection budgets) run before any resource is registered.
    validateTree(args.chart);
    const objects = args.chart.node.findAll().filter((c): c is ApiObject => c instanceof ApiObject)
      .map(o => ({ path: o.node.path, json: o.toJson() as K8sJson }));
    const base: pulumi.CustomResourceOptions = { parent: this, provider: args.provider };
    const resources: Record<string, pulumi.CustomResource> = {};
    const create = (o: { path: string; json: K8sJson }, dependsOn: pulumi.Input<pulumi.Resource>[]) => {
      const key = objectKey(o.json);
      if (resources[key]) throw new Error(`Cdk8sChart ${name}: two objects are ${key}`);
      const body = substitute(o.json, args.substitutions ?? {}) as K8sJson;
      resources[key] = newResource(o.path, body, { ...base, dependsOn });
    };

    const first = objects.filter(o => FIRST_KINDS.has(o.json.kind));
    first.forEach(o => create(o, []));
    const firstResources = first.map(o => resources[objectKey(o.json)]);
    const migrations = objects.filter(o => o.json.kind === 'Job' && o.json.metadata.labels?.['app.kubernetes.io/component'] === 'migration');
    const rest = objects.filter(o => !FIRST_KINDS.has(o.json.kind) && !migrations.includes(o));
    const isWorkload = (o: { json: K8sJson }) => WORKLOAD_KINDS.has(o.json.kind);
    // Everything that is not a workload first, so the workloads can wait for their config.
    const config = rest.filter(o => !isWorkload(o));
    config.forEach(o => create(o, firstResources));
    const configResources = config.map(o => resources[objectKey(o.json)]);
    const extra = typeof args.workloadDependsOn === 'function' ? args.workloadDependsOn(firstResources) : args.workloadDependsOn ?? [];
    const workloadDeps = [...firstResources, ...configResources, ...extra];
    migrations.forEach(o => create(o, workloadDeps));
    const migrationResources = migrations.map(o => resources[objectKey(o.json)]);
    for (const o of rest.filter(isWorkload)) {
      const waitsForMigration = ['Deployment', 'StatefulSet'].includes(o.json.kind) && o.json.metadata.namespace !== undefined
        && migrationResources.length > 0;
      create(o, waitsForMigration ? [...workloadDeps, ...migrationResources] : workloadDeps);
    }
    this.resources = resources;
    this.registerOutputs({});
  }
}

/** A synthesized Kubernetes object. */
export interface K8sJson {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly labels?: Record<string, string> };
  readonly [field: string]: unknown;
}

/** "<kind>/<namespace>/<name>" ("_" for cluster-scoped objects). */
export function objectKey(o: K8sJson): string {
  return `${o.kind}/${o.metadata.namespace ?? '_'}/${o.metadata.name}`;
}

/** Replaces whole string values found in `substitutions`, anywhere in `value`. */
function substitute(value: unknown, substitutions: Readonly<Record<string, pulumi.Input<string>>>): unknown {
  if (typeof value === 'string') return Object.prototype.hasOwnProperty.call(substitutions, value) ? substitutions[value] : value;
  if (Array.isArray(value)) return value.map(v => substitute(v, substitutions));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, substitutions)]));
  return value;
}

type ResourceClass = new (name: string, args: any, opts?: pulumi.CustomResourceOptions) => pulumi.CustomResource;

/** The typed class of a built-in kind (`k8s.apps.v1.Deployment`), else a CustomResource. */
function newResource(name: string, body: K8sJson, opts: pulumi.CustomResourceOptions): pulumi.CustomResource {
  const [group, version] = body.apiVersion.includes('/') ? body.apiVersion.split('/') : ['core', body.apiVersion];
  // "rbac.authorization.k8s.io" is k8s.rbac, "networking.k8s.io" k8s.networking; CRD groups are not modules.
  const module = group.endsWith('.k8s.io') || !group.includes('.') ? group.split('.')[0] : undefined;
  const cls = module ? (k8s as any)[module]?.[version]?.[body.kind] as ResourceClass | undefined : undefined;
  if (typeof cls === 'function') return new cls(name, body, opts);
  return new k8s.apiextensions.CustomResource(name, body as any, opts);
}
