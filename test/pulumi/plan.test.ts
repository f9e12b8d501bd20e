import * as pulumi from '@pulumi/pulumi';
import * as k8s from '@pulumi/kubernetes';
import { clusterCapacity } from '../../bin/rehearse';
import { assertAcyclic, deploymentPlan, DeploymentPlan, PlanWait, topologicalOrder } from '../../lib/deployment-plan';
import { ENVIRONMENTS } from '../../lib/environments';
import { K8sJson } from '../../lib/k8s-objects';
import { rehearse } from '../../lib/rehearsal/rehearse';
import { Cdk8sChart } from '../../pulumi/cdk8s-chart';
import { SYSTEMS } from '../../stacks/systems';
import { ApiObject, App, Chart } from 'cdk8s';
import { ValidationError } from '../../lib/errors';
import { SystemStackProps } from '../../stacks/system-stack';
import { EXTERNAL_SECRETS_VARIANTS } from '../helpers';

/*
 * The dependency graph Cdk8sChart hands to the Pulumi engine, recorded under Pulumi's mocks from
 * the resource options each resource is constructed with (a transformation on the component sees
 * every child's `opts.dependsOn`), not from the order of registration. Combined with the
 * provider's await rules in the rehearsal, it must deliver every system and environment.
 */

const STACKS = SYSTEMS.flatMap(s => Object.values(ENVIRONMENTS).map(e => [s.name, e.name] as const));

const registered: string[] = [];
beforeAll(async () => {
  await pulumi.runtime.setMocks({
    newResource: args => {
      registered.push(args.name);
      return { id: `${args.name}-id`, state: args.inputs };
    },
    call: args => args.inputs,
  }, 'quality-billing', 'plan-test', false);
});

/** Builds the stack, wraps it in Cdk8sChart with fake external Secrets, and records each resource's dependsOn from its options. */
async function recordGraph(system: string, env: string, props: Omit<SystemStackProps, 'environment'> = {}): Promise<{ objects: K8sJson[]; plan: DeploymentPlan; recorded: DeploymentPlan }> {
  const stack = SYSTEMS.find(s => s.name === system)!.create(ENVIRONMENTS[env as keyof typeof ENVIRONMENTS], props);
  const objects = stack.toJson() as K8sJson[];
  const plan = deploymentPlan(objects);
  const options = new Map<pulumi.Resource, pulumi.Input<pulumi.Resource>[]>();
  const record: pulumi.ResourceTransformation = args => {
    const deps = args.opts.dependsOn;
    options.set(args.resource, deps === undefined ? [] : Array.isArray(deps) ? [...deps] : [deps as pulumi.Input<pulumi.Resource>]);
    return undefined;
  };
  const fakeSecrets = new Map<pulumi.Resource, string>();
  const chart = new Cdk8sChart(`${system}-${env}${props.secrets ? `-${props.secrets}` : ''}`, {
    chart: stack,
    workloadDependsOn: namespaces => plan.externalSecrets.map(e => {
      const secret = new k8s.core.v1.Secret(`fake-${e.namespace}-${e.name}`, { metadata: { name: e.name, namespace: e.namespace } }, { dependsOn: [...namespaces] });
      fakeSecrets.set(secret, e.key);
      return secret;
    }),
  }, { transformations: [record] });
  await Promise.all(Object.values(chart.resources).map(r => new Promise(resolve => r.urn.apply(resolve))));
  const keyOf = new Map<pulumi.Resource, string>([...Object.entries(chart.resources).map(([k, r]) => [r, k] as [pulumi.Resource, string]), ...fakeSecrets]);
  const waits: Record<string, PlanWait[]> = {};
  for (const [key, resource] of Object.entries(chart.resources)) {
    const deps = options.get(resource);
    if (!deps) throw new Error(`no options recorded for ${key}`);
    waits[key] = deps.map(d => {
      const on = keyOf.get(d as pulumi.Resource);
      if (!on) throw new Error(`${key} dependsOn a resource that is neither an object of the chart nor an external Secret`);
      return { on, reason: 'dependsOn (recorded from the resource options)' };
    });
  }
  const recorded: DeploymentPlan = { order: topologicalOrder(Object.keys(waits), waits), waits, externalSecrets: plan.externalSecrets };
  return { objects, plan, recorded };
}

