import { spawnSync } from 'child_process';
import { writeSync } from 'fs';
import { join } from 'path';
import { parseArgs } from 'util';

/**
 * The startup of `pulumi up`: how long from the start of a fresh Node process to the first
 * resource registration, under Pulumi's mocks (no engine runs here). The probe loads the program
 * as Pulumi.yaml's `main` names it, the precompiled build/bin/pulumi.js, so the figure covers
 * loading @pulumi/* and our modules, building the chart and the first registration: what the
 * user waits for before the engine shows a first step. A figure to compare, never an assertion.
 *
 * Alone: `node build/bin/bench-pulumi-startup.js [--runs N] [--system NAME] [--env NAME]`.
 */

/** Options of `measurePulumiStartup`. */
export interface PulumiStartupOptions {
  /** Fresh processes to run; the median is reported. @default 5 */
  readonly runs?: number;
  /** The system the stack deploys (config `system`). @default "quality-billing" */
  readonly system?: string;
  /** The environment (config `environment`). @default "prod" */
  readonly environment?: string;
}

/** What `measurePulumiStartup` measured. */
export interface PulumiStartupResult {
  /** Median milliseconds from process start to the first resource registration. */
  readonly medianMs: number;
  /** Each run's milliseconds, in order. */
  readonly samplesMs: readonly number[];
  /** The resource registered first (its type and name). */
  readonly firstResource: string;
}

/** Marks the probe's line on stdout. */
const PROBE_PREFIX = 'pulumi-startup-ms ';

/** Median of `xs`. */
function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Runs the probe in `runs` fresh Node processes and returns the median time from each one's
 * start (`performance.timeOrigin`) to its first resource registration.
 */
export function measurePulumiStartup(o: PulumiStartupOptions = {}): PulumiStartupResult {
  const runs = o.runs ?? 5;
  const system = o.system ?? 'quality-billing';
  const environment = o.environment ?? 'prod';
  const keys = JSON.stringify(secretKeysOf(system, environment));
  const samples: number[] = [];
  let firstResource = '';
  for (let i = 0; i < runs; i++) {
    const r = spawnSync(process.execPath, [__filename, '--probe', '--system', system, '--env', environment], { encoding: 'utf8', env: { ...process.env, PULUMI_STARTUP_SECRET_KEYS: keys } });
    // The probe's exit status is Pulumi's verdict on the registrations it abandons: only its line counts.
    const line = r.stdout.split('\n').find(l => l.startsWith(PROBE_PREFIX));
    if (!line) throw new Error(`pulumi startup probe failed (exit ${r.status}):\n${r.stderr}${r.stdout}`);
    const [ms, first] = line.slice(PROBE_PREFIX.length).split(' ');
    samples.push(Number(ms));
    firstResource = first;
  }
  return { medianMs: median(samples), samplesMs: samples, firstResource };
}

/**
 * The probe (in its own process): Pulumi's mocks, config for every Secret the chart reads and a
 * prebuilt image, then the program's entry point; prints the time of the first registration.
 * The secret keys come from the measuring process, so the figure holds the program's startup alone.
 */
function probe(system: string, environment: string): void {
  const origin = performance.timeOrigin;
  // Loaded here, not at the top: the parent process that only measures never loads Pulumi.
  const pulumi = require('@pulumi/pulumi') as typeof import('@pulumi/pulumi');
  let reported = false;
  void pulumi.runtime.setMocks({
    newResource: args => {
      if (!reported) {
        reported = true;
        const ms = performance.now() + (performance.timeOrigin - origin);
        writeSync(1, `${PROBE_PREFIX}${ms.toFixed(1)} ${args.type}::${args.name}\n`);
        // Leaves at once: Pulumi's exit hook would report the registrations still in flight.
        process.exit(0);
      }
      return { id: `${args.name}-id`, state: args.inputs };
    },
    call: args => args.inputs,
  }, 'quality-billing', environment, false);
  const values: Record<string, string> = {
    'quality-billing:system': system,
    'quality-billing:environment': environment,
    'quality-billing:appImage': `${system}:1.0.0`,
  };
  const keys = JSON.parse(process.env.PULUMI_STARTUP_SECRET_KEYS ?? '[]') as string[];
  for (const k of keys) values[`quality-billing:${k}`] = 'startup-probe';
  pulumi.runtime.setAllConfig(values, keys.map(k => `quality-billing:${k}`));
  require(join(__dirname, 'pulumi.js'));
}

/** The secret config keys the system's chart reads, computed in the measuring process (not timed). */
function secretKeysOf(system: string, environment: string): string[] {
  // Required here, not imported: the probe process must load our modules only through the program.
  const { environment: named } = require('../lib/environments') as typeof import('../lib/environments');
  const { secretRequirements } = require('../pulumi/secret-requirements') as typeof import('../pulumi/secret-requirements');
  const { shippedSystem } = require('../stacks/systems') as typeof import('../stacks/systems');
  return secretRequirements(shippedSystem(system).create(named(environment))).map(r => r.configKey);
}

if (require.main === module) {
  const { values } = parseArgs({
    options: { probe: { type: 'boolean', default: false }, runs: { type: 'string', default: '5' }, system: { type: 'string', default: 'quality-billing' }, env: { type: 'string', default: 'prod' } },
  });
  if (values.probe) {
    probe(values.system!, values.env!);
  } else {
    const runs = Number(values.runs);
    if (!Number.isInteger(runs) || runs < 1) {
      console.error(`--runs: invalid value "${values.runs}": expected a positive integer`);
      process.exit(1);
    }
    const r = measurePulumiStartup({ runs, system: values.system, environment: values.env });
    console.log(`pulumi up startup (${values.system}/${values.env}, precompiled build/bin/pulumi.js, under mocks): `
      + `first resource registration after ${r.medianMs.toFixed(0)} ms (median of ${runs}; runs ${r.samplesMs.map(x => x.toFixed(0)).join(', ')} ms; first: ${r.firstResource})`);
  }
}
