import { spawn } from 'child_process';
import { readFileSync, realpathSync, writeFileSync } from 'fs';
import { dirname, join } from 'path';
import { find } from '../helpers';
import { containerEnv, containerOf, exec, useBackupRig } from './backup-rig';
import { debianBinary, run } from './tools';

/*
 * The logical backup CronJob and the restore Job, their scripts run against a real PostgreSQL and
 * S3-compatible server (see backup-rig.ts): back up, then restore in the ways a restore can go.
 * The tests run in order on one server; the first one takes the backup the others restore.
 */
describe('PostgreSQL backups against a real PostgreSQL, pgBackRest and S3-compatible server: logical backup and restore', () => {
  const rig = useBackupRig();
  let backupId: string;
  let before: Awaited<ReturnType<typeof rig.fingerprint>>;

  it('the CronJob\'s scripts back up to S3: dump, manifest and checksums, checksums uploaded last', async () => {
    before = await rig.fingerprint();
    expect(before.rows).toBe(1200 + 3000 + 2500);
    const r = await rig.runBackup(rig.backupDir('backup-1'));
    expect(r.stderr).toContain('verified');
    expect(r.code).toBe(0);
    const keys = await rig.listKeys();
    backupId = keys[0].split('/')[3];
    expect(backupId).toMatch(/^\d{8}T\d{6}Z$/);
    expect(keys.map(k => k.split('/').pop()).sort()).toEqual(['SHA256SUMS', 'manifest.tsv', 'quality_billing.dump']);
    const manifest = readFileSync(join(rig.work, 'backup-1', backupId, 'manifest.tsv'), 'utf8');
    expect(manifest).toContain('table\tpublic.invoices\t3000\n');
    expect(manifest).toContain('table\tbilling."Line Items"\t2500\n');
    expect(manifest).toContain('index\tpublic.invoices_customer\tinvoices\n');
    expect(manifest).toContain('sequence\tbilling.receipt_no\t-\n');
  }, 300000);

  it('drop the database, run the restore Job\'s scripts: every row, sequence value and index comes back', async () => {
    await rig.psql('DROP DATABASE quality_billing', 'postgres');
    const r = await rig.runRestore(rig.restoreJob, rig.backupDir('restore-1'));
    expect(r.stderr).toMatch(/3 tables and 6700 rows match the manifest/);
    expect(r.code).toBe(0);
    expect(await rig.fingerprint()).toEqual(before);
  }, 300000);

  it('refuses to restore over a database that has tables unless REPLACE=true', async () => {
    const r = await rig.runRestore(rig.restoreJob, rig.backupDir('restore-2'));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/database quality_billing already has 3 tables; set REPLACE=true/);
    expect(await rig.fingerprint()).toEqual(before);
  }, 300000);

  it.each([
    ['an existing, empty database', false],
    ['a database with tables, REPLACE=true', true],
  ])('restores into %s while a session is connected to it (as the exporter sidecar keeps one): the session is terminated after a log line', async (_label, withTables) => {
    const target = 'quality_billing_held';
    await rig.psql(`DROP DATABASE IF EXISTS ${target} WITH (FORCE)`, 'postgres');
    await rig.psql(`CREATE DATABASE ${target}`, 'postgres');
    if (withTables) await rig.psql('CREATE TABLE leftover (id int)', target);
    // A session like postgres_exporter's: the database's own user over TCP, held open.
    const held = spawn(...rig.sessionCommand(target));
    let heldOutput = '';
    held.stdout!.on('data', d => { heldOutput += d; });
    held.stderr!.on('data', d => { heldOutput += d; });
    const exited = new Promise<number | null>(resolve => held.once('exit', code => resolve(code)));
    held.stdin!.write('SELECT 1 AS connected;\n');
    for (let i = 0; i < 50 && !heldOutput.includes('connected'); i++) await new Promise(r => setTimeout(r, 100));
    expect(await rig.psql(`SELECT count(*) FROM pg_stat_activity WHERE datname = '${target}' AND application_name = 'postgres_exporter'`, 'postgres')).toBe('1');

    const r = await rig.runRestore(rig.restoreJob, rig.backupDir(`restore-held-${withTables}`), { TARGET_DATABASE: target, REPLACE: String(withTables) });
    // The held session learns of its end at its next statement.
    held.stdin!.end('SELECT 2 AS still_here;\n');
    const code = await Promise.race([exited, new Promise(r => setTimeout(() => r('still connected'), 5000))]);
    held.kill('SIGKILL');
    expect(r.stderr).toMatch(new RegExp(`database ${target} has 1 connected session \\(postgres_exporter@127\\.0\\.0\\.1\\): refusing new connections and terminating it before dropping the database`));
    expect(r.stderr).toMatch(new RegExp(`restored \\d{8}T\\d{6}Z into ${target}: 3 tables and 6700 rows match the manifest`));
    expect(r.stderr).not.toMatch(/ERROR:|psql:/);
    expect(r.code).toBe(0);
    expect(code).not.toBe('still connected');
    expect(heldOutput).toMatch(/terminating connection due to administrator command/);
    expect(heldOutput).not.toContain('still_here');
    // The restored database accepts connections again.
    expect(await rig.psql('SELECT count(*) FROM public.invoices', target)).toBe('3000');
    await rig.psql(`DROP DATABASE ${target}`, 'postgres');
  }, 120000);

  it('the restore test fetches the latest backup and restores it into a throwaway server of its own, checked against the manifest', async () => {
    const job = find(rig.objects, 'CronJob', 'quality-billing-postgres-restore-test');
    const dir = rig.backupDir('restore-test');
    const fetch = await rig.runScript('fetch.sh', { ...containerEnv(containerOf(job, 'fetch')), BACKUP_DIR: dir });
    expect(fetch.code).toBe(0);
    // The restore container starts its own server: PostgreSQL's server binaries on PATH, as in its image (test/real-tools/restore-drill.test.ts has the details).
    const env = containerEnv(containerOf(job, 'restore'));
    expect(env.SCRATCH_DIR).toBe('/backup/server');
    const r = await exec('/bin/bash', [join(rig.work, 'scripts', 'restore-drill.sh')], {
      ...env, BACKUP_DIR: dir, SCRATCH_DIR: join(dir, 'server'), PATH: `${dirname(realpathSync(debianBinary('initdb')))}:/usr/bin:/bin`, TZ: 'UTC',
    }, 300000);
    expect(r.stderr).toMatch(/restored \d{8}T\d{6}Z into quality_billing: 3 tables and 6700 rows match the manifest/);
    expect(r.stderr).toContain('restore drill passed');
    expect(r.code).toBe(0);
  }, 300000);

  it('a restore that does not match the manifest fails', async () => {
    const dir = rig.backupDir('restore-mismatch');
    const fetch = await rig.runScript('fetch.sh', { ...containerEnv(containerOf(rig.restoreJob, 'fetch')), BACKUP_DIR: dir });
    expect(fetch.code).toBe(0);
    // A manifest claiming one more row than the dump holds (checksums recomputed to match).
    const folder = join(dir, backupId);
    writeFileSync(join(folder, 'manifest.tsv'), readFileSync(join(folder, 'manifest.tsv'), 'utf8').replace('table\tpublic.invoices\t3000', 'table\tpublic.invoices\t3001'));
    writeFileSync(join(folder, 'SHA256SUMS'), run('sha256sum', ['quality_billing.dump', 'manifest.tsv'].map(f => join(folder, f))).replace(new RegExp(`${folder}/`, 'g'), ''));
    const r = await rig.runScript('restore.sh', { ...containerEnv(containerOf(rig.restoreJob, 'restore')), PGHOST: '127.0.0.1', PGPORT: String(rig.pgPort), BACKUP_DIR: dir, TARGET_DATABASE: 'quality_billing_mismatch' });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/does not match the manifest/);
    expect(r.stderr).toContain('-table\tpublic.invoices\t3001');
    await rig.psql('DROP DATABASE quality_billing_mismatch', 'postgres');
  }, 300000);
});
