import { ChildProcess, spawn } from 'child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { ENVIRONMENTS } from '../../lib/environments';
import { kedaDesiredReplicas } from '../../lib/keda-scaling';
import { find, podSpec, synthStack } from '../helpers';
import { debianBinary, freePort, run, startServer, stop } from './tools';

/*
 * Debian's Celery 5.2 (python3-celery, run by Debian's /usr/bin/python3) and redis-server, with what
 * the prod stack synthesizes: the generated redis.conf, the worker's command, environment and
 * settings module (ConfigMap → a folder on PYTHONPATH, as mounted at /etc/celery), the ScaledObject's
 * trigger. What the test changes, and why:
 * - the Redis host:port in the URLs is the loopback server's, and $(REDIS_PASSWORD) a test password;
 * - `celery` runs as `python3 -m celery` (Debian ships the module, not the script);
 * - each worker gets `--hostname wN@%h` (pods have distinct host names; here they share one);
 * - the app `quality_billing` is a stand-in with one task that records in Redis (db 0, REDIS_URL)
 *   who started and who finished it: completions are a set, so a task run twice is reported once;
 * - (c) and (d) override only `visibility_timeout`, to 4 s, so a killed worker's task returns in
 *   seconds instead of the generated hour.
 * A killed pod is replaced by its Deployment; the new worker, as it starts, puts back every
 * unacknowledged message older than the visibility timeout (kombu's Redis transport:
 * register_with_event_loop → on_poll_init → restore_visible). A worker already running checks on
 * every 10th tick of a 10 s timer (restore_visible's `interval=10`), about every 100 s, so the
 * tests start the replacement once the killed worker's messages are older than the timeout.
 */
const { stack, objects } = synthStack(ENVIRONMENTS.prod);
const worker = stack.workers.find(w => w.queues.length === 1 && w.queues[0] === 'default')!;
const deployment = find(objects, 'Deployment', 'quality-billing-celery-default');
const container = podSpec(deployment).containers[0];
const grace: number = podSpec(deployment).terminationGracePeriodSeconds;
const settingsModule: string = find(objects, 'ConfigMap', 'quality-billing-celery-default-settings').data['celery_worker_settings.py'];
const redisConf: string = find(objects, 'ConfigMap', 'quality-billing-redis-config').data['redis.conf'];
const PASSWORD = 'test-only-password';
const SHORT_VISIBILITY = 4;

const APP = `import os
import time
import redis
from celery import Celery

# Configured by CELERY_CONFIG_MODULE (the generated settings), as the chart expects of the app.
app = Celery('quality_billing')
r = redis.Redis.from_url(os.environ['REDIS_URL'])


@app.task(name='quality_billing.record', bind=True)
def record(self, task_id, seconds):
    r.rpush('test:starts:' + task_id, self.request.hostname)
    time.sleep(seconds)
    r.sadd('test:done', task_id)
    r.rpush('test:finished:' + task_id, self.request.hostname)
`;

// Sends [queue, id, seconds, priority] rows with the app's configuration, as the API would.
const PRODUCER = `import json
import sys
from quality_billing import app

for queue, task_id, seconds, priority in json.load(sys.stdin):
    app.send_task('quality_billing.record', args=[task_id, seconds], queue=queue, priority=priority)
`;

