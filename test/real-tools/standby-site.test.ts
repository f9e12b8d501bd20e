import { chmodSync, readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import { parse } from 'yaml';
import { ENVIRONMENTS } from '../../lib/environments';
import { PROMOTE_SQL } from '../../lib/standby-promotion';
import { find, K8sObject, synthStack } from '../helpers';
import { BUCKET, containerEnv, exec, localStorage, sleep, useBackupRig } from './backup-rig';
import { debianBinary, freePort, run } from './tools';

/*
 * The standby site (issue 21 §1) on real binaries: the rig's primary (PostgreSQL 15 with the prod
 * postgresql.conf, WAL archived by pgBackRest to s3rver) and a second PostgreSQL built and fed
 * from the bucket alone, with the standby site's synthesized postgresql.conf, pgBackRest
 * configurations, scripts and container environment. Only addresses, ports, paths, and the
 * primary's archive_timeout differ: it is lowered from our 60 s to ARCHIVE_TIMEOUT_S with ALTER
 * SYSTEM on the test's primary, so the proof takes seconds, not minutes.
 *
 * The standby site is prod, like its primary, so PostgreSQL runs under Patroni there: Patroni's
 * standby leader is built by the create_replica_method of patroni.yml (our restore script) and
 * replays with standby_cluster.restore_command, which Patroni writes into the postgresql.conf it
 * generates around ours; here pg_ctl runs the server and the test writes that line. (A standby
 * site must have the primary's shape: a hot standby refuses to start with a lower
 * max_connections than its primary's, and Patroni's budget has one connection more.)
 */
const ARCHIVE_TIMEOUT_S = 5;
const STANZA_DIR = 'archive/quality-billing-postgres';
const SEGMENT_BYTES = 16n * 1024n * 1024n;

/** pg_lsn text ("0/3000060") as a number. */
const lsn = (text: string) => { const [hi, lo] = text.split('/'); return (BigInt(`0x${hi}`) << 32n) + BigInt(`0x${lo}`); };
/** The LSN just past the end of a WAL segment, from its file name (timeline, log, segment). */
const segmentEnd = (name: string) => (BigInt(`0x${name.slice(8, 16)}`) << 32n) + (BigInt(`0x${name.slice(16, 24)}`) + 1n) * SEGMENT_BYTES;

/** Every process under `pid` (and itself), from ps: the site's whole process tree. */
function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const line of run('ps', ['-e', '-o', 'pid=,ppid=']).trim().split('\n')) {
    const [p, pp] = line.trim().split(/\s+/).map(Number);
    children.set(pp, [...children.get(pp) ?? [], p]);
  }
  const all = [pid];
  for (let i = 0; i < all.length; i++) all.push(...children.get(all[i]) ?? []);
  return all;
}

