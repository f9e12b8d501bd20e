import { execFile } from 'child_process';
import { ChildProcess } from 'child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { ENVIRONMENTS } from '../../lib/environments';
import { SecretKeyRef } from '../../lib/secrets';
import { restoreObjects } from '../../bin/restore';
import { find, K8sObject, synthStack } from '../helpers';
import { debianBinary, freePort, run, startServer, stop } from './tools';

/*
 * The backup proof's rig, shared by the backup-*.test.ts files: a real PostgreSQL (Debian's) with
 * the prod postgresql.conf (WAL archiving to pgBackRest included), a real S3-compatible server
 * (s3rver, over TLS) and the exact scripts, configuration and environment of the synthesized
 * CronJobs and restore Jobs — taken from the manifests, with only what differs on this machine
 * overridden (host, paths, the CA bundle). Each test file starts its own servers once, in
 * beforeAll, and shares them between its tests; the files run side by side in jest's workers.
 */

const isRoot = process.getuid?.() === 0;
/** The bucket the manifests' backup storage is pointed at. */
export const BUCKET = 'qb-backups';
/** The values of the Secrets the manifests reference (created out of band in a cluster). */
export const SECRETS: Record<string, string> = {
  'db-credentials/password': 'test-db-password',
  'backup-s3-credentials/access-key-id': 'S3RVER',
  'backup-s3-credentials/secret-access-key': 'S3RVER',
};

/** A finished command. */
export interface Result { code: number; stdout: string; stderr: string }

