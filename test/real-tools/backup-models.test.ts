import { chownSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'fs';
import { join, relative } from 'path';
import { ENVIRONMENTS } from '../../lib/environments';
import { find, K8sObject, synthSystem } from '../helpers';
import { BUCKET, containerEnv, containerOf, localStorage, useBackupRig } from './backup-rig';

/*
 * finance-ai's model files (seed 002 §11.2) against a real S3-compatible server: the archive and
 * verified upload of the model volume, and the restore Job that fills an empty volume and leaves a
 * full one alone — the scripts and environment of finance-ai prod's CronJob and Job, run by bash
 * with GNU tar and the AWS CLI (see backup-rig.ts).
 */
describe('finance-ai model files to object storage and back', () => {
  const rig = useBackupRig({ postgres: false });
  let cronJob: K8sObject;
  let restoreJob: K8sObject;
  const isRoot = process.getuid?.() === 0;
  const files: Record<string, Buffer> = {
    'classifier/model.onnx': Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 7919) % 251)),
    'classifier/labels.json': Buffer.from('{"labels":["发票","收据","合同"]}'),
    'embeddings/vectors v2.bin': Buffer.alloc(50_000, 3),
    'README': Buffer.from('models for risk scoring\n'),
  };

  /** A folder owned by the user the scripts run as (postgres when we are root). */
  const volume = (name: string, content: Record<string, Buffer> = {}) => {
    const dir = rig.backupDir(name);
    for (const [path, data] of Object.entries(content)) {
      mkdirSync(join(dir, path, '..'), { recursive: true });
      writeFileSync(join(dir, path), data);
    }
    if (isRoot) {
      const uid = Number(require('child_process').execFileSync('id', ['-u', 'postgres']).toString().trim());
      const walk = (d: string): void => { chownSync(d, uid, uid); for (const e of readdirSync(d, { withFileTypes: true })) { if (e.isDirectory()) walk(join(d, e.name)); else chownSync(join(d, e.name), uid, uid); } };
      walk(dir);
    }
    return dir;
  };
  const contents = (dir: string): Record<string, string> => {
    const out: Record<string, string> = {};
    const walk = (d: string): void => { for (const e of readdirSync(d, { withFileTypes: true })) { const p = join(d, e.name); if (e.isDirectory()) walk(p); else out[relative(dir, p)] = readFileSync(p).toString('base64'); } };
    walk(dir);
    return out;
  };
  const expected = Object.fromEntries(Object.entries(files).map(([p, b]) => [p, b.toString('base64')]));

  const backup = async (modelDir: string, workName: string) => {
    const work = rig.backupDir(workName);
    const archive = await rig.runScript('archive.sh', { ...containerEnv(containerOf(cronJob, 'archive')), MODEL_DIR: modelDir, BACKUP_DIR: work });
    if (archive.code !== 0) return { step: 'archive', ...archive };
    const upload = await rig.runScript('upload.sh', { ...containerEnv(containerOf(cronJob, 'upload')), BACKUP_DIR: work });
    return { step: 'upload', ...upload, stderr: archive.stderr + upload.stderr };
  };
  const restore = async (modelDir: string, workName: string) => {
    const work = rig.backupDir(workName);
    const fetch = await rig.runScript('fetch-if-empty.sh', { ...containerEnv(containerOf(restoreJob, 'fetch')), MODEL_DIR: modelDir, BACKUP_DIR: work });
    if (fetch.code !== 0) return { step: 'fetch', ...fetch, work };
    const unpack = await rig.runScript('unpack.sh', { ...containerEnv(containerOf(restoreJob, 'unpack')), MODEL_DIR: modelDir, BACKUP_DIR: work });
    return { step: 'unpack', ...unpack, stderr: fetch.stderr + unpack.stderr, work };
  };

  beforeAll(() => {
    const objects = synthSystem('finance-ai', ENVIRONMENTS.prod, { backupStorage: localStorage(rig.s3Port) }).objects;
    cronJob = find(objects, 'CronJob', 'finance-ai-models-backup');
    restoreJob = find(objects, 'Job', 'finance-ai-models-restore');
    const scripts = { ...find(objects, 'ConfigMap', 'finance-ai-models-backup-scripts').data, ...find(objects, 'ConfigMap', 'finance-ai-models-restore-scripts').data };
    for (const [name, text] of Object.entries(scripts)) writeFileSync(join(rig.work, 'scripts', name), text as string, { mode: 0o755 });
  });

  it('leaves the volume of a new site empty and succeeds when the bucket holds no archive yet (the Job runs on every install)', async () => {
    const empty = volume('models-first-install');
    const work = rig.backupDir('work-first-install');
    const env = { ...containerEnv(containerOf(restoreJob, 'fetch')), S3_PREFIX: 'first-install', MODEL_DIR: empty, BACKUP_DIR: work };
    const fetch = await rig.runScript('fetch-if-empty.sh', env);
    expect(fetch.stderr).toMatch(/holds no complete archive yet \(a new site\): nothing to restore/);
    expect(fetch.code).toBe(0);
    const unpack = await rig.runScript('unpack.sh', { ...containerEnv(containerOf(restoreJob, 'unpack')), MODEL_DIR: empty, BACKUP_DIR: work });
    expect([unpack.code, unpack.stderr]).toEqual([0, expect.stringMatching(/no archive to restore yet/)]);
    expect(contents(empty)).toEqual({});
  });

  it('archives the volume, verified, to <environment>/models/<id>/ with SHA256SUMS', async () => {
    const r = await backup(volume('models-live', files), 'work-backup');
    expect(r.stderr).toMatch(/archived 4 files of .*; verified/);
    expect(r.code).toBe(0);
    const keys = (await rig.aws(['s3', 'ls', '--recursive', `s3://${BUCKET}/prod/models/`])).stdout.split('\n').filter(Boolean).map(l => l.trim().split(/\s+/).pop());
    expect(keys.map(k => k!.replace(/\d{8}T\d{6}Z/, '<id>')).sort()).toEqual(['prod/models/<id>/SHA256SUMS', 'prod/models/<id>/models.sha256', 'prod/models/<id>/models.tar']);
  });

  it('fills an empty volume with every model file, checksums matching', async () => {
    const empty = volume('models-new-site');
    const r = await restore(empty, 'work-restore');
    expect(r.stderr).toMatch(/restored 4 model files of \d{8}T\d{6}Z into .*; checksums match/);
    expect(r.code).toBe(0);
    expect(contents(empty)).toEqual(expected);
  });

  it('leaves a volume that holds models alone, without downloading anything', async () => {
    const live = volume('models-kept', { 'classifier/model.onnx': Buffer.from('a newer model') });
    const r = await restore(live, 'work-kept');
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('already holds model files: nothing to restore');
    expect(contents(live)).toEqual({ 'classifier/model.onnx': Buffer.from('a newer model').toString('base64') });
    expect(readdirSync(r.work)).toEqual(['NOT_EMPTY']);
  });

  it('refuses to back up an empty volume, so the newest archive is never an empty one', async () => {
    const r = await backup(volume('models-empty'), 'work-empty');
    expect(r.step).toBe('archive');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/is empty: nothing to back up/);
  });

  it('refuses a corrupted archive and leaves the volume empty', async () => {
    const listing = (await rig.aws(['s3', 'ls', `s3://${BUCKET}/prod/models/`])).stdout;
    const id = listing.match(/\d{8}T\d{6}Z/)![0];
    const damaged = rig.backupDir('damaged');
    writeFileSync(join(damaged, 'models.tar'), 'not the archive');
    rig.chownPostgres(join(damaged, 'models.tar'));
    expect((await rig.aws(['s3', 'cp', '--only-show-errors', join(damaged, 'models.tar'), `s3://${BUCKET}/prod/models/${id}/models.tar`])).code).toBe(0);
    const empty = volume('models-after-damage');
    const r = await restore(empty, 'work-damaged');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/corrupt/);
    expect(contents(empty)).toEqual({});
  });
});
