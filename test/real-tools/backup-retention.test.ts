import { BUCKET, containerEnv, containerOf, useBackupRig } from './backup-rig';

/*
 * Retention of the logical backups: the upload script's expiry against a real S3-compatible server
 * and PostgreSQL (see backup-rig.ts). One backup, taken first, is the real one retention must keep.
 */
describe('PostgreSQL backups against a real PostgreSQL, pgBackRest and S3-compatible server: retention', () => {
  const rig = useBackupRig();
  let backupId: string;

  beforeAll(async () => {
    const r = await rig.runBackup(rig.backupDir('backup-1'));
    expect(r.code).toBe(0);
    backupId = (await rig.listKeys())[0].split('/')[3];
    expect(backupId).toMatch(/^\d{8}T\d{6}Z$/);
  }, 300000);

  it('retention deletes backups older than 30 days and keeps newer ones and the newest complete ones', async () => {
    expect(containerEnv(containerOf(rig.backupCronJob(), 'upload')).RETENTION_DAYS).toBe('30');
    const day = 86400000;
    const idOf = (d: Date) => d.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
    const old = [idOf(new Date(Date.now() - 45 * day)), idOf(new Date(Date.now() - 31 * day))];
    const recent = [idOf(new Date(Date.now() - 29 * day)), idOf(new Date(Date.now() - 2 * day))];
    // One aws process puts them all (each costs about a second of CPU to start).
    const files: Record<string, string> = {};
    for (const id of [...old, ...recent]) for (const f of ['quality_billing.dump', 'SHA256SUMS']) files[`${id}/${f}`] = 'x';
    // Something else under the prefix is never touched.
    files.README = 'x';
    expect((await rig.putObjects('prod/postgres/logical', files)).code).toBe(0);
    const r = await rig.runBackup(rig.backupDir('backup-2'));
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('2 expired backups deleted');
    const ids = new Set((await rig.listKeys()).map(k => k.split('/')[3]));
    for (const id of old) expect(ids.has(id)).toBe(false);
    for (const id of [...recent, backupId]) expect(ids.has(id)).toBe(true);
    expect(ids.has('README')).toBe(true);
  }, 300000);

  it('retention never deletes the newest complete backups, however old', async () => {
    const prefix = 'keep-test/postgres';
    const ids = ['20200101T020000Z', '20200102T020000Z', '20200103T020000Z', '20200104T020000Z', '20200105T020000Z'];
    const files: Record<string, string> = Object.fromEntries(ids.map(id => [`${id}/SHA256SUMS`, 'x']));
    // The newest one is incomplete (no SHA256SUMS): it does not count as one to keep.
    files['20200106T020000Z/quality_billing.dump'] = 'x';
    expect((await rig.putObjects(`${prefix}/logical`, files)).code).toBe(0);
    const dir = rig.backupDir('backup-keep');
    const job = rig.backupCronJob();
    expect((await rig.runDump(dir)).code).toBe(0);
    const shim = rig.awsShim('aws-keep');
    const env: Record<string, string> = { ...containerEnv(containerOf(job, 'upload')), BACKUP_DIR: dir, S3_PREFIX: prefix, ...shim.env };
    expect(env.MIN_KEEP).toBe('3');
    // The fresh backup is one of the three kept; the two newest 2020 complete ones are the others.
    const r = await rig.runScript('upload.sh', env);
    expect(r.code).toBe(0);
    // However many files and backups: two uploads (SHA256SUMS last), each read back by one listing
    // that also serves the retention, and one delete of every expired backup.
    expect(shim.starts()).toEqual(['s3 cp', 's3api list-objects-v2', 's3 cp', 's3api list-objects-v2', 's3 rm']);
    expect(r.stderr.match(/deleted \d{8}T\d{6}Z/g)).toHaveLength(4);
    const left = (await rig.aws(['s3', 'ls', `s3://${BUCKET}/${prefix}/logical/`])).stdout;
    expect(left).toContain('20200105T020000Z');
    expect(left).toContain('20200104T020000Z');
    for (const gone of ['20200101T020000Z', '20200102T020000Z', '20200103T020000Z', '20200106T020000Z']) expect(left).not.toContain(gone);
  }, 300000);
});
