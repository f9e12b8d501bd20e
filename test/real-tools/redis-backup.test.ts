import { execFile, ChildProcess } from 'child_process';
import { createHash } from 'crypto';
import { chmodSync, copyFileSync, mkdirSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'fs';
import { join } from 'path';
import { ENVIRONMENTS } from '../../lib/environments';
import { redisRestoreObjects } from '../../constructs/backup/redis-restore';
import { shippedSystem } from '../../stacks/systems';
import { find, K8sObject, synth } from '../helpers';
import { BUCKET, containerEnv, containerOf, localStorage, Result, SECRETS, useBackupRig } from './backup-rig';
import { debianBinary, freePort, run, startServer, stop } from './tools';

/*
 * The Redis backup and restore of merchant-analysis prod, on real redis-server processes (a
 * master and a replica with the synthesized redis.conf) and s3rver: the CronJob's and the restore
 * Job's scripts and environment as synthesized, only the hosts and folders this machine's.
 * The test servers keep FLUSHALL (the shipped redis.conf disables it) so the proof can wipe them.
 */
const PASSWORD = 'test-redis-password';
const FINGERPRINT_PY = `
import hashlib, json, os, sys, redis
out = []
for db in range(16):
    r = redis.Redis(host='127.0.0.1', port=int(sys.argv[1]), db=db, password=os.environ['REDIS_PASSWORD'])
    for k in sorted(r.scan_iter(count=1000)):
        t = r.type(k).decode()
        v = {'string': lambda: [r.get(k)], 'hash': lambda: sorted(a + b'=' + b for a, b in r.hgetall(k).items()),
             'list': lambda: r.lrange(k, 0, -1), 'set': lambda: sorted(r.smembers(k)),
             'zset': lambda: [m + b'=' + repr(s).encode() for m, s in r.zrange(k, 0, -1, withscores=True)],
             'stream': lambda: [i + b'=' + repr(sorted(f.items())).encode() for i, f in r.xrange(k)]}[t]()
        out.append(' '.join([str(db), k.decode(), t, str(r.ttl(k) > 0), hashlib.sha256(b'\\n'.join(v)).hexdigest()]))
print(json.dumps(out))
`;
SECRETS['redis-credentials/password'] = PASSWORD;

describe('Redis RDB backup and restore (merchant-analysis prod, real redis-server and s3rver)', () => {
  const rig = useBackupRig({ postgres: false });
  let cronJob: K8sObject;
  let restoreJob: K8sObject;
  let conf: string;
  let masterPort = 0;
  let replicaPort = 0;
  let master: ChildProcess | undefined;
  let replica: ChildProcess | undefined;
  let masterDir = '';
  let replicaDir = '';
  let backupId = '';
  let before: string[] = [];
  let fetchedDir = '';

  const cli = (port: number, ...args: string[]) => run(debianBinary('redis-cli'), ['--no-auth-warning', '-h', '127.0.0.1', '-p', String(port), ...args], { env: { REDISCLI_AUTH: PASSWORD } }).trim();
  const startRedis = async (port: number, dir: string, replicaOf?: number) => {
    // The shipped conf leaves repl-diskless-sync-delay at Redis's 5 s (batching replicas' syncs);
    // the test has one replica to wait for, so it syncs (and snapshots) at once.
    const args = [join(dir, '..', `${port}.conf`), '--requirepass', PASSWORD, '--masterauth', PASSWORD, '--port', String(port), '--dir', dir, '--bind', '127.0.0.1', '--repl-diskless-sync-delay', '0',
      ...replicaOf ? ['--replicaof', '127.0.0.1', String(replicaOf)] : []];
    writeFileSync(args[0], conf);
    return startServer(debianBinary('redis-server'), args, () => cli(port, 'ping') === 'PONG' && !/loading:1/.test(cli(port, 'info', 'persistence')));
  };
  /**
   * Every key of every database: its type, whether it has a TTL, and a hash of its value (members
   * in a canonical order). One python3 process (redis-py) reads them all: a redis-cli per key
   * would start hundreds of processes.
   */
  const fingerprint = (port: number): string[] => JSON.parse(run('/usr/bin/python3', ['-c', FINGERPRINT_PY, String(port)], { env: { REDIS_PASSWORD: PASSWORD } }));
  const sh = (script: string, env: Record<string, string>): Promise<Result> => new Promise(resolve => {
    execFile('/bin/sh', [join(rig.work, 'redis', script)], { encoding: 'utf8', timeout: 120000, env: { ...env, PATH: '/usr/bin:/bin', TZ: 'UTC' } }, (e, stdout, stderr) => resolve({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, stdout, stderr }));
  });
  /** Hashes of every file of a data folder: "nothing was touched" means these are equal. */
  const folderHashes = (dir: string): Record<string, string> => {
    const all: Record<string, string> = {};
    const walk = (d: string) => {
      for (const f of readdirSync(d)) {
        const p = join(d, f);
        if (statSync(p).isDirectory()) walk(p);
        else all[p.slice(dir.length)] = createHash('sha256').update(readFileSync(p)).digest('hex');
      }
    };
    walk(dir);
    return all;
  };
  const fetch = (id: string, dir: string) => rig.runScript('redis-fetch.sh', { ...containerEnv(containerOf(restoreJob, 'fetch')), BACKUP_DIR: dir, BACKUP_ID: id });
  /** The restore container's script, on a folder the fetch step filled. */
  const restore = (dir: string) => sh('redis-restore.sh', {
    ...containerEnv(containerOf(restoreJob, 'restore')), BACKUP_DIR: dir, DATA_DIR: masterDir, SCRATCH_DIR: rig.backupDir(`scratch-${Date.now()}`),
    STOPPED_HOSTS: `127.0.0.1:${masterPort} 127.0.0.1:${replicaPort}`,
  });
  const stopServers = async () => {
    await stop(replica, 'SIGTERM');
    await stop(master, 'SIGTERM');
    replica = master = undefined;
  };

  beforeAll(async () => {
    const storage = localStorage(rig.s3Port);
    const stack = shippedSystem('merchant-analysis').create(ENVIRONMENTS.prod, { backupStorage: storage });
    const objects = synth(stack);
    cronJob = find(objects, 'CronJob', 'merchant-analysis-redis-backup');
    const restoreObjects = redisRestoreObjects(shippedSystem('merchant-analysis').create(ENVIRONMENTS.prod, { backupStorage: storage }), { jobName: 'merchant-analysis-redis-restore-test' }) as K8sObject[];
    restoreJob = find(restoreObjects, 'Job', 'merchant-analysis-redis-restore-test');
    const backupScripts = find(objects, 'ConfigMap', 'merchant-analysis-redis-backup-scripts').data;
    const restoreScripts = find(restoreObjects, 'ConfigMap', 'merchant-analysis-redis-restore-scripts').data;
    mkdirSync(join(rig.work, 'redis'));
    chmodSync(join(rig.work, 'redis'), 0o755);
    writeFileSync(join(rig.work, 'redis', 'snapshot.sh'), backupScripts['snapshot.sh']);
    writeFileSync(join(rig.work, 'redis', 'redis-restore.sh'), restoreScripts['redis-restore.sh']);
    writeFileSync(join(rig.work, 'scripts', 'redis-upload.sh'), backupScripts['upload.sh'], { mode: 0o755 });
    writeFileSync(join(rig.work, 'scripts', 'redis-fetch.sh'), restoreScripts['fetch.sh'], { mode: 0o755 });
    conf = find(objects, 'ConfigMap', 'merchant-analysis-redis-config').data['redis.conf'];
    expect(conf).toMatch(/^appendonly yes$/m);
    expect(conf).toMatch(/^save ""$/m);
    conf = conf.replace(/^rename-command FLUSHALL ""\n/m, '');
    [masterPort, replicaPort] = [await freePort(), await freePort()];
    masterDir = join(rig.work, 'redis', 'master');
    replicaDir = join(rig.work, 'redis', 'replica');
    mkdirSync(masterDir);
    mkdirSync(replicaDir);
    master = await startRedis(masterPort, masterDir);
    replica = await startRedis(replicaPort, replicaDir, masterPort);
    fetchedDir = rig.backupDir('fetched');
  }, 120000);

  afterAll(async () => {
    await stop(replica, 'SIGTERM');
    await stop(master, 'SIGTERM');
  });

  it('snapshots the replica, not the master, checks the RDB and uploads it with its checksums', async () => {
    const c = (...a: string[]) => cli(masterPort, ...a);
    c('set', 'greeting', '你好, Müller ✓');
    c('set', 'counter', '42');
    c('set', 'session:1', 'expires later', 'EX', '86400');
    c('hset', 'merchant:7', 'name', 'Acme', 'risk', '0.12', 'city', '上海');
    c('rpush', 'queue', 'a', 'b', 'c', 'd');
    c('sadd', 'tags', 'x', 'y', 'z');
    c('zadd', 'scores', '1.5', 'alpha', '2', 'beta', '-3', 'gamma');
    c('xadd', 'events', '1-1', 'kind', 'created');
    c('xadd', 'events', '1-2', 'kind', 'paid');
    c('setrange', 'blob', '99999', 'end'); // 100 kB, zero bytes first
    cli(masterPort, '-n', '3', 'set', 'in-db-3', 'yes');
    cli(masterPort, '-n', '3', 'hset', 'h3', 'k', 'v');
    // The replica has every write before the snapshot is taken from it.
    expect(c('wait', '1', '10000')).toBe('1');
    before = fingerprint(masterPort);
    expect(before).toHaveLength(11);
    expect(fingerprint(replicaPort)).toEqual(before);

    const dir = rig.backupDir('redis-backup');
    // The master listed first: the script must still pick the replica.
    const snapshot = await sh('snapshot.sh', { ...containerEnv(containerOf(cronJob, 'snapshot')), BACKUP_DIR: dir, REDIS_HOSTS: `127.0.0.1:${masterPort} 127.0.0.1:${replicaPort}` });
    expect(snapshot.stderr).toContain(`snapshotting replica 127.0.0.1:${replicaPort}`);
    expect(snapshot.code).toBe(0);
    backupId = readFileSync(join(dir, 'BACKUP_ID'), 'utf8').trim();
    expect(readFileSync(join(dir, backupId, 'manifest.tsv'), 'utf8')).toContain('keys\t11\n');
    const upload = await rig.runScript('redis-upload.sh', { ...containerEnv(containerOf(cronJob, 'upload')), BACKUP_DIR: dir });
    expect(upload.stderr).toContain('uploaded');
    expect(upload.code).toBe(0);
    const keys = (await rig.aws(['s3', 'ls', '--recursive', `s3://${BUCKET}/prod/postgres/redis/`])).stdout;
    for (const f of ['dump.rdb', 'manifest.tsv', 'SHA256SUMS']) expect(keys).toContain(`prod/postgres/redis/${backupId}/${f}`);
  }, 120000);

  it('refuses to restore while a server still answers, and touches nothing', async () => {
    const fetched = await fetch('latest', fetchedDir);
    expect(fetched.stderr).toContain(`downloaded and verified ${backupId}`);
    const hashes = folderHashes(masterDir);
    const r = await restore(fetchedDir);
    expect(r.stderr).toContain(`127.0.0.1:${masterPort} is running`);
    expect(r.code).not.toBe(0);
    expect(folderHashes(masterDir)).toEqual(hashes);
  }, 120000);

  it('after FLUSHALL, the restore brings back every key and value, as an AOF the server loads', async () => {
    cli(masterPort, 'flushall');
    expect(cli(masterPort, 'wait', '1', '10000')).toBe('1');
    expect(fingerprint(masterPort)).toEqual([]);
    // The runbook: the data pods (and sentinels) are scaled to 0 first.
    await stopServers();
    const r = await restore(fetchedDir);
    expect(r.stderr).toContain(`restored backup ${backupId}`);
    expect(r.code).toBe(0);
    expect(readdirSync(masterDir)).not.toContain('dump.rdb');
    expect(readdirSync(join(masterDir, 'appendonlydir')).some(f => f.endsWith('.base.rdb'))).toBe(true);
    // Started as the pod starts it (appendonly yes), it loads the new AOF.
    master = await startRedis(masterPort, masterDir);
    expect(fingerprint(masterPort)).toEqual(before);
    // The replica, started again, copies the restored master.
    replica = await startRedis(replicaPort, replicaDir, masterPort);
    for (let i = 0; i < 100 && !/master_link_status:up/.test(cli(replicaPort, 'info', 'replication')); i++) await new Promise(res => setTimeout(res, 200));
    expect(fingerprint(replicaPort)).toEqual(before);
  }, 120000);

  // Damaged after its checksums were taken (so only redis-check-rdb can tell), or after the upload.
  const truncate = (f: string) => truncateSync(f, statSync(f).size - 40);
  const flip = (f: string) => { const b = readFileSync(f); b[Math.floor(b.length / 2)] ^= 0xff; writeFileSync(f, b); };
  it.each([['truncated', truncate], ['with a flipped byte', flip]] as const)('refuses a snapshot %s (redis-check-rdb) before loading anything; the data is untouched', async (_label, damage) => {
    const id = '20200101T000001Z';
    const dir = rig.backupDir(`bad-${Date.now()}`);
    const bad = join(dir, id);
    mkdirSync(bad);
    for (const f of ['dump.rdb', 'manifest.tsv']) copyFileSync(join(fetchedDir, backupId, f), join(bad, f));
    damage(join(bad, 'dump.rdb'));
    run('sh', ['-c', `cd '${bad}' && sha256sum dump.rdb manifest.tsv > SHA256SUMS`]);
    writeFileSync(join(dir, 'BACKUP_ID'), `${id}\n`);
    await stopServers();
    const hashes = folderHashes(masterDir);
    const r = await restore(dir);
    expect(r.stderr).toContain(`backup ${id}: dump.rdb does not pass redis-check-rdb; nothing restored`);
    expect(r.code).not.toBe(0);
    expect(folderHashes(masterDir)).toEqual(hashes);
    master = await startRedis(masterPort, masterDir);
    expect(fingerprint(masterPort)).toEqual(before);
  }, 120000);

  it('puts the previous files back when the load fails after they were moved aside', async () => {
    await stopServers();
    const hashes = folderHashes(masterDir);
    // Two databases cannot hold the snapshot's database 3: the private server refuses to load it.
    const r = await sh('redis-restore.sh', {
      ...containerEnv(containerOf(restoreJob, 'restore')), BACKUP_DIR: fetchedDir, DATA_DIR: masterDir, SCRATCH_DIR: rig.backupDir(`scratch-${Date.now()}`), DATABASES: '2',
    });
    expect(r.stderr).toContain('moved the previous appendonlydir');
    expect(r.stderr).toContain(`a private redis-server could not load backup ${backupId}`);
    expect(r.stderr).toContain(`put ${masterDir} back as it was`);
    expect(r.code).not.toBe(0);
    expect(folderHashes(masterDir)).toEqual(hashes);
    master = await startRedis(masterPort, masterDir);
    expect(fingerprint(masterPort)).toEqual(before);
  }, 120000);

  it('refuses a snapshot damaged in the bucket (its checksums) at the download', async () => {
    const id = '20200101T000002Z';
    const bad = rig.backupDir(`bad-${id}`);
    for (const f of ['dump.rdb', 'manifest.tsv', 'SHA256SUMS']) copyFileSync(join(fetchedDir, backupId, f), join(bad, f));
    flip(join(bad, 'dump.rdb'));
    for (const f of readdirSync(bad)) chmodSync(join(bad, f), 0o644);
    expect((await rig.aws(['s3', 'cp', '--only-show-errors', '--recursive', bad, `s3://${BUCKET}/prod/postgres/redis/${id}/`])).code).toBe(0);
    const r = await fetch(id, rig.backupDir(`fetch-${id}`));
    expect(r.stderr).toContain(`backup ${id} is corrupt: its files do not match SHA256SUMS; nothing restored`);
    expect(r.code).not.toBe(0);
  }, 120000);
});
