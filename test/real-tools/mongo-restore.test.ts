import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { join } from 'path';
import { restoreObjects } from '../../bin/restore';
import { ENVIRONMENTS } from '../../lib/environments';
import { find, K8sObject, synthChart } from '../helpers';
import { BUCKET, containerEnv, containerOf, exec, localStorage, Result, SECRETS, useBackupRig } from './backup-rig';

/*
 * merchant-analysis's MongoDB dump and restore, as the synthesized CronJob and restore Job run
 * them, against a real S3-compatible server (s3rver over TLS) with the real AWS CLI: the dump's
 * upload, the fetch with its checksums, and the restore script's decisions.
 *
 * No MongoDB here: mongod and the database tools are not Debian packages (and only the npm
 * registry and Debian are reachable), so mongodump, mongorestore and mongosh are stubs on PATH.
 * They record their argv, and keep a stand-in database as files (`<db>/<collection>` holding a
 * document count): mongodump writes those counts, gzipped, as the "archive"; mongorestore
 * --dryRun checks the gzip and otherwise writes the counts for the namespaces its
 * --nsInclude/--nsFrom/--nsTo select, printing mongorestore's summary line; mongosh answers the
 * script's count and dropDatabase. What this proves is the scripts' logic and the manifests'
 * wiring (paths, bucket, kind, flags, credentials), not mongorestore's own behaviour; the flags'
 * meaning is from mongo-tools' documentation and source (cited in lib/backup/mongorestore-scripts.ts).
 */

const ROOT_PASSWORD = 'test-root-password';
Object.assign(SECRETS, { 'mongo-credentials/root-user': 'root', 'mongo-credentials/root-password': ROOT_PASSWORD });

const STUBS: Record<string, string> = {
  mongodump: `#!/bin/sh
echo "mongodump $*" >> "$STUB_LOG"
for a; do case "$a" in --archive=*) archive="\${a#--archive=}";; esac; done
(cd "$STUB_DB" && for f in */*; do printf '%s %s\\n' "$(dirname "$f").$(basename "$f")" "$(cat "$f")"; done) | gzip > "$archive"
`,
  mongorestore: `#!/bin/sh
echo "mongorestore $*" >> "$STUB_LOG"
dry=false; include=''; to=''
for a; do case "$a" in --archive=*) archive="\${a#--archive=}";; --dryRun) dry=true;; --nsInclude=*) include="\${a#--nsInclude=}";; --nsTo=*) to="\${a#--nsTo=}";; esac; done
gzip -t "$archive" 2>/dev/null || { echo "Failed: $archive: not a gzipped archive" >&2; exit 1; }
$dry && exit 0
gzip -dc "$archive" | {
  n=0
  while read -r ns count; do
    db=\${ns%%.*}; coll=\${ns#*.}
    [ -z "$include" ] || [ "$db.*" = "$include" ] || continue
    [ -z "$to" ] || db=\${to%.\\*}
    mkdir -p "$STUB_DB/$db"
    echo $((count - \${STUB_LOSE_DOCS:-0})) > "$STUB_DB/$db/$coll"
    echo "finished restoring $db.$coll ($count documents, 0 failures)" >&2
    n=$((n + count))
  done
  printf '2026-11-25T06:40:00.000+0000\\t%s document(s) restored successfully. %s document(s) failed to restore.\\n' "$n" "\${STUB_FAILED_DOCS:-0}" >&2
}
`,
  mongosh: `#!/bin/sh
echo "mongosh $*" >> "$STUB_LOG"
prev=''; js=''
for a; do [ "$prev" = --eval ] && js="$a"; prev="$a"; done
db=$(printf '%s' "$js" | sed -n "s/.*getSiblingDB('\\([^']*\\)').*/\\1/p")
case "$js" in
  *dropDatabase*) rm -rf "\${STUB_DB:?}/$db"; echo '{ ok: 1 }';;
  *countDocuments*) n=0; for f in "$STUB_DB/$db"/*; do [ -f "$f" ] && n=$((n + $(cat "$f"))); done; echo "$n";;
  *) echo "unexpected --eval: $js" >&2; exit 2;;
esac
`,
};

