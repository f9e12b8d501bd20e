import { K8sObject, synthSystem, SYSTEM_VARIANTS } from '../helpers';

/**
 * Every synthesized object is validated by kubernetes-models, an independent validator generated
 * from the Kubernetes OpenAPI schema. kubernetes-models 4.4.2 carries the 1.27.1 schema, the
 * newest release before 1.28: every GA field we emit exists unchanged in 1.28, and a field new in
 * 1.28 would be rejected (the safe direction). It does not reject unknown fields; our constructs
 * are typed against cdk8s-plus-28's 1.28 types, which do.
 */
function modelClass(o: K8sObject): new (data: unknown) => { validate(): void } {
  // prometheus-operator objects: the CRD schemas, from the same project's generated package.
  if (o.apiVersion === 'monitoring.coreos.com/v1') return require('@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1')[o.kind];
  const [group, version] = o.apiVersion.includes('/') ? o.apiVersion.split('/') : [undefined, o.apiVersion];
  const modulePath = group ? `kubernetes-models/${group}/${version}/${o.kind}` : `kubernetes-models/${version}/${o.kind}`;
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  return require(modulePath)[o.kind];
}

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