describe('Celery workers with the generated settings against Redis', () => {
  let dir: string;
  let redis: ChildProcess | undefined;
  let port: number;
  const workers: ChildProcess[] = [];
  const python = () => debianBinary('python3');
  const cli = (...args: string[]) => run(debianBinary('redis-cli'), ['-h', '127.0.0.1', '-p', String(port), ...args], { env: { REDISCLI_AUTH: PASSWORD } }).trim();

  /** The container's environment as the pod would see it, pointed at the loopback Redis. */
  const podEnv = (settingsDir: string): NodeJS.ProcessEnv => {
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: dir, REDIS_PASSWORD: PASSWORD };
    for (const e of container.env) {
      if (typeof e.value !== 'string') continue;
      env[e.name] = e.value.replace('$(REDIS_PASSWORD)', PASSWORD).replace('quality-billing-redis:6379', `127.0.0.1:${port}`);
    }
    expect(env.PYTHONPATH).toBe('/etc/celery');
    env.PYTHONPATH = `${settingsDir}:${join(dir, 'app')}`;
    return env;
  };

  const settingsDir = (visibility?: number) => {
    const d = join(dir, visibility === undefined ? 'settings' : `settings-${visibility}`);
    mkdirSync(d, { recursive: true });
    const text = visibility === undefined ? settingsModule : settingsModule.replace(`'visibility_timeout': ${worker.workerSettings.visibilityTimeoutSeconds}`, `'visibility_timeout': ${visibility}`);
    expect(text).toContain(`'visibility_timeout': ${visibility ?? worker.workerSettings.visibilityTimeoutSeconds}`);
    writeFileSync(join(d, 'celery_worker_settings.py'), text);
    return d;
  };

  const produce = (rows: Array<[string, string, number, number | null]>) => {
    const r = require('child_process').spawnSync(python(), ['-c', PRODUCER], { input: JSON.stringify(rows), encoding: 'utf8', env: podEnv(settingsDir()) });
    if (r.status !== 0) throw new Error(r.stderr);
  };

  /** Starts a worker with the container's command (in its own process group, like a container). */
  const startWorker = (node: string, visibility?: number): ChildProcess & { output: () => string } => {
    expect(container.command[0]).toBe('celery');
    const child = spawn(python(), ['-m', 'celery', ...container.command.slice(1), '--hostname', `${node}@%h`], { env: podEnv(settingsDir(visibility)), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', d => { out += d; });
    child.stderr!.on('data', d => { out += d; });
    workers.push(child);
    return Object.assign(child, { output: () => out });
  };

  const poll = async (what: string, check: () => boolean, timeoutMs = 60000) => {
    const start = Date.now();
    while (!check()) {
      if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
      await new Promise(r => setTimeout(r, 100));
    }
  };
  const exited = (c: ChildProcess) => new Promise<number | null>(resolve => (c.exitCode !== null || c.signalCode !== null ? resolve(c.exitCode) : c.once('exit', code => resolve(code))));
  const starts = (id: string) => cli('lrange', `test:starts:${id}`, '0', '-1').split('\n').filter(Boolean);
  const finished = (id: string) => cli('lrange', `test:finished:${id}`, '0', '-1').split('\n').filter(Boolean);
  const done = () => Number(cli('scard', 'test:done'));
  /** What kombu still holds: the queue list, unacknowledged messages (broker database 1). */
  const brokerState = () => ({ queued: Number(cli('-n', '1', 'llen', 'default')), unacked: Number(cli('-n', '1', 'hlen', 'unacked')) });
  /** Seconds since the oldest unacknowledged message was delivered (kombu's `unacked_index` scores), by Redis's clock. */
  const oldestUnackedAge = () => {
    const scores = cli('-n', '1', 'zrange', 'unacked_index', '0', '0', 'withscores').split('\n');
    const [sec, usec] = cli('time').split('\n').map(Number);
    return scores.length < 2 ? 0 : sec + usec / 1e6 - Number(scores[1]);
  };
  const untilVisibilityTimeoutPassed = () => poll('the killed worker\'s messages to outlive the visibility timeout', () => oldestUnackedAge() > SHORT_VISIBILITY + 0.5, 30000);
  /** Redis's clock, in seconds. */
  const redisNow = () => { const [sec, usec] = cli('time').split('\n').map(Number); return sec + usec / 1e6; };
  /**
   * Until every message a worker killed at `killedAt` (Redis's clock) held has outlived the
   * visibility timeout: all were delivered before the kill. The oldest unacknowledged message
   * alone is not enough while another worker keeps taking new ones: a replacement restores only
   * what has expired when it starts, and kombu looks again only about every 100 s.
   */
  const untilKilledWorkersMessagesExpire = (killedAt: number) => poll('the killed worker\'s messages to outlive the visibility timeout', () => redisNow() - killedAt > SHORT_VISIBILITY + 0.5, 30000);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'qb-celery-'));
    mkdirSync(join(dir, 'app', 'quality_billing'), { recursive: true });
    writeFileSync(join(dir, 'app', 'quality_billing', '__init__.py'), APP);
    writeFileSync(join(dir, 'redis.conf'), redisConf);
    // Debian's Celery and redis-py must be there (their package is named when not).
    debianBinary('celery/__init__.py');
    debianBinary('redis/__init__.py');
    port = await freePort();
    redis = await startServer(debianBinary('redis-server'), [join(dir, 'redis.conf'), '--requirepass', PASSWORD, '--port', String(port), '--dir', dir, '--bind', '127.0.0.1'],
      () => cli('ping') === 'PONG');
  }, 60000);

  afterAll(async () => {
    for (const w of workers) if (w.exitCode === null && w.signalCode === null) process.kill(-w.pid!, 'SIGKILL');
    await stop(redis, 'SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  it('(a) puts N tasks in the list and database the ScaledObject reads; KEDA\'s formula gives the replicas the construct expects', () => {
    const scaled = find(objects, 'ScaledObject', 'quality-billing-celery-default');
    const queues = ['default', 'high_priority', 'low_priority'] as const;
    const counts = { default: 7, high_priority: 2, low_priority: 30 };
    produce(queues.flatMap(q => Array.from({ length: counts[q] }, (_, i) => [q, `a-${q}-${i}`, 0, null] as [string, string, number, null])));
    for (const q of queues) {
      const so = find(objects, 'ScaledObject', `quality-billing-celery-${q.replace(/_/g, '-')}`);
      const [trigger] = so.spec.triggers;
      expect(trigger.metadata.listName).toBe(q);
      expect(Number(cli('-n', trigger.metadata.databaseIndex, 'llen', trigger.metadata.listName))).toBe(counts[q]);
    }
    // Stated, not counted: a task sent with priority 9 sits in kombu's priority list of the queue.
    produce([['default', 'a-prioritized', 0, 9]]);
    expect(Number(cli('-n', '1', 'llen', 'default'))).toBe(counts.default);
    expect(cli('-n', '1', 'keys', 'default*').split('\n').sort()).toEqual(['default', 'default\x06\x169']);
    cli('-n', '1', 'del', 'default\x06\x169');

    const [trigger] = scaled.spec.triggers;
    const listLength = Number(trigger.metadata.listLength);
    const bounds = { minReplicas: scaled.spec.minReplicaCount, maxReplicas: scaled.spec.maxReplicaCount, listLength };
    expect(bounds).toEqual({ minReplicas: 2, maxReplicas: 3, listLength: 3 });
    const measured = Number(cli('-n', '1', 'llen', 'default'));
    expect(kedaDesiredReplicas(bounds, [measured])).toBe(worker.queueScaler!.expectedReplicas([measured]));
    // By hand, ceil(N / 3) within [2, 3]: the 7 queued tasks want ceil(7/3) = 3.
    expect(worker.queueScaler!.expectedReplicas([measured])).toBe(3);
    const table = [[0, 2], [1, 2], [3, 2], [6, 2], [7, 3], [9, 3], [500, 3]];
    for (const [n, replicas] of table) {
      expect([n, kedaDesiredReplicas(bounds, [n]), worker.queueScaler!.expectedReplicas([n])]).toEqual([n, replicas, replicas]);
    }
    for (const q of queues) cli('-n', '1', 'del', q);
  });

  it('(b) SIGTERM while a task runs: the task finishes and is acknowledged, and the worker exits well within the grace period', async () => {
    const w = startWorker('w1');
    produce([['default', 'b-1', 3, null]]);
    await poll('the task to start', () => starts('b-1').length === 1, 60000);
    const signalled = Date.now();
    w.kill('SIGTERM');
    const code = await exited(w);
    const seconds = (Date.now() - signalled) / 1000;
    expect(code).toBe(0);
    expect(finished('b-1')).toEqual(starts('b-1'));
    expect(brokerState()).toEqual({ queued: 0, unacked: 0 });
    expect(w.output()).toMatch(/Warm shutdown/);
    expect(seconds).toBeLessThan(grace);
    console.log(`warm shutdown with a running 3 s task: worker exited ${seconds.toFixed(1)} s after SIGTERM (grace period ${grace} s)`);
  }, 120000);

  it('(c) SIGKILL while a task runs: the task is delivered again and completes on another worker', async () => {
    const w1 = startWorker('w2', SHORT_VISIBILITY);
    produce([['default', 'c-1', 2, null]]);
    await poll('the task to start', () => starts('c-1').length === 1, 60000);
    process.kill(-w1.pid!, 'SIGKILL'); // the whole container: main process and children
    await exited(w1);
    expect(brokerState()).toEqual({ queued: 0, unacked: 1 });
    await untilVisibilityTimeoutPassed();
    const w3 = startWorker('w3', SHORT_VISIBILITY);
    await poll('the task to finish elsewhere', () => finished('c-1').length === 1, 60000);
    expect(starts('c-1')).toEqual([expect.stringMatching(/^w2@/), expect.stringMatching(/^w3@/)]);
    expect(finished('c-1')).toEqual([expect.stringMatching(/^w3@/)]);
    await poll('the acknowledgement', () => brokerState().unacked === 0, 10000);
    w3.kill('SIGTERM');
    expect(await exited(w3)).toBe(0);
  }, 120000);

  it('(d) 100 tasks with a worker killed in the middle: none lost, each done once or reported idempotently', async () => {
    const a = startWorker('w4', SHORT_VISIBILITY);
    const b = startWorker('w5', SHORT_VISIBILITY);
    const ids = Array.from({ length: 100 }, (_, i) => `d-${i}`);
    const before = done();
    produce(ids.map(id => ['default', id, 0.1, null] as [string, string, number, null]));
    await poll('a third of the tasks', () => done() - before >= 33, 60000);
    process.kill(-a.pid!, 'SIGKILL');
    const killedAt = redisNow();
    await exited(a);
    const atKill = done() - before;
    await untilKilledWorkersMessagesExpire(killedAt);
    const c = startWorker('w6', SHORT_VISIBILITY);
    await poll('every task', () => done() - before === 100, 60000);
    const members = new Set(cli('smembers', 'test:done').split('\n'));
    const lost = ids.filter(id => !members.has(id));
    const ranTwice = ids.filter(id => finished(id).length > 1);
    expect(lost).toEqual([]);
    await poll('the acknowledgements', () => brokerState().unacked === 0 && brokerState().queued === 0, 10000);
    console.log(`100 tasks, one of two workers SIGKILLed after ${atKill} completions: ${lost.length} lost, ${ranTwice.length} finished twice (reported once), ${ids.filter(id => starts(id).length > 1).length} started twice`);
    for (const w of [b, c]) w.kill('SIGTERM');
    expect([await exited(b), await exited(c)]).toEqual([0, 0]);
  }, 120000);
});
