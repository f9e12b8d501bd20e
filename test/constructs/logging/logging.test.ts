import { Elasticsearch } from '../../../constructs/logging/elasticsearch';
import { Logging } from '../../../constructs/logging/logging';
import { ENVIRONMENTS } from '../../../lib/environments';
import { envOf, expectValidationError, find, podSpec, synth, synthStack, testChart } from '../../helpers';

describe('Elasticsearch', () => {
  it('sets the heap to half its memory and needs no privileged sysctl init container', () => {
    const chart = testChart();
    new Elasticsearch(chart, 'Es', { resources: { cpuRequest: '1', cpuLimit: '2', memoryRequest: '4Gi', memoryLimit: '4Gi' } });
    const spec = podSpec(find(synth(chart), 'StatefulSet', 'elasticsearch'));
    expect(envOf(spec.containers[0]).ES_JAVA_OPTS).toBe('-Xms2048m -Xmx2048m');
    expect(envOf(spec.containers[0]).ELASTIC_PASSWORD).toBe('secret:elasticsearch-credentials/elastic-password');
    for (const c of [...spec.initContainers, ...spec.containers]) expect(c.securityContext.privileged).toBe(false);
    expect(spec.initContainers.map((c: any) => c.command.join(' '))).toEqual(['sh -c cp -a /usr/share/elasticsearch/config/. /config/']);
  });

  it('refuses a retention that cannot fit its volume, naming the longest that does', () => {
    expectValidationError(() => new Elasticsearch(testChart(), 'Es', { storage: '20Gi', retentionDays: 30, dailyLogVolume: '2Gi' }),
      { path: 'test/Es', field: 'retentionDays', value: 30, allowed: /at most 7 days/ });
  });

  it('refuses a 3-node cluster without transport certificates', () => {
    expectValidationError(() => new Elasticsearch(testChart(), 'Es', { nodes: 3 }),
      { path: 'test/Es', field: 'transportCertsSecretName', value: undefined, allowed: /transport TLS/ });
  });

  it('runs three nodes spread over hosts with one index replica', () => {
    const chart = testChart();
    const es = new Elasticsearch(chart, 'Es', { nodes: 3, transportCertsSecretName: 'es-transport' });
    const sts = find(synth(chart), 'StatefulSet', 'elasticsearch');
    expect(sts.spec.replicas).toBe(3);
    expect(podSpec(sts).topologySpreadConstraints[0].whenUnsatisfiable).toBe('DoNotSchedule');
    expect(es.indexReplicas).toBe(1);
  });
});

describe('Logging', () => {
  function build() {
    const chart = testChart();
    const logging = new Logging(chart, 'Logging', { sourceNamespace: 'test', clusterNodes: 2, elasticsearch: { retentionDays: 7 } });
    return { logging, objects: synth(chart) };
  }

  it('installs the lifecycle policy, the template and Kibana\'s index pattern from a setup Job', () => {
    const { logging, objects } = build();
    expect(JSON.parse(logging.setup.files['ilm-policy.json']).policy.phases.delete.min_age).toBe('7d');
    expect(JSON.parse(logging.setup.files['index-pattern.json']).attributes.title).toBe('quality-billing-*');
    const job = objects.find(o => o.kind === 'Job')!;
    expect(job.metadata.name).toMatch(/^log-setup-[0-9a-f]{10}$/);
    expect(envOf(podSpec(job).containers[0]).ELASTIC_PASSWORD).toBe('secret:elasticsearch-credentials/elastic-password');
  });

  it('serves Kibana on 5601 as kibana_system', () => {
    const { objects } = build();
    const kibana = podSpec(find(objects, 'Deployment', 'kibana')).containers[0];
    expect(kibana.ports[0].containerPort).toBe(5601);
    expect(envOf(kibana)).toMatchObject({ ELASTICSEARCH_USERNAME: 'kibana_system', ELASTICSEARCH_PASSWORD: 'secret:elasticsearch-credentials/kibana-password' });
  });

  it('keeps Filebeat\'s registry (its data path) on the node, so a recreated pod resumes where the last one stopped', () => {
    const { objects } = build();
    const spec = podSpec(find(objects, 'DaemonSet', 'filebeat'));
    const c = spec.containers[0];
    const dataPath = c.args[c.args.indexOf('--path.data') + 1];
    const mount = c.volumeMounts.find((m: any) => m.mountPath === dataPath);
    expect(mount.readOnly).toBeUndefined();
    expect(spec.volumes.find((v: any) => v.name === mount.name)).toEqual({ name: mount.name, hostPath: { path: '/var/lib/filebeat-data', type: 'DirectoryOrCreate' } });
    expect(spec.volumes.filter((v: any) => v.emptyDir).map((v: any) => v.name)).toEqual(['tmp']);
  });

  it('refuses a registry host path that is not an absolute folder under /var/lib', () => {
    for (const bad of ['var/lib/x', '/var/log/containers', '/var/lib/../etc', '/var/lib/']) {
      const chart = testChart();
      expectValidationError(() => new Logging(chart, 'Logging', { sourceNamespace: 'test', clusterNodes: 1, filebeatDataHostPath: bad }),
        { path: 'test/Logging/Filebeat', field: 'dataHostPath', value: bad, allowed: /\/var\/lib/ });
    }
  });

  it('ships from a Filebeat in its own namespace that may read only the source namespace\'s pods', () => {
    const { objects } = build();
    const ds = find(objects, 'DaemonSet', 'filebeat');
    expect(ds.metadata.namespace).toBe('test-logging');
    const role = find(objects, 'Role', 'filebeat-pod-reader');
    expect(role.metadata.namespace).toBe('test');
    expect(role.rules).toEqual([{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }]);
    // Elasticsearch accepts Filebeat across namespaces, and Filebeat's policy lets it out to Elasticsearch.
    const esPolicy = find(objects, 'NetworkPolicy', 'elasticsearch');
    expect(esPolicy.spec.ingress).toContainEqual({
      from: [{ podSelector: { matchLabels: expect.objectContaining({ 'app.kubernetes.io/name': 'filebeat' }) }, namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'test-logging' } } }],
      ports: [{ protocol: 'TCP', port: 9200 }],
    });
    const fbPolicy = objects.find(o => o.kind === 'NetworkPolicy' && o.metadata.name === 'filebeat')!;
    expect(fbPolicy.metadata.namespace).toBe('test-logging');
  });
});

describe('QualityBillingStack logging', () => {
  it('ships logs in staging and prod and not in dev, and still fits each tier', () => {
    for (const env of [ENVIRONMENTS.staging, ENVIRONMENTS.prod]) {
      const { stack, objects } = synthStack(env);
      expect(objects.filter(o => o.kind === 'DaemonSet').map(o => o.metadata.name)).toEqual(['quality-billing-filebeat']);
      expect(stack.capacity.checks.find(c => c.name === 'log retention fits its volume')?.passed).toBe(true);
      expect(stack.capacity.passed).toBe(true);
    }
    expect(synthStack(ENVIRONMENTS.dev).objects.filter(o => o.kind === 'DaemonSet')).toEqual([]);
  });

  it('keeps logs 7 days in staging and 30 in prod', () => {
    expect(synthStack(ENVIRONMENTS.staging).stack.logging!.elasticsearch.retentionDays).toBe(7);
    expect(synthStack(ENVIRONMENTS.prod).stack.logging!.elasticsearch.retentionDays).toBe(30);
  });
});
