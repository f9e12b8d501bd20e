import { ChildProcess } from 'child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { ENVIRONMENTS } from '../../lib/environments';
import { find, synthStack } from '../helpers';
import { debianBinary, freePort, run, startServer, stop } from './tools';

// redis-server from Debian started with the redis.conf each environment synthesizes, the
// password passed the way the pod passes it (--requirepass on the command line).
describe.each(Object.values(ENVIRONMENTS).map(e => [e.name, e] as const))('Redis with the %s configuration', (_name, env) => {
  const { stack, objects } = synthStack(env);
  const conf: string = find(objects, 'ConfigMap', 'quality-billing-redis-config').data['redis.conf'];
  let dir: string;
  let server: ChildProcess | undefined;
  let port: number;
  const cli = (...args: string[]) => run(debianBinary('redis-cli'), ['-h', '127.0.0.1', '-p', String(port), ...args], { env: { REDISCLI_AUTH: 'test-only-password' } }).trim();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'qb-redis-'));
    writeFileSync(join(dir, 'redis.conf'), conf);
    port = await freePort();
    server = await startServer(debianBinary('redis-server'), [join(dir, 'redis.conf'), '--requirepass', 'test-only-password', '--port', String(port), '--dir', dir, '--bind', '127.0.0.1'],
      () => cli('ping') === 'PONG');
  }, 60000);

  afterAll(async () => {
    await stop(server, 'SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  it('never evicts: a broker queue must not lose tasks', () => {
    expect(cli('config', 'get', 'maxmemory-policy').split('\n')[1]).toBe('noeviction');
  });

  it('caps memory so that the data set and a fork\'s copy of it fit the container limit, and takes no RDB snapshots', () => {
    expect(Number(cli('config', 'get', 'maxmemory').split('\n')[1])).toBe(stack.redis.maxMemory.bytes);
    const limitMiB = stack.redis.resources.memoryLimit.bytes / 2 ** 20;
    expect(stack.redis.maxMemory.bytes).toBe(Math.floor((limitMiB - Math.max(32, Math.ceil(limitMiB / 10))) / 2) * 2 ** 20);
    expect(cli('config', 'get', 'save').split('\n')[1] ?? '').toBe('');
  });

  it('persists with an append-only file', () => {
    expect(cli('config', 'get', 'appendonly').split('\n')[1]).toBe('yes');
    cli('-n', '1', 'lpush', 'celery', 'task');
    expect(cli('info', 'persistence')).toMatch(/aof_enabled:1/);
  });

  it('refuses clients without the password and disables FLUSHALL', () => {
    const anonymous = run(debianBinary('redis-cli'), ['-h', '127.0.0.1', '-p', String(port), 'ping'], { env: { REDISCLI_AUTH: '' } });
    expect(anonymous).toMatch(/NOAUTH/);
    expect(cli('flushall')).toMatch(/unknown command/i);
  });
});
