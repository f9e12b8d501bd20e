import { deploymentPlan, PlanWait, topologicalOrder } from '../../lib/deployment-plan';
import { ValidationError } from '../../lib/errors';
import { K8sJson } from '../../lib/k8s-objects';

const NS = 'shop';
const meta = (name: string, labels?: Record<string, string>) => ({ name, namespace: NS, ...(labels ? { labels } : {}) });
const namespace: K8sJson = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } };
const configMap = (name: string): K8sJson => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: meta(name), data: {} });
const secret = (name: string): K8sJson => ({ apiVersion: 'v1', kind: 'Secret', metadata: meta(name) });
const service = (name: string, selector: Record<string, string> | undefined, extra: object = {}): K8sJson => ({
  apiVersion: 'v1', kind: 'Service', metadata: meta(name), spec: { selector, ports: [{ port: 5432 }], ...extra },
});
const workload = (kind: string, name: string, podSpec: object, labels = { app: name }, extra: object = {}): K8sJson => ({
  apiVersion: kind === 'Job' ? 'batch/v1' : 'apps/v1', kind, metadata: meta(name, labels),
  spec: { ...extra, template: { metadata: { labels }, spec: { containers: [{ name: 'main', image: 'x:1' }], ...podSpec } } },
});
const egressPolicy = (name: string, from: Record<string, string>, to: Record<string, string>, port: number): K8sJson => ({
  apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: meta(name),
  spec: { podSelector: { matchLabels: from }, policyTypes: ['Egress'], egress: [{ to: [{ podSelector: { matchLabels: to } }], ports: [{ port, protocol: 'TCP' }] }] },
});

const waitsOf = (objects: K8sJson[], key: string): PlanWait[] => [...deploymentPlan(objects).waits[key]];

