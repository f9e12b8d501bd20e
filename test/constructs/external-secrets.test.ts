import { ApiObject } from 'cdk8s';
import { ENVIRONMENTS } from '../../lib/environments';
import { conventionalRemoteRef } from '../../lib/external-secrets';
import { secretRequirements } from '../../pulumi/secret-requirements';
import { expectValidationError, find, K8sObject, podSpec, synthChart, synthSystem } from '../helpers';

const ES = { secrets: 'external-secrets', externalSecrets: { storeName: 'vault-backend' } } as const;

/** "<namespace>/<Secret>/<key>" of every data entry of the ExternalSecrets among `objects`. */
function filled(objects: K8sObject[]): string[] {
  return objects.filter(o => o.kind === 'ExternalSecret')
    .flatMap(o => o.spec.data.map((d: any) => `${o.metadata.namespace}/${o.spec.target.name}/${d.secretKey}`)).sort();
}

/** "<namespace>/<Secret>/<key>" of every secretKeyRef of every container, and every TLS Secret the edge mounts. */
function readByPods(objects: K8sObject[]): string[] {
  const refs = new Set<string>();
  for (const o of objects.filter(x => ['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob'].includes(x.kind))) {
    const spec = podSpec(o);
    for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
      for (const e of c.env ?? []) if (e.valueFrom?.secretKeyRef) refs.add(`${o.metadata.namespace}/${e.valueFrom.secretKeyRef.name}/${e.valueFrom.secretKeyRef.key}`);
    }
  }
  return [...refs].sort();
}

