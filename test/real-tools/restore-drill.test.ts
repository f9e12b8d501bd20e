import { execFile } from 'child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { dirname, join } from 'path';
import { ENVIRONMENTS } from '../../lib/environments';
import { find, K8sObject, synthStack } from '../helpers';
import { debianBinary, freePort, run } from './tools';

/*
 * The monthly restore drill (issue 18 §4) on real binaries: a "live" PostgreSQL with a small
 * database, backed up by the prod backup CronJob's dump script, then the prod restore-test
 * CronJob's restore container run as synthesized — its command and environment from the manifest,
 * only the scratch paths moved from /backup to a local folder — with PostgreSQL 15's server
 * binaries on PATH, as in the server's image. It must start its own server, restore into it,
 * match the manifest, and never connect to the live server.
 */

const isRoot = process.getuid?.() === 0;
const PASSWORD = 'test-db-password';
// The values of the Secrets the manifests reference.
const SECRETS: Record<string, string> = { 'db-credentials/password': PASSWORD };

interface Result { code: number; stdout: string; stderr: string }

/** Runs a command as Debian's postgres user when we are root (PostgreSQL refuses root), with exactly `env`. */
function exec(command: string, args: string[], env: Record<string, string>): Promise<Result> {
  const [cmd, argv] = isRoot ? ['runuser', ['-u', 'postgres', '--', 'env', '-i', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), command, ...args]] : [command, args];
  return new Promise(resolve => {
    execFile(cmd, argv, { encoding: 'utf8', timeout: 240000, maxBuffer: 16 * 2 ** 20, env: isRoot ? { PATH: process.env.PATH } : env }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

/** A container's environment from the manifest: plain values, and Secret keys from SECRETS. */
function containerEnv(container: any): Record<string, string> {
  return Object.fromEntries((container.env ?? []).map((e: any) => [e.name, e.value ?? SECRETS[`${e.valueFrom.secretKeyRef.name}/${e.valueFrom.secretKeyRef.key}`]]));
}

function container(o: K8sObject, name: string): any {
  const spec = o.spec.jobTemplate.spec.template.spec;
  return [...(spec.initContainers ?? []), ...spec.containers].find((c: any) => c.name === name);
}

describe('the restore drill starts its own PostgreSQL and restores the latest backup into it', () => {
  let work: string;
  let live: string;
  let livePort: number;
  let liveRunning = false;
  let serverBin: string;
  let objects: K8sObject[];
  let backupId: string;
  const owner = { uid: 0, gid: 0 };
  const own = (p: string) => { if (isRoot) chownSync(p, owner.uid, owner.gid); return p; };
  const path = () => `${serverBin}:/usr/bin:/bin`;

  const pgCtl = (args: string[]) => exec(join(serverBin, 'pg_ctl'), ['-D', join(live, 'data'), ...args], { PATH: path() });
  const livePsql = async (sql: string, db = 'quality_billing') => {
    const r = await exec(join(serverBin, 'psql'), ['-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', live, '-p', String(livePort), '-U', 'postgres', '-d', db, '-c', sql], { PATH: path() });
    if (r.code !== 0) throw new Error(`psql failed: ${r.stderr}`);
    return r.stdout.trim();
  };
  /** The connections the live server has logged (log_connections): the drill must add none. */
  const liveConnections = () => (readFileSync(join(live, 'server.log'), 'utf8').match(/connection received:/g) ?? []).length;
  /** The restore-test CronJob's restore container, as synthesized, with its scratch folder moved to `dir`. */
  const runDrill = (dir: string) => {
    const c = container(find(objects, 'CronJob', 'quality-billing-postgres-restore-test'), 'restore');
    // The pod runs it as a check of the drill (drill-check.sh records its outcome); the script itself runs here.
    expect(c.command).toEqual(['bash', '/opt/backup/drill-check.sh', expect.any(String), 'bash', '/opt/backup/restore-drill.sh']);
    const env = containerEnv(c);
    const local = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v.startsWith('/backup') ? v.replace('/backup', dir) : v]));
    return exec('/bin/bash', [join(work, 'scripts', 'restore-drill.sh')], { ...local, PATH: path(), HOME: '/tmp', TZ: 'UTC' });
  };

  beforeAll(async () => {
    if (isRoot) [owner.uid, owner.gid] = ['-u', '-g'].map(flag => Number(run('id', [flag, 'postgres']).trim()));
    serverBin = dirname(realpathSync(debianBinary('initdb')));
    work = own(mkdtempSync(join(tmpdir(), 'qb-drill-')));
    chmodSync(work, 0o755);
    live = join(work, 'live');
    mkdirSync(live, { mode: 0o700 });
    own(live);
    mkdirSync(join(work, 'scripts'));
    objects = synthStack(ENVIRONMENTS.prod).objects;
    for (const [name, text] of Object.entries(find(objects, 'ConfigMap', 'quality-billing-postgres-backup-scripts').data)) {
      writeFileSync(join(work, 'scripts', name), text as string, { mode: 0o755 });
    }

    // The live server: logs every connection it receives.
    livePort = await freePort();
    const init = await exec(join(serverBin, 'initdb'), ['-D', join(live, 'data'), '-U', 'postgres', '--auth-local=trust', '--auth-host=scram-sha-256', '--no-sync', '--encoding=UTF8'], { PATH: path() });
    if (init.code !== 0) throw new Error(init.stderr);
    const options = [`-c port=${livePort}`, `-c unix_socket_directories=${live}`, '-c listen_addresses=127.0.0.1', '-c log_connections=on', '-c fsync=off'].join(' ');
    const start = await pgCtl(['-o', options, '-l', join(live, 'server.log'), '-w', '-t', '60', 'start']);
    if (start.code !== 0) throw new Error(start.stderr);
    liveRunning = true;
    await livePsql(`CREATE ROLE quality_billing LOGIN PASSWORD '${PASSWORD}'; CREATE ROLE reporting NOLOGIN`, 'postgres');
    await livePsql('CREATE DATABASE quality_billing OWNER quality_billing', 'postgres');
    // Tables owned by the application's role, a GRANT to a role only the live server has, a sequence and an index.
    await livePsql(`SET ROLE quality_billing;
      CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL);
      INSERT INTO customers (name) SELECT '客户 ' || g FROM generate_series(1, 300) g;
      CREATE TABLE invoices (id bigserial PRIMARY KEY, customer_id int REFERENCES customers, amount numeric(12, 2));
      INSERT INTO invoices (customer_id, amount) SELECT 1 + g % 300, g * 1.5 FROM generate_series(1, 1000) g;
      CREATE INDEX invoices_customer ON invoices (customer_id);
      GRANT SELECT ON invoices TO reporting;`);

    // The backup, by the prod backup CronJob's dump script, into the folder the drill reads (as its fetch step leaves it).
    const dump = container(find(objects, 'CronJob', 'quality-billing-postgres-backup'), 'dump');
    const backup = await exec('/bin/bash', [join(work, 'scripts', 'dump.sh')], {
      ...containerEnv(dump), PGHOST: '127.0.0.1', PGPORT: String(livePort), BACKUP_DIR: join(work, 'backup-template'), PATH: path(), TZ: 'UTC',
    });
    if (backup.code !== 0) throw new Error(backup.stderr);
    backupId = readFileSync(join(work, 'backup-template', 'BACKUP_ID'), 'utf8').trim();
  }, 120000);

  afterAll(async () => {
    if (liveRunning) await pgCtl(['-m', 'fast', '-w', 'stop']);
    if (work) rmSync(work, { recursive: true, force: true });
  });

  /** A scratch folder holding the backup as the fetch step downloads it. */
  const scratch = (name: string) => {
    const dir = join(work, name);
    run('cp', ['-a', join(work, 'backup-template'), dir]);
    return dir;
  };

  it('restores into a server of its own, matches the manifest, stops it and deletes its data, without a connection to the live server', async () => {
    const dir = scratch('drill-ok');
    const before = liveConnections();
    // The count sees connections: the backup's snapshot session and pg_dump made some.
    expect(before).toBeGreaterThanOrEqual(2);
    const r = await runDrill(dir);
    expect(r.stderr).toMatch(/starting a throwaway postgres \(PostgreSQL\) 15\.\d+.* in .*\/drill-ok\/server\/data: Unix socket only/);
    expect(r.stderr).toContain(`throwaway server ready on ${dir}/server/run`);
    expect(r.stderr).toMatch(new RegExp(`restored ${backupId} into quality_billing: 2 tables and 1300 rows match the manifest`));
    expect(r.stderr).toContain('restore drill passed; the throwaway server is stopped and its data deleted');
    expect(r.code).toBe(0);
    // The drill's own server wrote its log, and is gone with its data.
    expect(readFileSync(join(dir, 'server', 'server.log'), 'utf8')).toMatch(/database system is ready to accept connections/);
    expect(existsSync(join(dir, 'server', 'data'))).toBe(false);
    // The live server received no connection while the drill ran, and still has its database.
    expect(liveConnections()).toBe(before);
    expect(await livePsql('SELECT count(*) FROM invoices')).toBe('1000');
  }, 240000);

  it('a backup that does not match its manifest fails the drill, with the live server stopped, and the throwaway server is stopped all the same', async () => {
    const dir = scratch('drill-mismatch');
    // A manifest claiming one row more than the dump holds, checksums recomputed to match.
    const folder = join(dir, backupId);
    writeFileSync(join(folder, 'manifest.tsv'), readFileSync(join(folder, 'manifest.tsv'), 'utf8').replace('table\tpublic.invoices\t1000', 'table\tpublic.invoices\t1001'));
    writeFileSync(join(folder, 'SHA256SUMS'), run('sha256sum', ['quality_billing.dump', 'manifest.tsv'].map(f => join(folder, f))).replace(new RegExp(`${folder}/`, 'g'), ''));
    const stopped = await pgCtl(['-m', 'fast', '-w', 'stop']);
    expect(stopped.code).toBe(0);
    liveRunning = false;
    const r = await runDrill(dir);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('throwaway server ready');
    expect(r.stderr).toMatch(/does not match the manifest/);
    expect(r.stderr).toContain('-table\tpublic.invoices\t1001');
    expect(r.stderr).toContain('FAILED: the latest backup did not restore into a fresh server');
    expect(readFileSync(join(dir, 'server', 'server.log'), 'utf8')).toMatch(/database system is shut down/);
    expect(existsSync(join(dir, 'server', 'data'))).toBe(false);
  }, 240000);
});
