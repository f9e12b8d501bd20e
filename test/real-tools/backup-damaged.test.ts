import { mkdirSync, readFileSync, statSync, writeFileSync } from 'fs';
import { join } from 'path';
import { BUCKET, containerEnv, containerOf, useBackupRig } from './backup-rig';
import { run } from './tools';

/*
 * Damaged logical backups, in the bucket, on the scratch volume after download and before upload:
 * the shipped scripts against a real PostgreSQL and S3-compatible server (see backup-rig.ts). One
 * backup, taken first, is the one the tests damage.
 */
describe('PostgreSQL backups against a real PostgreSQL, pgBackRest and S3-compatible server: damaged backups', () => {
  const rig = useBackupRig();
  let backupId: string;

  beforeAll(async () => {
    const r = await rig.runBackup(rig.backupDir('backup-1'));
    expect(r.stderr).toContain('verified');
    expect(r.code).toBe(0);
    backupId = (await rig.listKeys())[0].split('/')[3];
    expect(backupId).toMatch(/^\d{8}T\d{6}Z$/);
  }, 300000);

  describe('a corrupted or truncated backup is never restored', () => {
    const dumpKey = () => `prod/postgres/logical/${backupId}/quality_billing.dump`;
    let original: string;

    beforeAll(async () => {
      original = join(rig.work, 'original.dump');
      expect((await rig.aws(['s3', 'cp', `s3://${BUCKET}/${dumpKey()}`, original])).code).toBe(0);
    });
    afterAll(async () => {
      await rig.aws(['s3', 'cp', original, `s3://${BUCKET}/${dumpKey()}`]);
    });

    it.each([
      ['truncated', (b: Buffer) => b.subarray(0, Math.floor(b.length / 2))],
      ['corrupted', (b: Buffer) => { const c = Buffer.from(b); for (let i = 2000; i < 2100; i++) c[i] ^= 0xff; return c; }],
    ])('%s in the bucket: the download\'s verification fails, naming the backup', async (_label, damage) => {
      const damaged = join(rig.work, `damaged-${_label}.dump`);
      writeFileSync(damaged, damage(readFileSync(original)));
      expect((await rig.aws(['s3', 'cp', damaged, `s3://${BUCKET}/${dumpKey()}`])).code).toBe(0);
      await rig.psql('DROP DATABASE IF EXISTS quality_billing_copy', 'postgres');
      const r = await rig.runRestore(rig.restoreJob, rig.backupDir(`restore-${_label}`), { TARGET_DATABASE: 'quality_billing_copy' });
      expect(r.step).toBe('fetch');
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(`backup ${backupId} is corrupt: its files do not match SHA256SUMS; nothing restored`);
      expect(await rig.psql(`SELECT count(*) FROM pg_database WHERE datname = 'quality_billing_copy'`, 'postgres')).toBe('0');
    }, 300000);

    it.each([
      ['truncated', (b: Buffer) => b.subarray(0, Math.floor(b.length / 2))],
      ['corrupted', (b: Buffer) => { const c = Buffer.from(b); for (let i = 2000; i < 2100; i++) c[i] ^= 0xff; return c; }],
    ])('%s after download: the restore step fails on the checksum and restores nothing', async (_label, damage) => {
      const dir = rig.backupDir(`restore-local-${_label}`);
      // The downloaded files, then the dump damaged as if on the scratch volume.
      mkdirSync(join(dir, backupId), { recursive: true });
      writeFileSync(join(dir, 'BACKUP_ID'), `${backupId}\n`);
      for (const f of ['manifest.tsv', 'SHA256SUMS']) writeFileSync(join(dir, backupId, f), readFileSync(join(rig.work, 'backup-1', backupId, f)));
      writeFileSync(join(dir, backupId, 'quality_billing.dump'), damage(readFileSync(original)));
      await rig.psql('DROP DATABASE IF EXISTS quality_billing_copy', 'postgres');
      const r = await rig.runScript('restore.sh', { ...containerEnv(containerOf(rig.restoreJob, 'restore')), PGHOST: '127.0.0.1', PGPORT: String(rig.pgPort), BACKUP_DIR: dir, TARGET_DATABASE: 'quality_billing_copy' });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(`backup ${backupId} is corrupt`);
      expect(await rig.psql(`SELECT count(*) FROM pg_database WHERE datname = 'quality_billing_copy'`, 'postgres')).toBe('0');
    }, 300000);

    it('a truncated dump whose checksums were recomputed fails pg_restore\'s read and restores nothing', async () => {
      const dir = rig.backupDir('restore-resummed');
      mkdirSync(join(dir, backupId), { recursive: true });
      writeFileSync(join(dir, 'BACKUP_ID'), `${backupId}\n`);
      writeFileSync(join(dir, backupId, 'manifest.tsv'), readFileSync(join(rig.work, 'backup-1', backupId, 'manifest.tsv')));
      const bytes = readFileSync(original);
      writeFileSync(join(dir, backupId, 'quality_billing.dump'), bytes.subarray(0, Math.floor(bytes.length * 0.6)));
      writeFileSync(join(dir, backupId, 'SHA256SUMS'), run('sha256sum', ['quality_billing.dump', 'manifest.tsv'].map(f => join(dir, backupId, f))).replace(new RegExp(`${join(dir, backupId)}/`, 'g'), ''));
      await rig.psql('DROP DATABASE IF EXISTS quality_billing_copy', 'postgres');
      const r = await rig.runScript('restore.sh', { ...containerEnv(containerOf(rig.restoreJob, 'restore')), PGHOST: '127.0.0.1', PGPORT: String(rig.pgPort), BACKUP_DIR: dir, TARGET_DATABASE: 'quality_billing_copy' });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/pg_restore of \d{8}T\d{6}Z into quality_billing_copy failed; the database is left empty/);
      expect(await rig.psql(`SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')`, 'quality_billing_copy')).toBe('0');
    }, 300000);

    it('a dump damaged on the scratch volume before upload is not uploaded', async () => {
      const dir = rig.backupDir('backup-damaged');
      const job = rig.backupCronJob();
      const { code, id } = await rig.runDump(dir);
      expect(code).toBe(0);
      const file = join(dir, id, 'quality_billing.dump');
      writeFileSync(file, readFileSync(file).subarray(0, 100));
      const upload = await rig.runScript('upload.sh', { ...containerEnv(containerOf(job, 'upload')), BACKUP_DIR: dir });
      expect(upload.code).not.toBe(0);
      expect(upload.stderr).toContain('do not match: not uploading');
      expect((await rig.listKeys()).some(k => k.includes(`/${id}/`))).toBe(false);
    }, 300000);

    it('a dump cut short on its way to the bucket fails the upload, and the backup is never marked complete', async () => {
      const dir = rig.backupDir('backup-cut-short');
      const job = rig.backupCronJob();
      const { code, id } = await rig.runDump(dir);
      expect(code).toBe(0);
      const size = statSync(join(dir, id, 'quality_billing.dump')).size;
      const upload = await rig.runScript('upload.sh', { ...containerEnv(containerOf(job, 'upload')), BACKUP_DIR: dir, ...rig.awsShim('aws-cut-short', { truncateDumps: true }).env });
      expect(upload.code).not.toBe(0);
      expect(upload.stderr).toContain(`uploaded quality_billing.dump has 100 bytes, the local file ${size}`);
      const keys = (await rig.listKeys()).filter(k => k.includes(`/${id}/`));
      expect(keys.some(k => k.endsWith('/quality_billing.dump'))).toBe(true);
      expect(keys.some(k => k.endsWith('/SHA256SUMS'))).toBe(false);
    }, 300000);
  });
});
