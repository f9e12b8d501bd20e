import { ChildProcess, spawn } from 'child_process';
import { chmodSync, openSync, readFileSync, realpathSync, writeFileSync } from 'fs';
import { dirname, join } from 'path';
import { parse, stringify } from 'yaml';
import { ENVIRONMENTS } from '../../lib/environments';
import { PATRONI_PROMOTE_ARGS } from '../../lib/standby-promotion';
import { find, K8sObject, synthStack } from '../helpers';
import { BUCKET, containerEnv, exec, localStorage, SECRETS, sleep, useBackupRig } from './backup-rig';
import { debianBinary, freePort, run, stop } from './tools';

/*
 * The standby site (issue 21 §1) on real binaries: the rig's primary (PostgreSQL 15 with the prod
 * postgresql.conf, WAL archived by pgBackRest to s3rver) and a second PostgreSQL built and fed
 * from the bucket alone, with the standby site's synthesized postgresql.conf, pgBackRest
 * configurations, scripts and container environment. Only addresses, ports, paths, and the
 * primary's archive_timeout differ: it is lowered from our 60 s to ARCHIVE_TIMEOUT_S with ALTER
 * SYSTEM on the test's primary, so the proof takes seconds, not minutes.
 *
 * The standby site is prod, like its primary, so its PostgreSQL runs under real Patroni 3.0
 * (Debian's) as a Patroni standby cluster: the standby site's patroni.yml with Debian's etcd 3.4
 * on loopback in place of the Kubernetes API (as in postgres-ha.test.ts), started through the
 * construct's patroni-start.sh. Patroni builds the standby leader with our restore script (its
 * create_replica_method), replays with standby_cluster.restore_command, and is promoted with the
 * runbook's `patronictl edit-config -s standby_cluster=null`.
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

/** Debian's newest PostgreSQL binaries (15 here), where Patroni finds pg_ctl and the rest. */
const BIN = dirname(realpathSync(debianBinary('postgres')));
const isRoot = process.getuid?.() === 0;
const REPLICATION_PASSWORD = `repl-${Math.random().toString(36).slice(2)}`;

