import { createHash, randomBytes } from 'crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import { ENVIRONMENTS } from '../../lib/environments';
import { minioRestoreObjects } from '../../constructs/backup/minio-restore';
import { shippedSystem } from '../../stacks/systems';
import { find, K8sObject, synth } from '../helpers';
import { BUCKET, containerEnv, containerOf, localStorage, SECRETS, useBackupRig } from './backup-rig';

/*
 * ai-bookkeeping's MinIO mirror and its restore on s3rver, which plays both sides: MinIO (bucket
 * "ai-bookkeeping", as the applications' user) and the backup storage. The CronJob's and the
 * restore Job's script and environment as synthesized; only the endpoints and the scratch folder
 * are this machine's. (MinIO itself is not installed here; the script speaks plain S3 to it.)
 */
SECRETS['minio-credentials/app-access-key'] = 'S3RVER';
SECRETS['minio-credentials/app-secret-key'] = 'S3RVER';

describe('MinIO buckets mirrored to the backup storage and restored (ai-bookkeeping prod, aws s3 sync, s3rver)', () => {
  const rig = useBackupRig({ postgres: false });
  let cronJob: K8sObject;
  let restoreJob: K8sObject;
  const files: Record<string, Buffer> = {
    'a.txt': Buffer.from('hello\n'),
    'receipts/2026/11/票据 1.pdf': randomBytes(3000),
    'receipts/2026/11/scan (2).png': randomBytes(300 * 1024),
    'x/y/z.bin': randomBytes(70000),
    'empty': Buffer.alloc(0),
  };
  const hashes = (dir: string) => Object.fromEntries(Object.keys(files).map(k => [k, createHash('sha256').update(readFileSync(join(dir, k))).digest('hex')]));
  /** Runs a container's bucket sync with its synthesized environment; MinIO's endpoint is the local s3rver. */
  const sync = (job: K8sObject, container: string, mirrorDir: string) => {
    const env = containerEnv(containerOf(job, container));
    return rig.runScript('bucket-sync.sh', { ...env, MIRROR_DIR: mirrorDir, ...env.REMOTE_ROOT === 's3://' ? { S3_ENDPOINT: `https://localhost:${rig.s3Port}` } : {} });
  };

  beforeAll(async () => {
    const storage = localStorage(rig.s3Port);
    const objects = synth(shippedSystem('ai-bookkeeping').create(ENVIRONMENTS.prod, { backupStorage: storage }));
    cronJob = find(objects, 'CronJob', 'ai-bookkeeping-minio-backup');
    const restore = minioRestoreObjects(shippedSystem('ai-bookkeeping').create(ENVIRONMENTS.prod, { backupStorage: storage }), { jobName: 'ai-bookkeeping-minio-restore-test' }) as K8sObject[];
    restoreJob = find(restore, 'Job', 'ai-bookkeeping-minio-restore-test');
    const script = find(objects, 'ConfigMap', 'ai-bookkeeping-minio-backup-scripts').data['bucket-sync.sh'];
    expect(find(restore, 'ConfigMap', 'ai-bookkeeping-minio-restore-scripts').data['bucket-sync.sh']).toBe(script);
    writeFileSync(join(rig.work, 'scripts', 'bucket-sync.sh'), script, { mode: 0o755 });
    const src = rig.backupDir('objects');
    for (const [k, v] of Object.entries(files)) {
      mkdirSync(join(src, k, '..'), { recursive: true });
      writeFileSync(join(src, k), v);
    }
    // The application bucket, on the server playing MinIO.
    expect((await rig.aws(['s3', 'mb', 's3://ai-bookkeeping'])).code).toBe(0);
    expect((await rig.aws(['s3', 'cp', '--only-show-errors', '--recursive', src, 's3://ai-bookkeeping/'])).code).toBe(0);
  }, 120000);

  it('mirrors every object to <prefix>/minio/<bucket>/ and checks each arrived with its size', async () => {
    const dir = rig.backupDir('mirror');
    const download = await sync(cronJob, 'download', dir);
    expect(download.stderr).toContain(`ai-bookkeeping: ${Object.keys(files).length} object(s)`);
    expect(download.code).toBe(0);
    const upload = await sync(cronJob, 'upload', dir);
    expect(upload.stderr).toContain(`all at s3://${BUCKET}/prod/minio/ai-bookkeeping/ with their sizes`);
    expect(upload.code).toBe(0);
    const listing = (await rig.aws(['s3', 'ls', '--recursive', `s3://${BUCKET}/prod/minio/ai-bookkeeping/`])).stdout;
    for (const k of Object.keys(files)) expect(listing).toContain(`prod/minio/ai-bookkeeping/${k}`);
  }, 120000);

  it('after every object is deleted from the bucket, the restore puts each back with its content', async () => {
    expect((await rig.aws(['s3', 'rm', '--only-show-errors', '--recursive', 's3://ai-bookkeeping/'])).code).toBe(0);
    expect((await rig.aws(['s3', 'ls', '--recursive', 's3://ai-bookkeeping/'])).stdout).toBe('');
    const dir = rig.backupDir('restore');
    const fetch = await sync(restoreJob, 'fetch', dir);
    expect(fetch.code).toBe(0);
    const restore = await sync(restoreJob, 'restore', dir);
    expect(restore.stderr).toContain('all at s3://ai-bookkeeping/ with their sizes');
    expect(restore.code).toBe(0);
    const back = rig.backupDir('restored-objects');
    expect((await rig.aws(['s3', 'cp', '--only-show-errors', '--recursive', 's3://ai-bookkeeping/', back])).code).toBe(0);
    expect(hashes(back)).toEqual(hashes(join(rig.work, 'objects')));
  }, 120000);
});
