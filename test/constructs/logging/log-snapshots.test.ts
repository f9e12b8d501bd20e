import { parse } from 'yaml';
import { Elasticsearch } from '../../../constructs/logging/elasticsearch';
import { LogSnapshots } from '../../../constructs/logging/log-snapshots';
import { SecretKeyRef } from '../../../lib/secrets';
import { ENVIRONMENTS } from '../../../lib/environments';
import { envOf, expectValidationError, find, podSpec, synth, synthSystem, testChart } from '../../helpers';

const storage = {
  bucket: 'logs-archive', prefix: 'prod/elasticsearch', region: 'us-east-1',
  accessKeyId: SecretKeyRef.of('backup-s3-credentials', 'access-key-id'), secretAccessKey: SecretKeyRef.of('backup-s3-credentials', 'secret-access-key'),
};

describe('finance-ai archives its logs to object storage (seed 002 §11.2)', () => {
  const { objects } = synthSystem('finance-ai', ENVIRONMENTS.prod);
  const sts = find(objects, 'StatefulSet', 'finance-ai-elasticsearch');
  const spec = podSpec(sts);

  it('runs the image with repository-s3, which 7.17 does not bundle', () => {
    expect(spec.containers[0].image).toBe('quality-billing/elasticsearch-s3:7.17.25');
    expect(spec.initContainers[0].image).toBe(spec.containers[0].image);
  });

  it('puts the S3 keys into the keystore from the Secret at start, never into a manifest', () => {
    const init = spec.initContainers[0];
    expect(envOf(init)).toMatchObject({ S3_ACCESS_KEY: 'secret:backup-s3-credentials/access-key-id', S3_SECRET_KEY: 'secret:backup-s3-credentials/secret-access-key', ES_PATH_CONF: '/config' });
    const script: string = init.command[2];
    expect(script).toContain('elasticsearch-keystore add --stdin -f s3.client.default.access_key');
    expect(script).toContain('elasticsearch-keystore add --stdin -f s3.client.default.secret_key');
    // The main container never sees the keys; they reach Elasticsearch through the keystore only.
    expect(Object.keys(envOf(spec.containers[0]))).not.toEqual(expect.arrayContaining(['S3_ACCESS_KEY']));
    const yml = parse(find(objects, 'ConfigMap', 'finance-ai-elasticsearch-config').data['elasticsearch.yml']);
    expect(yml).toMatchObject({ 's3.client.default.endpoint': 's3.us-east-1.amazonaws.com', 's3.client.default.protocol': 'https' });
    // path_style_access is deprecated in 7.x: only set for storage that needs it.
    expect(yml['s3.client.default.path_style_access']).toBeUndefined();
    expect(Object.keys(yml).filter(k => /access_key|secret_key/.test(k))).toEqual([]);
  });

  it('points the S3 client at S3-compatible storage with path-style access', () => {
    const chart = testChart();
    new Elasticsearch(chart, 'Es', { snapshotStorage: { ...storage, endpoint: 'https://minio.backup.svc:9000' } });
    const objects = synth(chart);
    const yml = parse(find(objects, 'ConfigMap', 'elasticsearch-config').data['elasticsearch.yml']);
    expect(yml).toMatchObject({ 's3.client.default.endpoint': 'minio.backup.svc:9000', 's3.client.default.protocol': 'https', 's3.client.default.path_style_access': true });
    expect(find(objects, 'NetworkPolicy', 'elasticsearch').spec.egress).toContainEqual({ to: [{ ipBlock: { cidr: '0.0.0.0/0' } }], ports: [{ port: 9000, protocol: 'TCP' }] });
  });

  it('lets Elasticsearch reach the storage on 443', () => {
    const policy = find(objects, 'NetworkPolicy', 'finance-ai-elasticsearch');
    expect(policy.spec.egress).toContainEqual({ to: [{ ipBlock: { cidr: '0.0.0.0/0' } }], ports: [{ port: 443, protocol: 'TCP' }] });
  });

  it('registers the repository beside the database backups and a daily policy kept as long as the backups (30 days)', () => {
    const files = find(objects, 'ConfigMap', 'finance-ai-log-snapshots-files').data;
    expect(JSON.parse(files['repository.json'])).toEqual({ type: 's3', settings: { bucket: 'finance-ai-backups', base_path: 'prod/elasticsearch', client: 'default', compress: true } });
    expect(JSON.parse(files['slm-policy.json'])).toMatchObject({ schedule: '0 30 1 * * ?', repository: 'log-archive', retention: { expire_after: '30d', min_count: 3, max_count: 60 } });
    const job = objects.find(o => o.kind === 'Job' && o.metadata.name.startsWith('finance-ai-log-snapshots-'))!;
    expect(envOf(podSpec(job).containers[0])).toMatchObject({ ES_URL: 'http://finance-ai-elasticsearch:9200', REPOSITORY: 'log-archive', ELASTIC_PASSWORD: 'secret:elasticsearch-credentials/elastic-password' });
    expect(job.spec.activeDeadlineSeconds).toBeGreaterThan(0);
  });

  it('archives only where the system asks for it: quality-billing keeps the stock image and no repository', () => {
    const qb = synthSystem('quality-billing', ENVIRONMENTS.prod).objects;
    expect(podSpec(find(qb, 'StatefulSet', 'quality-billing-elasticsearch')).containers[0].image).toBe('docker.elastic.co/elasticsearch/elasticsearch:7.17.25');
    expect(qb.filter(o => o.metadata.name.includes('log-snapshots'))).toEqual([]);
  });
});

