import { ChildProcess, execFile } from 'child_process';
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { ENVIRONMENTS } from '../../lib/environments';
import { pgbouncerAlertGroups } from '../../lib/monitoring/alert-rules';
import { renderRules, renderRuleTests } from '../../lib/monitoring/prometheus-config';
import { pgBouncerStartScript } from '../../lib/pgbouncer-config';
import { find, synthStack } from '../helpers';
import { asUser, debianBinary, freePort, run, startServer, stop } from './tools';

// Issue 18 §2: the pgbouncer.ini prod synthesizes, run by Debian's PgBouncer 1.18 in front of
// Debian's PostgreSQL 15 started with prod's postgresql.conf (its max_connections from the pool
// budget), and pgbench through the pooler with more clients than max_connections. Only
// addresses, ports and paths are changed: this machine is not a pod.
const { stack, objects } = synthStack(ENVIRONMENTS.prod);
const pooler = stack.pooler!;
const ini: string = find(objects, 'ConfigMap', 'quality-billing-pgbouncer-config').data['pgbouncer.ini'];
const postgresConf: string = find(objects, 'ConfigMap', 'quality-billing-postgres-files').data['postgresql.conf'];
const maxConnections = stack.postgres.maxConnections();
const { database, user } = stack.postgres.connection;
// A test password with characters the auth_file must quote.
const PASSWORD = 'pw"with spaces';

/** pgbench's summary: transactions done, failed (pgbench 15 counts them as "failed"), tps. */
function pgbenchSummary(output: string): { processed: number; failed: number; tps: number } {
  const num = (re: RegExp) => { const m = output.match(re); return m ? Number(m[1]) : NaN; };
  return {
    processed: num(/number of transactions actually processed: (\d+)/),
    failed: num(/number of failed transactions: (\d+)/),
    tps: num(/tps = ([\d.]+) \(without initial connection time\)/),
  };
}

