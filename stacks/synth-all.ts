import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'fs';
import { dirname, join, resolve } from 'path';
import { Chart } from 'cdk8s';
import { manifestDocuments } from '../lib/manifest-yaml';
import { effectivePodResources } from '../lib/sizing';
import { ENVIRONMENTS, EnvironmentSpec } from '../lib/environments';
import { nodeAllocatable, tier } from '../lib/tiers';
import { ShippedSystem, SYSTEMS } from './systems';
import { SystemChart } from './system-chart';

/** What one environment's synth wrote. */
export interface SynthResult {
  readonly system: string;
  readonly environment: string;
  /** The manifest written, as `<outdir>/<system>/<env>/<system>.k8s.yaml`. */
  readonly file: string;
  /** Objects by kind. */
  readonly kinds: Readonly<Record<string, number>>;
  readonly objects: number;
  /** Sum of CPU requests (millicores) and of memory requests (bytes) at the starting replicas. */
  readonly cpuRequests: number;
  readonly memoryRequests: number;
  /** Allocatable CPU (millicores) and memory (bytes) of all the environment's nodes. */
  readonly cpuAllocatable: number;
  readonly memoryAllocatable: number;
}

/**
 * Synthesizes each system's environments into `<outdir>/<system>/<env>/<system>.k8s.yaml`. Every
 * one is built into a staging folder first; only when all succeeded do they replace their
 * folders, so a failed synth (bad props, a capacity check) leaves the previous output exactly as
 * it was. Synthesizing every shipped system and environment (the default) replaces the whole
 * output folder; a subset replaces only its own `<system>/<env>` folders.
 */
export function synthAll(outdir: string, environments: readonly EnvironmentSpec[] = Object.values(ENVIRONMENTS), systems: readonly ShippedSystem[] = SYSTEMS): SynthResult[] {
  const target = resolve(outdir);
  const staging = `${target}.staging-${process.pid}`;
  const everything = Object.keys(ENVIRONMENTS).every(name => environments.some(e => e.name === name))
    && SYSTEMS.every(s => systems.includes(s));
  rmSync(staging, { recursive: true, force: true });
  const results: SynthResult[] = [];
  const units = systems.flatMap(system => environments.map(env => ({ system, env, folder: join(system.name, env.name) })));
  try {
    for (const { system, env, folder } of units) {
      const stack = system.create(env);
      const docs = stack.toJson();
      const file = `${system.name}.k8s.yaml`;
      mkdirSync(join(staging, folder), { recursive: true });
      writeFileSync(join(staging, folder, file), toYaml(docs));
      results.push(summarize(stack, system.name, docs, join(outdir, folder, file)));
    }
  } catch (e) {
    rmSync(staging, { recursive: true, force: true });
    throw e;
  }
  mkdirSync(dirname(target), { recursive: true });
  const previous = `${target}.previous-${process.pid}`;
  if (everything || !existsSync(target)) {
    if (existsSync(target)) renameSync(target, previous);
    renameSync(staging, target);
  } else {
    for (const { folder } of units) {
      mkdirSync(dirname(join(previous, folder)), { recursive: true });
      mkdirSync(dirname(join(target, folder)), { recursive: true });
      if (existsSync(join(target, folder))) renameSync(join(target, folder), join(previous, folder));
      renameSync(join(staging, folder), join(target, folder));
    }
    rmSync(staging, { recursive: true, force: true });
  }
  rmSync(previous, { recursive: true, force: true });
  return results;
}

/**
 * The chart as a multi-document YAML file. `chart.toJson()` is cdk8s's own synthesis (validation,
 * dependency order, resolved values); each object is written as js-yaml writes it (about twice as
 * fast as cdk8s's writer, and manifestDocument's memoized scalars again faster than js-yaml).
 * YAML 1.1-ambiguous strings ("on", "yes") stay quoted.
 */
export function manifestYaml(chart: Chart): string {
  return toYaml(chart.toJson());
}

function toYaml(docs: readonly unknown[]): string {
  return manifestDocuments(docs);
}

function summarize(stack: SystemChart, system: string, docs: ReadonlyArray<{ kind: string }>, file: string): SynthResult {
  const kinds: Record<string, number> = {};
  for (const d of docs) kinds[d.kind] = (kinds[d.kind] ?? 0) + 1;
  return { system, environment: stack.environment.name, file, kinds, objects: docs.length, ...requestTotals(stack) };
}

/** Requests at the starting replicas against the environment's allocatable capacity. */
export function requestTotals(stack: SystemChart): Pick<SynthResult, 'cpuRequests' | 'memoryRequests' | 'cpuAllocatable' | 'memoryAllocatable'> {
  const node = nodeAllocatable(tier(stack.environment.tier));
  const rows = stack.capacity.rows;
  return {
    cpuRequests: rows.reduce((n, r) => n + effectivePodResources(r.workload).cpuRequest.millicores * r.workload.replicas, 0),
    memoryRequests: rows.reduce((n, r) => n + effectivePodResources(r.workload).memoryRequest.bytes * r.workload.replicas, 0),
    cpuAllocatable: node.cpu.millicores * stack.environment.nodes,
    memoryAllocatable: node.memory.bytes * stack.environment.nodes,
  };
}

