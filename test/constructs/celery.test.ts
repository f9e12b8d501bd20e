import { CeleryBeat } from '../../constructs/app/celery-beat';
import { CeleryWorker } from '../../constructs/app/celery-worker';
import { Postgres } from '../../constructs/data/postgres';
import { Redis } from '../../constructs/data/redis';
import { envOf, find, podSpec, synth, testChart } from '../helpers';

describe('CeleryWorker', () => {
  it('consumes the seed\'s three queues by default', () => {
    const chart = testChart();
    new CeleryWorker(chart, 'Worker');
    const c = podSpec(find(synth(chart), 'Deployment', 'celery-worker')).containers[0];
    expect(c.command.slice(0, 4)).toEqual(['celery', '-A', 'quality_billing', 'worker']);
    expect(c.command[c.command.indexOf('--queues') + 1]).toBe('default,high_priority,low_priority');
  });

  it('shuts down warm: SIGTERM lets running tasks finish within a long grace period', () => {
    const chart = testChart();
    new CeleryWorker(chart, 'Worker', { queues: ['high_priority'], shutdownGracePeriodSeconds: 900 });
    const spec = podSpec(find(synth(chart), 'Deployment', 'celery-high-priority'));
    expect(spec.terminationGracePeriodSeconds).toBe(900);
    // No preStop hook or custom stop signal: Celery treats SIGTERM as warm shutdown.
    expect(spec.containers[0].lifecycle).toBeUndefined();
  });

  it('checks liveness with Celery itself and readiness with its queues', () => {
    const chart = testChart();
    new CeleryWorker(chart, 'Worker');
    const c = podSpec(find(synth(chart), 'Deployment', 'celery-worker')).containers[0];
    expect(c.livenessProbe.exec.command.join(' ')).toMatch(/celery -A quality_billing inspect ping --destination "celery@\$HOSTNAME"/);
    expect(c.readinessProbe.exec.command.join(' ')).toMatch(/inspect active_queues/);
  });

  it('sizes concurrency from its CPU limit and counts it in the PostgreSQL budget', () => {
    const chart = testChart();
    const pg = new Postgres(chart, 'Postgres');
    const w = new CeleryWorker(chart, 'Worker', { replicas: 2, resources: { cpuRequest: '500m', cpuLimit: '2', memoryRequest: '1Gi', memoryLimit: '2Gi' } }).connectTo(pg);
    expect(w.concurrency).toBe(4);
    const c = podSpec(find(synth(chart), 'Deployment', 'celery-worker')).containers[0];
    expect(c.command[c.command.indexOf('--concurrency') + 1]).toBe('4');
    expect(w.maxDatabaseConnections()).toBe((2 + 1) * 4 * 2);
  });

  it('gets the broker and result backend from Redis', () => {
    const chart = testChart();
    const redis = new Redis(chart, 'Redis');
    new CeleryWorker(chart, 'Worker').connectTo(redis.broker).connectTo(redis.results);
    const env = envOf(podSpec(find(synth(chart), 'Deployment', 'celery-worker')).containers[0]);
    expect(env.CELERY_BROKER_URL).toBe('redis://:$(REDIS_PASSWORD)@redis:6379/1');
    expect(env.CELERY_RESULT_BACKEND).toBe('redis://:$(REDIS_PASSWORD)@redis:6379/2');
  });
});

describe('CeleryBeat', () => {
  it('is a singleton that never runs twice: one replica, Recreate, no PDB', () => {
    const chart = testChart();
    new CeleryBeat(chart, 'Beat');
    const objects = synth(chart);
    const d = find(objects, 'Deployment', 'celery-beat');
    expect(d.spec.replicas).toBe(1);
    expect(d.spec.strategy).toEqual({ type: 'Recreate' });
    expect(objects.filter(o => o.kind === 'PodDisruptionBudget')).toEqual([]);
    expect(podSpec(d).containers[0].command).toEqual(expect.arrayContaining(['celery', 'beat']));
  });
});
