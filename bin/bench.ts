import { spawnSync } from 'child_process';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { parseArgs } from 'util';

/**
 * `npm run bench`: the median of N cold runs (a new Node process each) of synthesizing every
 * environment of quality-billing (the figure earlier commits measured), and of all systems,
 * beside the median of merely loading cdk8s-plus-28 (the floor any cdk8s-plus app pays), and
 * their ratios. A figure to compare between commits, never an assertion.
 */
function timeRun(args: string[], env: NodeJS.ProcessEnv = {}): number {
  const start = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed:\n${r.stderr}`);
  return ms;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, got ${values.runs}`);
const out = mkdtempSync(join(tmpdir(), 'qb-bench-'));
const synthScript = join(__dirname, 'synth.js');
try {
  const synth: number[] = [];
  const all: number[] = [];
  const floor: number[] = [];
  // Interleaved, so that a slow moment of the machine weighs on every series alike.
  for (let i = 0; i < runs; i++) {
    floor.push(timeRun(['-e', "require('cdk8s-plus-28')"]));
    synth.push(timeRun([synthScript, '--system', 'quality-billing'], { CDK8S_OUTDIR: join(out, `dist-${i}`) }));
    all.push(timeRun([synthScript], { CDK8S_OUTDIR: join(out, `all-${i}`) }));
  }
  const fmt = (xs: number[]) => xs.map(x => x.toFixed(0)).join(', ');
  console.log(`cold synth of quality-billing, all environments: median ${median(synth).toFixed(0)} ms over ${runs} runs (${fmt(synth)})`);
  console.log(`cold synth of all systems, all environments: median ${median(all).toFixed(0)} ms over ${runs} runs (${fmt(all)})`);
  console.log(`require('cdk8s-plus-28') floor: median ${median(floor).toFixed(0)} ms over ${runs} runs (${fmt(floor)})`);
  console.log(`ratio quality-billing synth / floor: ${(median(synth) / median(floor)).toFixed(2)} (target <= 3)`);
  console.log(`ratio all-systems synth / floor: ${(median(all) / median(floor)).toFixed(2)}`);
} finally {
  rmSync(out, { recursive: true, force: true });
}
