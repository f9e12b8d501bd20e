import { spawnSync } from 'child_process';
import { AppService } from '../../constructs/app/app-service';
import { MongoBackup } from '../../constructs/backup/mongo-backup';
import { Consul } from '../../constructs/data/consul';
import { Elasticsearch } from '../../constructs/logging/elasticsearch';
import { MongoReplicaSet } from '../../constructs/data/mongo-replica-set';
import { Monitoring } from '../../constructs/monitoring/monitoring';
import { Pushgateway } from '../../constructs/monitoring/pushgateway';
import { Jaeger } from '../../constructs/monitoring/jaeger';
import { MONGO_DUMP_SCRIPT } from '../../lib/backup/mongodump-scripts';
import { SecretKeyRef } from '../../lib/secrets';
import { PLACEHOLDER_RECEIVERS } from '../../stacks/quality-billing-stack';
import { envOf, expectValidationError, find, podSpec, synth, testChart } from '../helpers';

const storage = { bucket: 'backups', prefix: 'prod', region: 'us-east-1', accessKeyId: SecretKeyRef.of('s3', 'id'), secretAccessKey: SecretKeyRef.of('s3', 'key') };

describe('Pushgateway', () => {
  const chart = testChart();
  const pg = new Pushgateway(chart, 'Push');
  const job = new AppService(chart, 'Api').connectTo(pg);
  new Monitoring(chart, 'Monitoring', { receivers: PLACEHOLDER_RECEIVERS }).monitor(pg);
  const objects = synth(chart);

  it('listens on 9091, hands clients PROMETHEUS_PUSHGATEWAY, and is scraped keeping pushed labels', () => {
    expect(find(objects, 'Service', 'pushgateway').spec.ports[0].port).toBe(9091);
    expect(envOf(podSpec(find(objects, 'Deployment', job.name)).containers[0]).PROMETHEUS_PUSHGATEWAY).toBe('http://pushgateway:9091');
    expect(find(objects, 'ConfigMap', 'prometheus-config').data['prometheus.yml']).toMatch(/job_name: pushgateway\n\s+metrics_path: \/metrics\n\s+honor_labels: true/);
  });

  it('emits honorLabels on its ServiceMonitor in prometheus-operator mode', () => {
    const c = testChart();
    const p = new Pushgateway(c, 'Push');
    new Monitoring(c, 'Monitoring', { receivers: PLACEHOLDER_RECEIVERS, mode: 'prometheus-operator' }).monitor(p);
    expect(find(synth(c), 'ServiceMonitor', 'pushgateway').spec.endpoints[0].honorLabels).toBe(true);
  });
});

describe('Jaeger', () => {
  it('refuses production without Elasticsearch, and Elasticsearch for all-in-one', () => {
    expectValidationError(() => new Jaeger(testChart(), 'J', { mode: 'production' }), { path: 'test/J', field: 'elasticsearch', value: undefined, allowed: /mode "production"/ });
    const c = testChart();
    const es = new Elasticsearch(c, 'Es', { retentionDays: 7, dailyLogVolume: '1Gi' });
    expectValidationError(() => new Jaeger(c, 'J', { elasticsearch: es }), { path: 'test/J', field: 'elasticsearch', value: 'test/Es', allowed: /all-in-one/ });
  });

  it('opens the OTLP ports to its clients only', () => {
    const c = testChart();
    const j = new Jaeger(c, 'J');
    new AppService(c, 'Api').connectTo(j);
    const policy = find(synth(c), 'NetworkPolicy', 'jaeger');
    const rule = policy.spec.ingress.find((r: any) => r.from[0].podSelector?.matchLabels['app.kubernetes.io/name'] === 'api');
    expect(rule.ports.map((p: any) => p.port)).toEqual([4317, 4318]);
  });

  // Jaeger's admin port (14269; the query's 16687) answers `/` with its health check, 503 while the
  // service is unavailable (starting, stopping, its storage failing), and `/version` whenever the
  // process serves HTTP (jaegertracing/jaeger cmd/internal/flags/admin.go, pkg/version/handler.go).
  const probes = (objects: ReturnType<typeof synth>, name: string) => {
    const main = podSpec(find(objects, 'Deployment', name)).containers[0];
    return { liveness: main.livenessProbe.httpGet, readiness: main.readinessProbe.httpGet };
  };

  it.each([
    ['all-in-one', 'jaeger'], ['production', 'jaeger-collector'], ['production', 'jaeger-query'],
  ] as const)('in %s, %s leaves the Service on a failing health check and restarts only when the process stops answering', (mode, name) => {
    const c = testChart();
    const es = mode === 'production' ? new Elasticsearch(c, 'Es', { retentionDays: 7, dailyLogVolume: '1Gi' }) : undefined;
    new Jaeger(c, 'J', { mode, elasticsearch: es });
    const { liveness, readiness } = probes(synth(c), name);
    expect(readiness).toEqual({ path: '/', port: 'admin' });
    expect(liveness).toEqual({ path: '/version', port: 'admin' });
  });

  it('gives the index cleaner its own labels, so the query Service and policy do not select its pods, and its own policy to Elasticsearch', () => {
    const c = testChart();
    const es = new Elasticsearch(c, 'Es', { retentionDays: 7, dailyLogVolume: '1Gi' });
    new Jaeger(c, 'J', { mode: 'production', elasticsearch: es });
    const objects = synth(c);
    const cleanerLabels = find(objects, 'CronJob', 'jaeger-query-index-cleaner').spec.jobTemplate.spec.template.metadata.labels;
    const selects = (selector: Record<string, string>) => Object.entries(selector).every(([k, v]) => cleanerLabels[k] === v);
    expect(selects(find(objects, 'Service', 'jaeger-query').spec.selector)).toBe(false);
    expect(selects(find(objects, 'NetworkPolicy', 'jaeger-query').spec.podSelector.matchLabels)).toBe(false);
    expect(selects(find(objects, 'Deployment', 'jaeger-query').spec.selector.matchLabels)).toBe(false);
    const own = find(objects, 'NetworkPolicy', 'jaeger-query-index-cleaner');
    expect(selects(own.spec.podSelector.matchLabels)).toBe(true);
    expect(own.spec.egress.flatMap((r: any) => r.ports.map((p: any) => p.port))).toEqual([9200]);
    expect(own.spec.ingress).toBeUndefined();
    const esIngress = find(objects, 'NetworkPolicy', es.name).spec.ingress.filter((r: any) => r.from.some((p: any) => p.podSelector && selectsPeer(p.podSelector.matchLabels, cleanerLabels)));
    expect(esIngress.flatMap((r: any) => r.ports.map((p: any) => p.port))).toEqual([9200]);
  });
});