describe('standby site against a real PostgreSQL 15, Patroni 3.0, pgBackRest and S3-compatible server', () => {
  const rig = useBackupRig();
  let patroni: ChildProcess | undefined;
  let etcd: ChildProcess | undefined;
  let standbyPid = 0;
  afterAll(async () => {
    // Patroni stops its PostgreSQL on SIGTERM; the postmaster is stopped by its id too, in case Patroni is gone.
    await stop(patroni, 'SIGTERM');
    if (standbyPid) try { process.kill(standbyPid, 'SIGINT'); } catch { /* already gone */ }
    await stop(etcd, 'SIGTERM');
  }, 60000);

  const s = { dir: '', data: '', port: 0, apiPort: 0, config: '', log: '', env: {} as Record<string, string>, objects: [] as K8sObject[] };
  const patroniRole = async () => { try { return ((await (await fetch(`http://127.0.0.1:${s.apiPort}/patroni`, { signal: AbortSignal.timeout(2000) })).json()) as { role: string }).role; } catch { return 'down'; } };
  const patroniLog = () => readFileSync(s.log, 'utf8').split('\n').slice(-60).join('\n');
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
    // What Patroni's bootstrap creates on a prod primary (the rig's primary is a plain initdb): the
    // replication user, which the standby leader's Patroni connects to its own server as.
    await rig.psql(`CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD '${REPLICATION_PASSWORD}'`, 'postgres');
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
    const patroni0 = parse(files['patroni.yml']);
    const standbyCluster = patroni0.bootstrap.dcs.standby_cluster;
    expect(standbyCluster.restore_command).toBe('bash /etc/pgbackrest-standby/standby-archive-get.sh %f "%p"');
    const replicaMethod = patroni0.postgresql[standbyCluster.create_replica_methods[0]];
    expect(replicaMethod.no_params).toBe(true);
    expect(replicaMethod.no_leader).toBe(true);
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
    s.data = join(s.dir, 'data'); // not created: the restore script makes it, as on a new volume
    s.port = await freePort();
    // Patroni's custom_conf: ours (Patroni adds the standby's restore_command from standby_cluster).
    writeFileSync(join(s.dir, 'postgresql.conf'), local(conf), { mode: 0o644 });
    const env = containerEnv(server);
    s.env = {
      ...env,
      PRIMARY_PGBACKREST_CONFIG: local(env.PRIMARY_PGBACKREST_CONFIG), RESTORE_COMMAND: local(env.RESTORE_COMMAND), PGDATA: s.data,
      PGBACKREST_CONFIG: join(ownDir, 'pgbackrest.conf'), PGBACKREST_PG1_PATH: s.data, PGBACKREST_PG1_PORT: String(s.port), PGBACKREST_PG1_SOCKET_PATH: s.dir,
      PGBACKREST_REPO1_STORAGE_CA_FILE: join(work, 'tls', 'cert.pem'), PGBACKREST_LOCK_PATH: join(work, 'standby-lock'), PATH: '/usr/bin:/bin',
    };

    // Patroni with the standby site's patroni.yml: only addresses, ports, folders and the DCS differ.
    s.apiPort = await freePort();
    const [etcdPort, peerPort] = [await freePort(), await freePort()];
    etcd = spawn(debianBinary('etcd'), ['--name', 'dcs', '--data-dir', join(work, 'etcd'),
      '--listen-client-urls', `http://127.0.0.1:${etcdPort}`, '--advertise-client-urls', `http://127.0.0.1:${etcdPort}`,
      '--listen-peer-urls', `http://127.0.0.1:${peerPort}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peerPort}`,
      '--initial-cluster', `dcs=http://127.0.0.1:${peerPort}`], { stdio: 'ignore' });
    const c = structuredClone(patroni0);
    delete c.kubernetes;
    c.etcd3 = { hosts: `127.0.0.1:${etcdPort}` };
    c.name = 'site-b-0';
    c.restapi = { ...c.restapi, listen: `127.0.0.1:${s.apiPort}`, connect_address: `127.0.0.1:${s.apiPort}` };
    c.bootstrap.dcs.standby_cluster.restore_command = local(c.bootstrap.dcs.standby_cluster.restore_command);
    c.postgresql = {
      ...c.postgresql, listen: `127.0.0.1:${s.port}`, connect_address: `127.0.0.1:${s.port}`, data_dir: s.data, bin_dir: BIN,
      pgpass: join(s.dir, 'pgpass'), custom_conf: join(s.dir, 'postgresql.conf'), parameters: { unix_socket_directories: s.dir },
      [standbyCluster.create_replica_methods[0]]: { ...replicaMethod, command: local(replicaMethod.command) },
    };
    s.config = join(s.dir, 'patroni.yml');
    s.log = join(s.dir, 'patroni.log');
    const dynamicFile = join(s.dir, 'patroni-dynamic.yml');
    const startFile = join(s.dir, 'patroni-start.sh');
    writeFileSync(s.config, stringify(c));
    writeFileSync(dynamicFile, files['patroni-dynamic.yml']);
    writeFileSync(startFile, files['patroni-start.sh'].replaceAll('/etc/postgresql/patroni.yml', s.config).replaceAll('/etc/postgresql/patroni-dynamic.yml', dynamicFile));
    writeFileSync(s.log, '');
    for (const f of [s.config, dynamicFile, startFile, s.log]) rig.chownPostgres(f);
    for (let i = 0; i < 75; i++) { try { if ((await fetch(`http://127.0.0.1:${etcdPort}/version`)).ok) break; } catch { /* not yet */ } await sleep(200); }
    const owner = isRoot ? ['-u', '-g'].map(f => Number(run('id', [f, 'postgres']).trim())) : undefined;
    const out = openSync(s.log, 'a');
    // The pod's environment (the container's, this machine's paths) and its Secret's passwords.
    patroni = spawn('sh', [startFile], {
      stdio: ['ignore', out, out], ...(owner ? { uid: owner[0], gid: owner[1] } : {}),
      // The pod's own name and addresses (PATRONI_NAME=$(POD_NAME), …) are the file's here.
      env: { ...Object.fromEntries(Object.entries(s.env).filter(([k]) => !k.startsWith('PATRONI_'))), PATH: process.env.PATH, PATRONI_SUPERUSER_PASSWORD: SECRETS['db-credentials/password'], PATRONI_REPLICATION_PASSWORD: REPLICATION_PASSWORD },
    });
    let role = await patroniRole();
    for (let i = 0; i < 600 && role !== 'standby_leader'; i++) { await sleep(250); role = await patroniRole(); }
    if (role !== 'standby_leader') throw new Error(`no standby leader (role ${role}):\n${patroniLog()}`);
    expect(readFileSync(s.log, 'utf8')).toContain('restored: PostgreSQL starts as a standby');
    for (let i = 0; i < 240; i++) { if (await standbyPsql('SELECT 1').then(() => true, () => false)) break; await sleep(250); }
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

    // The runbook's promotion (Patroni: standby_cluster removed from the DCS), then the first write.
    const promote = await exec('patronictl', ['-c', s.config, ...PATRONI_PROMOTE_ARGS], { PATH: process.env.PATH ?? '/usr/bin:/bin' });
    expect(promote.code).toBe(0);
    let writable = false;
    for (let i = 0; i < 600 && !writable; i++) {
      writable = await standbyPsql(`INSERT INTO public.standby_probe VALUES (-1, now(), '0/0') RETURNING 1`).then(() => true, () => false);
      if (!writable) await sleep(100);
    }
    const takeoverSeconds = (performance.now() - t0) / 1000;
    if (!writable) throw new Error(`not writable after promotion:\n${patroniLog()}`);
    expect(takeoverSeconds).toBeLessThan(300);
    expect(await patroniRole()).toBe('master');

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