describe('LogSnapshots bad input', () => {
  const build = (props: Partial<ConstructorParameters<typeof LogSnapshots>[2]> = {}, withStorage = true) => {
    const chart = testChart();
    const es = new Elasticsearch(chart, 'Es', withStorage ? { snapshotStorage: storage } : {});
    new LogSnapshots(chart, 'Snapshots', { elasticsearch: es, ...props });
    return synth(chart);
  };

  it('builds with the defaults', () => expect(build().some(o => o.kind === 'Job')).toBe(true));

  it('refuses a Kubernetes-style schedule, naming the Elasticsearch cron form', () => {
    expectValidationError(() => build({ schedule: '30 1 * * *' }), { path: 'test/Snapshots', field: 'schedule', value: '30 1 * * *', allowed: /<seconds> <minutes> <hours>/ });
  });
  it('refuses a retention of 0 days', () => {
    expectValidationError(() => build({ retentionDays: 0 }), { path: 'test/Snapshots', field: 'retentionDays', value: 0, allowed: /1/ });
  });
  it('refuses minCount above maxCount', () => {
    expectValidationError(() => build({ minCount: 10, maxCount: 5 }), { path: 'test/Snapshots', field: 'minCount', value: 10, allowed: /at most maxCount \(5\)/ });
  });
  it('refuses a repository name Elasticsearch would refuse', () => {
    expectValidationError(() => build({ repository: 'Log_Archive' }), { path: 'test/Snapshots', field: 'repository', value: 'Log_Archive', allowed: /lower-case/ });
  });
  it('refuses an Elasticsearch without snapshot storage (no keys in its keystore)', () => {
    expectValidationError(() => build({}, false), { path: 'test/Snapshots', field: 'elasticsearch', value: 'test/Es', allowed: /snapshotStorage/ });
  });
  it('refuses plain-HTTP snapshot storage', () => {
    expectValidationError(() => new Elasticsearch(testChart(), 'Es', { snapshotStorage: { ...storage, endpoint: 'http://minio:9000' } }),
      { path: 'test/Es', field: 'snapshotStorage.endpoint', value: 'http://minio:9000', allowed: /HTTPS/ });
  });
});
