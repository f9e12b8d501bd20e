import { ChildProcess, spawnSync } from 'child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { RedisReplication } from '../../constructs/data/redis-replication';
import { envOf, find, podSpec, synth, testChart } from '../helpers';
import { debianBinary, freePort, startServer, stop } from './tools';

// Debian's redis-server as three data pods and three sentinels, each started by the start script
// and with the redis.conf the construct synthesizes. Only what a pod provides is swapped: its
// stable name becomes a loopback address of its own (127.0.0.11-13, 127.0.0.21-23, one port for
// all, as in the cluster), and its mounts become folders.

const PASSWORD = 'test-only-password';
const DATA = ['127.0.0.11', '127.0.0.12', '127.0.0.13'];
const SENTINELS = ['127.0.0.21', '127.0.0.22', '127.0.0.23'];

describe('RedisReplication failover with real Redis and Sentinel', () => {
  const chart = testChart();
  const redis = new RedisReplication(chart, 'Cache', { name: 'cache', tier: 'minimum' });
  const objects = synth(chart);
  const files = find(objects, 'ConfigMap', 'cache-config').data;
  const dataEnv = envOf(podSpec(find(objects, 'StatefulSet', 'cache')).containers[0]);
  const sentinelEnv = envOf(podSpec(find(objects, 'StatefulSet', 'cache-sentinel')).containers[0]);
  let work: string;
  let port: number;
  let sentinelPort: number;
  const data: Array<ChildProcess | undefined> = [];
  const sentinels: ChildProcess[] = [];

  const cli = (host: string, p: number, ...args: string[]) =>
    (spawnSync(debianBinary('redis-cli'), ['--no-auth-warning', '-h', host, '-p', String(p), ...args], { encoding: 'utf8', env: { ...process.env, REDISCLI_AUTH: PASSWORD } }).stdout ?? '').trim();
  const role = (host: string) => cli(host, port, 'role').split('\n');
  const masterPerSentinels = () => cli(SENTINELS[0], sentinelPort, 'sentinel', 'get-master-addr-by-name', redis.masterName).split('\n')[0];
  const until = async (what: string, ok: () => boolean, seconds = 60) => {
    for (let i = 0; i < seconds * 4; i++) { if (ok()) return; await new Promise(r => setTimeout(r, 250)); }
    throw new Error(`timed out waiting for ${what}`);
  };

  // The pod's environment: the manifest's plain values, the Secret's value, and the pod's own name.
  const podEnv = (env: Record<string, string>, self: string) => ({
    ...Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && !v.startsWith('secret:'))),
    REDIS_PASSWORD: PASSWORD, REDIS_PORT: String(port), SENTINEL_PORT: String(sentinelPort),
    SENTINEL_HOST: SENTINELS[0], SELF_HOST: self, FIRST_HOST: DATA[0],
  });
  const envArgs = (env: Record<string, string>) => [...Object.entries(env).map(([k, v]) => `${k}=${v}`), `PATH=${process.env.PATH}`];

  const startData = async (i: number) => {
    const dir = join(work, `data-${i}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'redis.conf'), files['redis.conf'].replace('bind 0.0.0.0', `bind ${DATA[i]}`));
    const env = { ...podEnv(dataEnv, DATA[i]), REDIS_CONF: join(dir, 'redis.conf'), DATA_DIR: dir };
    data[i] = await startServer('env', ['-i', ...envArgs(env), 'sh', join(work, 'redis-start.sh')], () => cli(DATA[i], port, 'ping') === 'PONG');
  };

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'qb-sentinel-'));
    writeFileSync(join(work, 'redis-start.sh'), files['redis-start.sh']);
    writeFileSync(join(work, 'sentinel-start.sh'), files['sentinel-start.sh']);
    [port, sentinelPort] = [await freePort(), await freePort()];
    // A new set: no sentinel answers yet, so every data pod follows pod 0.
    for (let i = 0; i < DATA.length; i++) await startData(i);
    for (let i = 0; i < SENTINELS.length; i++) {
      const dir = join(work, `sentinel-${i}`);
      mkdirSync(dir);
      const env = { ...podEnv(sentinelEnv, SENTINELS[i]), CONF_DIR: dir, SENTINEL_BIND: SENTINELS[i] };
      sentinels.push(await startServer('env', ['-i', ...envArgs(env), 'sh', join(work, 'sentinel-start.sh')], () => cli(SENTINELS[i], sentinelPort, 'ping') === 'PONG'));
    }
  }, 120000);

  afterAll(async () => {
    for (const c of [...data, ...sentinels]) await stop(c, 'SIGTERM');
    rmSync(work, { recursive: true, force: true });
  });

  it('forms a master and two replicas, watched by three sentinels with a quorum of two', async () => {
    expect(sentinelEnv.QUORUM).toBe('2');
    await until('both replicas in sync', () => role(DATA[0])[0] === 'master' && role(DATA[1])[0] === 'slave' && role(DATA[2])[0] === 'slave'
      && cli(DATA[0], port, 'info', 'replication').includes('connected_slaves:2'));
    await until('the sentinels to see each other', () => cli(SENTINELS[0], sentinelPort, 'sentinel', 'master', redis.masterName).includes('num-other-sentinels\n2'));
    expect(masterPerSentinels()).toBe(DATA[0]);
    cli(DATA[0], port, 'set', 'invoice:1', 'paid');
    await until('the write to reach a replica', () => cli(DATA[1], port, 'get', 'invoice:1') === 'paid');
  }, 90000);

  it('promotes a replica when the master dies, keeping the data, and the other replica follows it', async () => {
    data[0]!.kill('SIGKILL');
    await until('a failover', () => [DATA[1], DATA[2]].includes(masterPerSentinels()), 90);
    const promoted = masterPerSentinels();
    const other = promoted === DATA[1] ? DATA[2] : DATA[1];
    await until('the promoted replica to be master', () => role(promoted)[0] === 'master');
    expect(cli(promoted, port, 'get', 'invoice:1')).toBe('paid');
    await until('the other replica to follow the new master', () => role(other)[0] === 'slave' && role(other)[1] === promoted, 60);
    cli(promoted, port, 'set', 'invoice:2', 'paid');
  }, 120000);

  it('restarts the old master as a replica of the promoted one (its start script asks the sentinels)', async () => {
    const promoted = masterPerSentinels();
    await startData(0);
    await until('the old master to replicate the new one', () => role(DATA[0])[0] === 'slave' && role(DATA[0])[1] === promoted, 60);
    await until('it to catch up', () => cli(DATA[0], port, 'get', 'invoice:2') === 'paid', 30);
  }, 90000);
});
