import { spawnSync } from 'child_process';
import { runInNewContext } from 'vm';
import { AppService } from '../../constructs/app/app-service';
import { MongoReplicaSet } from '../../constructs/data/mongo-replica-set';
import { Monitoring } from '../../constructs/monitoring/monitoring';
import { RS_INIT_SHELL, rsInitiateScript, rsUsersScript } from '../../lib/mongo-replica-set-scripts';
import { ByteQuantity } from '../../lib/quantity';
import { mongoCacheSizeGb } from '../../lib/tuning';
import { PLACEHOLDER_RECEIVERS } from '../../stacks/quality-billing-stack';
import { envOf, expectValidationError, find, modelClass, podSpec, synth, testChart } from '../helpers';

describe('MongoReplicaSet', () => {
  const chart = testChart();
  const mongo = new MongoReplicaSet(chart, 'Mongo', { name: 'orders-mongo', tier: 'minimum', database: 'orders', appUser: 'orders' });
  const api = new AppService(chart, 'Api').connectTo(mongo);
  new Monitoring(chart, 'Monitoring', { receivers: PLACEHOLDER_RECEIVERS, tier: 'minimum' }).monitor(mongo);
  const objects = synth(chart);
  const sts = find(objects, 'StatefulSet', 'orders-mongo');
  const spec = podSpec(sts);
  const mongod = spec.containers.find((c: any) => c.name === 'mongod');

  it('runs three members of rs0, one per node, with a volume each and one allowed down', () => {
    expect(sts.spec.replicas).toBe(3);
    expect(mongod.args.slice(0, 3)).toEqual(['mongod', '--replSet', 'rs0']);
    expect(spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0]).toMatchObject({ topologyKey: 'kubernetes.io/hostname' });
    expect(sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe('20Gi');
    expect(find(objects, 'PodDisruptionBudget', 'orders-mongo').spec.maxUnavailable).toBe(1);
    expect(mongo.sizings()[0]).toMatchObject({ replicas: 3, onePerNode: true });
  });

  it('gives members stable names before they are ready, through a headless Service', () => {
    const svc = find(objects, 'Service', 'orders-mongo');
    expect(svc.spec).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true });
    expect(mongo.hosts).toEqual(['orders-mongo-0.orders-mongo:27017', 'orders-mongo-1.orders-mongo:27017', 'orders-mongo-2.orders-mongo:27017']);
  });

  it('authenticates members by a key file copied to 0400 for mongod, and the root user from Secret references', () => {
    expect(mongod.args).toEqual(expect.arrayContaining(['--keyFile', '/etc/mongo-key/keyfile']));
    expect(spec.initContainers[0].command.join(' ')).toContain('chmod 0400 /etc/mongo-key/keyfile');
    expect(spec.volumes.find((v: any) => v.name === 'key-source').secret).toMatchObject({ secretName: 'mongo-keyfile', items: [{ key: 'keyfile', path: 'keyfile' }] });
    expect(envOf(mongod)).toEqual({ MONGO_INITDB_ROOT_USERNAME: 'secret:mongo-credentials/root-user', MONGO_INITDB_ROOT_PASSWORD: 'secret:mongo-credentials/root-password' });
  });

  it('sizes the WiredTiger cache from the memory limit, never from the node', () => {
    expect(mongod.args).toEqual(expect.arrayContaining(['--wiredTigerCacheSizeGB', '0.25']));
    expect(mongoCacheSizeGb(ByteQuantity.parse('1Gi'))).toBe(0.25);
    expect(mongoCacheSizeGb(ByteQuantity.parse('2Gi'))).toBe(0.5);
    expect(mongoCacheSizeGb(ByteQuantity.parse('8Gi'))).toBe(3.5);
  });

  it('hands clients the replica-set URI with every member and the password from the Secret', () => {
    const env = envOf(podSpec(find(objects, 'Deployment', api.name)).containers[0]);
    expect(env.MONGODB_PASSWORD).toBe('secret:mongo-credentials/app-password');
    expect(env.MONGODB_URI).toBe('mongodb://orders:$(MONGODB_PASSWORD)@orders-mongo-0.orders-mongo:27017,orders-mongo-1.orders-mongo:27017,orders-mongo-2.orders-mongo:27017/orders?replicaSet=rs0&authSource=admin');
    const policy = find(objects, 'NetworkPolicy', 'orders-mongo');
    const from = policy.spec.ingress.filter((r: any) => r.ports.some((p: any) => p.port === 27017)).flatMap((r: any) => r.from.map((f: any) => f.podSelector.matchLabels['app.kubernetes.io/name']));
    expect(from.sort()).toEqual(['api', 'orders-mongo', 'orders-mongo-init']);
  });

  it('exports metrics with a clusterMonitor user whose password Kubernetes expands at start', () => {
    const exporter = spec.containers.find((c: any) => c.name === 'exporter');
    expect(envOf(exporter).MONGODB_URI).toBe('mongodb://exporter:$(MONGO_EXPORTER_PASSWORD)@127.0.0.1:27017/admin?directConnection=true');
    expect(find(objects, 'ConfigMap', 'prometheus-config').data['prometheus.yml']).toContain('orders-mongo');
  });

  it('initiates with a Job named by its scripts, which waits for every member', () => {
    const job = objects.find(o => o.kind === 'Job' && o.metadata.name.startsWith('orders-mongo-init-'))!;
    const env = envOf(podSpec(job).containers[0]);
    expect(env.MEMBERS).toBe(mongo.hosts.join(' '));
    expect(env.SET_URI).toBe(`mongodb://${mongo.hosts.join(',')}/admin?replicaSet=rs0`);
    expect(env.APP_PASSWORD).toBe('secret:mongo-credentials/app-password');
    expect(find(objects, 'ConfigMap', 'orders-mongo-init-scripts').data).toEqual(mongo.initScripts);
    expect(spawnSync('sh', ['-n'], { input: RS_INIT_SHELL }).status).toBe(0);
  });

  it('is valid against the Kubernetes schema and runs every container restricted', () => {
    for (const o of objects.filter(x => x.metadata.name.startsWith('orders-mongo'))) {
      const Model = modelClass(o);
      expect(() => new Model(o).validate()).not.toThrow();
    }
    for (const c of [...spec.initContainers, ...spec.containers]) {
      expect(c.securityContext).toMatchObject({ runAsNonRoot: true, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
      expect(c.resources.limits).toBeDefined();
    }
  });

  it('refuses an even number of members, a lone member unless allowed, and a bad set name', () => {
    expectValidationError(() => new MongoReplicaSet(testChart(), 'M', { members: 4 }), { path: 'test/M', field: 'members', value: 4, allowed: /odd number/ });
    expectValidationError(() => new MongoReplicaSet(testChart(), 'M', { members: 1 }), { path: 'test/M', field: 'members', value: 1, allowed: /at least 3.*allowSingleMember/ });
    expectValidationError(() => new MongoReplicaSet(testChart(), 'M', { replicaSet: 'rs 0' }), { path: 'test/M', field: 'replicaSet', value: 'rs 0', allowed: /letters, digits/ });
    const dev = synth((() => { const c = testChart(); new MongoReplicaSet(c, 'M', { members: 1, allowSingleMember: true }); return c; })());
    expect(find(dev, 'StatefulSet', 'mongo').spec.replicas).toBe(1);
    expect(dev.some(o => o.kind === 'PodDisruptionBudget')).toBe(false);
  });
});

