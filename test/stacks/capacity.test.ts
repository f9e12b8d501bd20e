import { mkdtempSync, readdirSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { App } from 'cdk8s';
import { AppService } from '../../constructs/app/app-service';
import { planCapacity } from '../../lib/capacity';
import { defineEnvironment, ENVIRONMENTS } from '../../lib/environments';
import { CapacityError } from '../../lib/errors';
import { nodeAllocatable, TIERS } from '../../lib/tiers';
import { QualityBillingStack } from '../../stacks/quality-billing-stack';
import { collectSizings } from '../../constructs/core/workload';
import { find, synthStack } from '../helpers';

describe('capacity of the shipped environments', () => {
  it('dev fits one node of the minimum tier', () => {
    const { stack } = synthStack(ENVIRONMENTS.dev);
    expect(stack.capacity.tier.name).toBe('minimum');
    expect(stack.environment.nodes).toBe(1);
    expect(stack.capacity.checks.every(c => c.passed)).toBe(true);
  });

  it('prod runs 3 API replicas on the recommended tier and still fits after losing any one node', () => {
    const { stack } = synthStack(ENVIRONMENTS.prod);
    expect(stack.api.replicas).toBe(3);
    expect(stack.capacity.tier.name).toBe('recommended');
    const nodeLoss = stack.capacity.checks.find(c => c.name === 'survives losing one node');
    expect(nodeLoss?.passed).toBe(true);
    // Independent of the planner: every pod's requests summed fit on nodes - 1.
    const node = nodeAllocatable(TIERS.recommended);
    const sizings = collectSizings(stack);
    const cpu = sizings.reduce((n, s) => n + s.replicas * Math.max(s.containers.reduce((a, c) => a + c.cpuRequest.millicores, 0), ...(s.initContainers ?? []).map(i => i.cpuRequest.millicores)), 0);
    expect(cpu).toBeLessThanOrEqual(node.cpu.millicores * (stack.environment.nodes - 1));
  });

  it('counts every workload of the stack, the jobs included', () => {
    const { stack } = synthStack(ENVIRONMENTS.prod);
    const names = stack.capacity.rows.map(r => r.workload.name);
    expect(names).toEqual(expect.arrayContaining([
      'quality-billing-postgres', 'quality-billing-postgres-maintenance', 'quality-billing-redis', 'quality-billing-migrate',
      'quality-billing-api', 'quality-billing-celery-default', 'quality-billing-celery-high-priority',
      'quality-billing-celery-low-priority', 'quality-billing-celery-beat',
    ]));
  });

  it('lets each PgBouncer replica accept every application connection (apps → PgBouncer)', () => {
    const { stack, objects } = synthStack(ENVIRONMENTS.prod);
    const ini = objects.find(o => o.kind === 'ConfigMap' && o.metadata.name === 'quality-billing-pgbouncer-config')!.data['pgbouncer.ini'];
    const maxClientConn = Number(/^max_client_conn = (\d+)$/m.exec(ini)![1]);
    // Every pooled client at its autoscaler's maximum plus one pod rolling out, each process with its own pool.
    const api = ((stack.api.maxReplicas ?? stack.api.replicas) + 1) * stack.api.workers * stack.api.databasePoolSize;
    const workers = stack.workers.reduce((n, w) => n + ((w.maxReplicas ?? w.replicas) + 1) * w.concurrency * w.databasePoolSize, 0);
    expect(maxClientConn).toBeGreaterThanOrEqual(api + workers + 2 /* beat */ + 1 /* exporter */);
    expect(stack.capacity.checks.find(c => c.name === 'client connections of quality-billing-pgbouncer')?.passed).toBe(true);
  });

  it('sets max_connections to what the pools and the direct clients need, at most 200 in prod (PgBouncer → PostgreSQL)', () => {
    const { objects } = synthStack(ENVIRONMENTS.prod);
    const conf = objects.find(o => o.kind === 'ConfigMap' && o.metadata.name === 'quality-billing-postgres-files')!.data['postgresql.conf'];
    const ini = objects.find(o => o.kind === 'ConfigMap' && o.metadata.name === 'quality-billing-pgbouncer-config')!.data['pgbouncer.ini'];
    const setting = (text: string, name: string) => Number(new RegExp(`^${name} = (\\d+)`, 'm').exec(text)![1]);
    const replicas = find(objects, 'Deployment', 'quality-billing-pgbouncer').spec.replicas;
    // Two replicas plus the one a rollout starts, each capped at max_db_connections.
    const pools = (replicas + 1) * setting(ini, 'max_db_connections');
    expect(setting(ini, 'max_db_connections')).toBe(setting(ini, 'default_pool_size') + setting(ini, 'reserve_pool_size'));
    const direct = 2 /* migration job */ + 1 /* exporter */ + 1 /* maintenance */ + 2 /* backup */ + 2 /* pgBackRest */;
    expect(setting(conf, 'max_connections')).toBeGreaterThanOrEqual(pools + direct + 3);
    expect(setting(conf, 'max_connections')).toBeLessThanOrEqual(200);
  });
});

describe('an environment that does not fit', () => {
  it('fails at synth with the capacity table', () => {
    const oversized = defineEnvironment({ name: 'oversized', tier: 'minimum', nodes: 1, appReplicas: 12 });
    const stack = new QualityBillingStack(new App(), 'quality-billing', { environment: oversized });
    let error: unknown;
    try {
      stack.toJson();
    } catch (e) { error = e; }
    expect(error).toBeInstanceOf(CapacityError);
    const e = error as CapacityError;
    expect(e.environment).toBe('oversized');
    expect(e.failedChecks).toContain('requests fit allocatable');
    expect(e.report).toMatch(/^FAIL {2}requests fit allocatable/m);
    expect(e.report).toMatch(/^quality-billing-api +Deployment +12-24 /m);
    expect(e.report).toContain('RESULT: FAIL');
  });

  it('fails the node-loss check when prod-like nodes are too few to lose one', () => {
    const tight = defineEnvironment({ name: 'tight', tier: 'minimum', nodes: 2, appReplicas: 8, survivesNodeLoss: true, logging: false }, ENVIRONMENTS.prod);
    let error: CapacityError | undefined;
    try { new QualityBillingStack(new App(), 'quality-billing', { environment: tight }).toJson(); } catch (e) { error = e as CapacityError; }
    expect(error).toBeInstanceOf(CapacityError);
    expect(error!.failedChecks).toContain('survives losing one node');
    expect(error!.failedChecks).not.toContain('requests fit allocatable');
  });

  it('fails when the autoscalers\' maximum no longer fits, though the starting replicas do', () => {
    // 6 API pods of 250m fit one minimum node with the rest; their autoscaler's 6 x 4 = 24 do not.
    const env = defineEnvironment({ name: 'elastic', nodes: 1, appReplicas: 6, autoscaleFactor: 4 });
    let error: CapacityError | undefined;
    try { new QualityBillingStack(new App(), 'quality-billing', { environment: env }).toJson(); } catch (e) { error = e as CapacityError; }
    expect(error).toBeInstanceOf(CapacityError);
    expect(error!.failedChecks).toEqual(['fits at maximum autoscaling']);
  });

  it('counts a workload a consumer adds after construction', () => {
    const stack = new QualityBillingStack(new App(), 'quality-billing', { environment: ENVIRONMENTS.dev });
    expect(stack.toJson().length).toBeGreaterThan(0);
    new AppService(stack, 'Reports', { name: 'reports', replicas: 12, tier: 'minimum' });
    let error: CapacityError | undefined;
    try { stack.toJson(); } catch (e) { error = e as CapacityError; }
    expect(error).toBeInstanceOf(CapacityError);
    expect(error!.report).toMatch(/^reports +Deployment +12 /m);
  });

  it('writes no manifest when App.synth fails the check', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'capacity-'));
    try {
      const app = new App({ outdir });
      new QualityBillingStack(app, 'quality-billing', { environment: defineEnvironment({ name: 'oversized', tier: 'minimum', nodes: 1, appReplicas: 12 }) });
      expect(() => app.synth()).toThrow(CapacityError);
      expect(readdirSync(outdir)).toEqual([]);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });

  it('planCapacity reports without throwing, so a consumer can print the table', () => {
    const { stack } = synthStack(ENVIRONMENTS.staging);
    expect(stack.planCapacity().passed).toBe(true);
    expect(planCapacity(defineEnvironment({ name: 'x', nodes: 1 }), [
      ...collectSizings(stack), ...collectSizings(stack), ...collectSizings(stack), ...collectSizings(stack),
    ]).passed).toBe(false);
  });
});

