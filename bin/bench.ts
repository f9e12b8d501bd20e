import { spawnSync } from 'child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join, resolve } from 'path';
import { SYSTEMS } from '../stacks/systems';
import { parseFlags } from './cli';

/*
 * `npm run bench`: what users run, timed cold (a new process each time) and interleaved, so a slow
 * moment of the machine weighs on every series alike; medians over --runs.
 *   - `npm run synth` end to end from the TypeScript sources, per system and all together;
 *   - `npx cdk8s synth --check-upgrade=false` (all systems: cdk8s.yaml's app);
 *   - the same synth from prebuilt JavaScript (`node build/bin/synth.js`, built once first);
 *   - the floor, `node -e "require('cdk8s-plus-28')"`, which any cdk8s-plus app pays;
 *   - generated charts of --sizes AppServices (bin/bench-scale.ts), time per object;
 *   - peak memory of each series (the largest Node process in it, npm included).
 * Figures to compare between commits; no test asserts a time.
 */

const ROOT = resolve(__dirname, '..');
const PROBE = join(ROOT, 'scripts', 'bench-probe.js');

interface Sample { ms: number; cpuMs: number; rssMiB: number }

function timeRun(work: string, command: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Sample & { stdout: string } {
  const probe = join(work, `probe-${process.hrtime.bigint()}.jsonl`);
  const start = process.hrtime.bigint();
  const r = spawnSync(command, args, {
    cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env, QBI_BENCH_PROBE: probe, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${PROBE}`.trim() },
  });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
  const processes: Array<{ maxRssKiB: number; cpuUs: number }> = existsSync(probe) ? readFileSync(probe, 'utf8').trim().split('\n').map(l => JSON.parse(l)) : [];
  return {
    ms,
    cpuMs: processes.reduce((n, p) => n + p.cpuUs, 0) / 1000,
    rssMiB: Math.max(0, ...processes.map(p => p.maxRssKiB)) / 1024,
    stdout: r.stdout,
  };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const pad = (s: string | number, n: number) => String(s).padStart(n);
const x = (a: number, b: number) => `${(a / b).toFixed(2)}x`;

function main(argv: string[]): number {
  const values = parseFlags('bench', argv, {
    runs: { type: 'string', default: '5' },
    sizes: { type: 'string', default: '50,100,200,400' },
    'no-build': { type: 'boolean', default: false },
  });
  if (!values) return 1;
  const runs = Number(values.runs);
  const sizes = values.sizes!.split(',').map(Number);
  if (!Number.isInteger(runs) || runs < 1) { console.error(`bench: --runs must be a positive integer, got ${values.runs}`); return 1; }
  if (!sizes.every(n => Number.isInteger(n) && n > 0)) { console.error(`bench: --sizes must be positive integers separated by commas, got ${values.sizes}`); return 1; }

  if (!values['no-build']) {
    console.log('building build/ for the prebuilt-JS series (tsc -p tsconfig.build.json, not timed)…');
    const b = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
    if (b.status !== 0) return 1;
  }
  const work = mkdtempSync(join(tmpdir(), 'qb-bench-'));
  const targets = [...SYSTEMS.map(s => s.name), 'all'];
  const series = new Map<string, Sample[]>();
  const add = (key: string, s: Sample) => series.set(key, [...series.get(key) ?? [], s]);
  const objects = new Map<number, number>();
  try {
    for (let i = 0; i < runs; i++) {
      add('floor', timeRun(work, process.execPath, ['-e', "require('cdk8s-plus-28')"]));
      for (const t of targets) {
        const only = t === 'all' ? [] : ['--system', t];
        add(`${t} ts`, timeRun(work, 'npm', ['run', '--silent', 'synth', '--', ...only, '--out', join(work, `ts-${i}`)]));
        add(`${t} js`, timeRun(work, process.execPath, [join(ROOT, 'build', 'bin', 'synth.js'), ...only, '--out', join(work, `js-${i}`)]));
      }
      add('all cdk8s', timeRun(work, 'npx', ['cdk8s', 'synth', '--check-upgrade=false', '--output', join(work, `cdk8s-${i}`)], { CDK8S_CHECK_UPGRADE: 'false' }));
      for (const n of sizes) {
        const r = timeRun(work, process.execPath, [join(ROOT, 'build', 'bin', 'bench-scale.js'), '--services', String(n)]);
        objects.set(n, JSON.parse(r.stdout).objects);
        add(`scale ${n}`, r);
      }
      process.stdout.write(`run ${i + 1}/${runs} done\n`);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const ms = (key: string) => median(series.get(key)!.map(s => s.ms));
  // CPU time (user + system of every Node process of the run): on a machine others share, its
  // ratios move much less than wall time's.
  const cpu = (key: string) => median(series.get(key)!.map(s => s.cpuMs));
  const rss = (key: string) => Math.max(...series.get(key)!.map(s => s.rssMiB));
  const floor = ms('floor');
  const cpuFloor = cpu('floor');
  console.log(`\nmedians of ${runs} cold runs, wall ms (CPU ms); floor = node -e "require('cdk8s-plus-28')": ${floor.toFixed(0)} (${cpuFloor.toFixed(0)}) ms, peak ${rss('floor').toFixed(0)} MiB\n`);
  console.log(`${'systems × 3 environments'.padEnd(26)}${pad('npm run synth (TS)', 20)}${pad('build/ (JS)', 13)}${pad('TS/JS', 8)}${pad('JS/floor', 10)}${pad('TS/floor', 10)}${pad('CPU TS/JS', 11)}${pad('CPU JS/floor', 14)}${pad('peak MiB TS/JS', 16)}`);
  for (const t of targets) {
    const ts = ms(`${t} ts`);
    const js = ms(`${t} js`);
    console.log(`${t.padEnd(26)}${pad(`${ts.toFixed(0)} (${cpu(`${t} ts`).toFixed(0)})`, 20)}${pad(`${js.toFixed(0)} (${cpu(`${t} js`).toFixed(0)})`, 13)}${pad(x(ts, js), 8)}${pad(x(js, floor), 10)}${pad(x(ts, floor), 10)}${pad(x(cpu(`${t} ts`), cpu(`${t} js`)), 11)}${pad(x(cpu(`${t} js`), cpuFloor), 14)}${pad(`${rss(`${t} ts`).toFixed(0)}/${rss(`${t} js`).toFixed(0)}`, 16)}`);
  }
  const cdk8s = ms('all cdk8s');
  console.log(`${'all: npx cdk8s synth'.padEnd(26)}${pad(`${cdk8s.toFixed(0)} (${cpu('all cdk8s').toFixed(0)})`, 20)}${pad('', 13)}${pad(x(cdk8s, ms('all js')), 8)}${pad('', 10)}${pad(x(cdk8s, floor), 10)}${pad(x(cpu('all cdk8s'), cpu('all js')), 11)}${pad('', 14)}${pad(rss('all cdk8s').toFixed(0), 16)}`);
  console.log(`targets: all TS/JS <= 1.30x, all JS/floor <= 3x, quality-billing JS/floor <= 2x\n`);

  console.log(`${'AppServices'.padEnd(12)}${pad('objects', 9)}${pad('ms', 8)}${pad('ms/object', 11)}${pad('(ms-floor)/object', 19)}${pad('x floor', 9)}${pad('step', 7)}${pad('CPU x floor', 13)}${pad('peak MiB', 10)}`);
  let previous: number | undefined;
  for (const n of sizes) {
    const t = ms(`scale ${n}`);
    const o = objects.get(n)!;
    console.log(`${String(n).padEnd(12)}${pad(o, 9)}${pad(t.toFixed(0), 8)}${pad((t / o).toFixed(2), 11)}${pad(((t - floor) / o).toFixed(2), 19)}${pad(x(t, floor), 9)}${pad(previous ? x(t, previous) : '', 7)}${pad(x(cpu(`scale ${n}`), cpuFloor), 13)}${pad(rss(`scale ${n}`).toFixed(0), 10)}`);
    previous = t;
  }
  console.log('targets: each doubling <= 2.2x, 400 services <= 10x floor');

  // pulumi up's start-up: process start to the first registration of the precompiled program under mocks.
  console.log('');
  // From build/, as Pulumi.yaml runs the program (its probe re-runs its own file in fresh processes).
  const r = spawnSync(process.execPath, [join(ROOT, 'build', 'bin', 'bench-pulumi-startup.js'), '--runs', String(runs)], { cwd: ROOT, stdio: 'inherit' });
  return r.status === 0 ? 0 : 1;
}

if (require.main === module) process.exit(main(process.argv.slice(2)));
