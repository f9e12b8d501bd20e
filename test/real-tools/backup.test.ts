import { execFile, spawn } from 'child_process';
import { ChildProcess } from 'child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { dirname, join } from 'path';
import { parse } from 'yaml';
import { ENVIRONMENTS } from '../../lib/environments';
import { SecretKeyRef } from '../../lib/secrets';
import { restoreObjects } from '../../bin/restore';
import { find, K8sObject, synthStack, synthSystem } from '../helpers';
import { debianBinary, freePort, run, startServer, stop } from './tools';

/*
 * The backup proof: a real PostgreSQL (Debian's) with the prod postgresql.conf (WAL archiving to
 * pgBackRest included), a real S3-compatible server (s3rver, over TLS) and the exact scripts,
 * configuration and environment of the synthesized CronJobs and restore Jobs — taken from the
 * manifests, with only what differs on this machine overridden (host, paths, the CA bundle).
 */

const isRoot = process.getuid?.() === 0;
const BUCKET = 'qb-backups';
// The values of the Secrets the manifests reference (created out of band in a cluster).
const SECRETS: Record<string, string> = {
  'db-credentials/password': 'test-db-password',
  'backup-s3-credentials/access-key-id': 'S3RVER',
  'backup-s3-credentials/secret-access-key': 'S3RVER',
};

interface Result { code: number; stdout: string; stderr: string }