/** Kubernetes expands `$(NAME)` in a container's env from the variables before it. */
function expandReferences(env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v.replace(/\$\(([A-Z_][A-Z0-9_]*)\)/g, (m, name) => env[name] ?? m)]));
}

describe('MongoDB dump and restore of merchant-analysis against a real S3-compatible server (mongo tools stubbed)', () => {
  const rig = useBackupRig({ postgres: false });
  let backupCronJob: K8sObject;
  let dir = '';
  let db = '';
  let log = '';

  const jobFor = (r: { targetDatabase?: string; replace?: boolean; backup?: string }) => {
    const storage = { ...localStorage(rig.s3Port), prefix: 'prod' };
    const objects = restoreObjects({ env: 'prod', system: 'merchant-analysis', stackProps: { backupStorage: storage }, ...r }) as K8sObject[];
    return { job: find(objects, 'Job', objects.find(o => o.kind === 'Job')!.metadata.name), scripts: objects.find(o => o.kind === 'ConfigMap')!.data as Record<string, string> };
  };
  const run = (script: string, shell: string, container: any, work: string, extra: Record<string, string> = {}): Promise<Result> =>
    exec(shell, [join(dir, 'scripts', script)], {
      ...expandReferences(containerEnv(container)), BACKUP_DIR: work, PATH: `${join(dir, 'stubs')}:/usr/bin:/bin`,
      AWS_CA_BUNDLE: join(rig.work, 'tls', 'cert.pem'), HOME: join(rig.work, 'home'), TZ: 'UTC', STUB_DB: db, STUB_LOG: log, ...extra,
    });
  const workDir = (name: string) => { const d = rig.backupDir(join('mongo', name)); return d; };
  const calls = () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').filter(Boolean) : []);
  const documents = (database: string) => Object.fromEntries((existsSync(join(db, database)) ? readdirSync(join(db, database)) : []).map(c => [c, Number(readFileSync(join(db, database, c), 'utf8'))]));
  const setDatabase = (database: string, collections: Record<string, number>) => {
    rmSync(join(db, database), { recursive: true, force: true });
    mkdirSync(join(db, database), { recursive: true });
    for (const [c, n] of Object.entries(collections)) writeFileSync(join(db, database, c), `${n}\n`);
    rig.chownPostgres(join(db, database));
    for (const c of Object.keys(collections)) rig.chownPostgres(join(db, database, c));
  };

  /**
   * The restore Job's two containers in order, as its pod runs them; `fetched` (a folder the fetch
   * already filled) runs the restore container alone, sparing the AWS CLI's start-up.
   */
  const restore = async (r: { targetDatabase?: string; replace?: boolean; backup?: string }, o: { extra?: Record<string, string>; fetched?: string } = {}) => {
    const { job, scripts } = jobFor(r);
    writeFileSync(join(dir, 'scripts', 'fetch.sh'), scripts['fetch.sh'], { mode: 0o755 });
    writeFileSync(join(dir, 'scripts', 'mongo-restore.sh'), scripts['restore.sh'], { mode: 0o755 });
    // The commands as the containers run them: bash for the fetch (aws-cli image), sh for the restore (mongo image).
    expect(containerOf(job, 'fetch').command).toEqual(['bash', '/opt/backup/fetch.sh']);
    expect(containerOf(job, 'restore').command).toEqual(['sh', '/opt/backup/restore.sh']);
    const work = o.fetched ?? workDir(`restore-${++restores}`);
    let fetchLog = '';
    if (!o.fetched) {
      const fetched = await run('fetch.sh', '/bin/bash', containerOf(job, 'fetch'), work, o.extra);
      if (fetched.code !== 0) return { step: 'fetch', work, ...fetched };
      fetchLog = fetched.stderr;
    }
    const restored = await run('mongo-restore.sh', '/bin/sh', containerOf(job, 'restore'), work, o.extra);
    return { step: 'restore', work, ...restored, stderr: fetchLog + restored.stderr };
  };
  let restores = 0;
  /** The folder the first restore's fetch filled with the latest dump. */
  let fetched = '';

  let dumpId = '';
  beforeAll(async () => {
    dir = rig.backupDir('mongo');
    db = rig.backupDir(join('mongo', 'db'));
    log = join(dir, 'calls.log');
    for (const d of ['scripts', 'stubs']) mkdirSync(join(dir, d), { recursive: true });
    for (const [name, text] of Object.entries(STUBS)) writeFileSync(join(dir, 'stubs', name), text, { mode: 0o755 });
    writeFileSync(log, '');
    chmodSync(log, 0o666);
    const storage = { ...localStorage(rig.s3Port), prefix: 'prod' };
    const objects = synthChart('merchant-analysis', ENVIRONMENTS.prod, { backupStorage: storage }).objects;
    backupCronJob = find(objects, 'CronJob', 'merchant-analysis-mongodb-backup');
    const scripts = find(objects, 'ConfigMap', 'merchant-analysis-mongodb-backup-scripts').data;
    writeFileSync(join(dir, 'scripts', 'dump.sh'), scripts['dump.sh'], { mode: 0o755 });
    writeFileSync(join(dir, 'scripts', 'upload.sh'), scripts['upload.sh'], { mode: 0o755 });

    // The live database, dumped by the CronJob's containers and uploaded to the bucket.
    setDatabase('merchant_analysis', { orders: 3, merchants: 2 });
    const work = workDir('backup');
    const dumped = await run('dump.sh', '/bin/sh', containerOf(backupCronJob, 'dump'), work);
    expect([dumped.code, dumped.stderr]).toEqual([0, expect.stringContaining('dumped and verified')]);
    const uploaded = await run('upload.sh', '/bin/bash', containerOf(backupCronJob, 'upload'), work);
    expect([uploaded.code, uploaded.stderr]).toEqual([0, expect.stringContaining('uploaded s3://')]);
    dumpId = readFileSync(join(work, 'BACKUP_ID'), 'utf8').trim();
  }, 120000);

  it('the dump lands where the restore reads: prod/mongodb/<id>/ with SHA256SUMS, dumped as root with the oplog', async () => {
    const keys = (await rig.aws(['s3', 'ls', '--recursive', `s3://${BUCKET}/prod/mongodb/`])).stdout;
    expect(keys).toContain(`prod/mongodb/${dumpId}/dump.archive.gz`);
    expect(keys).toContain(`prod/mongodb/${dumpId}/SHA256SUMS`);
    expect(calls().find(c => c.startsWith('mongodump'))).toContain(`--uri=mongodb://root:${ROOT_PASSWORD}@merchant-analysis-mongodb-0.merchant-analysis-mongodb:27017,`);
  });

  it('restores the latest dump\'s merchant_analysis collections into a new database, renamed, and checks the count', async () => {
    writeFileSync(log, '');
    const r = await restore({ targetDatabase: 'merchant_analysis_restored' });
    expect([r.step, r.code]).toEqual(['restore', 0]);
    fetched = r.work;
    expect(r.stderr).toContain(`latest complete backup: ${dumpId}`);
    expect(r.stderr).toContain(`restored ${dumpId} into merchant_analysis_restored: 5 documents, none failed, 5 in the database`);
    expect(documents('merchant_analysis_restored')).toEqual({ orders: 3, merchants: 2 });
    expect(documents('merchant_analysis')).toEqual({ orders: 3, merchants: 2 });
    const write = calls().find(c => c.startsWith('mongorestore --uri='))!;
    expect(write.split(' ')).toEqual([
      'mongorestore', expect.stringMatching(new RegExp(`^--uri=mongodb://root:${ROOT_PASSWORD}@merchant-analysis-mongodb-0\\.merchant-analysis-mongodb:27017,.*/\\?replicaSet=rs0&authSource=admin$`)),
      '--gzip', expect.stringMatching(new RegExp(`^--archive=.*/${dumpId}/dump\\.archive\\.gz$`)), '--stopOnError',
      '--nsInclude=merchant_analysis.*', '--nsFrom=merchant_analysis.*', '--nsTo=merchant_analysis_restored.*',
    ]);
    // The archive was read whole before anything was written.
    expect(calls().findIndex(c => c.includes('--dryRun'))).toBeLessThan(calls().indexOf(write));
  });

  it('refuses a target that holds documents without --replace, and writes nothing', async () => {
    setDatabase('merchant_analysis', { orders: 7 });
    writeFileSync(log, '');
    const r = await restore({ backup: dumpId }, { fetched });
    expect([r.step, r.code]).toEqual(['restore', 1]);
    expect(r.stderr).toContain('FAILED: database merchant_analysis already holds 7 documents; set REPLACE=true to drop it first');
    expect(calls().filter(c => c.startsWith('mongorestore --uri='))).toEqual([]);
    expect(documents('merchant_analysis')).toEqual({ orders: 7 });
  });

  it('--replace drops the live database (collections made since the dump too), then restores the dump into it', async () => {
    setDatabase('merchant_analysis', { orders: 7, made_after_the_dump: 4 });
    writeFileSync(log, '');
    const r = await restore({ backup: dumpId, replace: true }, { fetched });
    expect([r.step, r.code, r.stderr]).toEqual(['restore', 0, expect.stringContaining('dropping database merchant_analysis (11 documents; REPLACE=true)')]);
    expect(documents('merchant_analysis')).toEqual({ orders: 3, merchants: 2 });
    expect(calls().some(c => c.startsWith('mongosh') && c.includes("getSiblingDB('merchant_analysis').dropDatabase()"))).toBe(true);
    expect(calls().find(c => c.startsWith('mongorestore --uri='))!.split(' ').slice(-1)).toEqual(['--nsInclude=merchant_analysis.*']);
  });

  it('fails when mongorestore reports failed documents, though it exits 0', async () => {
    const r = await restore({ targetDatabase: 'failed_documents' }, { fetched, extra: { STUB_FAILED_DOCS: '2' } });
    expect([r.step, r.code]).toEqual(['restore', 1]);
    expect(r.stderr).toContain(`FAILED: 2 documents of ${dumpId} failed to restore into failed_documents`);
  });

  it('fails when the target does not hold the documents mongorestore says it restored', async () => {
    const r = await restore({ targetDatabase: 'lost_documents' }, { fetched, extra: { STUB_LOSE_DOCS: '1' } });
    expect([r.step, r.code]).toEqual(['restore', 1]);
    expect(r.stderr).toContain('FAILED: database lost_documents holds 3 documents, mongorestore restored 5');
  });

  it('a dump corrupted in the bucket is refused by the fetch, and mongorestore never runs', async () => {
    // An older dump whose archive is not what its SHA256SUMS (the good dump's) says.
    const corrupt = '20250101T000000Z';
    const sums = readFileSync(join(rig.work, 'mongo', 'backup', dumpId, 'SHA256SUMS'), 'utf8');
    expect((await rig.putObjects(`prod/mongodb/${corrupt}`, { 'dump.archive.gz': 'not the dump', SHA256SUMS: sums })).code).toBe(0);
    writeFileSync(log, '');
    const r = await restore({ backup: corrupt, targetDatabase: 'never_restored' });
    expect([r.step, r.code]).toEqual(['fetch', 1]);
    expect(r.stderr).toContain(`backup ${corrupt} is corrupt: its files do not match SHA256SUMS; nothing restored`);
    expect(calls()).toEqual([]);
    expect(documents('never_restored')).toEqual({});
  });

  it('a named dump that is not in the bucket is refused by the fetch', async () => {
    const r = await restore({ backup: '20200101T000000Z', targetDatabase: 'never_restored' });
    expect([r.step, r.code]).toEqual(['fetch', 1]);
    expect(r.stderr).toContain('backup 20200101T000000Z is missing or incomplete (no s3://qb-backups/prod/mongodb/20200101T000000Z/SHA256SUMS)');
  });
});
