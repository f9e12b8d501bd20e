import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { synthAll } from '../bin/synth';
import { defineEnvironment, ENVIRONMENTS } from '../lib/environments';
import { CapacityError } from '../lib/errors';

describe('synthAll', () => {
  let work: string;
  beforeEach(() => { work = mkdtempSync(join(tmpdir(), 'qb-synth-')); });
  afterEach(() => rmSync(work, { recursive: true, force: true }));

  it('writes one manifest per environment under <outdir>/<env>/', () => {
    const files = synthAll(join(work, 'dist')).map(r => r.file);
    expect(files.map(f => f.slice(work.length + 1))).toEqual(['dist/dev/quality-billing.k8s.yaml', 'dist/staging/quality-billing.k8s.yaml', 'dist/prod/quality-billing.k8s.yaml']);
    expect(readFileSync(files[0], 'utf8')).toMatch(/^kind: Namespace$/m);
  });

  it('leaves the previous output exactly as it was when an environment fails', () => {
    const dist = join(work, 'dist');
    mkdirSync(join(dist, 'dev'), { recursive: true });
    writeFileSync(join(dist, 'dev', 'quality-billing.k8s.yaml'), 'previous\n');
    const oversized = defineEnvironment({ name: 'oversized', nodes: 1, appReplicas: 40 });
    expect(() => synthAll(dist, [ENVIRONMENTS.dev, oversized])).toThrow(CapacityError);
    expect(readdirSync(dist)).toEqual(['dev']);
    expect(readFileSync(join(dist, 'dev', 'quality-billing.k8s.yaml'), 'utf8')).toBe('previous\n');
    expect(readdirSync(work)).toEqual(['dist']);
  });

  it('replaces only the requested environments\' folders when given a subset', () => {
    const dist = join(work, 'dist');
    synthAll(dist);
    writeFileSync(join(dist, 'dev', 'quality-billing.k8s.yaml'), 'kept\n');
    const [prod] = synthAll(dist, [ENVIRONMENTS.prod]);
    expect(readFileSync(join(dist, 'dev', 'quality-billing.k8s.yaml'), 'utf8')).toBe('kept\n');
    expect(readFileSync(prod.file, 'utf8')).toMatch(/^kind: Namespace$/m);
    expect(prod.objects).toBe(Object.values(prod.kinds).reduce((a, b) => a + b, 0));
    expect(prod.kinds.Deployment).toBeGreaterThan(0);
  });

  it('replaces a previous output completely when it succeeds', () => {
    const dist = join(work, 'dist');
    mkdirSync(join(dist, 'stale-env'), { recursive: true });
    synthAll(dist);
    expect(readdirSync(dist).sort()).toEqual(['dev', 'prod', 'staging']);
    expect(existsSync(join(dist, 'stale-env'))).toBe(false);
  });
});

describe('the manifest writer', () => {
  it('writes YAML that parses to exactly the objects cdk8s synthesizes, in the same order', () => {
    const { App: CdkApp } = require('cdk8s');
    const { QualityBillingStack } = require('../stacks/quality-billing-stack');
    const { manifestYaml } = require('../bin/synth');
    const { parseAllDocuments } = require('yaml');
    for (const env of Object.values(ENVIRONMENTS)) {
      const stack = new QualityBillingStack(new CdkApp(), 'quality-billing', { environment: env });
      // Parsed as YAML 1.1, as kubectl's and PyYAML's parsers read it.
      const parsed = parseAllDocuments(manifestYaml(stack), { version: '1.1' }).map((d: any) => d.toJSON());
      expect(parsed).toEqual(stack.toJson());
    }
  });
});
