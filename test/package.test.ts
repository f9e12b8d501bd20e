import { execFileSync, spawnSync } from 'child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { parse } from 'yaml';
import { synthAll } from '../stacks/synth-all';
import { ENVIRONMENTS } from '../lib/environments';
import { SYSTEMS } from '../stacks/systems';

const ROOT = join(__dirname, '..');

// These tests build the package once and use the compiled output, as a user does. They live in
// one file so that no two jest workers run `tsc` into build/ at the same time.

beforeAll(() => { execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'pipe' }); });

describe('entry points (built JavaScript, as a user runs them)', () => {
  it('the built synth exits 1 with the capacity table and writes nothing when an environment does not fit', () => {
    const work = mkdtempSync(join(tmpdir(), 'qb-bin-'));
    try {
      const script = `
        const { synthAll } = require(${JSON.stringify(join(ROOT, 'build/stacks/synth-all.js'))});
        const { defineEnvironment } = require(${JSON.stringify(join(ROOT, 'build/lib/environments.js'))});
        try { synthAll(process.argv[1], [defineEnvironment({ name: 'big', nodes: 1, appReplicas: 40 })]); } catch (e) { console.error(e.message); process.exit(1); }`;
      let status = 0; let stderr = '';
      try { execFileSync('node', ['-e', script, join(work, 'dist')], { stdio: 'pipe' }); } catch (e: any) { status = e.status; stderr = String(e.stderr); }
      expect(status).toBe(1);
      expect(stderr).toMatch(/FAIL {2}requests fit allocatable/);
      expect(existsSync(join(work, 'dist'))).toBe(false);
    } finally { rmSync(work, { recursive: true, force: true }); }
  });

  it('Pulumi.yaml runs the built program as JavaScript: no ts-node, no type-check at pulumi up', () => {
    const project = parse(readFileSync(join(ROOT, 'Pulumi.yaml'), 'utf8'));
    expect(project.runtime).toEqual({ name: 'nodejs', options: { typescript: false } });
    expect(project.main).toBe('build/bin/pulumi.js');
    expect(existsSync(join(ROOT, project.main))).toBe(true);
  });

  it('npx cdk8s synth writes the same manifests as npm run synth', () => {
    const work = mkdtempSync(join(tmpdir(), 'qb-cdk8s-'));
    try {
      execFileSync('npx', ['cdk8s', 'synth', '--check-upgrade=false', '--output', join(work, 'out')], { cwd: ROOT, stdio: 'pipe', env: { ...process.env, CDK8S_CHECK_UPGRADE: 'false' } });
      const results = synthAll(join(work, 'direct'));
      expect(results).toHaveLength(15);
      for (const r of results) {
        expect(readFileSync(join(work, 'out', r.system, r.environment, `${r.system}.k8s.yaml`), 'utf8')).toEqual(readFileSync(r.file, 'utf8'));
      }
    } finally { rmSync(work, { recursive: true, force: true }); }
  });

  it('the synth CLI prints per environment what it wrote, and one clear error block without a stack trace', () => {
    const work = mkdtempSync(join(tmpdir(), 'qb-cli-'));
    try {
      const out = execFileSync('node', [join(ROOT, 'build/bin/synth.js'), '--system', 'quality-billing', '--system', 'ai-bookkeeping', '--env', 'dev', '--out', join(work, 'd')], { encoding: 'utf8' });
      expect(out).toMatch(/^quality-billing\/dev .*d\/quality-billing\/dev\/quality-billing\.k8s\.yaml$/m);
      expect(out).toMatch(/^ai-bookkeeping\/dev .*d\/ai-bookkeeping\/dev\/ai-bookkeeping\.k8s\.yaml$/m);
      expect(out).not.toMatch(/qcat/);
      expect(out).toMatch(/^ +\d+ objects: \d+ NetworkPolicy/m);
      expect(out).toMatch(/requests [\d.]+ of 3\.92 CPU, [\d.]+ of 6\.10 GiB memory/);
      let status = 0; let stderr = '';
      try { execFileSync('node', [join(ROOT, 'build/bin/synth.js'), '--env', 'qa', '--out', join(work, 'd')], { stdio: 'pipe' }); } catch (e: any) { status = e.status; stderr = String(e.stderr); }
      expect(status).toBe(1);
      expect(stderr).toContain('Environment: invalid name "qa": expected one of "dev", "staging", "prod"');
      expect(stderr).not.toMatch(/\n +at /);
      try { execFileSync('node', [join(ROOT, 'build/bin/synth.js'), '--system', 'billing', '--out', join(work, 'd')], { stdio: 'pipe' }); } catch (e: any) { status = e.status; stderr = String(e.stderr); }
      expect(status).toBe(1);
      expect(stderr).toContain('System: invalid name "billing": expected one of "quality-billing", "qcat", "finance-ai", "merchant-analysis", "ai-bookkeeping"');
    } finally { rmSync(work, { recursive: true, force: true }); }
  });

  it('npm run capacity renders the same plan as JSON and as Markdown', () => {
    const json = JSON.parse(execFileSync('node', [join(ROOT, 'build/bin/capacity.js'), '--system', 'quality-billing', '--env', 'prod', '--format', 'json'], { encoding: 'utf8' }));
    expect(json).toHaveLength(1);
    expect(json[0]).toMatchObject({ system: 'quality-billing', environment: 'prod', tier: 'recommended', nodes: 3, passed: true });
    expect(json[0].checks.map((c: any) => c.name)).toContain('survives losing one node');
    expect(json[0].postgresConnections.maxConnections).toBeGreaterThan(0);
    const md = execFileSync('node', [join(ROOT, 'build/bin/capacity.js'), '--system', 'quality-billing', '--env', 'dev', '--format', 'markdown'], { encoding: 'utf8' });
    expect(md).toMatch(/^### dev: minimum tier x 1 node\(s\) — PASS$/m);
    expect(md).toMatch(/^\| quality-billing-api \| Deployment \| 1-2 \|/m);
    // After losing a node, a member of each three-member set stays Pending and its quorum holds.
    const merchant = JSON.parse(execFileSync('node', [join(ROOT, 'build/bin/capacity.js'), '--system', 'merchant-analysis', '--env', 'prod', '--format', 'json'], { encoding: 'utf8' }));
    expect(merchant[0].nodeLoss).toContainEqual({ workload: 'merchant-analysis-mongodb', replicas: 3, running: 2, pending: 1, needed: 2, basis: 'quorum', available: true });
    const merchantMd = execFileSync('node', [join(ROOT, 'build/bin/capacity.js'), '--system', 'merchant-analysis', '--env', 'prod', '--format', 'markdown'], { encoding: 'utf8' });
    expect(merchantMd).toContain('| merchant-analysis-mongodb | 2 of 3 | 1 | quorum 2 | kept |');
  });

  it('npm run capacity prints a PASS report for every shipped system and environment', () => {
    const out = execFileSync('node', [join(ROOT, 'build/bin/capacity.js')], { cwd: ROOT, encoding: 'utf8' });
    for (const env of Object.keys(ENVIRONMENTS)) expect(out).toContain(`Capacity report: environment ${env},`);
    for (const sys of SYSTEMS) expect(out).toContain(`System ${sys.name}\n`);
    expect(out.match(/^RESULT: PASS$/gm)).toHaveLength(3 * SYSTEMS.length);
    expect(out).toMatch(/max_connections$/m);
  });
});

describe('the library loads no Pulumi module', () => {
  // In a child process: jest's module registry would hide what Node's require.cache holds.
  const loaded = (script: string) => JSON.parse(execFileSync('node', ['-e', `${script}
    console.log(JSON.stringify(Object.keys(require.cache).filter(p => /[\\\\/]node_modules[\\\\/]@pulumi[\\\\/]/.test(p))));`], { cwd: ROOT, encoding: 'utf8' })) as string[];

  it('require of the built index loads no @pulumi module; the pulumi subpath does', () => {
    expect(loaded(`require(${JSON.stringify(join(ROOT, 'build/index.js'))});`)).toEqual([]);
    // The check can see a Pulumi module when one is loaded.
    expect(loaded(`require(${JSON.stringify(join(ROOT, 'build/pulumi/index.js'))});`).length).toBeGreaterThan(0);
  });
});

describe('the packed library', () => {
  // Packed once for the file, without its prepack build: beforeAll built build/ already.
  let work: string;
  let tarball: string;
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'qb-pack-'));
    tarball = join(work, execFileSync('npm', ['pack', '--silent', '--ignore-scripts', '--pack-destination', work], { cwd: ROOT, encoding: 'utf8' }).trim().split('\n').pop()!);
  });
  afterAll(() => { rmSync(work, { recursive: true, force: true }); });

  it('installs from its npm tarball and compiles a consumer chart that imports its constructs', () => {
    const consumer = join(work, 'consumer');
    try {
      execFileSync('mkdir', ['-p', consumer]);
      writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', version: '0.0.0', private: true }));
      const pinned = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).devDependencies;
      // Offline first: npm ci has filled the cache with the same pinned versions. The optional
      // Pulumi peers are not installed, so neither is anything they pull in.
      execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--silent', tarball,
        `typescript@${pinned.typescript}`, `@types/node@${pinned['@types/node']}`], { cwd: consumer, stdio: 'pipe' });
      expect(readdirSync(join(consumer, 'node_modules')).filter(d => d.startsWith('@pulumi') || d.startsWith('pulumi'))).toEqual([]);
      writeFileSync(join(consumer, 'tsconfig.json'), JSON.stringify({ compilerOptions: { strict: true, target: 'ES2022', module: 'commonjs', esModuleInterop: true, outDir: 'out', types: ['node'] } }));
      writeFileSync(join(consumer, 'main.ts'), `
import { App, Chart } from 'cdk8s';
import { AppService, CeleryWorker, MinIO, Postgres, Redis, QcatStack, QualityBillingStack, ENVIRONMENTS, SecretKeyRef, planCapacity, collectSizings } from 'quality-billing-infra';

const app = new App({ outdir: 'manifests' });
const chart = new Chart(app, 'my-team', { namespace: 'my-team' });
const db = new Postgres(chart, 'Db', { name: 'orders-db', tier: 'minimum', passwordSecret: SecretKeyRef.of('orders-db', 'password') });
const redis = new Redis(chart, 'Cache', { name: 'orders-cache', tier: 'minimum' });
new AppService(chart, 'Api', { name: 'orders-api', replicas: 2, settings: { image: 'orders:3.1.4', tier: 'minimum' } })
  .connectTo(db).connectTo(redis.cache);
new CeleryWorker(chart, 'Worker', { name: 'orders-worker', queues: ['default'], settings: { image: 'orders:3.1.4', tier: 'minimum' } }).connectTo(db);
new MinIO(chart, 'Files', { name: 'orders-files', tier: 'minimum', buckets: ['orders'] });
const plan = planCapacity(ENVIRONMENTS.staging, collectSizings(chart));
new QualityBillingStack(app, 'quality-billing', { environment: ENVIRONMENTS.dev });
new QcatStack(app, 'qcat', { environment: ENVIRONMENTS.dev });
app.synth();
console.log(plan.passed ? 'capacity PASS' : 'capacity FAIL');
`);
      execFileSync(join(consumer, 'node_modules/.bin/tsc'), ['-p', '.'], { cwd: consumer, stdio: 'pipe' });
      const out = execFileSync('node', ['out/main.js'], { cwd: consumer, encoding: 'utf8' });
      expect(out.trim()).toBe('capacity PASS');
      const manifests = readdirSync(join(consumer, 'manifests'));
      expect(manifests.sort()).toEqual(['my-team.k8s.yaml', 'qcat.k8s.yaml', 'quality-billing.k8s.yaml']);
      expect(readFileSync(join(consumer, 'manifests', 'my-team.k8s.yaml'), 'utf8')).toContain('name: orders-db');
      expect(readFileSync(join(consumer, 'manifests', 'my-team.k8s.yaml'), 'utf8')).toContain('name: orders-files');
      expect(existsSync(join(consumer, 'node_modules/quality-billing-infra/build/index.d.ts'))).toBe(true);

      // quality-billing-infra/pulumi resolves once the consumer has the peers (at runtime: linked
      // from this project's own install, the pinned versions, rather than installed again).
      mkdirSync(join(consumer, 'node_modules/@pulumi'));
      for (const peer of ['pulumi', 'kubernetes', 'aws', 'docker']) symlinkSync(join(ROOT, 'node_modules/@pulumi', peer), join(consumer, 'node_modules/@pulumi', peer), 'dir');
      const subpath = execFileSync('node', ['-e', "const p = require('quality-billing-infra/pulumi'); console.log(require.resolve('quality-billing-infra/pulumi'), typeof p.Cdk8sChart, typeof p.StackSecrets)"], { cwd: consumer, encoding: 'utf8' });
      expect(subpath.trim()).toBe(`${join(consumer, 'node_modules/quality-billing-infra/build/pulumi/index.js')} function function`);
    } finally { rmSync(consumer, { recursive: true, force: true }); }
  });

  it('runs examples/own-chart against the packed tarball: its tests (snapshot included) and its synth', () => {
    // The layout the example's package.json expects: the tarball two folders up.
    const example = join(work, 'examples', 'own-chart');
    try {
      cpSync(join(ROOT, 'examples', 'own-chart'), example, { recursive: true, filter: src => !/node_modules|[\\/]out$|manifests/.test(src) });
      execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--silent'], { cwd: example, stdio: 'pipe' });
      expect(existsSync(join(example, 'node_modules/@pulumi'))).toBe(false);
      // --ci: a snapshot that differs or is missing fails instead of being written.
      const test = spawnSync('npm', ['test', '--silent'], { cwd: example, encoding: 'utf8' });
      expect(test.stderr).toMatch(/Tests:\s+4 passed, 4 total/);
      expect(test.stderr).toMatch(/Snapshots:\s+1 passed, 1 total/);
      expect(test.status).toBe(0);
      execFileSync('npm', ['run', '--silent', 'synth'], { cwd: example, stdio: 'pipe' });
      expect(readFileSync(join(example, 'manifests', 'orders.k8s.yaml'), 'utf8')).toContain('name: orders-api');
    } finally { rmSync(join(work, 'examples'), { recursive: true, force: true }); }
  }, 300000);
});
