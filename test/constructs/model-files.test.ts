import { ModelFiles } from '../../constructs/backup/model-files';
import { ENVIRONMENTS } from '../../lib/environments';
import { SecretKeyRef } from '../../lib/secrets';
import { envOf, expectValidationError, find, podSpec, synth, synthSystem, testChart } from '../helpers';

const backupStorage = {
  bucket: 'finance-ai-backups', prefix: 'prod', region: 'us-east-1',
  accessKeyId: SecretKeyRef.of('backup-s3-credentials', 'access-key-id'), secretAccessKey: SecretKeyRef.of('backup-s3-credentials', 'secret-access-key'),
};

describe('finance-ai model files on object storage (seed 002 §11.2)', () => {
  const { objects } = synthSystem('finance-ai', ENVIRONMENTS.prod);

  it('keeps the models on a shared volume the API replicas read, read-only, at MODEL_DIR', () => {
    const claim = find(objects, 'PersistentVolumeClaim', 'finance-ai-models');
    expect(claim.spec).toMatchObject({ accessModes: ['ReadWriteMany'], resources: { requests: { storage: '10Gi' } } });
    const api = podSpec(find(objects, 'Deployment', 'finance-ai-api'));
    expect(api.volumes).toContainEqual({ name: 'models', persistentVolumeClaim: { claimName: 'finance-ai-models', readOnly: true } });
    expect(api.containers[0].volumeMounts).toContainEqual({ name: 'models', mountPath: '/models', readOnly: true });
    expect(envOf(api.containers[0]).MODEL_DIR).toBe('/models');
  });

  it('archives them weekly beside the database backups, with the verified upload and 30-day retention', () => {
    const cron = find(objects, 'CronJob', 'finance-ai-models-backup');
    expect(cron.spec).toMatchObject({ schedule: '30 5 * * 0', timeZone: 'Asia/Shanghai', startingDeadlineSeconds: 3600, concurrencyPolicy: 'Forbid' });
    expect(cron.spec.jobTemplate.spec.activeDeadlineSeconds).toBe(10800);
    const spec = podSpec(cron);
    expect(spec.initContainers[0].volumeMounts).toContainEqual({ name: 'models', mountPath: '/models', readOnly: true });
    expect(envOf(spec.containers[0])).toMatchObject({ S3_BUCKET: 'finance-ai-backups', S3_PREFIX: 'prod', BACKUP_KIND: 'models', RETENTION_DAYS: '30', MIN_KEEP: '3', AWS_ACCESS_KEY_ID: 'secret:backup-s3-credentials/access-key-id' });
    expect(spec.volumes).toContainEqual({ name: 'models', persistentVolumeClaim: { claimName: 'finance-ai-models', readOnly: true } });
    expect(spec.volumes.find((v: any) => v.name === 'work').emptyDir.sizeLimit).toBe('11Gi');
  });

  it('restores onto the volume with a Job that writes only when it is empty', () => {
    const job = find(objects, 'Job', 'finance-ai-models-restore');
    const spec = podSpec(job);
    expect(spec.initContainers[0].command).toEqual(['bash', '/opt/backup/fetch-if-empty.sh']);
    expect(spec.initContainers[0].volumeMounts).toContainEqual({ name: 'models', mountPath: '/models', readOnly: true });
    expect(spec.containers[0].volumeMounts).toContainEqual({ name: 'models', mountPath: '/models' });
    expect(envOf(spec.initContainers[0])).toMatchObject({ BACKUP_KIND: 'models', BACKUP_ID: 'latest' });
    expect(job.spec.activeDeadlineSeconds).toBeGreaterThan(0);
  });

  it('lets the backup and restore pods reach the storage on 443', () => {
    expect(find(objects, 'NetworkPolicy', 'finance-ai-models-backup').spec.egress).toContainEqual({ to: [{ ipBlock: { cidr: '0.0.0.0/0' } }], ports: [{ port: 443, protocol: 'TCP' }] });
  });

  it('puts the volume on the stack\'s sharedStorageClass (ReadWriteMany file storage), else the cluster\'s default; a bad name is refused at synth', () => {
    expect(find(objects, 'PersistentVolumeClaim', 'finance-ai-models').spec.storageClassName).toBeUndefined();
    const { objects: onEfs } = synthSystem('finance-ai', ENVIRONMENTS.prod, { sharedStorageClass: 'efs-sc' });
    expect(find(onEfs, 'PersistentVolumeClaim', 'finance-ai-models').spec).toMatchObject({ storageClassName: 'efs-sc', accessModes: ['ReadWriteMany'] });
    // Only the shared volume moves: the databases' claims stay on their own class.
    expect(find(onEfs, 'StatefulSet', 'finance-ai-postgres').spec.volumeClaimTemplates[0].spec.storageClassName).toBeUndefined();
    expectValidationError(() => synthSystem('finance-ai', ENVIRONMENTS.prod, { sharedStorageClass: 'EFS SC' }), { path: /ModelFiles/, field: 'storageClassName', value: 'EFS SC', allowed: /DNS-1123 subdomain/ });
  });

  it('sizes the volume to the tier (2Gi on staging\'s minimum tier) and has none where there are no backups (dev)', () => {
    expect(find(synthSystem('finance-ai', ENVIRONMENTS.staging).objects, 'PersistentVolumeClaim', 'finance-ai-models').spec.resources.requests.storage).toBe('2Gi');
    expect(synthSystem('finance-ai', ENVIRONMENTS.dev).objects.filter(o => o.metadata.name.startsWith('finance-ai-models'))).toEqual([]);
  });
});

describe('ModelFiles bad input', () => {
  const build = (props: object) => synth((c => (new ModelFiles(c, 'Models', { backupStorage, ...props }), c))(testChart()));
  it('builds with the defaults', () => expect(build({}).some(o => o.kind === 'CronJob')).toBe(true));
  it('refuses a schedule that is not cron', () => {
    expectValidationError(() => build({ schedule: 'weekly' }), { path: 'test/Models', field: 'schedule', value: 'weekly', allowed: /cron/ });
  });
  it('refuses a retention under a week', () => {
    expectValidationError(() => build({ retentionDays: 3 }), { path: 'test/Models', field: 'retentionDays', value: 3, allowed: /7/ });
  });
  it('refuses an access mode the restore cannot write through', () => {
    expectValidationError(() => build({ accessMode: 'ReadOnlyMany' }), { path: 'test/Models', field: 'accessMode', value: 'ReadOnlyMany', allowed: /ReadWriteMany/ });
  });
  it('refuses a size that is not a quantity', () => {
    expectValidationError(() => build({ storage: 'ten gigs' }), { path: 'test/Models', field: 'storage', value: 'ten gigs', allowed: /./ });
  });
});
