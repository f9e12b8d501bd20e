import { assertCapacity, planCapacity, renderCapacityReport } from '../../lib/capacity';
import { defineEnvironment, EnvironmentSpec } from '../../lib/environments';
import { CapacityError } from '../../lib/errors';
import { ByteQuantity } from '../../lib/quantity';
import { resources, WorkloadSizing } from '../../lib/sizing';
import { connectionBudget } from '../../lib/tuning';

// A minimum node has 3920m CPU and 6248.8 MiB allocatable (GKE formula, see tiers.test.ts).
const env = (nodes: number, extra: Partial<EnvironmentSpec> = {}) => defineEnvironment({ name: 'test', tier: 'minimum', nodes, ...extra });
const pod = (name: string, replicas: number, cpuRequest: string, memoryRequest: string, extra: Partial<WorkloadSizing> = {}): WorkloadSizing => ({
  name, kind: 'Deployment', replicas,
  containers: [resources({ cpuRequest, cpuLimit: cpuRequest, memoryRequest, memoryLimit: memoryRequest })],
  ...extra,
});
const check = (plan: ReturnType<typeof planCapacity>, name: string) => plan.checks.find(c => c.name === name)!;

describe('capacity planner', () => {
  it('passes every check for workloads that fit', () => {
    const plan = planCapacity(env(1), [pod('api', 2, '500m', '512Mi'), pod('db', 1, '1', '2Gi', { kind: 'StatefulSet', storagePerReplica: ByteQuantity.parse('40Gi') })]);
    expect(plan.checks.map(c => [c.name, c.passed])).toEqual([
      ['requests fit allocatable', true], ['every pod fits one node', true], ['one-per-node replicas fit nodes', true],
      ['pods can be placed', true], ['volumes fit disk', true],
    ]);
    expect(plan.passed).toBe(true);
  });

  it('fails when the requests exceed the nodes\' allocatable CPU', () => {
    // 4 x 1000m = 4000m > 3920m
    const plan = planCapacity(env(1), [pod('api', 4, '1', '256Mi')]);
    expect(check(plan, 'requests fit allocatable').passed).toBe(false);
  });

  it('fails when one pod is larger than a node', () => {
    const plan = planCapacity(env(3), [pod('huge', 1, '500m', '7Gi')]);
    expect(check(plan, 'every pod fits one node').passed).toBe(false);
    expect(check(plan, 'every pod fits one node').detail).toContain('huge');
  });

  it('fails when one-per-node replicas outnumber the nodes', () => {
    const plan = planCapacity(env(2), [pod('api', 3, '100m', '128Mi', { onePerNode: true })]);
    expect(check(plan, 'one-per-node replicas fit nodes').passed).toBe(false);
  });

  it('fails placement when the totals fit but the pods cannot be packed', () => {
    // Two nodes of 3920m hold 7840m; three pods of 2400m total 7200m but only one fits per node.
    const plan = planCapacity(env(2), [pod('batch', 3, '2400m', '256Mi')]);
    expect(check(plan, 'requests fit allocatable').passed).toBe(true);
    expect(check(plan, 'pods can be placed').passed).toBe(false);
    expect(check(plan, 'pods can be placed').detail).toContain('batch x1');
  });

  it('fails the node-loss check when more pods stay Pending on N-1 nodes than the disruption budget allows', () => {
    // 3 nodes x 3920m; 6 pods of 1800m: two per node on 3 nodes, only 4 on 2: 2 Pending, the budget allows 1.
    const plan = planCapacity(env(3, { survivesNodeLoss: true }), [pod('api', 6, '1800m', '256Mi')]);
    expect(check(plan, 'pods can be placed').passed).toBe(true);
    expect(check(plan, 'survives losing one node').passed).toBe(false);
    expect(plan.nodeLoss).toEqual([expect.objectContaining({ workload: 'api', replicas: 6, running: 4, pending: 2, needed: 5, basis: 'disruption budget', available: false })]);
    expect(check(plan, 'survives losing one node').detail).toContain('api x2');
  });

  it('passes the node-loss check when the one pod left Pending is within the disruption budget', () => {
    // 5 pods of 1800m: 4 fit on 2 nodes; a PodDisruptionBudget of one keeps 4 of 5.
    const plan = planCapacity(env(3, { survivesNodeLoss: true }), [pod('api', 5, '1800m', '256Mi')]);
    expect(check(plan, 'survives losing one node').passed).toBe(true);
    expect(plan.nodeLoss).toEqual([expect.objectContaining({ workload: 'api', running: 4, pending: 1, needed: 4, available: true })]);
  });

  it('keeps one-per-node members apart after losing a node: the third of three stays Pending and the quorum of 2 holds', () => {
    const mongo = pod('mongo', 3, '100m', '128Mi', { kind: 'StatefulSet', onePerNode: true, quorum: 2 });
    const plan = planCapacity(env(3, { survivesNodeLoss: true }), [mongo, pod('api', 2, '100m', '128Mi')]);
    const nodeLoss = check(plan, 'survives losing one node');
    expect(nodeLoss.passed).toBe(true);
    expect(nodeLoss.detail).not.toMatch(/all \d+ pod\(s\) fit/);
    expect(nodeLoss.detail).toContain('mongo x1');
    expect(plan.nodeLoss).toEqual([
      expect.objectContaining({ workload: 'mongo', replicas: 3, running: 2, pending: 1, needed: 2, basis: 'quorum', available: true }),
      expect.objectContaining({ workload: 'api', replicas: 2, running: 2, pending: 0, available: true }),
    ]);
  });

  it('fails the node-loss check when a one-per-node set loses its quorum', () => {
    // Two members that both vote: one node lost, one member left, below the quorum of 2.
    const plan = planCapacity(env(2, { survivesNodeLoss: true }), [pod('es', 2, '100m', '128Mi', { kind: 'StatefulSet', onePerNode: true, quorum: 2 })]);
    expect(check(plan, 'survives losing one node').passed).toBe(false);
    expect(check(plan, 'survives losing one node').detail).toMatch(/loses availability: es \(1 of 2 run, quorum 2\)/);
  });

  it('fails when a singleton finds no room on the nodes left, and only reports a scheduled job that waits', () => {
    const big = (name: string, kind: WorkloadSizing['kind']) => pod(name, 1, '3', '256Mi', { kind });
    const singleton = planCapacity(env(2, { survivesNodeLoss: true }), [big('db', 'StatefulSet'), big('cache', 'StatefulSet')]);
    expect(check(singleton, 'survives losing one node').passed).toBe(false);
    const batch = planCapacity(env(2, { survivesNodeLoss: true }), [big('db', 'StatefulSet'), big('backup', 'CronJob')]);
    expect(check(batch, 'survives losing one node').passed).toBe(true);
    expect(batch.nodeLoss).toEqual(expect.arrayContaining([expect.objectContaining({ workload: 'backup', pending: 1, needed: 0, basis: 'batch', available: true })]));
  });

  it('shows, in the report, each workload with Pending pods after losing a node and whether it stays available', () => {
    const report = renderCapacityReport(planCapacity(env(3, { survivesNodeLoss: true }), [
      pod('mongo', 3, '100m', '128Mi', { kind: 'StatefulSet', onePerNode: true, quorum: 2 }), pod('api', 6, '1800m', '256Mi'),
    ]));
    expect(report).toMatch(/^After losing one node \(2 node\(s\) left\):$/m);
    expect(report).toMatch(/^mongo +2 of 3 +1 +quorum 2 +kept$/m);
    expect(report).toMatch(/^api +4 of 6 +2 +disruption budget 5 +LOST$/m);
  });

  it('finds room for a release\'s surge pods beside the running ones, or fails naming the workload whose rollout would stall', () => {
    // One minimum node (6248.8 MiB): 3 x 1Gi API + 2.5Gi rest fits (5.5Gi), the surge pod (6.5Gi) does not.
    const workloads = (surge: number) => [pod('api', 3, '500m', '1Gi', { releaseSurge: surge }), pod('db', 1, '500m', '2560Mi', { kind: 'StatefulSet' })];
    expect(check(planCapacity(env(1), workloads(1)), 'pods can be placed').passed).toBe(true);
    const stalled = check(planCapacity(env(1), workloads(1)), 'room for a release\'s rolling update');
    expect(stalled).toEqual({ name: 'room for a release\'s rolling update', passed: false, detail: expect.stringContaining('api x1') });
    expect(check(planCapacity(env(2), workloads(1)), 'room for a release\'s rolling update').passed).toBe(true);
    expect(planCapacity(env(1), workloads(0)).checks.map(c => c.name)).not.toContain('room for a release\'s rolling update');
  });

  it('does not check node loss where the environment does not ask for it', () => {
    expect(planCapacity(env(3), [pod('api', 5, '1800m', '256Mi')]).checks.map(c => c.name)).not.toContain('survives losing one node');
  });

  it('fails when the volumes exceed the disks left for them', () => {
    // One minimum node leaves 100 GB - 19 GiB = 74.1 GiB for volumes.
    const plan = planCapacity(env(1), [pod('db', 1, '100m', '128Mi', { kind: 'StatefulSet', storagePerReplica: ByteQuantity.parse('80Gi') })]);
    expect(check(plan, 'volumes fit disk').passed).toBe(false);
  });

  it('counts a pod\'s scratch space (emptyDirs) on the node disks beside the volumes', () => {
    // 50Gi of volume alone fits the 74.1 GiB; with a 30Gi throwaway restore server it does not.
    const db = pod('db', 1, '100m', '128Mi', { kind: 'StatefulSet', storagePerReplica: ByteQuantity.parse('50Gi') });
    expect(check(planCapacity(env(1), [db]), 'volumes fit disk').passed).toBe(true);
    const plan = planCapacity(env(1), [db, pod('drill', 1, '100m', '128Mi', { kind: 'CronJob', scratchStorage: ByteQuantity.parse('30Gi') })]);
    expect(check(plan, 'volumes fit disk')).toEqual({ name: 'volumes fit disk', passed: false, detail: expect.stringContaining('(scratch 30.00Gi of it)') });
    expect(plan.rows.find(r => r.workload.name === 'drill')!.totalStorage).toBe(ByteQuantity.parse('30Gi').bytes);
  });

  it('fails when max_connections is below what the clients can open', () => {
    const budget = connectionBudget([{ client: 'api', connections: 100 }]);
    const plan = planCapacity(env(1), [pod('api', 1, '100m', '128Mi')], [{ server: 'db', budget, maxConnections: 100 }]);
    expect(check(plan, 'connections of db').passed).toBe(false);
    expect(check(plan, 'connections of db').detail).toContain('needed 113');
  });

  it('counts an init container that is larger than the main containers', () => {
    const big = resources({ cpuRequest: '3', cpuLimit: '3', memoryRequest: '128Mi', memoryLimit: '128Mi' });
    const plan = planCapacity(env(1), [pod('api', 2, '100m', '128Mi', { initContainers: [big] })]);
    expect(plan.rows[0].totalCpuRequest).toBe(2 * 3000);
    expect(check(plan, 'requests fit allocatable').passed).toBe(false);
  });

  it('throws a CapacityError whose report has a row per workload and PASS/FAIL per check', () => {
    let error: CapacityError | undefined;
    try { assertCapacity(env(1), [pod('api', 4, '1', '256Mi'), pod('beat', 1, '50m', '64Mi')]); } catch (e) { error = e as CapacityError; }
    expect(error).toBeInstanceOf(CapacityError);
    expect(error!.failedChecks).toEqual(['requests fit allocatable', 'pods can be placed']);
    expect(error!.report).toMatch(/^api +Deployment +4 /m);
    expect(error!.report).toMatch(/^beat +Deployment +1 /m);
    expect(error!.report).toMatch(/^FAIL {2}requests fit allocatable/m);
    expect(error!.report).toMatch(/^PASS {2}every pod fits one node/m);
    expect(error!.report).toContain('RESULT: FAIL');
    expect(renderCapacityReport(planCapacity(env(1), [pod('api', 1, '1', '256Mi')]))).toContain('RESULT: PASS');
  });
});

