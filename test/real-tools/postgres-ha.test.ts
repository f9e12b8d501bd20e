import { ChildProcess, execFile, spawn } from 'child_process';
import { chownSync, mkdirSync, mkdtempSync, openSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { dirname, join } from 'path';
import { parse, stringify } from 'yaml';
import { Postgres } from '../../constructs/data/postgres';
import { PATRONI_FAILOVER_DEFAULTS } from '../../lib/patroni-config';
import { find, podSpec, synth, testChart } from '../helpers';
import { debianBinary, freePort, run, stop } from './tools';

// Issue 18 §1: two members under real Patroni 3.0 (Debian) with the patroni.yml, postgresql.conf
// and post-bootstrap script the Postgres construct renders for staging/prod (tier "minimum", one
// standby, the production failover defaults). Only what a loopback machine cannot share with a pod
// is changed: addresses and ports, data and socket folders, the PostgreSQL 15 binaries' folder,
// and the DCS — Debian's etcd 3.4 (single node on loopback, Patroni's etcd3 client) stands in for
// the Kubernetes API, because pysyncobj (Patroni's raft) is not installed here. Patroni's leader
// election, TTL and lag rules are the same code whichever DCS stores the keys.
// Measures: time until a new primary accepts writes after kill -9 of the primary's postmaster and
// Patroni (one "node" lost), committed rows lost (synchronous_mode: 0), the old primary's rejoin
// through pg_rewind, and that a standby lagging beyond maximum_lag_on_failover is never promoted.

const chart = testChart();
const pg = new Postgres(chart, 'Postgres', { tier: 'minimum', standbys: 1 });
const objects = synth(chart);
const files = find(objects, 'ConfigMap', 'postgres-files').data as Record<string, string>;
const serverEnv: Array<{ name: string }> = podSpec(find(objects, 'StatefulSet', 'postgres')).containers[0].env;
const async = synth((() => { const c = testChart(); new Postgres(c, 'Postgres', { tier: 'minimum', standbys: 1, synchronousMode: false }); return c; })());
const asyncDcs = parse(find(async, 'ConfigMap', 'postgres-files').data['patroni.yml']).bootstrap.dcs;

// The folder of Debian's newest PostgreSQL (15 here), where Patroni finds initdb, pg_ctl, pg_rewind
// and pg_controldata (the real one: a PATH folder may hold links to only a few of them).
const BIN = dirname(realpathSync(debianBinary('postgres')));
const SUPERUSER_PASSWORD = `su-${Math.random().toString(36).slice(2)}`;
const REPLICATION_PASSWORD = `repl-${Math.random().toString(36).slice(2)}`;
const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

interface Member { name: string; pgPort: number; apiPort: number; dataDir: string; config: string; start: string; log: string; patroni?: ChildProcess }

describe('PostgreSQL with standbys under Patroni (real patroni 3.0, PostgreSQL 15, etcd)', () => {
  let dir: string;
  let dynamicFile: string;
  let etcd: ChildProcess | undefined;
  let etcdPort: number;
  const members: Member[] = [];
  const owner = process.getuid?.() === 0 ? ['-u', '-g'].map(f => Number(run('id', [f, 'postgres']).trim())) : undefined;
  const own = (p: string) => { if (owner) chownSync(p, owner[0], owner[1]); };

  const database = pg.connection.database;
  /** A query to the first of `ports` that answers; with read-write, the first that accepts writes, as the primary Service. */
  const execSql = (ports: number[], sql: string, extra = '') => new Promise<string>((resolve, reject) => {
    const conninfo = `host=${ports.map(() => '127.0.0.1').join(',')} port=${ports.join(',')} dbname=${database} user=${pg.connection.user} connect_timeout=2 ${extra}`;
    execFile(debianBinary('psql'), [conninfo, '-XAtqc', sql], { env: { ...process.env, PGPASSWORD: SUPERUSER_PASSWORD }, timeout: 10000 }, (err, out) => (err ? reject(err) : resolve(out.trim())));
  });
  const api = async (m: Member, path: string, init?: RequestInit): Promise<any> => {
    const r = await fetch(`http://127.0.0.1:${m.apiPort}${path}`, { ...init, signal: AbortSignal.timeout(3000) });
    return r.json();
  };
  const role = async (m: Member) => { try { return (await api(m, '/patroni')).role as string; } catch { return 'down'; } };
  const until = async <T>(what: string, f: () => Promise<T | undefined | false>, timeoutMs: number): Promise<T> => {
    const started = Date.now();
    while (Date.now() - started < timeoutMs) {
      try { const v = await f(); if (v) return v; } catch { /* not yet */ }
      await sleep(200);
    }
    throw new Error(`${what}: not within ${timeoutMs} ms\n${members.map(m => `--- ${m.name}\n${readFileSync(m.log, 'utf8').split('\n').slice(-40).join('\n')}`).join('\n')}`);
  };

  // Through the construct's entrypoint: patronictl applies patroni-dynamic.yml, then exec patroni.
  const startMember = (m: Member) => {
    const out = openSync(m.log, 'a');
    writeFileSync(m.start, files['patroni-start.sh'].replaceAll('/etc/postgresql/patroni.yml', m.config).replaceAll('/etc/postgresql/patroni-dynamic.yml', dynamicFile));
    m.patroni = spawn('sh', [m.start], {
      stdio: ['ignore', out, out],
      ...(owner ? { uid: owner[0], gid: owner[1] } : {}),
      // What the pod gets from its Secret; the other PATRONI_* variables are addresses (in the file here).
      env: { PATH: process.env.PATH, PATRONI_SUPERUSER_PASSWORD: SUPERUSER_PASSWORD, PATRONI_REPLICATION_PASSWORD: REPLICATION_PASSWORD },
    });
  };
  const postmasterPid = (m: Member) => Number(readFileSync(join(m.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  /** A node lost: its Patroni and its postmaster killed at once, no clean shutdown. */
  const crash = (m: Member) => {
    const pid = postmasterPid(m);
    m.patroni?.kill('SIGKILL');
    process.kill(pid, 'SIGKILL');
  };
  const primaryOf = async () => {
    for (const m of members) if (await role(m) === 'master') return m;
    return undefined;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'qb-patroni-'));
    own(dir);
    etcdPort = await freePort();
    const peerPort = await freePort();
    etcd = spawn(debianBinary('etcd'), ['--name', 'dcs', '--data-dir', join(dir, 'etcd'),
      '--listen-client-urls', `http://127.0.0.1:${etcdPort}`, '--advertise-client-urls', `http://127.0.0.1:${etcdPort}`,
      '--listen-peer-urls', `http://127.0.0.1:${peerPort}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peerPort}`,
      '--initial-cluster', `dcs=http://127.0.0.1:${peerPort}`], { stdio: 'ignore' });

    // The construct's files; only the socket folder in postgresql.conf is a pod path.
    writeFileSync(join(dir, 'postgresql.conf'), files['postgresql.conf'].replace(/^unix_socket_directories = .*$/m, `unix_socket_directories = '${dir}'`));
    writeFileSync(join(dir, 'post-bootstrap.sh'), files['post-bootstrap.sh']);
    dynamicFile = join(dir, 'patroni-dynamic.yml');
    writeFileSync(dynamicFile, files['patroni-dynamic.yml']);
    const base = parse(files['patroni.yml']);
    // The construct trusts TCP from the loopback only (inside the pod); members reach each other
    // from their pod IPs, so streaming, pg_rewind and Patroni's checks must bring their passwords.
    // Here every member connects from 127.0.0.1: the test's copy drops the loopback trust rules so
    // that, as between pods, a missing password fails.
    const loopbackTrust = /^host\s+all\s+all\s+(127\.0\.0\.1\/32|::1\/128)\s+trust$/;
    expect(base.postgresql.pg_hba.filter((line: string) => loopbackTrust.test(line))).toHaveLength(2);
    for (const i of [0, 1]) {
      const m: Member = { name: `member-${i}`, pgPort: await freePort(), apiPort: await freePort(), dataDir: join(dir, `data-${i}`), config: join(dir, `patroni-${i}.yml`), start: join(dir, `start-${i}.sh`), log: join(dir, `patroni-${i}.log`) };
      const c = structuredClone(base);
      delete c.kubernetes;
      c.etcd3 = { hosts: `127.0.0.1:${etcdPort}` };
      c.name = m.name;
      c.restapi = { ...c.restapi, listen: `127.0.0.1:${m.apiPort}`, connect_address: `127.0.0.1:${m.apiPort}` };
      c.bootstrap.post_bootstrap = `sh ${join(dir, 'post-bootstrap.sh')}`;
      c.postgresql = {
        ...c.postgresql, listen: `127.0.0.1:${m.pgPort}`, connect_address: `127.0.0.1:${m.pgPort}`, data_dir: m.dataDir,
        bin_dir: BIN, pgpass: join(dir, `pgpass-${i}`), custom_conf: join(dir, 'postgresql.conf'), parameters: { unix_socket_directories: dir },
        pg_hba: c.postgresql.pg_hba.filter((line: string) => !loopbackTrust.test(line)),
      };
      writeFileSync(m.config, stringify(c));
      writeFileSync(m.log, '');
      members.push(m);
    }
    for (const p of [join(dir, 'postgresql.conf'), join(dir, 'post-bootstrap.sh'), dynamicFile, ...members.flatMap(m => [m.config, m.log])]) own(p);
    mkdirSync(join(dir, 'etcd'), { recursive: true });
    await until('etcd answers', async () => (await fetch(`http://127.0.0.1:${etcdPort}/version`)).ok, 15000);
    members.forEach(startMember);
    await until('a primary and a streaming standby', async () => {
      const cluster = await api(members[0], '/cluster');
      return cluster.members?.length === 2 && cluster.members.every((x: any) => x.state === 'running' || x.state === 'streaming')
        && cluster.members.some((x: any) => x.role === 'sync_standby');
    }, 60000);
  }, 90000);

  afterAll(async () => {
    for (const m of members) {
      m.patroni?.kill('SIGCONT');
      try { process.kill(postmasterPid(m), 'SIGKILL'); } catch { /* already gone */ }
      m.patroni?.kill('SIGKILL');
    }
    // The children of a killed postmaster exit on their own once they notice.
    await stop(etcd, 'SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }, 30000);

  it('the construct passes the DCS the pod needs only from the environment and the Secret', () => {
    // The file holds no address, name or password: the pod fills them (and the test does above).
    expect(serverEnv.map(e => e.name)).toEqual(expect.arrayContaining(['PATRONI_NAME', 'PATRONI_KUBERNETES_POD_IP', 'PATRONI_RESTAPI_CONNECT_ADDRESS',
      'PATRONI_POSTGRESQL_CONNECT_ADDRESS', 'PATRONI_SUPERUSER_PASSWORD', 'PATRONI_REPLICATION_PASSWORD']));
    expect(files['patroni.yml']).not.toMatch(/password:/);
  });

  it('a member\'s address is not trusted: without the password PostgreSQL refuses the connection', async () => {
    const conninfo = `host=127.0.0.1 port=${members[0].pgPort} dbname=${database} user=${pg.connection.user} connect_timeout=2`;
    const refused = await new Promise<string>(resolve => execFile(debianBinary('psql'), [conninfo, '-XAtqwc', 'select 1'], { env: { PATH: process.env.PATH } },
      (err, _out, stderr) => resolve(err ? stderr : 'accepted')));
    expect(refused).toMatch(/password/);
  });

  let failover: { seconds: number; committed: number; lost: number[]; oldPrimary: Member; newPrimary: Member };

  it('kill -9 of the primary: a standby accepts writes within 30 s and no committed row is lost (synchronous_mode)', async () => {
    const ports = members.map(m => m.pgPort);
    await execSql(ports, 'create table ha_rows (id int primary key, at timestamptz default now())', 'target_session_attrs=read-write');
    const oldPrimary = (await primaryOf())!;
    const committed: number[] = [];
    let next = 0;
    let killedAt = 0;
    let firstWriteAfterKill = 0;
    let writing = true;
    // One writer, one row per transaction, through whichever member accepts writes (the primary Service).
    const writer = (async () => {
      while (writing) {
        const id = ++next;
        try {
          await execSql(ports, `insert into ha_rows (id) values (${id})`, 'target_session_attrs=read-write');
          committed.push(id);
          if (killedAt && !firstWriteAfterKill) firstWriteAfterKill = Date.now();
        } catch { await sleep(100); }
      }
    })();
    await until('30 rows committed', async () => committed.length >= 30, 30000);
    killedAt = Date.now();
    crash(oldPrimary);
    await until('a write after the crash', async () => firstWriteAfterKill > 0, 60000);
    const committedBefore = committed.filter(() => true);
    await until('10 more rows', async () => committed.length >= committedBefore.length + 10, 20000);
    writing = false;
    await writer;
    const newPrimary = (await primaryOf())!;
    expect(newPrimary.name).not.toBe(oldPrimary.name);
    const present = new Set((await execSql([newPrimary.pgPort], 'select id from ha_rows')).split('\n').map(Number));
    const lost = committed.filter(id => !present.has(id));
    failover = { seconds: (firstWriteAfterKill - killedAt) / 1000, committed: committed.length, lost, oldPrimary, newPrimary };
    // eslint-disable-next-line no-console
    console.log(`failover: new primary accepted writes ${failover.seconds.toFixed(1)} s after kill -9; ${committed.length} rows committed, ${lost.length} lost`);
    expect(lost).toEqual([]);
    expect(failover.seconds).toBeLessThanOrEqual(30);
  }, 120000);

  it('the old primary comes back as a standby through pg_rewind and catches up', async () => {
    const { oldPrimary, newPrimary } = failover;
    startMember(oldPrimary);
    await until('the old primary streams from the new one', async () => {
      const cluster = await api(newPrimary, '/cluster');
      const me = cluster.members.find((x: any) => x.name === oldPrimary.name);
      return me && me.role !== 'leader' && (me.state === 'running' || me.state === 'streaming') && await role(oldPrimary) === 'replica';
    }, 60000);
    expect(readFileSync(oldPrimary.log, 'utf8')).toMatch(/pg_rewind exit code=0/);
    await execSql([newPrimary.pgPort], 'insert into ha_rows (id) values (-1)');
    await until('the marker row replayed on the rejoined member', async () => (await execSql([oldPrimary.pgPort], 'select count(*) from ha_rows where id = -1')) === '1', 20000);
    expect(await execSql([oldPrimary.pgPort], 'select pg_is_in_recovery()')).toBe('t');
  }, 90000);

  it('a changed max_connections reaches the running cluster at the next member start; the others are marked pending_restart', async () => {
    const { oldPrimary: standby, newPrimary: primary } = failover;
    const before = Number(await execSql([primary.pgPort], 'show max_connections'));
    expect(parse(files['patroni-dynamic.yml']).postgresql.parameters.max_connections).toBe(before);
    // A release that raises max_connections: the construct renders a new patroni-dynamic.yml.
    const raised = before + 10;
    const next = testChart();
    new Postgres(next, 'Postgres', { tier: 'minimum', standbys: 1, maxConnections: raised });
    writeFileSync(dynamicFile, find(synth(next), 'ConfigMap', 'postgres-files').data['patroni-dynamic.yml']);
    // The standby's pod restarts (a clean stop, as the rolling update does) with the new file.
    const exited = new Promise(r => standby.patroni!.once('exit', r));
    standby.patroni!.kill('SIGTERM');
    await exited;
    startMember(standby);
    await until('the restarted standby runs with the new max_connections', async () =>
      await role(standby) === 'replica' && Number(await execSql([standby.pgPort], 'show max_connections')) === raised, 60000);
    expect(readFileSync(standby.log, 'utf8')).toMatch(/Configuration changed/);
    // The primary keeps its value until restarted, and says so.
    await until('the primary reports pending_restart', async () => (await api(primary, '/patroni')).pending_restart === true, 20000);
    expect(Number(await execSql([primary.pgPort], 'show max_connections'))).toBe(before);
  }, 90000);

  it('a standby lagging beyond maximum_lag_on_failover is never promoted', async () => {
    const { oldPrimary: standby, newPrimary: primary } = failover;
    // With synchronous_mode only the synchronous standby may be promoted anyway; the lag limit
    // guards asynchronous clusters: switch this one to the construct's asynchronous setting.
    expect(asyncDcs.synchronous_mode).toBe(false);
    expect(asyncDcs.maximum_lag_on_failover).toBe(PATRONI_FAILOVER_DEFAULTS.maximumLagOnFailoverBytes);
    await api(primary, '/config', { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ synchronous_mode: asyncDcs.synchronous_mode }) });
    await until('no synchronous standby', async () => (await api(primary, '/cluster')).members.every((x: any) => x.role !== 'sync_standby'), 20000);
    // The standby stops receiving WAL (its walreceiver stopped), and the primary writes 8 MiB more.
    const walreceiver = Number(run('sh', ['-c', `ps -o pid=,args= --ppid ${postmasterPid(standby)} | awk '/walreceiver/ {print $1}'`]).trim());
    expect(walreceiver).toBeGreaterThan(0);
    process.kill(walreceiver, 'SIGSTOP');
    try {
      await execSql([primary.pgPort], "create table filler as select g, repeat('x', 1000) as pad from generate_series(1, 8000) g");
      await until('the primary reports the standby lagging', async () => {
        const me = (await api(primary, '/cluster')).members.find((x: any) => x.name === standby.name);
        return typeof me?.lag === 'number' && me.lag > asyncDcs.maximum_lag_on_failover;
      }, 20000);
      const logBefore = readFileSync(standby.log, 'utf8').length;
      crash(primary);
      // The leader key expires after ttl; the standby then declines the race at each loop.
      await until('the standby declines the leader race', async () =>
        (readFileSync(standby.log, 'utf8').slice(logBefore).match(/My wal position exceeds maximum replication lag/g) ?? []).length >= 2,
      (PATRONI_FAILOVER_DEFAULTS.ttlSeconds + 4 * PATRONI_FAILOVER_DEFAULTS.loopWaitSeconds) * 1000);
      expect(await role(standby)).toBe('replica');
      expect(await execSql([standby.pgPort], 'select pg_is_in_recovery()')).toBe('t');
    } finally {
      process.kill(walreceiver, 'SIGCONT');
    }
  }, 90000);
});