describe.each(STACKS)('%s %s: the graph passed to the engine (Pulumi mocks)', (system, env) => {
  let graph: Awaited<ReturnType<typeof recordGraph>>;
  beforeAll(async () => {
    graph = await recordGraph(system, env);
  });

  it('gives every object the dependsOn of its plan (external Secrets → the fake Secret resources), and has no cycle', () => {
    expect(() => assertAcyclic(graph.recorded.waits)).not.toThrow();
    const external = new Set(graph.plan.externalSecrets.map(e => e.key));
    for (const [key, waits] of Object.entries(graph.plan.waits)) {
      const recorded = new Set(graph.recorded.waits[key].map(w => w.on));
      for (const w of waits.filter(x => !external.has(x.on))) expect({ key, on: w.on, recorded: recorded.has(w.on) }).toEqual({ key, on: w.on, recorded: true });
      if (waits.some(w => external.has(w.on))) expect([...external].every(k => recorded.has(k))).toBe(true);
      expect(recorded.size).toBe(waits.filter(x => !external.has(x.on)).length + (waits.some(w => external.has(w.on)) ? external.size : 0));
    }
  });

  it('combined with the provider\'s await rules, the first pulumi up converges (rehearsal)', () => {
    const stack = SYSTEMS.find(s => s.name === system)!.create(ENVIRONMENTS[env as keyof typeof ENVIRONMENTS]);
    const r = rehearse({ objects: graph.objects, plan: graph.recorded, capacity: clusterCapacity(stack.environment), path: 'pulumi' });
    expect({ blocked: r.blocked, failures: r.failures }).toEqual({ blocked: [], failures: [] });
    expect(r.converged).toBe(true);
  });
});

describe.each(EXTERNAL_SECRETS_VARIANTS)('%s: the graph passed to the engine (Pulumi mocks)', (_label, system, env, props) => {
  let graph: Awaited<ReturnType<typeof recordGraph>>;
  beforeAll(async () => {
    graph = await recordGraph(system, env.name, props);
  });

  it('makes every reader of a Secret dependsOn the ExternalSecret that has it written, and asks for no Secret from outside', () => {
    expect(graph.plan.externalSecrets).toEqual([]);
    const readers = Object.entries(graph.recorded.waits).filter(([, waits]) => waits.some(w => w.on.startsWith('ExternalSecret/')));
    expect(readers.length).toBeGreaterThan(5);
    const postgres = Object.keys(graph.recorded.waits).find(k => /^StatefulSet\/[^/]+\/[a-z-]+-(postgres|mongodb)$/.test(k))!;
    expect(graph.recorded.waits[postgres].map(w => w.on).some(on => on.startsWith('ExternalSecret/'))).toBe(true);
    for (const o of graph.objects.filter(x => x.kind === 'ExternalSecret')) expect(o.metadata.annotations?.['pulumi.com/waitFor']).toBe('condition=Ready');
  });

  it('combined with the provider\'s await rules (an ExternalSecret awaited until Ready), the first pulumi up converges (rehearsal)', () => {
    const stack = SYSTEMS.find(s => s.name === system)!.create(env, props);
    const r = rehearse({ objects: graph.objects, plan: graph.recorded, capacity: clusterCapacity(stack.environment), path: 'pulumi' });
    expect({ blocked: r.blocked, failures: r.failures }).toEqual({ blocked: [], failures: [] });
    expect(r.converged).toBe(true);
  });
});

describe('a plan with a cycle', () => {
  it('fails before anything is registered, naming the chain', async () => {
    const chart = new Chart(new App(), 'cyclic', { namespace: 'cyclic' });
    const job = (id: string, other: string) => new ApiObject(chart, id, {
      apiVersion: 'batch/v1', kind: 'Job', metadata: { name: id },
      spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'x:1' }], initContainers: [{ name: 'wait', image: 'x:1', env: [{ name: 'JOB_NAME', value: other }] }] } } },
    } as any);
    job('first', 'second');
    job('second', 'first');
    const before = registered.length;
    expect(() => new Cdk8sChart('cyclic', { chart })).toThrow(ValidationError);
    expect(() => new Cdk8sChart('cyclic', { chart })).toThrow(/Job first init container wait waits for Job second → Job second init container wait waits for Job first|Job second init container wait waits for Job first → Job first init container wait waits for Job second/);
    await new Promise(r => setTimeout(r, 100));
    expect(registered.slice(before)).toEqual([]);
  });
});