/** Runs a command (as postgres when we are root) without blocking the event loop. */
export function exec(command: string, args: string[], env: Record<string, string>, timeoutMs = 120000): Promise<Result> {
  const [cmd, argv] = isRoot ? ['runuser', ['-u', 'postgres', '--', 'env', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), command, ...args]] : [command, args];
  return new Promise(resolve => {
    execFile(cmd, argv, { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 * 2 ** 20, env: isRoot ? { PATH: process.env.PATH } : env }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

/** The environment a container of a synthesized object gets: plain values, and Secret keys from SECRETS. */
export function containerEnv(container: any): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of container.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    // A pod field (Patroni's pod name and IP in prod) is not this machine's: left out.
    else if (e.valueFrom.secretKeyRef) env[e.name] = SECRETS[`${e.valueFrom.secretKeyRef.name}/${e.valueFrom.secretKeyRef.key}`];
  }
  return env;
}

function podOf(o: K8sObject): any {
  return o.kind === 'CronJob' ? o.spec.jobTemplate.spec.template.spec : o.spec.template.spec;
}

/** A container (or init container) of a workload, by name. */
export function containerOf(o: K8sObject, name: string): any {
  const spec = podOf(o);
  const c = [...(spec.initContainers ?? []), ...spec.containers].find((x: any) => x.name === name);
  if (!c) throw new Error(`${o.kind}/${o.metadata.name} has no container ${name}`);
  return c;
}

/** Resolves after `ms`. */
export const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

/** The backup storage props the rig's manifests are synthesized with: the local S3 server. */
export function localStorage(s3Port: number) {
  return {
    bucket: BUCKET, prefix: 'prod/postgres', region: 'us-east-1', endpoint: `https://localhost:${s3Port}`,
    accessKeyId: SecretKeyRef.of('backup-s3-credentials', 'access-key-id'), secretAccessKey: SecretKeyRef.of('backup-s3-credentials', 'secret-access-key'),
  };
}

/** What a test file gets from `useBackupRig`; its fields are set once beforeAll has run. */
export class BackupRig {
  work = '';
  pgDir = '';
  pgPort = 0;
  s3Port = 0;
  s3: ChildProcess | undefined;
  pgStarted = false;
  objects: K8sObject[] = [];
  restoreJob!: K8sObject;
  readonly scripts: Record<string, string> = {};
  /** pgBackRest's environment as in the database container (JSON), this machine's paths. */
  pgbackrestEnv: Record<string, string> = {};
  private pgUid = 0;
  private pgGid = 0;

  /**
   * The point-in-time restore Job for a target. Prod runs a Patroni cluster, which the restore
   * refuses: it is emitted, as its error says, for prod brought to one member (no standbys).
   */
  pitrJobFor(target: string): K8sObject {
    const oneMember = { ...ENVIRONMENTS.prod, postgresStandbys: 0, survivesNodeLoss: false };
    return restoreObjects({ env: 'prod', stackProps: { backupStorage: localStorage(this.s3Port), environment: oneMember }, pitr: target }).find(o => o.kind === 'Job') as K8sObject;
  }

  async psql(sql: string, db = 'quality_billing'): Promise<string> {
    const r = await exec(debianBinary('psql'), ['-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', this.pgDir, '-p', String(this.pgPort), '-U', 'postgres', '-d', db, '-c', sql], {});
    if (r.code !== 0) throw new Error(`psql failed: ${r.stderr}`);
    return r.stdout.trim();
  }

  /** A psql session held open on `db` as the exporter holds one: the database's user over TCP, named postgres_exporter. */
  sessionCommand(db: string): [string, string[], { env: NodeJS.ProcessEnv; stdio: ['pipe', 'pipe', 'pipe'] }] {
    const env = { PATH: '/usr/bin:/bin', PGPASSWORD: SECRETS['db-credentials/password'], PGAPPNAME: 'postgres_exporter' };
    const argv = ['-X', '-h', '127.0.0.1', '-p', String(this.pgPort), '-U', 'quality_billing', '-d', db];
    return isRoot
      ? ['runuser', ['-u', 'postgres', '--', 'env', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), debianBinary('psql'), ...argv], { env: { PATH: process.env.PATH }, stdio: ['pipe', 'pipe', 'pipe'] }]
      : [debianBinary('psql'), argv, { env, stdio: ['pipe', 'pipe', 'pipe'] }];
  }

  async pgCtl(action: 'start' | 'stop'): Promise<void> {
    const { pgDir } = this;
    const args = action === 'start'
      ? ['-D', join(pgDir, 'data'), '-o', [`-c config_file=${join(pgDir, 'postgresql.conf')}`, `-c hba_file=${join(pgDir, 'data', 'pg_hba.conf')}`,
        `-c port=${this.pgPort}`, `-c unix_socket_directories=${pgDir}`, '-c listen_addresses=127.0.0.1'].join(' '), '-l', join(pgDir, 'server.log'), '-w', '-t', '120', 'start']
      : ['-D', join(pgDir, 'data'), '-m', 'fast', '-w', 'stop'];
    // The server's environment is what archive_command (pgBackRest) sees, as in the container.
    const r = await exec(debianBinary('pg_ctl'), args, { ...this.pgbackrestEnv, PATH: '/usr/bin:/bin' });
    if (r.code !== 0) throw new Error(`pg_ctl ${action} failed: ${r.stderr}${readFileSync(join(pgDir, 'server.log'), 'utf8').slice(-3000)}`);
  }

  /** Runs one of the shipped scripts with a container's environment, overridden for this machine. */
  runScript(file: string, env: Record<string, string>, args: string[] = []): Promise<Result> {
    const { work } = this;
    return exec('/bin/bash', [join(work, 'scripts', file), ...args], { PATH: '/usr/bin:/bin', ...env, AWS_CA_BUNDLE: join(work, 'tls', 'cert.pem'), HOME: join(work, 'home'), TZ: 'UTC' }, 300000);
  }

  /**
   * A stand-in `aws` for runScript (pass `env`, which puts it first on PATH): it records each start
   * and runs the real one. With `truncateDumps`, every .dump file it uploads reaches the bucket cut
   * to 100 bytes, as a transfer cut short would leave it. `starts()`: the command of each start
   * (`s3 cp`, `s3api list-objects-v2`, ...), in order.
   */
  awsShim(name: string, o: { truncateDumps?: boolean } = {}): { env: Record<string, string>; starts: () => string[] } {
    const dir = this.backupDir(name);
    const log = join(dir, 'starts.log');
    writeFileSync(log, '');
    this.chownPostgres(log);
    writeFileSync(join(dir, 'aws'), `#!/bin/bash
set -euo pipefail
here=$(dirname "$0")
printf '%s\\n' "$*" >> "$here/starts.log"
args=("$@")
if [[ -n "\${TRUNCATE_DUMPS:-}" ]]; then
  for i in "\${!args[@]}"; do
    a="\${args[$i]}"
    [[ "$a" == /* && -e "$a" ]] || continue
    copy=$(mktemp -d "$here/upload.XXXXXX")
    cp -r "$a" "$copy/"
    find "$copy" -name '*.dump' -exec truncate -s 100 {} +
    args[$i]="$copy/$(basename "$a")"
    if [[ -d "$a" ]]; then args[$i]+=/; fi
  done
fi
exec /usr/bin/aws "\${args[@]}"
`, { mode: 0o755 });
    this.chownPostgres(join(dir, 'aws'));
    return {
      env: { PATH: `${dir}:/usr/bin:/bin`, ...(o.truncateDumps ? { TRUNCATE_DUMPS: 'true' } : {}) },
      starts: () => readFileSync(log, 'utf8').split('\n').filter(Boolean).map(line => {
        const words = line.split(' ');
        const at = words.findIndex(w => w === 's3' || w === 's3api');
        return words.slice(at, at + 2).join(' ');
      }),
    };
  }

  backupDir(name: string): string {
    const d = join(this.work, name);
    mkdirSync(d, { recursive: true });
    if (isRoot) this.chownPostgres(d);
    return d;
  }

  aws(args: string[]): Promise<Result> {
    const { work } = this;
    return exec('/usr/bin/aws', ['--endpoint-url', `https://localhost:${this.s3Port}`, ...args], {
      PATH: '/usr/bin:/bin', AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_DEFAULT_REGION: 'us-east-1', AWS_CA_BUNDLE: join(work, 'tls', 'cert.pem'), HOME: join(work, 'home'),
    });
  }

  /**
   * Puts files into the bucket with one aws process (each aws process costs about a second of CPU
   * to start): `files` maps keys under `prefix` to their content.
   */
  async putObjects(prefix: string, files: Record<string, string>): Promise<Result> {
    const dir = mkdtempSync(join(this.work, 'put-'));
    if (isRoot) this.chownPostgres(dir);
    for (const [key, text] of Object.entries(files)) {
      mkdirSync(join(dir, key, '..'), { recursive: true });
      writeFileSync(join(dir, key), text);
    }
    if (isRoot) run('chown', ['-R', `${this.pgUid}:${this.pgGid}`, dir]);
    return this.aws(['s3', 'cp', '--only-show-errors', '--recursive', dir, `s3://${BUCKET}/${prefix}`]);
  }

  /** s3rver over TLS on s3Port, keeping its objects in work/s3 (so a restart finds the repository again). */
  async startS3(): Promise<void> {
    const { work } = this;
    this.s3 = await startServer(process.execPath, [require.resolve('s3rver/bin/s3rver.js'), '--directory', join(work, 's3'), '--address', 'localhost', '--port', String(this.s3Port),
      '--key', join(work, 'tls', 'key.pem'), '--cert', join(work, 'tls', 'cert.pem'), '--configure-bucket', BUCKET, '--no-vhost-buckets', '--silent'],
    () => { run('curl', ['-sf', '--cacert', join(work, 'tls', 'cert.pem'), `https://localhost:${this.s3Port}/`]); return true; });
  }

  async stopS3(): Promise<void> {
    await stop(this.s3);
  }

  chownPostgres(p: string): void {
    if (isRoot) chownSync(p, this.pgUid, this.pgGid);
  }

  /** Per-table content checksums, sequence values and index definitions: what "everything came back" means. */
  async fingerprint() {
    return {
      tables: await this.psql(`SELECT string_agg(t || '=' || (xpath('/row/c/text()', query_to_xml(format('SELECT md5(coalesce(string_agg(x::text, E''\\n'' ORDER BY x::text), '''')) AS c FROM %s x', t), false, true, '')))[1]::text, ' ' ORDER BY t) FROM (SELECT format('%I.%I', schemaname, tablename) AS t FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')) s`),
      sequences: await this.psql(`SELECT string_agg(format('%I.%I', schemaname, sequencename) || '=' || coalesce(last_value::text, 'null'), ' ' ORDER BY sequencename) FROM pg_sequences`),
      indexes: await this.psql(`SELECT string_agg(indexdef, E'\\n' ORDER BY indexname) FROM pg_indexes WHERE schemaname NOT IN ('pg_catalog', 'information_schema')`),
      rows: Number(await this.psql('SELECT (SELECT count(*) FROM public.invoices) + (SELECT count(*) FROM billing."Line Items") + (SELECT count(*) FROM public.customers)')),
    };
  }

  backupCronJob(): K8sObject {
    return find(this.objects, 'CronJob', 'quality-billing-postgres-backup');
  }

  /** Runs the backup CronJob's dump container alone; `id` is the backup it wrote ('' when it failed). */
  async runDump(dir: string, extra: Record<string, string> = {}): Promise<Result & { id: string }> {
    const dump = await this.runScript('dump.sh', { ...containerEnv(containerOf(this.backupCronJob(), 'dump')), PGHOST: '127.0.0.1', PGPORT: String(this.pgPort), BACKUP_DIR: dir, ...extra });
    return { ...dump, id: dump.code === 0 ? readFileSync(join(dir, 'BACKUP_ID'), 'utf8').trim() : '' };
  }

  /** Runs the backup CronJob's two containers in order, as its pod would. */
  async runBackup(dir: string, extra: Record<string, string> = {}): Promise<Result & { step: string }> {
    const job = this.backupCronJob();
    const { id: _id, ...dump } = await this.runDump(dir, extra);
    if (dump.code !== 0) return { step: 'dump', ...dump };
    const upload = await this.runScript('upload.sh', { ...containerEnv(containerOf(job, 'upload')), BACKUP_DIR: dir, ...extra });
    return { step: 'upload', ...upload, stderr: dump.stderr + upload.stderr };
  }

  /** Runs a restore Job's two containers (fetch, restore) in order. */
  async runRestore(job: K8sObject, dir: string, extra: Record<string, string> = {}): Promise<Result & { step: string }> {
    const fetch = await this.runScript('fetch.sh', { ...containerEnv(containerOf(job, 'fetch')), BACKUP_DIR: dir, ...extra });
    if (fetch.code !== 0) return { step: 'fetch', ...fetch };
    const restore = await this.runScript('restore.sh', { ...containerEnv(containerOf(job, 'restore')), PGHOST: '127.0.0.1', PGPORT: String(this.pgPort), BACKUP_DIR: dir, ...extra });
    return { step: 'restore', ...restore, stderr: fetch.stderr + restore.stderr };
  }

  /** The keys of the logical backups in the bucket. */
  async listKeys(): Promise<string[]> {
    return (await this.aws(['s3', 'ls', '--recursive', `s3://${BUCKET}/prod/postgres/logical/`])).stdout.split('\n').filter(Boolean).map(l => l.trim().split(/\s+/).pop() as string);
  }

  /** Starts the servers: s3rver always, PostgreSQL (with the fixture database) unless `postgres` is false. */
  async start(o: { postgres: boolean }): Promise<void> {
    if (isRoot) [this.pgUid, this.pgGid] = ['-u', '-g'].map(flag => Number(run('id', [flag, 'postgres']).trim()));
    const work = this.work = mkdtempSync(join(tmpdir(), 'qb-backup-'));
    chmodSync(work, 0o755);
    this.chownPostgres(work);
    for (const d of ['scripts', 'tls', 'home', 's3', 'pg']) this.backupDir(d);
    const pgDir = this.pgDir = join(work, 'pg');
    chmodSync(pgDir, 0o700);
    [this.pgPort, this.s3Port] = [await freePort(), await freePort()];

    // TLS for the S3 server: pgBackRest speaks only HTTPS to S3.
    run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost',
      '-keyout', join(work, 'tls', 'key.pem'), '-out', join(work, 'tls', 'cert.pem')]);
    chmodSync(join(work, 'tls', 'cert.pem'), 0o644);
    // s3rver starts while the manifests are synthesized (in this process) below.
    const s3Started = this.startS3();

    // The manifests, with the storage pointing at the local S3 server (the only storage prop changed).
    const storage = localStorage(this.s3Port);
    ({ objects: this.objects } = synthStack(ENVIRONMENTS.prod, { backupStorage: storage }));
    this.restoreJob = restoreObjects({ env: 'prod', stackProps: { backupStorage: storage }, backup: 'latest' }).find(o => o.kind === 'Job') as K8sObject;
    const backupScripts = find(this.objects, 'ConfigMap', 'quality-billing-postgres-backup-scripts').data;
    const pgbackrest = find(this.objects, 'ConfigMap', 'quality-billing-postgres-pgbackrest').data;
    for (const [name, text] of Object.entries({ ...backupScripts, 'pgbackrest-backup.sh': pgbackrest['backup.sh'], 'pgbackrest-restore.sh': pgbackrest['restore.sh'], 'pgbackrest-archive-push.sh': pgbackrest['pgbackrest-archive-push.sh'] })) {
      writeFileSync(join(work, 'scripts', name), text as string, { mode: 0o755 });
      this.scripts[name] = text as string;
    }
    writeFileSync(join(work, 'pgbackrest.conf'), pgbackrest['pgbackrest.conf'], { mode: 0o644 });
    await s3Started;
    if (!o.postgres) return;

    // pgBackRest as in the database container: the manifest's config file and environment; only the
    // data directory, port, socket and CA bundle are this machine's.
    const server = find(this.objects, 'StatefulSet', 'quality-billing-postgres').spec.template.spec.containers.find((c: any) => c.name === 'postgres');
    const serverEnv = containerEnv(server);
    this.pgbackrestEnv = {
      PGBACKREST_REPO1_S3_KEY: serverEnv.PGBACKREST_REPO1_S3_KEY, PGBACKREST_REPO1_S3_KEY_SECRET: serverEnv.PGBACKREST_REPO1_S3_KEY_SECRET,
      STANZA: serverEnv.STANZA, INCR_RETENTION_DAYS: serverEnv.INCR_RETENTION_DAYS,
      PGBACKREST_CONFIG: join(work, 'pgbackrest.conf'), PGBACKREST_PG1_PATH: join(pgDir, 'data'), PGBACKREST_PG1_PORT: String(this.pgPort),
      PGBACKREST_PG1_SOCKET_PATH: pgDir, PGBACKREST_REPO1_STORAGE_CA_FILE: join(work, 'tls', 'cert.pem'), PGBACKREST_LOCK_PATH: join(work, 'pgbackrest-lock'),
    };

    // PostgreSQL with the prod postgresql.conf, WAL archiving included; a superuser named like the image's POSTGRES_USER.
    // Only the mount path of the pgBackRest scripts differs (/etc/pgbackrest in the pod).
    const conf: string = find(this.objects, 'ConfigMap', 'quality-billing-postgres-files').data['postgresql.conf'];
    expect(conf).toContain("archive_command = 'bash /etc/pgbackrest/pgbackrest-archive-push.sh %p'");
    writeFileSync(join(pgDir, 'postgresql.conf'), conf.replace('/etc/pgbackrest/', `${join(work, 'scripts')}/`), { mode: 0o644 });
    this.chownPostgres(join(pgDir, 'postgresql.conf'));
    const init = await exec(debianBinary('initdb'), ['-D', join(pgDir, 'data'), '-U', 'postgres', '--auth-local=trust', '--auth-host=scram-sha-256', '--no-sync', '--encoding=UTF8', '--locale=C'], {});
    if (init.code !== 0) throw new Error(init.stderr);
    await this.pgCtl('start');
    this.pgStarted = true;
    await this.psql(`CREATE ROLE quality_billing SUPERUSER LOGIN PASSWORD '${SECRETS['db-credentials/password']}'`, 'postgres');
    await this.psql('CREATE DATABASE quality_billing OWNER quality_billing', 'postgres');
    // The fixture: several tables and schemas, a few thousand rows, sequences, indexes, non-ASCII text.
    await this.psql(`
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
  }

  async shutdown(): Promise<void> {
    if (this.pgStarted) await this.pgCtl('stop').catch(() => undefined);
    await this.stopS3();
    if (this.work) rmSync(this.work, { recursive: true, force: true });
  }
}

/**
 * The rig of one test file: its servers start in beforeAll and stop in afterAll, shared by the
 * file's tests. `postgres: false` starts only the S3 server (for tests that need no database).
 */
export function useBackupRig(o: { postgres: boolean } = { postgres: true }): BackupRig {
  const rig = new BackupRig();
  beforeAll(() => rig.start(o), 300000);
  afterAll(() => rig.shutdown());
  return rig;
}