describe('PgBouncer 1.18 with the prod pgbouncer.ini in front of PostgreSQL 15', () => {
  let dir: string;
  let pgPort: number;
  let bouncerPort: number;
  let bouncer: ChildProcess | undefined;
  let pgStarted = false;
  const pgbench = (port: number, args: string[]): Promise<{ code: number; output: string }> => new Promise(resolve => {
    const [cmd, cmdArgs] = asUser('postgres', 'env', [`PGPASSWORD=${PASSWORD}`, debianBinary('pgbench'), '-h', '127.0.0.1', '-p', String(port), '-U', user, ...args, database]);
    execFile(cmd, cmdArgs, { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, output: stdout + stderr }));
  });
  const psqlSuper = (sql: string) => run(...asUser('postgres', debianBinary('psql'), ['-h', dir, '-p', String(pgPort), '-U', 'postgres', '-d', 'postgres', '-Atc', sql])).trim();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'qb-pgbouncer-'));
    chmodSync(dir, 0o700);
    if (process.getuid?.() === 0) {
      const [uid, gid] = ['-u', '-g'].map(flag => Number(run('id', [flag, 'postgres']).trim()));
      chownSync(dir, uid, gid);
    }
    pgPort = await freePort();
    bouncerPort = await freePort();
    run(...asUser('postgres', debianBinary('initdb'), ['-D', join(dir, 'data'), '-U', 'postgres', '--auth-local=trust', '--auth-host=scram-sha-256', '--no-sync']));
    writeFileSync(join(dir, 'postgresql.conf'), postgresConf, { mode: 0o644 });
    // The server's address, port and socket; archive_mode off: WAL archiving (pgBackRest to S3) is another test's subject.
    const options = [`-c config_file=${join(dir, 'postgresql.conf')}`, `-c hba_file=${join(dir, 'data', 'pg_hba.conf')}`,
      `-c port=${pgPort}`, `-c unix_socket_directories=${dir}`, '-c listen_addresses=127.0.0.1', '-c archive_mode=off'].join(' ');
    run(...asUser('postgres', debianBinary('pg_ctl'), ['-D', join(dir, 'data'), '-o', options, '-l', join(dir, 'server.log'), '-w', '-t', '60', 'start']));
    pgStarted = true;
    psqlSuper(`create role ${user} login password '${PASSWORD.replace(/'/g, "''")}'`);
    psqlSuper(`create database ${database} owner ${user}`);

    const local = ini
      .replace(/^listen_addr = .*$/m, 'listen_addr = 127.0.0.1')
      .replace(/^listen_port = .*$/m, `listen_port = ${bouncerPort}`)
      .replace(/^unix_socket_dir = .*$/m, `unix_socket_dir = ${dir}`)
      .replace(/^auth_file = .*$/m, `auth_file = ${join(dir, 'userlist.txt')}`)
      .replace(/host=\S+ port=\d+/, `host=127.0.0.1 port=${pgPort}`)
      // Where this machine's PgBouncer writes its pid, so afterAll stops it even if runuser does not pass the signal on.
      + `pidfile = ${join(dir, 'pgbouncer.pid')}\n`;
    writeFileSync(join(dir, 'pgbouncer.ini'), local, { mode: 0o644 });
    // The container's own start script writes the auth_file from the environment, then runs PgBouncer.
    const script = pgBouncerStartScript(join(dir, 'userlist.txt'), join(dir, 'pgbouncer.ini'), debianBinary('pgbouncer'));
    bouncer = await startServer(...asUser('postgres', 'env', [`PGBOUNCER_USER=${user}`, `PGBOUNCER_PASSWORD=${PASSWORD}`, 'sh', '-c', script]), () => {
      run(...asUser('postgres', 'env', [`PGPASSWORD=${PASSWORD}`, debianBinary('psql'), '-h', '127.0.0.1', '-p', String(bouncerPort), '-U', user, '-d', database, '-Atc', 'select 1']));
      return true;
    });
    const init = await pgbench(pgPort, ['-i', '-s', '2', '-q']);
    if (init.code !== 0) throw new Error(`pgbench -i failed:\n${init.output}`);
  }, 120000);

  afterAll(async () => {
    // SIGTERM: PgBouncer's immediate shutdown (SIGINT waits for clients).
    await stop(bouncer, 'SIGTERM');
    try { process.kill(Number(readFileSync(join(dir, 'pgbouncer.pid'), 'utf8')), 'SIGTERM'); } catch { /* already gone */ }
    if (pgStarted) run(...asUser('postgres', debianBinary('pg_ctl'), ['-D', join(dir, 'data'), '-m', 'fast', '-w', 'stop']));
    rmSync(dir, { recursive: true, force: true });
  });

  it('pools transactions and keeps max_connections at what the pools need (at most 200)', () => {
    expect(ini).toMatch(/^pool_mode = transaction$/m);
    expect(Number(psqlSuper('show max_connections'))).toBe(maxConnections);
    expect(maxConnections).toBeLessThanOrEqual(200);
  });

  it('runs with every setting of the ini as written (SHOW CONFIG), the TCP timeouts that end a dead primary\'s connections included', () => {
    const shown = new Map(run(...asUser('postgres', 'env', [`PGPASSWORD=${PASSWORD}`, debianBinary('psql'), '-h', '127.0.0.1', '-p', String(bouncerPort), '-U', user, '-d', 'pgbouncer', '-AtF', '\t', '-c', 'show config']))
      .trim().split('\n').map(l => l.split('\t')).map(([k, v]) => [k, v] as const));
    const written = readFileSync(join(dir, 'pgbouncer.ini'), 'utf8').split('[pgbouncer]')[1].split('\n')
      .map(l => /^(\w+) = (.*)$/.exec(l)).filter((m): m is RegExpExecArray => m !== null);
    expect(written.length).toBeGreaterThan(20);
    for (const [, key, value] of written) expect([key, shown.get(key)]).toEqual([key, value]);
    // Set by us, not left at PgBouncer's defaults (keepalive timers and tcp_user_timeout 0: the kernel's ~2 h and ~15 min).
    const timeouts = ['server_connect_timeout', 'server_login_retry', 'tcp_keepalive', 'tcp_keepidle', 'tcp_keepintvl', 'tcp_keepcnt', 'tcp_user_timeout'];
    expect(written.map(m => m[1])).toEqual(expect.arrayContaining(timeouts));
    for (const key of timeouts) expect([key, Number(shown.get(key)) > 0]).toEqual([key, true]);
  });

  it('writes the auth_file with the password quoted as PgBouncer reads it', () => {
    expect(readFileSync(join(dir, 'userlist.txt'), 'utf8')).toBe(`"${user}" "pw""with spaces"\n`);
  });

  it('serves more pgbench clients than max_connections with 0 failed transactions, and never opens more server connections than its cap', async () => {
    const clients = maxConnections + 50;
    const perReplica = pooler.serverConnections.poolSize + pooler.serverConnections.reservePoolSize;
    const pooled = await pgbench(bouncerPort, ['-c', String(clients), '-j', '2', '-t', '20', '-N', '--protocol=simple']);
    const direct = await pgbench(pgPort, ['-c', String(perReplica), '-j', '2', '-t', String(Math.ceil((20 * clients) / perReplica)), '-N', '--protocol=simple']);
    const p = pgbenchSummary(pooled.output);
    const d = pgbenchSummary(direct.output);
    // No timing assertion: the machine is shared; the figures go to the report.
    console.log(`pgbench -N -t 20: through PgBouncer ${clients} clients ${p.tps} tps; direct ${perReplica} clients ${d.tps} tps (max_connections ${maxConnections})`);
    expect(pooled.code).toBe(0);
    expect(p).toEqual({ processed: clients * 20, failed: 0, tps: expect.any(Number) });
    expect(direct.code).toBe(0);
    // One PgBouncer process never holds more than its pool + reserve (max_db_connections).
    expect(Number(psqlSuper(`select count(*) from pg_stat_activity where usename = '${user}'`))).toBeLessThanOrEqual(perReplica);
  }, 300000);

  it('refuses pgbench past max_connections without the pooler (the failure the pooler prevents)', async () => {
    const r = await pgbench(pgPort, ['-c', String(maxConnections + 10), '-j', '2', '-t', '1', '-S']);
    expect(r.code).not.toBe(0);
    expect(r.output).toMatch(/too many clients|remaining connection slots are reserved/);
  }, 120000);
});

