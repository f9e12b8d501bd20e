import { SHIPPED, synthChart, synthStack } from '../helpers';

// One snapshot per environment: a reviewer sees every object a change touches. Correctness is
// asserted by the schema, policy and construct tests, not here.
describe.each(SHIPPED)('QualityBillingStack %s', (_name, env) => {
  it('matches the reviewed manifest snapshot', () => {
    expect(synthStack(env).objects).toMatchSnapshot();
  });
});

describe.each(['qcat', 'finance-ai', 'merchant-analysis', 'ai-bookkeeping'].flatMap(sys => SHIPPED.map(([name, env]) => [sys, name, env] as const)))('%s %s', (sys, _name, env) => {
  it('matches the reviewed manifest snapshot', () => {
    expect(synthChart(sys, env).objects).toMatchSnapshot();
  });
});