describe('deploymentPlan: what an object waits for, and why', () => {
  it.each([
    ['a mounted ConfigMap', [configMap('cfg')], { volumes: [{ name: 'c', configMap: { name: 'cfg' } }] }, 'ConfigMap/shop/cfg', 'mounts ConfigMap cfg'],
    ['a mounted Secret', [secret('tls')], { volumes: [{ name: 's', secret: { secretName: 'tls' } }] }, 'Secret/shop/tls', 'mounts Secret tls'],
    ['an env secretKeyRef', [secret('db')], { containers: [{ name: 'm', env: [{ name: 'P', valueFrom: { secretKeyRef: { name: 'db', key: 'p' } } }] }] }, 'Secret/shop/db', 'references Secret db'],
    ['an env configMapKeyRef', [configMap('env')], { containers: [{ name: 'm', env: [{ name: 'E', valueFrom: { configMapKeyRef: { name: 'env', key: 'e' } } }] }] }, 'ConfigMap/shop/env', 'references ConfigMap env'],
    ['an envFrom secretRef', [secret('all')], { containers: [{ name: 'm', envFrom: [{ secretRef: { name: 'all' } }] }] }, 'Secret/shop/all', 'references Secret all'],
    ['a PVC claim', [{ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: meta('data') }], { volumes: [{ name: 'd', persistentVolumeClaim: { claimName: 'data' } }] }, 'PersistentVolumeClaim/shop/data', 'mounts PersistentVolumeClaim data'],
    ['its ServiceAccount', [{ apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta('runner') }], { serviceAccountName: 'runner' }, 'ServiceAccount/shop/runner', 'runs as ServiceAccount runner'],
    ['the Job its init container waits for', [workload('Job', 'migrate-abc', { restartPolicy: 'Never' }, { app: 'migrate' })],
      { initContainers: [{ name: 'wait-for-migration', env: [{ name: 'JOB_NAME', value: 'migrate-abc' }] }] }, 'Job/shop/migrate-abc', 'init container wait-for-migration waits for Job migrate-abc'],
  ] as const)('a Deployment waits for %s', (_what, others, podSpec, on, reason) => {
    const objects = [namespace, ...others as unknown as K8sJson[], workload('Deployment', 'api', podSpec)];
    expect(waitsOf(objects, 'Deployment/shop/api')).toContainEqual({ on, reason });
  });

  it('puts every namespaced object after its Namespace and lists it as the reason', () => {
    const objects = [configMap('cfg'), namespace];
    const plan = deploymentPlan(objects);
    expect(plan.waits['ConfigMap/shop/cfg']).toEqual([{ on: 'Namespace/_/shop', reason: 'lives in Namespace shop' }]);
    expect(plan.order).toEqual(['Namespace/_/shop', 'ConfigMap/shop/cfg']);
  });

  it('lists Secrets that are referenced but not synthesized as external inputs, with who uses them', () => {
    const objects = [namespace, workload('Deployment', 'api', { containers: [{ name: 'm', env: [{ name: 'K', valueFrom: { secretKeyRef: { name: 'app-secrets', key: 'k' } } }] }] }),
      workload('StatefulSet', 'db', { volumes: [{ name: 's', secret: { secretName: 'app-secrets' } }] })];
    const plan = deploymentPlan(objects);
    expect(plan.externalSecrets).toEqual([{ key: 'Secret/shop/app-secrets', namespace: 'shop', name: 'app-secrets', referencedBy: ['Deployment/shop/api', 'StatefulSet/shop/db'] }]);
    expect(plan.waits['Deployment/shop/api']).toContainEqual({ on: 'Secret/shop/app-secrets', reason: 'references Secret app-secrets (made outside the chart)' });
    expect(plan.order).not.toContain('Secret/shop/app-secrets');
  });

  it('makes a reader of a Secret an ExternalSecret writes wait for that ExternalSecret, and does not list the Secret as made outside', () => {
    const externalSecret: K8sJson = { apiVersion: 'external-secrets.io/v1beta1', kind: 'ExternalSecret', metadata: meta('db-sync'), spec: { target: { name: 'db' } } };
    const named: K8sJson = { apiVersion: 'external-secrets.io/v1beta1', kind: 'ExternalSecret', metadata: meta('tls'), spec: {} };
    const objects = [namespace, workload('Deployment', 'api', {
      containers: [{ name: 'm', env: [{ name: 'P', valueFrom: { secretKeyRef: { name: 'db', key: 'p' } } }] }], volumes: [{ name: 't', secret: { secretName: 'tls' } }],
    }), externalSecret, named];
    const plan = deploymentPlan(objects);
    expect(plan.waits['Deployment/shop/api']).toEqual(expect.arrayContaining([
      { on: 'ExternalSecret/shop/db-sync', reason: 'references Secret db, which ExternalSecret db-sync has the External Secrets Operator write (Ready once written)' },
      { on: 'ExternalSecret/shop/tls', reason: 'mounts Secret tls, which ExternalSecret tls has the External Secrets Operator write (Ready once written)' },
    ]));
    expect(plan.externalSecrets).toEqual([]);
    expect(plan.order.indexOf('ExternalSecret/shop/db-sync')).toBeLessThan(plan.order.indexOf('Deployment/shop/api'));
  });

  it('leaves optional references out', () => {
    const objects = [namespace, workload('Deployment', 'api', { volumes: [{ name: 'c', configMap: { name: 'maybe', optional: true } }] }), configMap('maybe')];
    expect(waitsOf(objects, 'Deployment/shop/api').map(w => w.on)).not.toContain('ConfigMap/shop/maybe');
  });

  it('never makes a workload wait for the Service in front of its own pods (the endpoints trap of providers before 4.17.0, pulumi-kubernetes #1974)', () => {
    const objects = [namespace, service('db', { app: 'db' }), workload('StatefulSet', 'db', {}, { app: 'db' }, { serviceName: 'db' })];
    expect(waitsOf(objects, 'StatefulSet/shop/db').map(w => w.on)).toEqual(['Namespace/_/shop']);
  });

  it('never makes a StatefulSet wait for the headless Service in front of its own pods either', () => {
    const objects = [namespace, service('db', { app: 'db' }, { clusterIP: 'None', publishNotReadyAddresses: true }),
      workload('StatefulSet', 'db', {}, { app: 'db' }, { serviceName: 'db' })];
    expect(waitsOf(objects, 'StatefulSet/shop/db').map(w => w.on)).toEqual(['Namespace/_/shop']);
  });

  it('makes a Job wait for the server its NetworkPolicy egress reaches, and the Service in front of it', () => {
    const objects = [namespace, service('db', { app: 'db' }), workload('StatefulSet', 'db', {}, { app: 'db' }),
      egressPolicy('migrate', { app: 'migrate' }, { app: 'db' }, 5432), workload('Job', 'migrate', { restartPolicy: 'Never' }, { app: 'migrate' })];
    const waits = waitsOf(objects, 'Job/shop/migrate');
    expect(waits).toContainEqual({ on: 'StatefulSet/shop/db', reason: 'needs server StatefulSet db ready (port 5432, NetworkPolicy migrate egress)' });
    expect(waits).toContainEqual({ on: 'Service/shop/db', reason: 'connects through Service db' });
    expect(waits).toContainEqual({ on: 'NetworkPolicy/shop/migrate', reason: 'NetworkPolicy migrate selects its pods' });
  });

  it('makes a setup Job wait for the server its environment names (http://host:port)', () => {
    const objects = [namespace, service('search', { app: 'search' }, { ports: [{ port: 9200 }] }), workload('StatefulSet', 'search', {}, { app: 'search' }),
      workload('Job', 'setup', { restartPolicy: 'OnFailure', containers: [{ name: 'setup', env: [{ name: 'ES_URL', value: 'http://search:9200' }] }] }, { app: 'setup' })];
    expect(waitsOf(objects, 'Job/shop/setup')).toContainEqual({ on: 'StatefulSet/shop/search', reason: 'needs server StatefulSet search ready (port 9200, env ES_URL of setup)' });
  });

  it('does not make a long-running client wait for its servers (clients retry; only a Job runs once)', () => {
    const objects = [namespace, service('db', { app: 'db' }), workload('StatefulSet', 'db', {}, { app: 'db' }),
      egressPolicy('api', { app: 'api' }, { app: 'db' }, 5432), workload('Deployment', 'api', {}, { app: 'api' })];
    expect(waitsOf(objects, 'Deployment/shop/api').map(w => w.on)).not.toContain('StatefulSet/shop/db');
  });

  it('makes a RoleBinding wait for its Role and ServiceAccount, and the pods running as that account wait for the binding', () => {
    const objects = [namespace, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta('waiter') },
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: meta('waiter'), rules: [] },
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: meta('waiter'), roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'waiter' }, subjects: [{ kind: 'ServiceAccount', name: 'waiter' }] },
      workload('Deployment', 'api', { serviceAccountName: 'waiter' })] as K8sJson[];
    const plan = deploymentPlan(objects);
    expect(plan.waits['RoleBinding/shop/waiter'].map(w => w.reason)).toEqual(['lives in Namespace shop', 'grants Role waiter', 'binds ServiceAccount waiter']);
    expect(plan.waits['Deployment/shop/api']).toContainEqual({ on: 'RoleBinding/shop/waiter', reason: 'RoleBinding waiter grants ServiceAccount waiter its permissions' });
  });

  it('makes an Ingress wait for the Services it routes to and its TLS Secret', () => {
    const ingress: K8sJson = { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: meta('web'),
      spec: { tls: [{ secretName: 'web-tls' }], rules: [{ http: { paths: [{ path: '/', backend: { service: { name: 'api', port: { number: 80 } } } }] } }] } };
    const waits = waitsOf([namespace, service('api', { app: 'api' }), ingress], 'Ingress/shop/web');
    expect(waits).toContainEqual({ on: 'Service/shop/api', reason: 'routes to Service api' });
    expect(waits).toContainEqual({ on: 'Secret/shop/web-tls', reason: 'serves TLS from Secret web-tls (made outside the chart)' });
  });

  it('refuses two objects with the same key', () => {
    expect(() => deploymentPlan([namespace, configMap('a'), configMap('a')])).toThrow(ValidationError);
  });
});

