import { spawnSync } from 'child_process';
import { join } from 'path';

/*
 * Bad flags through the commands as `npm run` starts them (package.json's scripts, transpile-only):
 * one line on stderr naming the flag and what is allowed, exit code 1, nothing else run.
 */
const ROOT = join(__dirname, '..');
const scripts: Record<string, string> = require('../package.json').scripts;

function run(script: string, ...args: string[]) {
  const [command, ...pre] = scripts[script].split(' ');
  expect(command).toBe('node');
  return spawnSync(process.execPath, [...pre, ...args], { cwd: ROOT, encoding: 'utf8' });
}

describe('bad flags', () => {
  it.each([
    ['synth', ['--sytem', 'qcat'], 'synth: unknown flag --sytem (did you mean --system?); allowed: --env VALUE, --out VALUE, --system VALUE, --verbose, --help'],
    ['synth', ['--dry-run'], 'synth: unknown flag --dry-run; allowed: --env VALUE, --out VALUE, --system VALUE, --verbose, --help'],
    ['synth', ['qcat'], 'synth: unexpected argument qcat; allowed: --env VALUE, --out VALUE, --system VALUE, --verbose, --help'],
    ['capacity', ['--formt', 'json'], 'capacity: unknown flag --formt (did you mean --format?); allowed: --env VALUE, --system VALUE, --format VALUE, --verbose'],
    ['capacity', ['--env'], "capacity: Option '-e, --env <value>' argument missing; allowed: --env VALUE, --system VALUE, --format VALUE, --verbose"],
    ['bench', ['--run', '3'], 'bench: unknown flag --run (did you mean --runs?); allowed: --runs VALUE, --sizes VALUE, --no-build'],
    ['bench', ['--runs', 'many'], 'bench: --runs must be a positive integer, got many'],
  ])('%s %j: one line naming the flag and what is allowed, exit 1', (script, args, line) => {
    const r = run(script, ...args);
    expect(r.stderr).toBe(`${line}\n`);
    expect(r.stdout).toBe('');
    expect(r.status).toBe(1);
  });
});

describe("the bench's scale chart", () => {
  it('synthesizes 100 services with their policies and passes its own capacity checks (a failing check would stop npm run bench)', () => {
    const r = spawnSync(process.execPath, ['-r', './scripts/ts-register.js', 'bin/bench-scale.ts', '--services', '100'], { cwd: ROOT, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.services).toBe(100);
    // Each service brings at least its Deployment, Service and NetworkPolicy.
    expect(out.objects).toBeGreaterThan(300);
  });
});
