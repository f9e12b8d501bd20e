import { K8sObject, modelClass, synthSystem, SYSTEM_VARIANTS } from '../helpers';

// Validated by kubernetes-models (see `modelClass` in ../helpers for why that schema).

describe.each(SYSTEM_VARIANTS)('Kubernetes schema, %s', (_name, system, env, props) => {
  const { objects } = synthSystem(system, env, props);

  it.each(objects.map(o => [`${o.kind}/${o.metadata.name}`, o] as const))('%s is valid', (_id, o) => {
    const Model = modelClass(o);
    expect(() => new Model(o).validate()).not.toThrow();
  });
});

describe('the validator itself', () => {
  it('rejects an object the API server would reject', () => {
    const bad = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' }, spec: { selector: {}, template: { spec: { containers: [{ name: 'a', image: 'b:1', ports: [{ containerPort: '8000x' }] }] } } } };
    const Model = modelClass(bad as unknown as K8sObject);
    expect(() => new Model(bad).validate()).toThrow(/containerPort/);
  });
});