describe('capacity of the other seed systems', () => {
  const { SYSTEMS } = require('../../stacks/systems');
  const { synthChart } = require('../helpers');
  const rows: Array<[string, string]> = SYSTEMS.filter((s: any) => s.name !== 'quality-billing')
    .flatMap((s: any) => Object.keys(ENVIRONMENTS).map(e => [s.name, e]));

  it.each(rows)('%s fits its tier in %s, every check passing (prod: after losing any one node)', (sys, envName) => {
    const { stack } = synthChart(sys, (ENVIRONMENTS as any)[envName]);
    // The system's own environment: merchant-analysis runs on seed 003's compact nodes.
    const env = stack.environment;
    expect(env.tier).toBe(sys === 'merchant-analysis' ? 'compact' : (ENVIRONMENTS as any)[envName].tier);
    expect(stack.capacity.tier.name).toBe(env.tier);
    expect(stack.capacity.checks.filter((c: any) => !c.passed)).toEqual([]);
    if (env.survivesNodeLoss) expect(stack.capacity.checks.map((c: any) => c.name)).toContain('survives losing one node');
    // Independent of the planner: the requests of all pods fit the nodes' allocatable CPU and memory.
    const node = nodeAllocatable(TIERS[env.tier as keyof typeof TIERS]);
    const sizings = collectSizings(stack);
    const podCpu = (s: any) => Math.max(s.containers.reduce((a: number, c: any) => a + c.cpuRequest.millicores, 0), ...(s.initContainers ?? []).map((i: any) => i.cpuRequest.millicores));
    const podMem = (s: any) => Math.max(s.containers.reduce((a: number, c: any) => a + c.memoryRequest.bytes, 0), ...(s.initContainers ?? []).map((i: any) => i.memoryRequest.bytes));
    const usable = env.survivesNodeLoss ? env.nodes - 1 : env.nodes;
    expect(sizings.reduce((n: number, s: any) => n + s.replicas * podCpu(s), 0)).toBeLessThanOrEqual(node.cpu.millicores * usable);
    expect(sizings.reduce((n: number, s: any) => n + s.replicas * podMem(s), 0)).toBeLessThanOrEqual(node.memory.bytes * usable);
  });

  it('merchant-analysis prod keeps each three-member set one per node after losing a node: one member Pending, the quorum kept', () => {
    const { stack } = synthChart('merchant-analysis', ENVIRONMENTS.prod);
    expect(stack.environment.nodes).toBe(3);
    const mongo = stack.capacity.nodeLoss!.find((o: any) => o.workload === 'merchant-analysis-mongodb');
    expect(mongo).toEqual({ workload: 'merchant-analysis-mongodb', replicas: 3, running: 2, pending: 1, needed: 2, basis: 'quorum', available: true });
    const nodeLoss = stack.capacity.checks.find((c: any) => c.name === 'survives losing one node');
    expect(nodeLoss.passed).toBe(true);
    expect(nodeLoss.detail).toContain('merchant-analysis-mongodb x1');
  });

  it('fails finance-ai at synth when the seed\'s 3 pods of 1Gi cannot fit one minimum node beside the rest', () => {
    const { FinanceAiStack } = require('../../stacks/finance-ai-stack');
    const tiny = defineEnvironment({ name: 'tiny', tier: 'minimum', nodes: 1, logging: true, backup: { retentionDays: 7, pointInTimeRecovery: true } });
    const stack = new FinanceAiStack(new App(), 'finance-ai', { environment: tiny });
    expect(() => stack.toJson()).toThrow(CapacityError);
  });
});