describe('PgBouncer alerts under promtool test rules', () => {
  const groups = pgbouncerAlertGroups({ namespace: 'quality-billing' });
  const rules = renderRules(groups, { annotations: false });
  const promtoolTest = (ruleText: string): boolean => {
    const dir = mkdtempSync(join(tmpdir(), 'qb-pgbouncer-rules-'));
    try {
      writeFileSync(join(dir, 'rules.yml'), ruleText);
      writeFileSync(join(dir, 'tests.yml'), renderRuleTests(groups, 'rules.yml'));
      run(debianBinary('promtool'), ['test', 'rules', join(dir, 'tests.yml')]);
      return true;
    } catch {
      return false;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  it('fire at their thresholds for their durations, and not below them or for less time', () => {
    expect(promtoolTest(rules)).toBe(true);
  });

  it.each([
    ['waiting clients fire only past 5 of them', (s: string) => s.replace(/client_waiting_connections\{namespace="quality-billing"\}\) > 0/, 'client_waiting_connections{namespace="quality-billing"}) > 5')],
    ['the waiting alert has no for:', (s: string) => s.replace(/for: 5m/, 'for: 0m')],
    ['the longest-wait threshold moved from 10 s to 60 s', (s: string) => s.replace(/maxwait_seconds\{namespace="quality-billing"\}\) > 10/, 'maxwait_seconds{namespace="quality-billing"}) > 60')],
    ['PgBouncerDown fires at once', (s: string) => s.replace(/(pgbouncer_up[^\n]*\n\s+for: )2m/, '$10m')],
  ])('fail when %s', (_name, mutate) => {
    expect(mutate(rules)).not.toBe(rules);
    expect(promtoolTest(mutate(rules))).toBe(false);
  });
});
