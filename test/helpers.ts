import { App, Chart, Testing } from 'cdk8s';
import { ENVIRONMENTS, EnvironmentSpec } from '../lib/environments';
import { QualityBillingStack, QualityBillingStackProps } from '../stacks/quality-billing-stack';
import { SystemChart, SystemStack, SystemStackProps } from '../stacks/system-stack';
import { shippedSystem, SYSTEMS } from '../stacks/systems';

/** A synthesized Kubernetes object, as plain JSON. */
export type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> }; [k: string]: any };

/** A chart with a namespace and the instance label, for testing single constructs. */
export function testChart(): Chart {
  return new Chart(Testing.app(), 'test', { namespace: 'test', labels: { 'app.kubernetes.io/instance': 'test' } });
}

/** Synthesizes a chart to plain objects. */
export function synth(chart: Chart): K8sObject[] {
  return Testing.synth(chart) as K8sObject[];
}

/** Builds and synthesizes the quality-billing stack for an environment. */
export function synthStack(env: EnvironmentSpec, props: Partial<QualityBillingStackProps> = {}): { stack: QualityBillingStack; objects: K8sObject[] } {
  const stack = new QualityBillingStack(new App(), 'quality-billing', { environment: env, ...props });
  return { stack, objects: synth(stack) };
}

/** The shipped environments as jest table rows. */
export const SHIPPED = Object.values(ENVIRONMENTS).map(e => [e.name, e] as const);

/** Every shipped environment, plus prod with monitoring handed to kube-prometheus-stack: rows of (label, env, props). */
export const VARIANTS: ReadonlyArray<readonly [string, EnvironmentSpec, Partial<QualityBillingStackProps>]> = [
  ...SHIPPED.map(([name, env]) => [name, env, {}] as const),
  ['prod (prometheus-operator)', ENVIRONMENTS.prod, { monitoringMode: 'prometheus-operator' }],
];

/** Builds and synthesizes a shipped system's stack for an environment. */
export function synthSystem(system: string, env: EnvironmentSpec, props: Omit<SystemStackProps, 'environment'> = {}): { stack: SystemStack; objects: K8sObject[] } {
  // Typed as the PostgreSQL systems' stack for the tests' convenience; merchant-analysis tests use synthChart.
  const stack = shippedSystem(system).create(env, props) as SystemStack;
  return { stack, objects: synth(stack) };
}

/** Builds and synthesizes any shipped system's chart. */
export function synthChart(system: string, env: EnvironmentSpec, props: Omit<SystemStackProps, 'environment'> = {}): { stack: SystemChart; objects: K8sObject[] } {
  const stack = shippedSystem(system).create(env, props);
  return { stack, objects: synth(stack) };
}

/** Secrets from a secret manager (`secrets: "external-secrets"`): a system with one application and merchant-analysis, in prod. */
export const EXTERNAL_SECRETS_VARIANTS: ReadonlyArray<readonly [string, string, EnvironmentSpec, Omit<SystemStackProps, 'environment'>]> = [
  ['quality-billing prod (external-secrets)', 'quality-billing', ENVIRONMENTS.prod, { secrets: 'external-secrets', externalSecrets: { storeName: 'vault-backend' } }],
  ['merchant-analysis prod (external-secrets)', 'merchant-analysis', ENVIRONMENTS.prod, { secrets: 'external-secrets', externalSecrets: { storeName: 'team-secrets', storeKind: 'SecretStore' } }],
];

/** Every shipped system in every shipped environment, plus quality-billing prod in prometheus-operator mode and the external-secrets variants: rows of (label, system, env, props). */
export const SYSTEM_VARIANTS: ReadonlyArray<readonly [string, string, EnvironmentSpec, Omit<SystemStackProps, 'environment'>]> = [
  ...SYSTEMS.flatMap(sys => SHIPPED.map(([name, env]) => [`${sys.name} ${name}`, sys.name, env, {}] as const)),
  ['quality-billing prod (prometheus-operator)', 'quality-billing', ENVIRONMENTS.prod, { monitoringMode: 'prometheus-operator' }],
  ['qcat prod (prometheus-operator)', 'qcat', ENVIRONMENTS.prod, { monitoringMode: 'prometheus-operator' }],
  ...EXTERNAL_SECRETS_VARIANTS,
];

