import { join } from 'path';
import { containerEnv, containerOf, useBackupRig } from './backup-rig';

/*
 * Point-in-time recovery with pgBackRest: full and incremental backups, WAL archived to a real
 * S3-compatible server, a restore to a noted time (see backup-rig.ts).
 */
describe('PostgreSQL backups against a real PostgreSQL, pgBackRest and S3-compatible server: point-in-time recovery', () => {
  const rig = useBackupRig();

  it('point-in-time recovery: WAL archiving plus full and incremental backups restore to a noted time', async () => {
    const pgbackrestEnv = { ...rig.pgbackrestEnv, PGHOST: rig.pgDir, PGPORT: String(rig.pgPort) };
    const full = await rig.runScript('pgbackrest-backup.sh', pgbackrestEnv, ['full']);
    expect(full.stderr).toContain('full backup done');
    expect(full.code).toBe(0);
    await rig.psql(`CREATE TABLE public.events (id int PRIMARY KEY, phase text); INSERT INTO public.events SELECT g, 'after full' FROM generate_series(1, 500) g`);
    const incr = await rig.runScript('pgbackrest-backup.sh', pgbackrestEnv, ['incr']);
    expect(incr.stderr).toContain('incr backup done');
    expect(incr.code).toBe(0);
    await rig.psql(`INSERT INTO public.events SELECT g, 'before the mark' FROM generate_series(501, 800) g`);
    await new Promise(r => setTimeout(r, 1100));
    const mark = await rig.psql(`SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'`);
    await new Promise(r => setTimeout(r, 1100));
    await rig.psql(`INSERT INTO public.events SELECT g, 'after the mark' FROM generate_series(801, 1000) g; DELETE FROM billing."Line Items" WHERE invoice_id > 2000; DELETE FROM public.invoices WHERE id > 2000`);
    await rig.psql('SELECT pg_switch_wal()');
    await new Promise(r => setTimeout(r, 3000)); // archive_command ships the segment
    await rig.pgCtl('stop');

    const job = rig.pitrJobFor(`time:${mark}`);
    const env = containerEnv(containerOf(job, 'restore'));
    expect(env.RESTORE_TARGET).toBe(`time:${mark}`);
    const restored = await rig.runScript('pgbackrest-restore.sh', { ...pgbackrestEnv, ...env, PGDATA: join(rig.pgDir, 'data'), PGBACKREST_PG1_PATH: join(rig.pgDir, 'data') });
    expect(restored.stderr).toContain(`restored to time:${mark}`);
    expect(restored.code).toBe(0);
    await rig.pgCtl('start');
    for (let i = 0; i < 60 && (await rig.psql('SELECT pg_is_in_recovery()', 'postgres')) === 't'; i++) await new Promise(r => setTimeout(r, 500));
    expect(await rig.psql(`SELECT phase || ':' || count(*) FROM public.events GROUP BY phase ORDER BY phase`)).toBe('after full:500\nbefore the mark:300');
    expect(await rig.psql('SELECT count(*) FROM public.invoices')).toBe('3000');
    expect(await rig.psql('SELECT count(*) FROM billing."Line Items"')).toBe('2500');
  }, 300000);

  it('a point-in-time restore refuses to run while PostgreSQL is running', async () => {
    const env = containerEnv(containerOf(rig.pitrJobFor('latest'), 'restore'));
    const r = await rig.runScript('pgbackrest-restore.sh', { ...rig.pgbackrestEnv, ...env, PGDATA: join(rig.pgDir, 'data') });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('postmaster.pid exists: stop PostgreSQL');
  }, 60000);
});
