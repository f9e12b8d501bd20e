import * as pulumi from '@pulumi/pulumi';
import * as k8s from '@pulumi/kubernetes';
import { ApiObject, Chart } from 'cdk8s';
import { validateTree } from '../constructs/core/validation';
import { DeploymentPlan, deploymentPlan } from '../lib/deployment-plan';
import { ValidationError } from '../lib/errors';
import { K8sJson, objectKey } from '../lib/k8s-objects';

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

/**
 * Applies a cdk8s chart with Pulumi: one Pulumi resource per Kubernetes object, so previews and
 * diffs are per object, each a child of this component, named by its stable construct path.
 * Each object `dependsOn` exactly what the chart's deployment plan (lib/deployment-plan.ts) says
 * it waits for: its Namespace, the Secrets, ConfigMaps, ServiceAccount, RBAC and NetworkPolicies
 * of its pods, the Job its init container waits for, the server a Job connects to. No workload
 * waits for the Services in front of its own pods, whose await holds while those pods run unready.
 * Objects that use a Secret the chart does not contain wait for `workloadDependsOn`.
 * Built-in kinds become their typed `@pulumi/kubernetes` resources (so the provider's await
 * logic applies: a Job is done when it has succeeded); other kinds become CustomResources.
 * A plan with a cycle throws a ValidationError naming the chain before anything is registered.
 */
export class Cdk8sChart extends pulumi.ComponentResource {
  /** The resources, by "<kind>/<namespace>/<name>" of the synthesized object. */
  public readonly resources: Readonly<Record<string, pulumi.CustomResource>>;
  /** The plan this component carried out (who waits for whom, and why). */
  public readonly plan: DeploymentPlan;

  constructor(name: string, args: Cdk8sChartArgs, opts: pulumi.ComponentResourceOptions = {}) {
    // The chart's validations (capacity, connection budgets) and the plan (a duplicate, a cycle)
    // are checked before anything is registered.
    validateTree(args.chart);
    const objects = args.chart.node.findAll().filter((c): c is ApiObject => c instanceof ApiObject)
      .map(o => ({ path: o.node.path, json: o.toJson() as K8sJson }));
    const byKey = new Map<string, { path: string; json: K8sJson }>();
    for (const o of objects) {
      const key = objectKey(o.json);
      if (byKey.has(key)) throw new ValidationError(`Cdk8sChart ${name}`, 'objects', key, 'one object per kind, namespace and name');
      byKey.set(key, o);
    }
    const plan = deploymentPlan(objects.map(o => o.json));
    super('quality-billing:index:Cdk8sChart', name, {}, opts);
    this.plan = plan;
    const base: pulumi.CustomResourceOptions = { parent: this, provider: args.provider };
    const resources: Record<string, pulumi.CustomResource> = {};
    const externalKeys = new Set(this.plan.externalSecrets.map(e => e.key));
    let external: pulumi.Input<pulumi.Resource>[] | undefined;
    // Called once the Namespaces are registered, so what it creates can live in them.
    const externalResources = () => {
      if (external) return external;
      const namespaces = this.plan.order.filter(k => k.startsWith('Namespace/')).map(k => resources[k]);
      external = typeof args.workloadDependsOn === 'function' ? args.workloadDependsOn(namespaces) : args.workloadDependsOn ?? [];
      return external;
    };
    for (const key of this.plan.order) {
      const o = byKey.get(key)!;
      const waits = this.plan.waits[key];
      const dependsOn: pulumi.Input<pulumi.Resource>[] = waits.filter(w => !externalKeys.has(w.on)).map(w => resources[w.on]);
      if (waits.some(w => externalKeys.has(w.on))) dependsOn.push(...externalResources());
      const body = substitute(o.json, args.substitutions ?? {}) as K8sJson;
      resources[key] = newResource(o.path, body, { ...base, dependsOn });
    }
    this.resources = resources;
    this.registerOutputs({});
  }
}

export { K8sJson, objectKey };

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
