import { spawnSync } from 'child_process';
import { MongoRestore } from '../../constructs/backup/mongo-restore';
import { MongoReplicaSet } from '../../constructs/data/mongo-replica-set';
import { FETCH_SCRIPT } from '../../lib/backup/logical-scripts';
import { MONGO_RESTORE_SCRIPT } from '../../lib/backup/mongorestore-scripts';
import { S3Location } from '../../lib/backup/s3';
import { SecretKeyRef } from '../../lib/secrets';
import { envOf, expectValidationError, find, podSpec, synth, testChart } from '../helpers';

const STORAGE: S3Location = {
  bucket: 'ma-backups', prefix: 'prod', region: 'eu-west-1', endpoint: 'https://minio.example:9000', cidr: '10.0.0.0/8',
  accessKeyId: SecretKeyRef.of('s3', 'id'), secretAccessKey: SecretKeyRef.of('s3', 'secret'),
};

function setup() {
  const chart = testChart();
  const mongo = new MongoReplicaSet(chart, 'Mongo', { name: 'db', database: 'shop' });
  return { chart, mongo };
}

describe('MongoRestore', () => {
  it('is one try of fetch (aws-cli, the logical fetch of "mongodb") then restore (the server\'s mongo image), its scripts in its own ConfigMap', () => {
    const { chart, mongo } = setup();
    const restore = new MongoRestore(chart, 'Restore', { mongo, backupStorage: STORAGE, backupId: '20261125T020000Z', targetDatabase: 'shop_copy', replace: true, jobName: 'restore-1' });
    const objects = synth(chart);
    const job = find(objects, 'Job', 'restore-1');
    expect(job.spec).toMatchObject({ backoffLimit: 0, activeDeadlineSeconds: 12 * 3600, ttlSecondsAfterFinished: 7 * 86400 });
    const pod = podSpec(job);
    expect(pod.initContainers.map((c: any) => [c.name, c.image.split(':')[0], c.command.join(' ')])).toEqual([['fetch', 'amazon/aws-cli', 'bash /opt/backup/fetch.sh']]);
    expect(pod.containers.map((c: any) => [c.name, c.image, c.command.join(' ')])).toEqual([['restore', mongo.image.toString(), 'sh /opt/backup/restore.sh']]);
    expect(envOf(pod.initContainers[0])).toMatchObject({
      S3_BUCKET: 'ma-backups', S3_PREFIX: 'prod', S3_ENDPOINT: 'https://minio.example:9000', BACKUP_KIND: 'mongodb', BACKUP_ID: '20261125T020000Z',
      AWS_ACCESS_KEY_ID: 'secret:s3/id', AWS_SECRET_ACCESS_KEY: 'secret:s3/secret',
    });
    // Credentials by reference only: Kubernetes expands $(MONGO_ROOT_PASSWORD) in the pod.
    expect(envOf(pod.containers[0])).toEqual({
      MONGO_ROOT_USER: 'secret:mongo-credentials/root-user', MONGO_ROOT_PASSWORD: 'secret:mongo-credentials/root-password',
      MONGODB_URI: `mongodb://$(MONGO_ROOT_USER):$(MONGO_ROOT_PASSWORD)@${mongo.hosts.join(',')}/?replicaSet=rs0&authSource=admin`,
      SOURCE_DATABASE: 'shop', TARGET_DATABASE: 'shop_copy', REPLACE: 'true', HOME: '/tmp', BACKUP_DIR: '/backup',
    });
    for (const c of [...pod.initContainers, ...pod.containers]) expect(c.securityContext).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect(pod).toMatchObject({ restartPolicy: 'Never', automountServiceAccountToken: false });
    expect(pod.volumes.find((v: any) => v.name === 'work').emptyDir.sizeLimit).toBe(mongo.storage.toString());
    expect(find(objects, 'ConfigMap', 'db-restore-scripts').data).toEqual({ 'fetch.sh': FETCH_SCRIPT, 'restore.sh': MONGO_RESTORE_SCRIPT });
    expect(pod.volumes.find((v: any) => v.name === 'scripts').configMap.name).toBe('db-restore-scripts');
    expect(restore.targetDatabase).toBe('shop_copy');
    expect(spawnSync('sh', ['-n'], { input: MONGO_RESTORE_SCRIPT }).status).toBe(0);
  });

  it('defaults: the latest dump into the application database, REPLACE false (the script refuses a target holding documents)', () => {
    const { chart, mongo } = setup();
    new MongoRestore(chart, 'Restore', { mongo, backupStorage: STORAGE });
    const env = envOf(podSpec(find(synth(chart), 'Job', 'db-restore')).containers[0]);
    expect([env.TARGET_DATABASE, env.REPLACE]).toEqual(['shop', 'false']);
    expect(envOf(podSpec(find(synth(chart), 'Job', 'db-restore')).initContainers[0]).BACKUP_ID).toBe('latest');
  });

  it('may reach the members and the storage only, and carries the members\' ingress rule for it (applied alone, after the deployment)', () => {
    const { chart, mongo } = setup();
    const restore = new MongoRestore(chart, 'Restore', { mongo, backupStorage: STORAGE });
    const objects = synth(chart);
    const own = find(objects, 'NetworkPolicy', 'db-restore');
    expect(own.spec.egress).toEqual([
      { to: [{ podSelector: { matchLabels: mongo.selector } }], ports: [{ protocol: 'TCP', port: 27017 }] },
      { to: [{ ipBlock: { cidr: '10.0.0.0/8' } }], ports: [{ protocol: 'TCP', port: 9000 }] },
    ]);
    const members = find(objects, 'NetworkPolicy', 'db-restore-to-db');
    expect(members.spec).toEqual({
      podSelector: { matchLabels: mongo.selector }, policyTypes: ['Ingress'],
      ingress: [{ from: [{ podSelector: { matchLabels: restore.selector } }], ports: [{ protocol: 'TCP', port: 27017 }] }],
    });
  });

  it.each<[string, object, { field: string; value: unknown; allowed: RegExp }]>([
    ['a dump id that is no UTC time', { backupId: 'yesterday' }, { field: 'backupId', value: 'yesterday', allowed: /"latest" or a dump id such as "20261125T020000Z"/ }],
    ['a database name with a dot', { targetDatabase: 'shop.copy' }, { field: 'targetDatabase', value: 'shop.copy', allowed: /letters, digits, "_" and "-"/ }],
    ['a Job name that is no DNS label', { jobName: 'Restore_1' }, { field: 'jobName', value: 'Restore_1', allowed: /DNS/ }],
    ['a bucket name S3 refuses', { backupStorage: { ...STORAGE, bucket: 'MA_Backups' } }, { field: 'backupStorage.bucket', value: 'MA_Backups', allowed: /S3 bucket name/ }],
    ['storage over plain HTTP', { backupStorage: { ...STORAGE, endpoint: 'http://minio.example:9000' } }, { field: 'backupStorage.endpoint', value: 'http://minio.example:9000', allowed: /HTTPS/ }],
  ])('refuses %s, naming the field', (_, props, expected) => {
    const { chart, mongo } = setup();
    expectValidationError(() => new MongoRestore(chart, 'Restore', { mongo, backupStorage: STORAGE, ...props }), { path: /Restore$/, ...expected });
  });
});