describe('time-aware capacity planner (CronJobs count only while their runs can overlap)', () => {
  // One minimum node: 3920m CPU allocatable. Two CronJob pods of 2500m cannot share it.
  const cron = (name: string, schedule: string, extra: Partial<WorkloadSizing['runs']> = {}) =>
    pod(name, 1, '2500m', '256Mi', { kind: 'CronJob', runs: { schedule, timeZone: 'UTC', activeDeadlineSeconds: 3600, ...extra } });

  it('fails when two CronJobs that do not fit together can run at the same time, naming the set and when', () => {
    const plan = planCapacity(env(1, { timeZone: 'UTC' }), [cron('backup', '0 2 * * *'), cron('export', '30 2 * * 0')]);
    expect(plan.passed).toBe(false);
    expect(check(plan, 'pods can be placed').passed).toBe(false);
    expect(check(plan, 'pods can be placed').detail).toContain('while backup, export run, Sun 02:30–03:00 UTC');
    expect(plan.scheduledJobs?.peak).toEqual(expect.objectContaining({ names: ['backup', 'export'], cpu: 5000 }));
  });

  it('passes two CronJobs that would not fit together when their runs never overlap (they share capacity)', () => {
    const plan = planCapacity(env(1), [cron('backup', '0 2 * * *'), cron('export', '0 5 * * 0')]);
    expect(plan.checks.map(c => [c.name, c.passed])).toEqual([
      ['requests fit allocatable', true], ['every pod fits one node', true], ['one-per-node replicas fit nodes', true],
      ['pods can be placed', true], ['volumes fit disk', true],
    ]);
    expect(plan.scheduledJobs).toEqual(expect.objectContaining({ sets: 2, allAtOnce: { cpu: 5000, memory: 2 * 256 * 2 ** 20 } }));
    expect(plan.scheduledJobs!.peak.cpu).toBe(2500);
  });

  it('counts a late start: runs one hour apart overlap when the first may start an hour late', () => {
    expect(planCapacity(env(1), [cron('a', '0 2 * * *'), cron('b', '0 3 * * *')]).passed).toBe(true);
    expect(planCapacity(env(1), [cron('a', '0 2 * * *', { startingDeadlineSeconds: 1800 }), cron('b', '0 3 * * *')]).passed).toBe(false);
  });

  it('counts a CronJob with no active deadline, or no known schedule, as always running', () => {
    const noDeadline = planCapacity(env(1), [cron('backup', '0 2 * * *', { activeDeadlineSeconds: undefined }), cron('export', '0 5 * * 0')]);
    expect(noDeadline.passed).toBe(false);
    expect(noDeadline.scheduledJobs!.alwaysRunning).toEqual(['backup']);
    const unknown = planCapacity(env(1), [pod('backup', 1, '2500m', '256Mi', { kind: 'CronJob' }), cron('export', '0 5 * * 0')]);
    expect(unknown.passed).toBe(false);
  });

  it('folds a monthly run onto every day: the 1st can be a Sunday, so it meets a weekly Sunday job', () => {
    const plan = planCapacity(env(1), [cron('restore-test', '0 4 1 * *'), cron('export', '30 4 * * 0')]);
    expect(plan.passed).toBe(false);
  });

  it('holds the peak set against the node-loss check too', () => {
    // 3 nodes, three 2500m CronJobs at the same hour: on the 2 nodes left one waits (a batch pod, no availability lost);
    // spread over the day, all fit on 2 nodes.
    const jobs = [cron('a', '0 2 * * *'), cron('b', '0 2 * * *'), cron('c', '0 2 * * *')];
    const plan = planCapacity(env(3, { survivesNodeLoss: true }), jobs);
    expect(check(plan, 'survives losing one node').detail).toMatch(/1 pod\(s\) stay Pending: [abc] x1/);
    expect(check(plan, 'survives losing one node').passed).toBe(true); // batch pods wait; no availability lost
    const apart = planCapacity(env(3, { survivesNodeLoss: true }), [cron('a', '0 2 * * *'), cron('b', '0 8 * * *'), cron('c', '0 14 * * *')]);
    expect(check(apart, 'survives losing one node').detail).toContain('all');
  });

  it('shows the peak concurrent set, when it runs, and every CronJob at once in the report', () => {
    const report = renderCapacityReport(planCapacity(env(1), [cron('backup', '0 2 * * *'), cron('export', '0 5 * * 0')]));
    expect(report).toMatch(/Peak concurrent CronJobs: (backup|export) at .*: CPU 2500m, memory 256Mi \(every CronJob at once: CPU 5, memory 512Mi; 2 concurrent set\(s\) checked\)/);
  });
});