describe('standby site against a real PostgreSQL 15, pgBackRest and S3-compatible server', () => {
  const rig = useBackupRig();
  let standbyPid = 0;
  afterAll(() => { if (standbyPid) try { process.kill(standbyPid, 'SIGINT'); } catch { /* already gone */ } });

  const s = { dir: '', data: '', port: 0, env: {} as Record<string, string>, objects: [] as K8sObject[] };
  const standbyPsql = async (sql: string): Promise<string> => {
    const r = await exec(debianBinary('psql'), ['-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', s.dir, '-p', String(s.port), '-U', 'postgres', '-d', 'quality_billing', '-c', sql], {});
    if (r.code !== 0) throw new Error(`standby psql failed: ${r.stderr}`);
    return r.stdout.trim();
  };
  const keys = async (prefix: string) => (await rig.aws(['s3', 'ls', '--recursive', `s3://${BUCKET}/${prefix}/`])).stdout.split('\n').filter(Boolean).map(l => l.trim().split(/\s+/).pop() as string);
  const primaryPgEnv = () => ({ ...rig.pgbackrestEnv, PGHOST: rig.pgDir, PGPORT: String(rig.pgPort) });

  it('a standby built from the bucket alone replays the primary\'s WAL archive, read-only', async () => {
    await rig.psql(`ALTER SYSTEM SET archive_timeout = '${ARCHIVE_TIMEOUT_S}s'`, 'postgres');
    await rig.psql('SELECT pg_reload_conf()', 'postgres');
    // The probe: each row records the WAL insert position when it was written, which is past the
    // commit of the row before it (so row n is committed at or before the LSN row n+1 records).
    await rig.psql(`
      CREATE TABLE public.standby_probe (id bigint PRIMARY KEY, at timestamptz NOT NULL, lsn pg_lsn NOT NULL);
      CREATE PROCEDURE public.standby_probe_writer() LANGUAGE plpgsql AS $$
      DECLARE n bigint := 0;
      BEGIN
        LOOP
          n := n + 1;
          INSERT INTO public.standby_probe VALUES (n, clock_timestamp(), pg_current_wal_insert_lsn());
          COMMIT;
          PERFORM pg_sleep(0.02);
        END LOOP;
      END $$;`);
    const full = await rig.runScript('pgbackrest-backup.sh', primaryPgEnv(), ['full']);
    expect(full.stderr).toContain('full backup done');

    // The standby site's manifests: its primary's storage is the rig's bucket.
    s.objects = synthStack(ENVIRONMENTS.prod, { standbySite: { cluster: 'site-b', primaryCluster: 'site-a', primaryBackupStorage: localStorage(rig.s3Port) } }).objects;
    const files = find(s.objects, 'ConfigMap', 'quality-billing-postgres-files').data;
    const conf: string = files['postgresql.conf'];
    expect(conf).toContain("archive_command = 'bash /etc/pgbackrest/pgbackrest-archive-push.sh %p'");
    const patroni = parse(files['patroni.yml']);
    const standbyCluster = patroni.bootstrap.dcs.standby_cluster;
    expect(standbyCluster.restore_command).toBe('bash /etc/pgbackrest-standby/standby-archive-get.sh %f "%p"');
    const replicaMethod = patroni.postgresql[standbyCluster.create_replica_methods[0]];
    expect(replicaMethod.no_params).toBe(true);
    const restoreStep = /^bash (\S+)$/.exec(replicaMethod.command);
    expect(restoreStep).not.toBeNull();
    const standbyFiles = find(s.objects, 'ConfigMap', 'quality-billing-postgres-standby').data;
    const ownFiles = find(s.objects, 'ConfigMap', 'quality-billing-postgres-pgbackrest').data;
    expect(ownFiles['pgbackrest.conf']).toContain('repo1-path=/prod/postgres-site-b/pgbackrest');
    expect(standbyFiles['pgbackrest-primary.conf']).toContain('repo1-path=/prod/postgres/pgbackrest');
    const server = find(s.objects, 'StatefulSet', 'quality-billing-postgres').spec.template.spec.containers.find((c: any) => c.name === 'postgres');

    // This machine's paths in place of the two mounts.
    const work = rig.work;
    const standbyDir = rig.backupDir('standby-etc');
    const ownDir = rig.backupDir('own-etc');
    const local = (text: string) => text.split('/etc/pgbackrest-standby/').join(`${standbyDir}/`).split('/etc/pgbackrest/').join(`${ownDir}/`);
    for (const [name, text] of Object.entries(standbyFiles)) writeFileSync(join(standbyDir, name), text as string, { mode: 0o755 });
    for (const [name, text] of Object.entries(ownFiles)) writeFileSync(join(ownDir, name), text as string, { mode: 0o755 });
    s.dir = rig.backupDir('standby');
    chmodSync(s.dir, 0o700);
    s.data = join(s.dir, 'data');
    s.port = await freePort();
    // Patroni's generated postgresql.conf: ours (custom_conf) plus the standby's restore_command.
    writeFileSync(join(s.dir, 'postgresql.conf'), `${local(conf)}restore_command = '${local(standbyCluster.restore_command)}'\n`, { mode: 0o644 });
    const env = containerEnv(server);
    s.env = {
      ...env,
      PRIMARY_PGBACKREST_CONFIG: local(env.PRIMARY_PGBACKREST_CONFIG), RESTORE_COMMAND: local(env.RESTORE_COMMAND), PGDATA: s.data,
      PGBACKREST_CONFIG: join(ownDir, 'pgbackrest.conf'), PGBACKREST_PG1_PATH: s.data, PGBACKREST_PG1_PORT: String(s.port), PGBACKREST_PG1_SOCKET_PATH: s.dir,
      PGBACKREST_REPO1_STORAGE_CA_FILE: join(work, 'tls', 'cert.pem'), PGBACKREST_LOCK_PATH: join(work, 'standby-lock'), PATH: '/usr/bin:/bin',
    };

    // What Patroni runs to build the standby leader: the restore from the primary's repository.
    const restored = await exec('/bin/bash', [local(restoreStep![1])], s.env, 300000);
    expect(restored.stderr).toContain('restored: PostgreSQL starts as a standby');
    expect(restored.code).toBe(0);
    expect(readFileSync(join(s.data, 'postgresql.auto.conf'), 'utf8')).toContain(`restore_command = '${s.env.RESTORE_COMMAND}'`);
    const start = await exec(debianBinary('pg_ctl'), ['-D', s.data, '-o', [`-c config_file=${join(s.dir, 'postgresql.conf')}`, `-c hba_file=${join(s.data, 'pg_hba.conf')}`,
      `-c port=${s.port}`, `-c unix_socket_directories=${s.dir}`, '-c listen_addresses=127.0.0.1'].join(' '), '-l', join(s.dir, 'server.log'), '-w', '-t', '120', 'start'], s.env);
    if (start.code !== 0) throw new Error(`standby start failed: ${start.stderr}${readFileSync(join(s.dir, 'server.log'), 'utf8').slice(-3000)}`);
    standbyPid = Number(readFileSync(join(s.data, 'postmaster.pid'), 'utf8').split('\n')[0]);

    expect(await standbyPsql('SELECT pg_is_in_recovery()')).toBe('t');
    const write = await exec(debianBinary('psql'), ['-X', '-h', s.dir, '-p', String(s.port), '-U', 'postgres', '-d', 'quality_billing', '-c', 'INSERT INTO public.standby_probe VALUES (-2, now(), \'0/0\')'], {});
    expect(write.stderr).toContain('cannot execute INSERT in a read-only transaction');
    // The backup's fixture is there, and a row written on the primary after it arrives.
    expect(await standbyPsql('SELECT count(*) FROM public.invoices')).toBe('3000');
    await rig.psql(`INSERT INTO public.standby_probe VALUES (0, clock_timestamp(), pg_current_wal_insert_lsn())`);
    const written = Date.now();
    let seen = '0';
    for (let i = 0; i < 480 && seen === '0'; i++) { await sleep(250); seen = await standbyPsql('SELECT count(*) FROM public.standby_probe WHERE id = 0'); }
    expect(seen).toBe('1');
    const lagSeconds = (Date.now() - written) / 1000;
    process.stdout.write(`standby site: a row written on the primary was replayed by the standby after ${lagSeconds.toFixed(1)} s (archive_timeout ${ARCHIVE_TIMEOUT_S} s + archive push + restore_command retry every 5 s)\n`);
  }, 300000);

  it('primary lost (kill -9): promoted within 5 minutes, every row committed before the last archived segment present, the loss bounded by archive_timeout', async () => {
    expect(standbyPid).toBeGreaterThan(0);
    const archived = async () => Number(await rig.psql('SELECT archived_count FROM pg_stat_archiver', 'postgres'));
    const before = await archived();
    const writer = exec(debianBinary('psql'), ['-X', '-h', rig.pgDir, '-p', String(rig.pgPort), '-U', 'postgres', '-d', 'quality_billing', '-c', 'CALL public.standby_probe_writer()'], {}, 600000);
    // Writes for two archive_timeout intervals at least: two segments archived while it writes.
    for (let i = 0; i < 240 && await archived() < before + 2; i++) await sleep(500);
    expect(await archived()).toBeGreaterThanOrEqual(before + 2);
    await sleep(Math.random() * ARCHIVE_TIMEOUT_S * 1000); // the loss is at some point of the interval, not just after a switch

    // The site is lost: the postmaster and every process under it (a push in flight included) at once.
    const postmaster = Number(readFileSync(join(rig.pgDir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
    const lostAt = Date.now();
    for (const pid of processTree(postmaster)) try { process.kill(pid, 'SIGKILL'); } catch { /* exited meanwhile */ }
    const t0 = performance.now();
    await writer;

    // The runbook's promotion, then the first write.
    expect(await standbyPsql(PROMOTE_SQL)).toBe('t');
    let writable = false;
    for (let i = 0; i < 600 && !writable; i++) {
      writable = await standbyPsql(`INSERT INTO public.standby_probe VALUES (-1, now(), '0/0') RETURNING 1`).then(() => true, () => false);
      if (!writable) await sleep(100);
    }
    const takeoverSeconds = (performance.now() - t0) / 1000;
    expect(writable).toBe(true);
    expect(takeoverSeconds).toBeLessThan(300);

    // What the primary had committed: its data directory after crash recovery, without archiving.
    const segments = (await keys(`prod/postgres/pgbackrest/${STANZA_DIR}`)).map(k => /\/(00000001[0-9A-F]{16})-[0-9a-f]{40}/.exec(k)?.[1]).filter((x): x is string => !!x).sort();
    const lastArchived = segments[segments.length - 1];
    const restart = await exec(debianBinary('pg_ctl'), ['-D', join(rig.pgDir, 'data'), '-o', [`-c config_file=${join(rig.pgDir, 'postgresql.conf')}`, `-c hba_file=${join(rig.pgDir, 'data', 'pg_hba.conf')}`,
      `-c port=${rig.pgPort}`, `-c unix_socket_directories=${rig.pgDir}`, '-c listen_addresses=127.0.0.1', '-c archive_mode=off'].join(' '), '-l', join(rig.pgDir, 'server-after.log'), '-w', '-t', '120', 'start'], { PATH: '/usr/bin:/bin' });
    expect(restart.code).toBe(0);
    const committed = (await rig.psql('SELECT id, extract(epoch FROM at) * 1000, lsn FROM public.standby_probe WHERE id > 0 ORDER BY id')).split('\n').map(l => { const [id, at, l2] = l.split('|'); return { id: Number(id), at: Number(at), lsn: lsn(l2) }; });
    const onStandby = (await standbyPsql('SELECT id FROM public.standby_probe WHERE id > 0 ORDER BY id')).split('\n').filter(Boolean).map(Number);

    // A prefix of the primary's rows, with no gap.
    expect(onStandby.every((id, n) => id === n + 1)).toBe(true);
    const kept = onStandby.length;
    const primaryRows = committed.length;
    expect(kept).toBeLessThanOrEqual(primaryRows);
    // Row n is committed before row n+1's recorded LSN: those at or before the end of the last archived segment must be there.
    const end = segmentEnd(lastArchived);
    const mustHave = committed.filter((_, n) => n + 1 < committed.length && committed[n + 1].lsn <= end).length;
    expect(kept).toBeGreaterThanOrEqual(mustHave);

    // The bound: a segment is archived at most archive_timeout after its first write, plus the
    // time its push takes (pgBackRest logs each push's duration in the primary's log).
    const pushes = [...readFileSync(join(rig.pgDir, 'server.log'), 'utf8').matchAll(/archive-push command end: completed successfully \((\d+)ms\)/g)].map(m => Number(m[1]));
    expect(pushes.length).toBeGreaterThan(0);
    const maxPushMs = Math.max(...pushes);
    const lost = primaryRows - kept;
    const inLastTimeout = committed.filter(r => r.at > lostAt - ARCHIVE_TIMEOUT_S * 1000).length;
    const bound = committed.filter(r => r.at > lostAt - ARCHIVE_TIMEOUT_S * 1000 - maxPushMs).length;
    expect(lost).toBeLessThanOrEqual(bound);
    process.stdout.write(`standby site: primary lost -> standby writable in ${takeoverSeconds.toFixed(2)} s; rows committed on the primary ${primaryRows}, on the promoted standby ${kept}, `
      + `lost ${lost}; written in the last archive_timeout (${ARCHIVE_TIMEOUT_S} s) ${inLastTimeout}, bound (archive_timeout + longest push ${maxPushMs} ms) ${bound}; `
      + `last archived segment ${lastArchived}, rows that had to be present ${mustHave}\n`);
  }, 300000);

  it('the promoted standby archives its new timeline to its own repository, never into the primary\'s stanza', async () => {
    expect(await standbyPsql('SELECT pg_is_in_recovery()')).toBe('f');
    await standbyPsql(`INSERT INTO public.standby_probe VALUES (-3, now(), '0/0'); SELECT pg_switch_wal()`);
    let own: string[] = [];
    for (let i = 0; i < 120 && !own.some(k => /\/00000002[0-9A-F]{16}-/.test(k)); i++) { await sleep(500); own = await keys(`prod/postgres-site-b/pgbackrest/${STANZA_DIR}`); }
    expect(own.some(k => k.endsWith('/00000002.history'))).toBe(true);
    expect(own.some(k => /\/00000002[0-9A-F]{16}-/.test(k))).toBe(true);
    const primary = await keys(`prod/postgres/pgbackrest/${STANZA_DIR}`);
    expect(primary.filter(k => /\/00000002/.test(k))).toEqual([]);
  }, 120000);
});