function selectsPeer(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

describe('Consul', () => {
  it('refuses an even number of servers, or two', () => {
    expectValidationError(() => new Consul(testChart(), 'C', { servers: 2 }), { path: 'test/C', field: 'servers', value: 2, allowed: /odd number from 3/ });
    expectValidationError(() => new Consul(testChart(), 'C', { servers: 4 }), { path: 'test/C', field: 'servers', value: 4, allowed: /odd number from 3/ });
  });

  it('bootstraps the expected servers by joining each other, gossip encrypted from a Secret, gossip over TCP and UDP', () => {
    const c = testChart();
    new Consul(c, 'C');
    const objects = synth(c);
    const server = podSpec(find(objects, 'StatefulSet', 'consul')).containers[0];
    expect(server.args).toEqual(expect.arrayContaining(['-bootstrap-expect=3', '-retry-join=consul-0.consul-server', '-retry-join=consul-2.consul-server', '-encrypt=$(CONSUL_GOSSIP_KEY)']));
    expect(envOf(server).CONSUL_GOSSIP_KEY).toBe('secret:consul-credentials/gossip-key');
    const protocols = find(objects, 'NetworkPolicy', 'consul').spec.ingress.flatMap((r: any) => r.ports.map((p: any) => `${p.protocol}/${p.port}`));
    expect(protocols).toEqual(expect.arrayContaining(['TCP/8300', 'TCP/8301', 'UDP/8301']));
  });
});

describe('MongoBackup', () => {
  const c = testChart();
  const mongo = new MongoReplicaSet(c, 'M', { name: 'db' });
  const backup = new MongoBackup(c, 'B', { mongo, backupStorage: storage, retentionDays: 14 });
  const objects = synth(c);

  it('dumps with the mongo image through the replica set, uploads with the verified upload under "mongodb"', () => {
    const pod = find(objects, 'CronJob', 'db-backup').spec.jobTemplate.spec.template.spec;
    expect(pod.initContainers[0].image).toBe(mongo.image.toString());
    expect(envOf(pod.initContainers[0]).MONGODB_URI).toBe(`mongodb://$(MONGO_ROOT_USER):$(MONGO_ROOT_PASSWORD)@${mongo.hosts.join(',')}/?replicaSet=rs0&authSource=admin`);
    expect(envOf(pod.containers[0])).toMatchObject({ BACKUP_KIND: 'mongodb', RETENTION_DAYS: '14', MIN_KEEP: '3' });
    expect(backup.retentionDays).toBe(14);
    expect(spawnSync('sh', ['-n'], { input: MONGO_DUMP_SCRIPT }).status).toBe(0);
  });

  it('may reach the replica set, and nothing but the storage besides', () => {
    const policy = find(objects, 'NetworkPolicy', 'db-backup');
    const egress = policy.spec.egress.flatMap((r: any) => r.ports.map((p: any) => p.port));
    expect(egress).toEqual(expect.arrayContaining([27017, 443]));
  });
});