describe('a plan with a cycle fails before anything is applied, and names the chain', () => {
  it.each([
    ['two objects', { 'Job/s/migrate': [{ on: 'StatefulSet/s/db', reason: 'needs server StatefulSet db ready' }], 'StatefulSet/s/db': [{ on: 'Job/s/migrate', reason: 'dependsOn Job migrate' }] },
      /StatefulSet db dependsOn Job migrate → Job migrate needs server StatefulSet db ready|Job migrate needs server StatefulSet db ready → StatefulSet db dependsOn Job migrate/],
    ['three objects', { 'A/s/a': [{ on: 'B/s/b', reason: 'uses b' }], 'B/s/b': [{ on: 'C/s/c', reason: 'uses c' }], 'C/s/c': [{ on: 'A/s/a', reason: 'uses a' }] },
      /A a uses b → B b uses c → C c uses a/],
  ] as const)('%s', (_name, waits, chain) => {
    let error: unknown;
    try {
      topologicalOrder(Object.keys(waits), waits as unknown as Record<string, PlanWait[]>);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe('waits');
    expect((error as ValidationError).message).toMatch(chain);
  });

  it('found in the objects themselves: two Jobs whose init containers wait for each other', () => {
    const waiter = (name: string, other: string) => workload('Job', name, { restartPolicy: 'Never', initContainers: [{ name: 'wait-for-migration', env: [{ name: 'JOB_NAME', value: other }] }] }, { app: name });
    expect(() => deploymentPlan([namespace, waiter('a', 'b'), waiter('b', 'a')])).toThrow(
      /DeploymentPlan: invalid waits "Job (a|b) init container wait-for-migration waits for Job (b|a) → Job (b|a) init container wait-for-migration waits for Job (a|b)": expected a plan without a cycle/);
  });

  it('orders an acyclic plan with every object after what it waits for', () => {
    const waits = { 'C/s/c': [{ on: 'B/s/b', reason: 'uses b' }], 'B/s/b': [{ on: 'A/s/a', reason: 'uses a' }], 'A/s/a': [] };
    expect(topologicalOrder(['C/s/c', 'B/s/b', 'A/s/a'], waits)).toEqual(['A/s/a', 'B/s/b', 'C/s/c']);
  });
});
