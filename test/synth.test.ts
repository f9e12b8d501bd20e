import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { synthAll } from '../stacks/synth-all';
import { defineEnvironment, ENVIRONMENTS } from '../lib/environments';
import { CapacityError } from '../lib/errors';
import { shippedSystem } from '../stacks/systems';

describe('synthAll', () => {
  let work: string;
  beforeEach(() => { work = mkdtempSync(join(tmpdir(), 'qb-synth-')); });
  afterEach(() => rmSync(work, { recursive: true, force: true }));

  it('writes one manifest per system and environment under <outdir>/<system>/<env>/', () => {
    const files = synthAll(join(work, 'dist')).map(r => r.file);
    expect(files.map(f => f.slice(work.length + 1))).toEqual(['quality-billing', 'qcat', 'finance-ai', 'merchant-analysis', 'ai-bookkeeping']
      .flatMap(sys => ['dev', 'staging', 'prod'].map(env => `dist/${sys}/${env}/${sys}.k8s.yaml`)));
    for (const f of files) expect(readFileSync(f, 'utf8')).toMatch(/^kind: Namespace$/m);
  });

  it('synthesizes only the systems asked for', () => {
    const results = synthAll(join(work, 'dist'), [ENVIRONMENTS.dev], [shippedSystem('qcat')]);
    expect(results.map(r => [r.system, r.environment])).toEqual([['qcat', 'dev']]);
    expect(readdirSync(join(work, 'dist'))).toEqual(['qcat']);
  });

  it('leaves the previous output exactly as it was when an environment fails', () => {
    const dist = join(work, 'dist');
    mkdirSync(join(dist, 'quality-billing', 'dev'), { recursive: true });
    writeFileSync(join(dist, 'quality-billing', 'dev', 'quality-billing.k8s.yaml'), 'previous\n');
    const oversized = defineEnvironment({ name: 'oversized', nodes: 1, appReplicas: 40 });
    expect(() => synthAll(dist, [ENVIRONMENTS.dev, oversized])).toThrow(CapacityError);
    expect(readdirSync(dist)).toEqual(['quality-billing']);
    expect(readdirSync(join(dist, 'quality-billing'))).toEqual(['dev']);
    expect(readFileSync(join(dist, 'quality-billing', 'dev', 'quality-billing.k8s.yaml'), 'utf8')).toBe('previous\n');
    expect(readdirSync(work)).toEqual(['dist']);
  });

  it('replaces only the requested environments\' folders when given a subset', () => {
    const dist = join(work, 'dist');
    synthAll(dist);
    writeFileSync(join(dist, 'quality-billing', 'dev', 'quality-billing.k8s.yaml'), 'kept\n');
    writeFileSync(join(dist, 'qcat', 'prod', 'qcat.k8s.yaml'), 'kept\n');
    const [prod] = synthAll(dist, [ENVIRONMENTS.prod], [shippedSystem('quality-billing')]);
    expect(readFileSync(join(dist, 'quality-billing', 'dev', 'quality-billing.k8s.yaml'), 'utf8')).toBe('kept\n');
    expect(readFileSync(join(dist, 'qcat', 'prod', 'qcat.k8s.yaml'), 'utf8')).toBe('kept\n');
    expect(readFileSync(prod.file, 'utf8')).toMatch(/^kind: Namespace$/m);
    expect(prod.objects).toBe(Object.values(prod.kinds).reduce((a, b) => a + b, 0));
    expect(prod.kinds.Deployment).toBeGreaterThan(0);
  });

  it('replaces a previous output completely when it succeeds', () => {
    const dist = join(work, 'dist');
    mkdirSync(join(dist, 'stale-env'), { recursive: true });
    synthAll(dist);
    expect(readdirSync(dist).sort()).toEqual(['ai-bookkeeping', 'finance-ai', 'merchant-analysis', 'qcat', 'quality-billing']);
    expect(readdirSync(join(dist, 'qcat')).sort()).toEqual(['dev', 'prod', 'staging']);
    expect(existsSync(join(dist, 'stale-env'))).toBe(false);
  });
});

describe('the manifest writer', () => {
  it('writes YAML that parses to exactly the objects cdk8s synthesizes, in the same order', () => {
    const { App: CdkApp } = require('cdk8s');
    const { QualityBillingStack } = require('../stacks/quality-billing-stack');
    const { manifestYaml } = require('../stacks/synth-all');
    const { parseAllDocuments } = require('yaml');
    for (const env of Object.values(ENVIRONMENTS)) {
      const stack = new QualityBillingStack(new CdkApp(), 'quality-billing', { environment: env });
      // Parsed as YAML 1.1, as kubectl's and PyYAML's parsers read it.
      const parsed = parseAllDocuments(manifestYaml(stack), { version: '1.1' }).map((d: any) => d.toJSON());
      expect(parsed).toEqual(stack.toJson());
    }
  });
});