/** Runs a command (as postgres when we are root) without blocking the event loop. */
function exec(command: string, args: string[], env: Record<string, string>, timeoutMs = 120000): Promise<Result> {
  const [cmd, argv] = isRoot ? ['runuser', ['-u', 'postgres', '--', 'env', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), command, ...args]] : [command, args];
  return new Promise(resolve => {
    execFile(cmd, argv, { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 * 2 ** 20, env: isRoot ? { PATH: process.env.PATH } : env }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

/** The environment a container of a synthesized object gets: plain values, and Secret keys from SECRETS. */
function containerEnv(container: any): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of container.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    else env[e.name] = SECRETS[`${e.valueFrom.secretKeyRef.name}/${e.valueFrom.secretKeyRef.key}`];
  }
  return env;
}

function podOf(o: K8sObject): any {
  return o.kind === 'CronJob' ? o.spec.jobTemplate.spec.template.spec : o.spec.template.spec;
}

function containerOf(o: K8sObject, name: string): any {
  const spec = podOf(o);
  const c = [...(spec.initContainers ?? []), ...spec.containers].find((x: any) => x.name === name);
  if (!c) throw new Error(`${o.kind}/${o.metadata.name} has no container ${name}`);
  return c;
}

describe('PostgreSQL backups against a real PostgreSQL, pgBackRest and S3-compatible server', () => {
  let work: string;
  let pgDir: string;
  let pgPort: number;
  let s3Port: number;
  let s3: ChildProcess | undefined;
  let pgStarted = false;
  let objects: K8sObject[];
  let restoreJob: K8sObject;
  let pitrJobFor: (target: string) => K8sObject;
  const scripts: Record<string, string> = {};
  const machine: Record<string, string> = {};

  const psql = async (sql: string, db = 'quality_billing') => {
    const r = await exec(debianBinary('psql'), ['-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', pgDir, '-p', String(pgPort), '-U', 'postgres', '-d', db, '-c', sql], {});
    if (r.code !== 0) throw new Error(`psql failed: ${r.stderr}`);
    return r.stdout.trim();
  };
  /** A psql session held open on `db` as the exporter holds one: the database's user over TCP, named postgres_exporter. */
  const sessionCommand = (db: string): [string, string[], { env: NodeJS.ProcessEnv; stdio: ['pipe', 'pipe', 'pipe'] }] => {
    const env = { PATH: '/usr/bin:/bin', PGPASSWORD: SECRETS['db-credentials/password'], PGAPPNAME: 'postgres_exporter' };
    const argv = ['-X', '-h', '127.0.0.1', '-p', String(pgPort), '-U', 'quality_billing', '-d', db];
    return isRoot
      ? ['runuser', ['-u', 'postgres', '--', 'env', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), debianBinary('psql'), ...argv], { env: { PATH: process.env.PATH }, stdio: ['pipe', 'pipe', 'pipe'] }]
      : [debianBinary('psql'), argv, { env, stdio: ['pipe', 'pipe', 'pipe'] }];
  };
  const pgCtl = async (action: 'start' | 'stop') => {
    const args = action === 'start'
      ? ['-D', join(pgDir, 'data'), '-o', [`-c config_file=${join(pgDir, 'postgresql.conf')}`, `-c hba_file=${join(pgDir, 'data', 'pg_hba.conf')}`,
        `-c port=${pgPort}`, `-c unix_socket_directories=${pgDir}`, '-c listen_addresses=127.0.0.1'].join(' '), '-l', join(pgDir, 'server.log'), '-w', '-t', '120', 'start']
      : ['-D', join(pgDir, 'data'), '-m', 'fast', '-w', 'stop'];
    // The server's environment is what archive_command (pgBackRest) sees, as in the container.
    const r = await exec(debianBinary('pg_ctl'), args, { ...machine.pgbackrestEnv ? JSON.parse(machine.pgbackrestEnv) : {}, PATH: '/usr/bin:/bin' });
    if (r.code !== 0) throw new Error(`pg_ctl ${action} failed: ${r.stderr}${readFileSync(join(pgDir, 'server.log'), 'utf8').slice(-3000)}`);
  };
  /** Runs one of the shipped scripts with a container's environment, overridden for this machine. */
  const runScript = (file: string, env: Record<string, string>, args: string[] = []) =>
    exec('/bin/bash', [join(work, 'scripts', file), ...args], { ...env, PATH: '/usr/bin:/bin', AWS_CA_BUNDLE: join(work, 'tls', 'cert.pem'), HOME: join(work, 'home'), TZ: 'UTC' }, 300000);
  const backupDir = (name: string) => { const d = join(work, name); mkdirSync(d, { recursive: true }); if (isRoot) chownPostgres(d); return d; };
  const aws = (args: string[]) => exec('/usr/bin/aws', ['--endpoint-url', `https://localhost:${s3Port}`, ...args], {
    PATH: '/usr/bin:/bin', AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_DEFAULT_REGION: 'us-east-1', AWS_CA_BUNDLE: join(work, 'tls', 'cert.pem'), HOME: join(work, 'home'),
  });
  /** s3rver over TLS on s3Port, keeping its objects in work/s3 (so a restart finds the repository again). */
  const startS3 = () => startServer(process.execPath, [require.resolve('s3rver/bin/s3rver.js'), '--directory', join(work, 's3'), '--address', 'localhost', '--port', String(s3Port),
    '--key', join(work, 'tls', 'key.pem'), '--cert', join(work, 'tls', 'cert.pem'), '--configure-bucket', BUCKET, '--no-vhost-buckets', '--silent'],
  () => { run('curl', ['-sf', '--cacert', join(work, 'tls', 'cert.pem'), `https://localhost:${s3Port}/`]); return true; });
  let pgUid = 0;
  let pgGid = 0;
  const chownPostgres = (p: string) => { if (isRoot) chownSync(p, pgUid, pgGid); };

  // Per-table content checksums, sequence values and index definitions: what "everything came back" means.
  const fingerprint = async () => ({
    tables: await psql(`SELECT string_agg(t || '=' || (xpath('/row/c/text()', query_to_xml(format('SELECT md5(coalesce(string_agg(x::text, E''\\n'' ORDER BY x::text), '''')) AS c FROM %s x', t), false, true, '')))[1]::text, ' ' ORDER BY t) FROM (SELECT format('%I.%I', schemaname, tablename) AS t FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')) s`),
    sequences: await psql(`SELECT string_agg(format('%I.%I', schemaname, sequencename) || '=' || coalesce(last_value::text, 'null'), ' ' ORDER BY sequencename) FROM pg_sequences`),
    indexes: await psql(`SELECT string_agg(indexdef, E'\\n' ORDER BY indexname) FROM pg_indexes WHERE schemaname NOT IN ('pg_catalog', 'information_schema')`),
    rows: Number(await psql('SELECT (SELECT count(*) FROM public.invoices) + (SELECT count(*) FROM billing."Line Items") + (SELECT count(*) FROM public.customers)')),
  });

  beforeAll(async () => {
    if (isRoot) [pgUid, pgGid] = ['-u', '-g'].map(flag => Number(run('id', [flag, 'postgres']).trim()));
    work = mkdtempSync(join(tmpdir(), 'qb-backup-'));
    chmodSync(work, 0o755);
    chownPostgres(work);
    for (const d of ['scripts', 'tls', 'home', 's3', 'pg']) backupDir(d);
    pgDir = join(work, 'pg');
    chmodSync(pgDir, 0o700);
    [pgPort, s3Port] = [await freePort(), await freePort()];

    // The manifests, with the storage pointing at the local S3 server (the only storage prop changed).
    const storage = {
      bucket: BUCKET, prefix: 'prod/postgres', region: 'us-east-1', endpoint: `https://localhost:${s3Port}`,
      accessKeyId: SecretKeyRef.of('backup-s3-credentials', 'access-key-id'), secretAccessKey: SecretKeyRef.of('backup-s3-credentials', 'secret-access-key'),
    };
    ({ objects } = synthStack(ENVIRONMENTS.prod, { backupStorage: storage }));
    restoreJob = restoreObjects({ env: 'prod', stackProps: { backupStorage: storage }, backup: 'latest' }).find(o => o.kind === 'Job') as K8sObject;
    pitrJobFor = target => restoreObjects({ env: 'prod', stackProps: { backupStorage: storage }, pitr: target }).find(o => o.kind === 'Job') as K8sObject;
    const backupScripts = find(objects, 'ConfigMap', 'quality-billing-postgres-backup-scripts').data;
    const pgbackrest = find(objects, 'ConfigMap', 'quality-billing-postgres-pgbackrest').data;
    for (const [name, text] of Object.entries({ ...backupScripts, 'pgbackrest-backup.sh': pgbackrest['backup.sh'], 'pgbackrest-restore.sh': pgbackrest['restore.sh'], 'pgbackrest-archive-push.sh': pgbackrest['pgbackrest-archive-push.sh'] })) {
      writeFileSync(join(work, 'scripts', name), text as string, { mode: 0o755 });
      scripts[name] = text as string;
    }
    writeFileSync(join(work, 'pgbackrest.conf'), pgbackrest['pgbackrest.conf'], { mode: 0o644 });

    // TLS for the S3 server: pgBackRest speaks only HTTPS to S3.
    run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost',
      '-keyout', join(work, 'tls', 'key.pem'), '-out', join(work, 'tls', 'cert.pem')]);
    chmodSync(join(work, 'tls', 'cert.pem'), 0o644);
    s3 = await startS3();

    // pgBackRest as in the database container: the manifest's config file and environment; only the
    // data directory, port, socket and CA bundle are this machine's.
    const server = find(objects, 'StatefulSet', 'quality-billing-postgres').spec.template.spec.containers.find((c: any) => c.name === 'postgres');
    const serverEnv = containerEnv(server);
    machine.pgbackrestEnv = JSON.stringify({
      PGBACKREST_REPO1_S3_KEY: serverEnv.PGBACKREST_REPO1_S3_KEY, PGBACKREST_REPO1_S3_KEY_SECRET: serverEnv.PGBACKREST_REPO1_S3_KEY_SECRET,
      STANZA: serverEnv.STANZA, INCR_RETENTION_DAYS: serverEnv.INCR_RETENTION_DAYS,
      PGBACKREST_CONFIG: join(work, 'pgbackrest.conf'), PGBACKREST_PG1_PATH: join(pgDir, 'data'), PGBACKREST_PG1_PORT: String(pgPort),
      PGBACKREST_PG1_SOCKET_PATH: pgDir, PGBACKREST_REPO1_STORAGE_CA_FILE: join(work, 'tls', 'cert.pem'), PGBACKREST_LOCK_PATH: join(work, 'pgbackrest-lock'),
    });

    // PostgreSQL with the prod postgresql.conf, WAL archiving included; a superuser named like the image's POSTGRES_USER.
    // Only the mount path of the pgBackRest scripts differs (/etc/pgbackrest in the pod).
    const conf: string = find(objects, 'ConfigMap', 'quality-billing-postgres-config').data['postgresql.conf'];
    expect(conf).toContain("archive_command = 'bash /etc/pgbackrest/pgbackrest-archive-push.sh %p'");
    writeFileSync(join(pgDir, 'postgresql.conf'), conf.replace('/etc/pgbackrest/', `${join(work, 'scripts')}/`), { mode: 0o644 });
    chownPostgres(join(pgDir, 'postgresql.conf'));
    const init = await exec(debianBinary('initdb'), ['-D', join(pgDir, 'data'), '-U', 'postgres', '--auth-local=trust', '--auth-host=scram-sha-256', '--no-sync', '--encoding=UTF8', '--locale=C'], {});
    if (init.code !== 0) throw new Error(init.stderr);
    await pgCtl('start');
    pgStarted = true;
    await psql(`CREATE ROLE quality_billing SUPERUSER LOGIN PASSWORD '${SECRETS['db-credentials/password']}'`, 'postgres');
    await psql('CREATE DATABASE quality_billing OWNER quality_billing', 'postgres');
    // The fixture: several tables and schemas, a few thousand rows, sequences, indexes, non-ASCII text.
    await psql(`
      CREATE TABLE public.customers (id serial PRIMARY KEY, name text NOT NULL UNIQUE, created timestamptz NOT NULL DEFAULT '2026-01-01');
      INSERT INTO public.customers (name) SELECT '客户 ' || g || ' — Müller' FROM generate_series(1, 1200) g;
      CREATE TABLE public.invoices (id bigserial PRIMARY KEY, customer_id int NOT NULL REFERENCES public.customers, amount numeric(12, 2), memo text);
      INSERT INTO public.invoices (customer_id, amount, memo) SELECT 1 + g % 1200, g * 1.25, '发票 №' || g FROM generate_series(1, 3000) g;
      CREATE INDEX invoices_customer ON public.invoices (customer_id, amount DESC);
      CREATE SCHEMA billing;
      CREATE TABLE billing."Line Items" (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, invoice_id bigint REFERENCES public.invoices, note text);
      INSERT INTO billing."Line Items" (invoice_id, note) SELECT 1 + g % 3000, 'ligne ' || g || ' ✓' FROM generate_series(1, 2500) g;
      CREATE SEQUENCE billing.receipt_no START 1000;
      SELECT nextval('billing.receipt_no') FROM generate_series(1, 42);
    `);
  }, 300000);

  afterAll(async () => {
    if (pgStarted) await pgCtl('stop').catch(() => undefined);
    await stop(s3);
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const backupCronJob = () => find(objects, 'CronJob', 'quality-billing-postgres-backup');
  /** Runs the backup CronJob's two containers in order, as its pod would. */
  const runBackup = async (dir: string, extra: Record<string, string> = {}) => {
    const job = backupCronJob();
    const dump = await runScript('dump.sh', { ...containerEnv(containerOf(job, 'dump')), PGHOST: '127.0.0.1', PGPORT: String(pgPort), BACKUP_DIR: dir, ...extra });
    if (dump.code !== 0) return { step: 'dump', ...dump };
    const upload = await runScript('upload.sh', { ...containerEnv(containerOf(job, 'upload')), BACKUP_DIR: dir, ...extra });
    return { step: 'upload', ...upload, stderr: dump.stderr + upload.stderr };
  };
  const runRestore = async (job: K8sObject, dir: string, extra: Record<string, string> = {}) => {
    const fetch = await runScript('fetch.sh', { ...containerEnv(containerOf(job, 'fetch')), BACKUP_DIR: dir, ...extra });
    if (fetch.code !== 0) return { step: 'fetch', ...fetch };
    const restore = await runScript('restore.sh', { ...containerEnv(containerOf(job, 'restore')), PGHOST: '127.0.0.1', PGPORT: String(pgPort), BACKUP_DIR: dir, ...extra });
    return { step: 'restore', ...restore, stderr: fetch.stderr + restore.stderr };
  };
  const listKeys = async () => (await aws(['s3', 'ls', '--recursive', `s3://${BUCKET}/prod/postgres/logical/`])).stdout.split('\n').filter(Boolean).map(l => l.trim().split(/\s+/).pop() as string);

  let backupId: string;
  let before: Awaited<ReturnType<typeof fingerprint>>;

  it('archives WAL from the first segment, before any backup: the archive command creates the stanza', async () => {
    await psql('SELECT pg_switch_wal()');
    let archived = 0;
    for (let i = 0; i < 60 && archived === 0; i++) {
      await new Promise(r => setTimeout(r, 500));
      archived = Number(await psql('SELECT archived_count FROM pg_stat_archiver', 'postgres'));
    }
    expect(archived).toBeGreaterThan(0);
    const keys = (await aws(['s3', 'ls', '--recursive', `s3://${BUCKET}/prod/postgres/pgbackrest/`])).stdout;
    expect(keys).toMatch(/archive\/quality-billing-postgres\/archive\.info/);
    expect(keys).toMatch(/archive\/quality-billing-postgres\/14-1\/|archive\/quality-billing-postgres\/15-1\//);
  }, 60000);

  it('an S3 outage: the WAL backlog the WalArchiveBacklog alert reads passes its threshold while the archive age grows; with S3 back it drains to 0', async () => {
    // What the exporter runs: the custom query from the manifest's ConfigMap, and postgres_exporter
    // v0.16.0's own pg_stat_archiver query (cmd/postgres_exporter/queries.go).
    const backlogSql: string = parse(find(objects, 'ConfigMap', 'quality-billing-postgres-config').data['exporter-queries.yaml']).pg_wal_archive.query;
    const archiverSql = 'SELECT *, extract(epoch from now() - last_archived_time) AS last_archive_age FROM pg_stat_archiver';
    // The thresholds of the shipped rules.
    const rules = parse(find(objects, 'ConfigMap', 'quality-billing-prometheus-rules').data['alerts.yml']).groups.flatMap((g: any) => g.rules);
    const backlogRule = rules.find((r: any) => r.alert === 'WalArchiveBacklog' && r.labels.severity === 'warning');
    expect(backlogRule.expr).toMatch(/^max by \(namespace, pod\) \(pg_wal_archive_ready_segments\{namespace="quality-billing"\}\) > \d+$/);
    const threshold = Number(/> (\d+)$/.exec(backlogRule.expr)![1]);
    const staleRule = rules.find((r: any) => r.alert === 'WalArchiveStale');
    expect(staleRule.expr).toContain('pg_stat_archiver_last_archive_age');
    const read = async () => {
      const [ready, written] = (await psql(backlogSql)).split('|').map(Number);
      const [archived, failed, age] = (await psql(`SELECT archived_count, failed_count, round(last_archive_age::numeric, 1) FROM (${archiverSql}) a`)).split('|').map(Number);
      return { ready, written, archived, failed, age };
    };
    const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));
    const segments = threshold + 2;
    // The churn goes to the postgres database: quality_billing's tables are the backups' fixture.
    const churn = (sql: string) => psql(sql, 'postgres');
    await churn('CREATE TABLE wal_churn (id serial, pad text)');

    const before = await read();
    expect(before.ready).toBe(0);
    await stop(s3);
    const outageStarted = Date.now();
    // Each switch closes a segment that has WAL in it (a switch with nothing written is a no-op).
    for (let i = 0; i < segments; i++) await churn(`INSERT INTO wal_churn (pad) SELECT repeat('x', 100) FROM generate_series(1, 1000); SELECT pg_switch_wal()`);
    await sleep(10000);
    const during = await read();
    const outageSeconds = (Date.now() - outageStarted) / 1000;
    expect(during.ready).toBeGreaterThan(threshold);
    expect(during.ready).toBeGreaterThanOrEqual(segments - 1);
    expect(during.written - before.written).toBeGreaterThanOrEqual(segments * 16 * 2 ** 20 - 16 * 2 ** 20);
    expect(during.archived).toBe(before.archived);
    expect(during.age).toBeGreaterThanOrEqual(before.age + outageSeconds - 1);

    s3 = await startS3();
    const restarted = Date.now();
    // A new segment wakes the archiver, which after failed attempts otherwise waits up to 60 s.
    await churn(`INSERT INTO wal_churn (pad) VALUES ('wake'); SELECT pg_switch_wal()`);
    let after = await read();
    for (let i = 0; i < 240 && after.ready > 0; i++) { await sleep(1000); after = await read(); }
    const drainSeconds = (Date.now() - restarted) / 1000;
    expect(after.ready).toBe(0);
    expect(after.archived).toBeGreaterThanOrEqual(before.archived + segments);
    expect(after.age).toBeLessThan(during.age);
    await churn('DROP TABLE wal_churn');
    // The figures of the note.
    process.stdout.write(`WAL archive outage: threshold ${threshold} segments; before ${JSON.stringify(before)}; after ${outageSeconds.toFixed(1)} s of outage ${JSON.stringify(during)}; `
      + `S3 back: drained in ${drainSeconds.toFixed(1)} s ${JSON.stringify(after)}\n`);
  }, 360000);

  it('the CronJob\'s scripts back up to S3: dump, manifest and checksums, checksums uploaded last', async () => {
    before = await fingerprint();
    expect(before.rows).toBe(1200 + 3000 + 2500);
    const r = await runBackup(backupDir('backup-1'));
    expect(r.stderr).toContain('verified');
    expect(r.code).toBe(0);
    const keys = await listKeys();
    backupId = keys[0].split('/')[3];
    expect(backupId).toMatch(/^\d{8}T\d{6}Z$/);
    expect(keys.map(k => k.split('/').pop()).sort()).toEqual(['SHA256SUMS', 'manifest.tsv', 'quality_billing.dump']);
    const manifest = readFileSync(join(work, 'backup-1', backupId, 'manifest.tsv'), 'utf8');
    expect(manifest).toContain('table\tpublic.invoices\t3000\n');
    expect(manifest).toContain('table\tbilling."Line Items"\t2500\n');
    expect(manifest).toContain('index\tpublic.invoices_customer\tinvoices\n');
    expect(manifest).toContain('sequence\tbilling.receipt_no\t-\n');
  }, 300000);

  it('drop the database, run the restore Job\'s scripts: every row, sequence value and index comes back', async () => {
    await psql('DROP DATABASE quality_billing', 'postgres');
    const r = await runRestore(restoreJob, backupDir('restore-1'));
    expect(r.stderr).toMatch(/3 tables and 6700 rows match the manifest/);
    expect(r.code).toBe(0);
    expect(await fingerprint()).toEqual(before);
  }, 300000);

  it('refuses to restore over a database that has tables unless REPLACE=true', async () => {
    const r = await runRestore(restoreJob, backupDir('restore-2'));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/database quality_billing already has 3 tables; set REPLACE=true/);
    expect(await fingerprint()).toEqual(before);
  }, 300000);

  it.each([
    ['an existing, empty database', false],
    ['a database with tables, REPLACE=true', true],
  ])('restores into %s while a session is connected to it (as the exporter sidecar keeps one): the session is terminated after a log line', async (_label, withTables) => {
    const target = 'quality_billing_held';
    await psql(`DROP DATABASE IF EXISTS ${target} WITH (FORCE)`, 'postgres');
    await psql(`CREATE DATABASE ${target}`, 'postgres');
    if (withTables) await psql('CREATE TABLE leftover (id int)', target);
    // A session like postgres_exporter's: the database's own user over TCP, held open.
    const held = spawn(...sessionCommand(target));
    let heldOutput = '';
    held.stdout!.on('data', d => { heldOutput += d; });
    held.stderr!.on('data', d => { heldOutput += d; });
    const exited = new Promise<number | null>(resolve => held.once('exit', code => resolve(code)));
    held.stdin!.write('SELECT 1 AS connected;\n');
    for (let i = 0; i < 50 && !heldOutput.includes('connected'); i++) await new Promise(r => setTimeout(r, 100));
    expect(await psql(`SELECT count(*) FROM pg_stat_activity WHERE datname = '${target}' AND application_name = 'postgres_exporter'`, 'postgres')).toBe('1');

    const r = await runRestore(restoreJob, backupDir(`restore-held-${withTables}`), { TARGET_DATABASE: target, REPLACE: String(withTables) });
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
    expect(await psql('SELECT count(*) FROM public.invoices', target)).toBe('3000');
    await psql(`DROP DATABASE ${target}`, 'postgres');
  }, 120000);

  it('the restore test fetches the latest backup and restores it into a throwaway server of its own, checked against the manifest', async () => {
    const job = find(objects, 'CronJob', 'quality-billing-postgres-restore-test');
    const dir = backupDir('restore-test');
    const fetch = await runScript('fetch.sh', { ...containerEnv(containerOf(job, 'fetch')), BACKUP_DIR: dir });
    expect(fetch.code).toBe(0);
    // The restore container starts its own server: PostgreSQL's server binaries on PATH, as in its image (test/real-tools/restore-drill.test.ts has the details).
    const env = containerEnv(containerOf(job, 'restore'));
    expect(env.SCRATCH_DIR).toBe('/backup/server');
    const r = await exec('/bin/bash', [join(work, 'scripts', 'restore-drill.sh')], {
      ...env, BACKUP_DIR: dir, SCRATCH_DIR: join(dir, 'server'), PATH: `${dirname(realpathSync(debianBinary('initdb')))}:/usr/bin:/bin`, TZ: 'UTC',
    }, 300000);
    expect(r.stderr).toMatch(/restored \d{8}T\d{6}Z into quality_billing: 3 tables and 6700 rows match the manifest/);
    expect(r.stderr).toContain('restore drill passed');
    expect(r.code).toBe(0);
  }, 300000);

  it('a restore that does not match the manifest fails', async () => {
    const dir = backupDir('restore-mismatch');
    const fetch = await runScript('fetch.sh', { ...containerEnv(containerOf(restoreJob, 'fetch')), BACKUP_DIR: dir });
    expect(fetch.code).toBe(0);
    // A manifest claiming one more row than the dump holds (checksums recomputed to match).
    const folder = join(dir, backupId);
    writeFileSync(join(folder, 'manifest.tsv'), readFileSync(join(folder, 'manifest.tsv'), 'utf8').replace('table\tpublic.invoices\t3000', 'table\tpublic.invoices\t3001'));
    writeFileSync(join(folder, 'SHA256SUMS'), run('sha256sum', ['quality_billing.dump', 'manifest.tsv'].map(f => join(folder, f))).replace(new RegExp(`${folder}/`, 'g'), ''));
    const r = await runScript('restore.sh', { ...containerEnv(containerOf(restoreJob, 'restore')), PGHOST: '127.0.0.1', PGPORT: String(pgPort), BACKUP_DIR: dir, TARGET_DATABASE: 'quality_billing_mismatch' });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/does not match the manifest/);
    expect(r.stderr).toContain('-table\tpublic.invoices\t3001');
    await psql('DROP DATABASE quality_billing_mismatch', 'postgres');
  }, 300000);

  describe('a corrupted or truncated backup is never restored', () => {
    const dumpKey = () => `prod/postgres/logical/${backupId}/quality_billing.dump`;
    let original: string;

    beforeAll(async () => {
      original = join(work, 'original.dump');
      expect((await aws(['s3', 'cp', `s3://${BUCKET}/${dumpKey()}`, original])).code).toBe(0);
    });
    afterAll(async () => {
      await aws(['s3', 'cp', original, `s3://${BUCKET}/${dumpKey()}`]);
    });

    it.each([
      ['truncated', (b: Buffer) => b.subarray(0, Math.floor(b.length / 2))],
      ['corrupted', (b: Buffer) => { const c = Buffer.from(b); for (let i = 2000; i < 2100; i++) c[i] ^= 0xff; return c; }],
    ])('%s in the bucket: the download\'s verification fails, naming the backup', async (_label, damage) => {
      const damaged = join(work, `damaged-${_label}.dump`);
      writeFileSync(damaged, damage(readFileSync(original)));
      expect((await aws(['s3', 'cp', damaged, `s3://${BUCKET}/${dumpKey()}`])).code).toBe(0);
      await psql('DROP DATABASE IF EXISTS quality_billing_copy', 'postgres');
      const r = await runRestore(restoreJob, backupDir(`restore-${_label}`), { TARGET_DATABASE: 'quality_billing_copy' });
      expect(r.step).toBe('fetch');
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(`backup ${backupId} is corrupt: its files do not match SHA256SUMS; nothing restored`);
      expect(await psql(`SELECT count(*) FROM pg_database WHERE datname = 'quality_billing_copy'`, 'postgres')).toBe('0');
    }, 300000);

    it.each([
      ['truncated', (b: Buffer) => b.subarray(0, Math.floor(b.length / 2))],
      ['corrupted', (b: Buffer) => { const c = Buffer.from(b); for (let i = 2000; i < 2100; i++) c[i] ^= 0xff; return c; }],
    ])('%s after download: the restore step fails on the checksum and restores nothing', async (_label, damage) => {
      const dir = backupDir(`restore-local-${_label}`);
      // The downloaded files, then the dump damaged as if on the scratch volume.
      mkdirSync(join(dir, backupId), { recursive: true });
      writeFileSync(join(dir, 'BACKUP_ID'), `${backupId}\n`);
      for (const f of ['manifest.tsv', 'SHA256SUMS']) writeFileSync(join(dir, backupId, f), readFileSync(join(work, 'backup-1', backupId, f)));
      writeFileSync(join(dir, backupId, 'quality_billing.dump'), damage(readFileSync(original)));
      await psql('DROP DATABASE IF EXISTS quality_billing_copy', 'postgres');
      const r = await runScript('restore.sh', { ...containerEnv(containerOf(restoreJob, 'restore')), PGHOST: '127.0.0.1', PGPORT: String(pgPort), BACKUP_DIR: dir, TARGET_DATABASE: 'quality_billing_copy' });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(`backup ${backupId} is corrupt`);
      expect(await psql(`SELECT count(*) FROM pg_database WHERE datname = 'quality_billing_copy'`, 'postgres')).toBe('0');
    }, 300000);

    it('a truncated dump whose checksums were recomputed fails pg_restore\'s read and restores nothing', async () => {
      const dir = backupDir('restore-resummed');
      mkdirSync(join(dir, backupId), { recursive: true });
      writeFileSync(join(dir, 'BACKUP_ID'), `${backupId}\n`);
      writeFileSync(join(dir, backupId, 'manifest.tsv'), readFileSync(join(work, 'backup-1', backupId, 'manifest.tsv')));
      const bytes = readFileSync(original);
      writeFileSync(join(dir, backupId, 'quality_billing.dump'), bytes.subarray(0, Math.floor(bytes.length * 0.6)));
      writeFileSync(join(dir, backupId, 'SHA256SUMS'), run('sha256sum', ['quality_billing.dump', 'manifest.tsv'].map(f => join(dir, backupId, f))).replace(new RegExp(`${join(dir, backupId)}/`, 'g'), ''));
      await psql('DROP DATABASE IF EXISTS quality_billing_copy', 'postgres');
      const r = await runScript('restore.sh', { ...containerEnv(containerOf(restoreJob, 'restore')), PGHOST: '127.0.0.1', PGPORT: String(pgPort), BACKUP_DIR: dir, TARGET_DATABASE: 'quality_billing_copy' });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/pg_restore of \d{8}T\d{6}Z into quality_billing_copy failed; the database is left empty/);
      expect(await psql(`SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')`, 'quality_billing_copy')).toBe('0');
    }, 300000);

    it('a dump damaged on the scratch volume before upload is not uploaded', async () => {
      const dir = backupDir('backup-damaged');
      const job = backupCronJob();
      const dump = await runScript('dump.sh', { ...containerEnv(containerOf(job, 'dump')), PGHOST: '127.0.0.1', PGPORT: String(pgPort), BACKUP_DIR: dir });
      expect(dump.code).toBe(0);
      const id = readFileSync(join(dir, 'BACKUP_ID'), 'utf8').trim();
      const file = join(dir, id, 'quality_billing.dump');
      writeFileSync(file, readFileSync(file).subarray(0, 100));
      const upload = await runScript('upload.sh', { ...containerEnv(containerOf(job, 'upload')), BACKUP_DIR: dir });
      expect(upload.code).not.toBe(0);
      expect(upload.stderr).toContain('do not match: not uploading');
      expect((await listKeys()).some(k => k.includes(`/${id}/`))).toBe(false);
    }, 300000);
  });

  it('retention deletes backups older than 30 days and keeps newer ones and the newest complete ones', async () => {
    expect(containerEnv(containerOf(backupCronJob(), 'upload')).RETENTION_DAYS).toBe('30');
    const day = 86400000;
    const idOf = (d: Date) => d.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
    const old = [idOf(new Date(Date.now() - 45 * day)), idOf(new Date(Date.now() - 31 * day))];
    const recent = [idOf(new Date(Date.now() - 29 * day)), idOf(new Date(Date.now() - 2 * day))];
    const marker = join(work, 'marker');
    writeFileSync(marker, 'x');
    for (const id of [...old, ...recent]) {
      for (const f of ['quality_billing.dump', 'SHA256SUMS']) expect((await aws(['s3', 'cp', marker, `s3://${BUCKET}/prod/postgres/logical/${id}/${f}`])).code).toBe(0);
    }
    // Something else under the prefix is never touched.
    expect((await aws(['s3', 'cp', marker, `s3://${BUCKET}/prod/postgres/logical/README`])).code).toBe(0);
    const r = await runBackup(backupDir('backup-2'));
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('2 expired backups deleted');
    const ids = new Set((await listKeys()).map(k => k.split('/')[3]));
    for (const id of old) expect(ids.has(id)).toBe(false);
    for (const id of [...recent, backupId]) expect(ids.has(id)).toBe(true);
    expect(ids.has('README')).toBe(true);
  }, 180000);

  it('retention never deletes the newest complete backups, however old', async () => {
    const prefix = 'keep-test/postgres';
    const marker = join(work, 'marker');
    const ids = ['20200101T020000Z', '20200102T020000Z', '20200103T020000Z', '20200104T020000Z', '20200105T020000Z'];
    for (const id of ids) await aws(['s3', 'cp', marker, `s3://${BUCKET}/${prefix}/logical/${id}/SHA256SUMS`]);
    // The newest one is incomplete (no SHA256SUMS): it does not count as one to keep.
    await aws(['s3', 'cp', marker, `s3://${BUCKET}/${prefix}/logical/20200106T020000Z/quality_billing.dump`]);
    const dir = backupDir('backup-keep');
    const job = backupCronJob();
    expect((await runScript('dump.sh', { ...containerEnv(containerOf(job, 'dump')), PGHOST: '127.0.0.1', PGPORT: String(pgPort), BACKUP_DIR: dir })).code).toBe(0);
    const env: Record<string, string> = { ...containerEnv(containerOf(job, 'upload')), BACKUP_DIR: dir, S3_PREFIX: prefix };
    expect(env.MIN_KEEP).toBe('3');
    // The fresh backup is one of the three kept; the two newest 2020 complete ones are the others.
    const r = await runScript('upload.sh', env);
    expect(r.code).toBe(0);
    const left = (await aws(['s3', 'ls', `s3://${BUCKET}/${prefix}/logical/`])).stdout;
    expect(left).toContain('20200105T020000Z');
    expect(left).toContain('20200104T020000Z');
    for (const gone of ['20200101T020000Z', '20200102T020000Z', '20200103T020000Z', '20200106T020000Z']) expect(left).not.toContain(gone);
  }, 180000);

  it('point-in-time recovery: WAL archiving plus full and incremental backups restore to a noted time', async () => {
    const pgbackrestEnv = { ...JSON.parse(machine.pgbackrestEnv), PGHOST: pgDir, PGPORT: String(pgPort) };
    const full = await runScript('pgbackrest-backup.sh', pgbackrestEnv, ['full']);
    expect(full.stderr).toContain('full backup done');
    expect(full.code).toBe(0);
    await psql(`CREATE TABLE public.events (id int PRIMARY KEY, phase text); INSERT INTO public.events SELECT g, 'after full' FROM generate_series(1, 500) g`);
    const incr = await runScript('pgbackrest-backup.sh', pgbackrestEnv, ['incr']);
    expect(incr.stderr).toContain('incr backup done');
    expect(incr.code).toBe(0);
    await psql(`INSERT INTO public.events SELECT g, 'before the mark' FROM generate_series(501, 800) g`);
    await new Promise(r => setTimeout(r, 1100));
    const mark = await psql(`SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'`);
    await new Promise(r => setTimeout(r, 1100));
    await psql(`INSERT INTO public.events SELECT g, 'after the mark' FROM generate_series(801, 1000) g; DELETE FROM billing."Line Items" WHERE invoice_id > 2000; DELETE FROM public.invoices WHERE id > 2000`);
    await psql('SELECT pg_switch_wal()');
    await new Promise(r => setTimeout(r, 3000)); // archive_command ships the segment
    await pgCtl('stop');

    const job = pitrJobFor(`time:${mark}`);
    const env = containerEnv(containerOf(job, 'restore'));
    expect(env.RESTORE_TARGET).toBe(`time:${mark}`);
    const restored = await runScript('pgbackrest-restore.sh', { ...pgbackrestEnv, ...env, PGDATA: join(pgDir, 'data'), PGBACKREST_PG1_PATH: join(pgDir, 'data') });
    expect(restored.stderr).toContain(`restored to time:${mark}`);
    expect(restored.code).toBe(0);
    await pgCtl('start');
    for (let i = 0; i < 60 && (await psql('SELECT pg_is_in_recovery()', 'postgres')) === 't'; i++) await new Promise(r => setTimeout(r, 500));
    expect(await psql(`SELECT phase || ':' || count(*) FROM public.events GROUP BY phase ORDER BY phase`)).toBe('after full:500\nbefore the mark:300');
    expect(await psql('SELECT count(*) FROM public.invoices')).toBe('3000');
    expect(await psql('SELECT count(*) FROM billing."Line Items"')).toBe('2500');
  }, 300000);

  it('a point-in-time restore refuses to run while PostgreSQL is running', async () => {
    const env = containerEnv(containerOf(pitrJobFor('latest'), 'restore'));
    const r = await runScript('pgbackrest-restore.sh', { ...JSON.parse(machine.pgbackrestEnv), ...env, PGDATA: join(pgDir, 'data') });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('postmaster.pid exists: stop PostgreSQL');
  }, 60000);

  describe('the weekly configuration backup (QCAT)', () => {
    // A stand-in Kubernetes API over TLS answers the export's list requests with the token it
    // expects; the export and upload scripts are the ones QCAT's CronJob mounts.
    let api: import('https').Server;
    let apiPort: number;
    let cronJob: K8sObject;
    const served: string[] = [];
    const failing = new Set<string>();

    beforeAll(async () => {
      const storage = {
        bucket: BUCKET, prefix: 'prod/postgres', region: 'us-east-1', endpoint: `https://localhost:${s3Port}`,
        accessKeyId: SecretKeyRef.of('backup-s3-credentials', 'access-key-id'), secretAccessKey: SecretKeyRef.of('backup-s3-credentials', 'secret-access-key'),
      };
      const qcat = synthSystem('qcat', ENVIRONMENTS.prod, { backupStorage: storage }).objects;
      cronJob = find(qcat, 'CronJob', 'qcat-config-backup');
      const files = find(qcat, 'ConfigMap', 'qcat-config-backup-scripts').data;
      writeFileSync(join(work, 'scripts', 'config-export.sh'), files['export.sh'], { mode: 0o755 });
      writeFileSync(join(work, 'scripts', 'config-upload.sh'), files['upload.sh'], { mode: 0o755 });
      mkdirSync(join(work, 'sa'), { recursive: true });
      writeFileSync(join(work, 'sa', 'token'), 'sa-token');
      writeFileSync(join(work, 'sa', 'ca.crt'), readFileSync(join(work, 'tls', 'cert.pem')));
      const { createServer } = await import('https');
      api = createServer({ cert: readFileSync(join(work, 'tls', 'cert.pem')), key: readFileSync(join(work, 'tls', 'key.pem')) }, (req, res) => {
        served.push(req.url!);
        const kind = req.url!.split('/').pop()!;
        if (req.headers.authorization !== 'Bearer sa-token') { res.writeHead(401).end(); return; }
        if (failing.has(kind) || !req.url!.includes('/namespaces/qcat/')) { res.writeHead(500).end('{}'); return; }
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'List', items: [{ metadata: { name: `${kind}-1`, namespace: 'qcat' } }] }));
      });
      apiPort = await freePort();
      await new Promise<void>(r => api.listen(apiPort, 'localhost', r));
    });
    afterAll(() => api.close());

    const runConfigBackup = async (dir: string) => {
      const env = { API_SERVER: `https://localhost:${apiPort}`, TOKEN_DIR: join(work, 'sa'), BACKUP_DIR: dir };
      const exported = await exec('/bin/sh', [join(work, 'scripts', 'config-export.sh')], { ...containerEnv(containerOf(cronJob, 'export')), ...env, PATH: '/usr/bin:/bin', TZ: 'UTC' });
      if (exported.code !== 0) return { step: 'export', ...exported };
      const uploaded = await runScript('config-upload.sh', { ...containerEnv(containerOf(cronJob, 'upload')), BACKUP_DIR: dir });
      return { step: 'upload', ...uploaded };
    };
    const configKeys = async () => (await aws(['s3', 'ls', '--recursive', `s3://${BUCKET}/prod/config/`])).stdout.split('\n').filter(Boolean).map(l => l.trim().split(/\s+/).pop() as string);

    it('exports every configuration kind of the namespace (no Secrets) and uploads it with checksums, beside the database backups', async () => {
      const r = await runConfigBackup(backupDir('config-1'));
      expect(r.stderr).toContain('uploaded');
      expect(r.code).toBe(0);
      const keys = await configKeys();
      const names = keys.map(k => k.split('/').pop()!).sort();
      expect(names).toContain('SHA256SUMS');
      expect(names).toContain('api_v1_configmaps.json');
      expect(names).toContain('apis_apps_v1_deployments.json');
      expect(names.filter(n => n.endsWith('.json'))).toHaveLength(13);
      expect(served.some(u => /secrets/.test(u))).toBe(false);
      const id = keys[0].split('/')[2];
      const body = (await aws(['s3', 'cp', `s3://${BUCKET}/prod/config/${id}/api_v1_configmaps.json`, '-'])).stdout;
      expect(JSON.parse(body).items[0].metadata.name).toBe('configmaps-1');
    }, 300000);

    it('uploads nothing when a kind cannot be read', async () => {
      const before = await configKeys();
      failing.add('networkpolicies');
      const r = await runConfigBackup(backupDir('config-2'));
      failing.delete('networkpolicies');
      expect(r.step).toBe('export');
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('could not export networkpolicies');
      expect(await configKeys()).toEqual(before);
    }, 300000);
  });
});

