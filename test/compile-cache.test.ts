import { spawnSync } from 'child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join, resolve } from 'path';

// bin/compile-cache.ts: the synth's modules load through V8's code cache. What it must keep: the
// same manifests, cold and warm, and entries that a second run reads instead of writing again.
const ROOT = resolve(__dirname, '..');

describe('the compile cache of the synth', () => {
  let work: string;
  beforeAll(() => { work = mkdtempSync(join(tmpdir(), 'qb-compile-cache-')); });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  const synth = (cache: string, out: string, system = 'qcat', env = 'dev') => {
    const r = spawnSync(process.execPath, ['-r', './scripts/ts-register.js', 'bin/synth.ts', '--system', system, '--env', env, '--out', join(work, out)], {
      cwd: ROOT, encoding: 'utf8', env: { ...process.env, QBI_COMPILE_CACHE: cache },
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    return readFileSync(join(work, out, system, env, `${system}.k8s.yaml`), 'utf8');
  };

  it('writes the same manifest cold, warm and without it, and a warm run writes no entry', () => {
    const cache = join(work, 'cache');
    const off = synth('off', 'off');
    const cold = synth(cache, 'cold');
    const written = () => Object.fromEntries(readdirSync(cache).map(f => [f, statSync(join(cache, f)).mtimeMs]));
    const entries = written();
    // cdk8s, cdk8s-plus-28's Kubernetes classes, constructs and ours, each its own entry.
    expect(Object.keys(entries).length).toBeGreaterThan(100);
    const warm = synth(cache, 'warm');
    expect(written()).toEqual(entries);
    expect(cold).toBe(off);
    expect(warm).toBe(off);
  });

  it('compiles as usual from an entry V8 rejects, and writes it again', () => {
    const cache = join(work, 'damaged');
    const off = synth('off', 'off-2');
    synth(cache, 'first');
    const damaged = readdirSync(cache).filter(f => f.endsWith('.bin')).slice(0, 20);
    for (const f of damaged) writeFileSync(join(cache, f), 'not a code cache');
    expect(synth(cache, 'second')).toBe(off);
    for (const f of damaged) expect(readFileSync(join(cache, f), 'utf8')).not.toBe('not a code cache');
  });

  // quality-billing's staging validates KEDA objects: @kubernetes-models/keda requires
  // @swc/helpers, whose "module-sync" export is an ES module under Node ≥ 20.19's require().
  it('loads an ES module that require() reaches (Node compiles it, not the cache)', () => {
    const cache = join(work, 'esm');
    const off = synth('off', 'off-3', 'quality-billing', 'staging');
    expect(synth(cache, 'esm-cold', 'quality-billing', 'staging')).toBe(off);
  });
});