describe('the replica-set scripts, run by a JavaScript engine against a stand-in shell API', () => {
  // No MongoDB or mongo shell exists for this machine: the scripts are mongo-shell JavaScript, so
  // they run here in a fresh V8 context whose rs/db/print/load record what the shell would do.
  const init = { replicaSet: 'rs0', members: ['m-0.m:27017', 'm-1.m:27017', 'm-2.m:27017'], appDatabase: 'orders', appUser: 'orders' };

  function initiate(status: () => unknown, initiateResult: unknown = { ok: 1 }): { initiated: unknown[]; printed: string[] } {
    const initiated: unknown[] = [];
    const printed: string[] = [];
    runInNewContext(rsInitiateScript(init), {
      rs: { status, initiate: (c: unknown) => { initiated.push(c); return initiateResult; } },
      print: (s: string) => printed.push(s),
      JSON,
    });
    return { initiated, printed };
  }
  const notYet = Object.assign(new Error('no replset config has been received'), { code: 94, codeName: 'NotYetInitialized' });

  it('initiates a new set with every member, member 0 preferred as primary (mongosh throws NotYetInitialized)', () => {
    const r = initiate(() => { throw notYet; });
    expect(r.initiated).toEqual([{ _id: 'rs0', members: [
      { _id: 0, host: 'm-0.m:27017', priority: 2 }, { _id: 1, host: 'm-1.m:27017', priority: 1 }, { _id: 2, host: 'm-2.m:27017', priority: 1 },
    ] }]);
  });

  it('initiates when the legacy shell returns the error document instead of throwing', () => {
    expect(initiate(() => ({ ok: 0, code: 94, codeName: 'NotYetInitialized' })).initiated).toHaveLength(1);
  });

  it('leaves an initiated set alone, so a second run changes nothing', () => {
    const r = initiate(() => ({ ok: 1, set: 'rs0', members: [{}, {}, {}] }));
    expect(r.initiated).toEqual([]);
    expect(r.printed.join('\n')).toContain('already initiated (3 members)');
  });

  it('fails on any other error, and when initiation is refused', () => {
    expect(() => initiate(() => { throw Object.assign(new Error('not authorized'), { code: 13, codeName: 'Unauthorized' }); })).toThrow(/rs.status failed.*Unauthorized/);
    expect(() => initiate(() => { throw notYet; }, { ok: 0, errmsg: 'hosts unreachable' })).toThrow(/rs.initiate failed.*unreachable/);
  });

  it('creates the exporter and application users when missing and updates them when present, reading passwords from the credentials file', () => {
    const run = (existing: string[]) => {
      const calls: string[] = [];
      const admin = {
        getUser: (u: string) => (existing.includes(u) ? { user: u } : null),
        createUser: (u: any) => calls.push(`create ${u.user} ${u.pwd} ${JSON.stringify(u.roles)}`),
        updateUser: (u: string, o: any) => calls.push(`update ${u} ${o.pwd} ${JSON.stringify(o.roles)}`),
      };
      const context: Record<string, unknown> = {
        db: { getSiblingDB: (name: string) => { expect(name).toBe('admin'); return admin; } },
        print: () => undefined,
        JSON,
      };
      context.load = (file: string) => { expect(file).toBe('/tmp/credentials.js'); context.APP_PASSWORD = 'app-pw'; context.EXPORTER_PASSWORD = 'exp-pw'; };
      runInNewContext(rsUsersScript(init), context);
      return calls;
    };
    expect(run([])).toEqual([
      'create exporter exp-pw [{"role":"clusterMonitor","db":"admin"},{"role":"read","db":"local"}]',
      'create orders app-pw [{"role":"readWrite","db":"orders"}]',
    ]);
    expect(run(['exporter', 'orders'])).toEqual([
      'update exporter exp-pw [{"role":"clusterMonitor","db":"admin"},{"role":"read","db":"local"}]',
      'update orders app-pw [{"role":"readWrite","db":"orders"}]',
    ]);
  });
});
