import { SHIPPED, synthStack } from '../helpers';

// One snapshot per environment: a reviewer sees every object a change touches. Correctness is
// asserted by the schema, policy and construct tests, not here.
describe.each(SHIPPED)('QualityBillingStack %s', (_name, env) => {
  it('matches the reviewed manifest snapshot', () => {
    expect(synthStack(env).objects).toMatchSnapshot();
  });
});
