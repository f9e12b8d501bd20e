import { MinioMirror } from '../../constructs/backup/minio-mirror';
import { minioRestoreObjects } from '../../constructs/backup/minio-restore';
import { MinIO } from '../../constructs/data/minio';
import { ENVIRONMENTS } from '../../lib/environments';
import { SecretKeyRef } from '../../lib/secrets';
import { AiBookkeepingStack } from '../../stacks/ai-bookkeeping-stack';
import { shippedSystem } from '../../stacks/systems';
import { envOf, expectValidationError, find, K8sObject, podSpec, synthChart, testChart } from '../helpers';

describe('MinioMirror in ai-bookkeeping (seed 004 object storage)', () => {
  const { stack, objects } = synthChart('ai-bookkeeping', ENVIRONMENTS.prod);
  const cron = find(objects, 'CronJob', 'ai-bookkeeping-minio-backup');

  it('mirrors daily at 01:00 with deadlines the capacity planner counts, and N-1 still passes', () => {
    expect(cron.spec).toEqual(expect.objectContaining({ schedule: '0 1 * * *', timeZone: 'Asia/Shanghai', startingDeadlineSeconds: 3600, concurrencyPolicy: 'Forbid' }));
    expect(cron.spec.jobTemplate.spec.activeDeadlineSeconds).toBe(6 * 3600);
    expect(stack.capacity.rows.map(r => r.workload.name)).toContain('ai-bookkeeping-minio-backup');
    expect(stack.capacity.checks.find(c => c.name === 'survives losing one node')!.passed).toBe(true);
    expect((stack as AiBookkeepingStack).backupFlows().map(f => f.label)).toContain('MinIO buckets mirrored daily');
  });

  it('downloads every bucket from MinIO as the applications\' user, then uploads to <environment>/minio/ of the backup bucket', () => {
    const pod = podSpec(cron);
    const download = envOf(pod.initContainers[0]);
    expect(download).toEqual(expect.objectContaining({
      DIRECTION: 'download', REMOTE_ROOT: 's3://', BUCKETS: 'ai-bookkeeping', S3_ENDPOINT: 'http://ai-bookkeeping-minio:9000',
      AWS_ACCESS_KEY_ID: 'secret:minio-credentials/app-access-key', AWS_SECRET_ACCESS_KEY: 'secret:minio-credentials/app-secret-key',
    }));
    const upload = envOf(pod.containers[0]);
    expect(upload).toEqual(expect.objectContaining({ DIRECTION: 'upload', REMOTE_ROOT: 's3://ai-bookkeeping-backups/prod/minio/', AWS_ACCESS_KEY_ID: 'secret:backup-s3-credentials/access-key-id' }));
    expect(pod.initContainers[0].image).toMatch(/^amazon\/aws-cli:/);
    expect(pod.volumes).toContainEqual({ name: 'mirror', emptyDir: { sizeLimit: expect.anything() } });
    const policy = find(objects, 'NetworkPolicy', 'ai-bookkeeping-minio');
    expect(policy.spec.ingress).toContainEqual({ from: [{ podSelector: { matchLabels: find(objects, 'NetworkPolicy', 'ai-bookkeeping-minio-backup').spec.podSelector.matchLabels } }], ports: [{ protocol: 'TCP', port: 9000 }] });
  });

  it('is not deployed without backups (dev)', () => {
    expect(synthChart('ai-bookkeeping', ENVIRONMENTS.dev).objects.some(o => o.metadata.name === 'ai-bookkeeping-minio-backup')).toBe(false);
  });
});

describe('minioRestoreObjects (npm run restore -- --store minio)', () => {
  it('downloads the mirror, then uploads it into MinIO, once, with a policy on MinIO\'s pods of its own', () => {
    const o = minioRestoreObjects(shippedSystem('ai-bookkeeping').create(ENVIRONMENTS.prod), { now: new Date('2026-11-29T18:00:00Z') }) as K8sObject[];
    const job = find(o, 'Job', 'ai-bookkeeping-minio-restore-20261129t1800');
    expect(job.spec.backoffLimit).toBe(0);
    expect(envOf(podSpec(job).initContainers[0])).toEqual(expect.objectContaining({ DIRECTION: 'download', REMOTE_ROOT: 's3://ai-bookkeeping-backups/prod/minio/' }));
    expect(envOf(podSpec(job).containers[0])).toEqual(expect.objectContaining({ DIRECTION: 'upload', REMOTE_ROOT: 's3://', S3_ENDPOINT: 'http://ai-bookkeeping-minio:9000' }));
    expect(o.filter(x => x.kind === 'NetworkPolicy').map(x => x.metadata.name).sort()).toEqual(['ai-bookkeeping-minio-restore', 'ai-bookkeeping-minio-restore-to-ai-bookkeeping-minio']);
  });

  it('refuses a chart that mirrors no MinIO', () => {
    expectValidationError(() => minioRestoreObjects(shippedSystem('quality-billing').create(ENVIRONMENTS.prod)), { path: 'quality-billing', field: 'store', value: 'minio', allowed: /ai-bookkeeping/ });
  });

  it('refuses bad backup storage of the mirror at construction', () => {
    const chart = testChart();
    const minio = new MinIO(chart, 'MinIO', { buckets: ['docs'] });
    const s = { bucket: 'b-backups', prefix: '/bad/', region: 'us-east-1', accessKeyId: SecretKeyRef.of('s', 'a'), secretAccessKey: SecretKeyRef.of('s', 'b') };
    expectValidationError(() => new MinioMirror(chart, 'Mirror', { minio, backupStorage: s }), { path: 'test/Mirror', field: 'backupStorage.prefix', value: '/bad/', allowed: /key prefix/ });
  });
});
