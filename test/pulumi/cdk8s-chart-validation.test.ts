import * as pulumi from '@pulumi/pulumi';
import { App } from 'cdk8s';
import { defineEnvironment, ENVIRONMENTS } from '../../lib/environments';
import { CapacityError } from '../../lib/errors';
import { Cdk8sChart } from '../../pulumi/cdk8s-chart';
import { QualityBillingStack } from '../../stacks/quality-billing-stack';

// Under Pulumi's mocks (no engine runs): the adapter reads objects one by one, which skips cdk8s's
// synth; it must run the chart's validations itself, so `pulumi up` fails like `npm run synth`.
describe('Cdk8sChart', () => {
  let registered: string[] = [];
  beforeAll(async () => {
    await pulumi.runtime.setMocks({
      newResource: args => { registered.push(args.type); return { id: `${args.name}-id`, state: args.inputs }; },
      call: args => args.inputs,
    }, 'quality-billing', 'validation', false);
  });
  beforeEach(() => { registered = []; });

  it('refuses a chart whose environment cannot hold it before registering any resource', () => {
    const stack = new QualityBillingStack(new App(), 'quality-billing', { environment: defineEnvironment({ name: 'oversized', tier: 'minimum', nodes: 1, appReplicas: 12 }) });
    expect(() => new Cdk8sChart('oversized', { chart: stack })).toThrow(CapacityError);
    expect(registered.filter(t => t.startsWith('kubernetes:'))).toEqual([]);
  });

  it('applies a chart that passes', async () => {
    const stack = new QualityBillingStack(new App(), 'quality-billing', { environment: ENVIRONMENTS.dev });
    const chart = new Cdk8sChart('dev', { chart: stack });
    expect(Object.keys(chart.resources).length).toBe(stack.toJson().length);
    await new Promise(r => setTimeout(r, 300));
  });
});