/** The one object of a kind and name; fails the test when there is not exactly one. */
export function find(objects: K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.filter(o => o.kind === kind && o.metadata.name === name);
  if (found.length !== 1) throw new Error(`expected one ${kind}/${name}, found ${found.length} among ${objects.map(o => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return found[0];
}

/** Pod template spec of a workload object (Deployment, StatefulSet, Job, CronJob). */
export function podSpec(o: K8sObject): any {
  if (o.kind === 'CronJob') return o.spec.jobTemplate.spec.template.spec;
  return o.spec.template.spec;
}

/** Every workload object among `objects`. */
export function workloads(objects: K8sObject[]): K8sObject[] {
  return objects.filter(o => ['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob'].includes(o.kind));
}

/** Environment variables of a container as name → value or `secret:<name>/<key>`. */
export function envOf(container: any): Record<string, string> {
  return Object.fromEntries((container.env ?? []).map((e: any) => [e.name,
    e.valueFrom?.secretKeyRef ? `secret:${e.valueFrom.secretKeyRef.name}/${e.valueFrom.secretKeyRef.key}` : e.value]));
}

/** Asserts `fn` throws a ValidationError naming path, field, value and what is allowed. */
export function expectValidationError(fn: () => unknown, expected: { path?: string | RegExp; field: string; value: unknown; allowed: RegExp }): void {
  let error: any;
  try { fn(); } catch (e) { error = e; }
  expect(error).toBeDefined();
  expect(error.name).toBe('ValidationError');
  expect(error.field).toBe(expected.field);
  expect(error.value).toEqual(expected.value);
  expect(error.allowed).toMatch(expected.allowed);
  if (expected.path instanceof RegExp) expect(error.path).toMatch(expected.path);
  else if (expected.path) expect(error.path).toBe(expected.path);
  expect(error.message).toContain(error.path);
  expect(error.message).toContain(expected.field);
  expect(error.message).toContain(typeof expected.value === 'string' ? JSON.stringify(expected.value) : String(JSON.stringify(expected.value)));
}

/**
 * Every synthesized object is validated by kubernetes-models, an independent validator generated
 * from the Kubernetes OpenAPI schema. kubernetes-models 4.4.2 carries the 1.27.1 schema, the
 * newest release before 1.28: every GA field we emit exists unchanged in 1.28, and a field new in
 * 1.28 would be rejected (the safe direction). It does not reject unknown fields; our constructs
 * are typed against cdk8s-plus-28's 1.28 types, which do.
 */
export function modelClass(o: K8sObject): new (data: unknown) => { validate(): void } {
  // prometheus-operator objects: the CRD schemas, from the same project's generated package.
  if (o.apiVersion === 'monitoring.coreos.com/v1') return require('@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1')[o.kind];
  // KEDA objects: KEDA's CRD schemas, from the same project's generated package.
  if (o.apiVersion === 'keda.sh/v1alpha1') return require('@kubernetes-models/keda/keda.sh/v1alpha1')[o.kind];
  // External Secrets Operator objects: its CRD schemas, from the same project.
  if (o.apiVersion === 'external-secrets.io/v1beta1') return require('@kubernetes-models/external-secrets/external-secrets.io/v1beta1')[o.kind];
  const [group, version] = o.apiVersion.includes('/') ? o.apiVersion.split('/') : [undefined, o.apiVersion];
  const modulePath = group ? `kubernetes-models/${group}/${version}/${o.kind}` : `kubernetes-models/${version}/${o.kind}`;
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  return require(modulePath)[o.kind];
}