describe('secrets: "external-secrets"', () => {
  it('emits an ExternalSecret for every Secret key a pod reads, from the named ClusterSecretStore, by the documented convention', () => {
    const { objects } = synthSystem('quality-billing', ENVIRONMENTS.prod, ES);
    const keys = filled(objects);
    for (const ref of readByPods(objects)) expect(keys).toContain(ref);
    expect(keys).toEqual(expect.arrayContaining([
      'quality-billing/db-credentials/password', 'quality-billing/db-credentials/url', 'quality-billing/app-secrets/secret-key',
      'quality-billing/quality-billing-tls/tls.crt', 'quality-billing/quality-billing-tls/tls.key',
      'quality-billing-logging/elasticsearch-credentials/elastic-password',
    ]));
    const db = find(objects, 'ExternalSecret', 'db-credentials');
    expect(db.apiVersion).toBe('external-secrets.io/v1beta1');
    expect(db.spec.secretStoreRef).toEqual({ name: 'vault-backend', kind: 'ClusterSecretStore' });
    expect(db.spec.target).toMatchObject({ name: 'db-credentials', creationPolicy: 'Owner' });
    expect(db.spec.data.find((d: any) => d.secretKey === 'password').remoteRef).toEqual({ key: 'quality-billing/prod/db-credentials', property: 'password' });
    // The edge's TLS Secret is written as a TLS Secret.
    expect(find(objects, 'ExternalSecret', 'quality-billing-tls').spec.target.template).toEqual({ type: 'kubernetes.io/tls' });
  });

  it('fills exactly the keys the kubernetes mode asks the Pulumi program for, and leaves it nothing to ask', () => {
    const kube = synthChart('merchant-analysis', ENVIRONMENTS.prod);
    const es = synthChart('merchant-analysis', ENVIRONMENTS.prod, ES);
    expect(filled(es.objects)).toEqual(secretRequirements(kube.stack).map(r => `${r.namespace}/${r.secret}/${r.key}`).sort());
    expect(secretRequirements(kube.stack).length).toBeGreaterThan(5);
    expect(secretRequirements(es.stack)).toEqual([]);
  });

  it('kubernetes mode (the default) emits none', () => {
    expect(synthSystem('quality-billing', ENVIRONMENTS.prod).objects.filter(o => o.kind === 'ExternalSecret')).toEqual([]);
  });

  it('counts a workload a consumer adds after the stack is built', () => {
    const { stack } = synthSystem('qcat', ENVIRONMENTS.dev, ES);
    new ApiObject(stack, 'Extra', {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'extra' },
      spec: { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'x:1', env: [{ name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'extra-token', key: 'token' } } }] }] } } },
    });
    const objects = stack.toJson() as K8sObject[];
    expect(find(objects, 'ExternalSecret', 'extra-token').spec.data).toEqual([{ secretKey: 'token', remoteRef: conventionalRemoteRef('qcat', 'dev', 'extra-token', 'token') }]);
    expect(objects.filter(o => o.kind === 'ExternalSecret' && o.metadata.name === 'extra-token')).toHaveLength(1);
  });

  it('takes remote keys from an explicit map that names every key the chart reads', () => {
    const keys = secretRequirements(synthChart('ai-bookkeeping', ENVIRONMENTS.dev).stack);
    const remoteKeys = Object.fromEntries(keys.map(r => [`${r.secret}/${r.key}`, { key: `kv/ai/${r.secret}`, property: r.key.toUpperCase() }]));
    const { objects } = synthChart('ai-bookkeeping', ENVIRONMENTS.dev, { secrets: 'external-secrets', externalSecrets: { storeName: 's', remoteKeys } });
    const some = keys[0];
    const es = find(objects, 'ExternalSecret', some.secret);
    expect(es.spec.data.find((d: any) => d.secretKey === some.key).remoteRef).toEqual({ key: `kv/ai/${some.secret}`, property: some.key.toUpperCase() });
  });

  it('a key map that misses a key the chart reads fails at synth, naming the key, who reads it and the keys allowed', () => {
    const keys = secretRequirements(synthChart('quality-billing', ENVIRONMENTS.prod).stack);
    const remoteKeys = Object.fromEntries(keys.filter(r => !(r.secret === 'db-credentials' && r.key === 'password')).map(r => [`${r.secret}/${r.key}`, { key: `x/${r.secret}`, property: r.key }]));
    const build = () => synthSystem('quality-billing', ENVIRONMENTS.prod, { secrets: 'external-secrets', externalSecrets: { storeName: 'vault-backend', remoteKeys } });
    expectValidationError(build, { path: 'quality-billing/ExternalSecrets', field: 'remoteKeys', value: 'db-credentials/password', allowed: /missing db-credentials\/password \(read by .*StatefulSet\/quality-billing-postgres\).*"db-credentials\/url"/ });
  });

  it('refuses a key map entry the chart does not read, an empty remote key, a bad store and a mode without its store', () => {
    const keys = secretRequirements(synthChart('qcat', ENVIRONMENTS.dev).stack);
    const full = Object.fromEntries(keys.map(r => [`${r.secret}/${r.key}`, { key: `x/${r.secret}`, property: r.key }]));
    expectValidationError(() => synthSystem('qcat', ENVIRONMENTS.dev, { secrets: 'external-secrets', externalSecrets: { storeName: 's', remoteKeys: { ...full, 'db-credentials/pasword': { key: 'x' } } } }),
      { path: 'qcat/ExternalSecrets', field: 'remoteKeys key', value: 'db-credentials/pasword', allowed: /"db-credentials\/password"/ });
    const first = `${keys[0].secret}/${keys[0].key}`;
    expectValidationError(() => synthSystem('qcat', ENVIRONMENTS.dev, { secrets: 'external-secrets', externalSecrets: { storeName: 's', remoteKeys: { ...full, [first]: { key: ' ' } } } }),
      { path: 'qcat/ExternalSecrets', field: `remoteKeys["${first}"].key`, value: ' ', allowed: /non-empty/ });
    expectValidationError(() => synthSystem('qcat', ENVIRONMENTS.dev, { secrets: 'external-secrets', externalSecrets: { storeName: 's', storeKind: 'Vault' as any } }),
      { path: 'qcat/ExternalSecrets', field: 'storeKind', value: 'Vault', allowed: /ClusterSecretStore/ });
    expectValidationError(() => synthSystem('qcat', ENVIRONMENTS.dev, { secrets: 'external-secrets' }),
      { path: 'qcat', field: 'externalSecrets', value: undefined, allowed: /storeName/ });
    expectValidationError(() => synthSystem('qcat', ENVIRONMENTS.dev, { externalSecrets: { storeName: 's' } }),
      { path: 'qcat', field: 'secrets', value: 'kubernetes', allowed: /"external-secrets"/ });
    expectValidationError(() => synthSystem('qcat', ENVIRONMENTS.dev, { secrets: 'vault' as any }),
      { path: 'qcat', field: 'secrets', value: 'vault', allowed: /external-secrets/ });
  });

  it('every ExternalSecret passes the operator\'s CRD schema, and the schema rejects a broken one', () => {
    const { objects } = synthSystem('quality-billing', ENVIRONMENTS.prod, ES);
    const { ExternalSecret } = require('@kubernetes-models/external-secrets/external-secrets.io/v1beta1');
    for (const o of objects.filter(x => x.kind === 'ExternalSecret')) expect(() => new ExternalSecret(o).validate()).not.toThrow();
    const broken = find(objects, 'ExternalSecret', 'db-credentials');
    expect(() => new ExternalSecret({ ...broken, spec: { ...broken.spec, data: [{ secretKey: 'password' }] } }).validate()).toThrow(/remoteRef/);
  });
});
