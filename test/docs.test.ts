import { readFileSync } from 'fs';
import { join } from 'path';
import { execFileSync } from 'child_process';
import { mkdtempSync, rmSync, statSync } from 'fs';
import { tmpdir } from 'os';
import { architectureMermaid, architecturePage, capacityChart, capacityTable, secretInventory, secretsPage, withCapacityTables } from '../bin/docs';
import { SEED_EXAMPLE_SECRETS } from '../lib/secrets';
import { secretRequirements } from '../pulumi/secret-requirements';
import { EXTERNAL_SECRETS_VARIANTS, synthChart } from './helpers';
import { shippedSystem, SYSTEMS } from '../stacks/systems';
import { capacityChartSpec } from '../bin/capacity-chart';
import { ENVIRONMENTS } from '../lib/environments';
import { synthStack } from './helpers';
import { isPostgresSystem } from '../stacks/system-stack';

describe('architecture diagrams', () => {
  it.each(SYSTEMS.flatMap(sys => [ENVIRONMENTS.prod, ENVIRONMENTS.staging].map(e => [sys.name, e.name, sys, e] as const)))('docs/%s/architecture-%s.md is current (run npm run docs)', (sysName, name, sys, env) => {
    const committed = readFileSync(join(__dirname, '..', 'docs', sysName, `architecture-${name}.md`), 'utf8');
    expect(committed).toBe(architecturePage(sys, env));
  });

  it('draws each system\'s own parts: QCAT\'s config export, ai-bookkeeping\'s standby API and MinIO', () => {
    const qcat = architecturePage(shippedSystem('qcat'), ENVIRONMENTS.prod);
    expect(qcat).toContain('qcat_config_backup ==>|weekly configuration export| object_storage');
    expect(qcat).toContain('qcat_edge -->|8082| qcat_api');
    const aib = architecturePage(shippedSystem('ai-bookkeeping'), ENVIRONMENTS.prod);
    expect(aib).toContain('ai_bookkeeping_edge -->|8001| ai_bookkeeping_api_backup');
    expect(aib).toContain('ai_bookkeeping_admin -->|9000| ai_bookkeeping_minio');
    const fin = architecturePage(shippedSystem('finance-ai'), ENVIRONMENTS.prod);
    expect(fin).toContain('internet -->|8000| finance_ai_api');
    expect(fin).toContain('ns__ingress_nginx -->|8000| finance_ai_api');
  });

  it('draws every declared connection, the edge and the scrapes', () => {
    const mermaid = architectureMermaid(synthStack(ENVIRONMENTS.prod).objects);
    expect(mermaid).toContain('quality_billing_edge -->|8000| quality_billing_api');
    // In prod the API reaches PostgreSQL through PgBouncer; the migration Job directly.
    expect(mermaid).toContain('quality_billing_api -->|6432| quality_billing_pgbouncer');
    expect(mermaid).toContain('quality_billing_pgbouncer -->|5432| quality_billing_postgres');
    expect(mermaid).not.toContain('quality_billing_api -->|5432| quality_billing_postgres');
    expect(mermaid).toContain('quality_billing_prometheus -.->|9127| quality_billing_pgbouncer');
    expect(mermaid).toContain('internet -->|8080,8443| quality_billing_edge');
    expect(mermaid).toContain('quality_billing_prometheus -.->|9187| quality_billing_postgres');
    expect(mermaid).toContain('quality_billing_filebeat -->|9200| quality_billing_elasticsearch');
  });

  it('draws the backups going to the bucket', () => {
    const page = architecturePage(shippedSystem('quality-billing'), ENVIRONMENTS.prod);
    expect(page).toContain('quality_billing_postgres_backup ==>|pg_dump daily| object_storage');
    expect(page).toContain('quality_billing_postgres ==>|WAL + full/incr, pgBackRest| object_storage');
    expect(page).toContain('object_storage[("s3://quality-billing-backups/prod/postgres")]');
  });

  it('shows the ingress controller instead of the edge where the environment uses an Ingress', () => {
    const mermaid = architectureMermaid(synthStack(ENVIRONMENTS.staging).objects);
    expect(mermaid).toContain('ns__ingress_nginx -->|8000| quality_billing_api');
    expect(mermaid).not.toContain('quality_billing_edge');
  });
});

describe('Secrets inventory', () => {
  it.each(SYSTEMS.map(s => [s.name, s] as const))('docs/%s/secrets.md is current (run npm run docs)', (name, sys) => {
    expect(readFileSync(join(__dirname, '..', 'docs', name, 'secrets.md'), 'utf8')).toBe(secretsPage(sys));
  });

  it.each(SYSTEMS.map(s => [s.name, s] as const))('%s: lists every key each environment reads, with its readers, the config key and the kubectl line', (_name, sys) => {
    const page = secretsPage(sys);
    for (const env of Object.values(ENVIRONMENTS)) {
      for (const r of secretRequirements(synthChart(sys.name, env).stack)) {
        const section = page.split('\n## ').find(x => x.startsWith(`\`${r.secret}\` (namespace \`${r.namespace}\``)) ?? '';
        const row = section.split('\n').find(l => l.startsWith(`| \`${r.key}\` |`) && l.includes(`/<environment>/${r.secret}\``));
        expect({ secret: r.secret, key: r.key, row: row !== undefined }).toEqual({ secret: r.secret, key: r.key, row: true });
        for (const reader of r.readBy.filter(b => !b.startsWith('Job/'))) expect(row).toContain(reader);
        expect(row!.includes(`pulumi config set --secret ${r.configKey} <value>`) || row!.includes('computed from')).toBe(true);
        expect(page).toContain(`kubectl -n ${r.namespace} create secret ${r.type === 'kubernetes.io/tls' ? 'tls' : 'generic'} ${r.secret} `);
      }
    }
    for (const example of SEED_EXAMPLE_SECRETS) expect(page).not.toContain(example);
    expect(page).not.toMatch(/--from-literal=[^ ]+=(?!<value>)/);
  });

  it.each(EXTERNAL_SECRETS_VARIANTS)('%s: the remote keys it names are the ones the ExternalSecrets read', (_label, system, env, props) => {
    const page = secretsPage(SYSTEMS.find(s => s.name === system)!);
    const { objects } = synthChart(system, env, props);
    const refs = objects.filter(o => o.kind === 'ExternalSecret').flatMap(o => o.spec.data.map((d: any) => d.remoteRef));
    expect(refs.length).toBeGreaterThan(5);
    for (const ref of refs) expect(page).toContain(`\`${ref.key.replace(`/${env.name}/`, '/<environment>/')}\` property \`${ref.property}\``);
  });

  it.each(SYSTEMS.map(s => [s.name, s] as const))('%s: asks no config for a database URL the Pulumi program computes, direct or through PgBouncer, in any environment', (_name, sys) => {
    const page = secretsPage(sys);
    let checked = 0;
    for (const env of Object.values(ENVIRONMENTS)) {
      const stack = synthChart(sys.name, env).stack;
      if (!isPostgresSystem(stack)) continue;
      // The program fills these from the password (bin/pulumi-program.ts), whatever the docs code thinks.
      for (const ref of [stack.postgres.connection.urlSecret, ...stack.pooler ? [stack.pooler.urlSecret] : []]) {
        const section = page.split('\n## ').find(x => x.startsWith(`\`${ref.secretName}\` (namespace`)) ?? '';
        const row = section.split('\n').find(l => l.startsWith(`| \`${ref.key}\` |`));
        expect({ env: env.name, key: ref.key, row }).toEqual({ env: env.name, key: ref.key, row: expect.stringContaining('computed from') });
        expect(row).not.toContain('pulumi config set');
        checked++;
      }
    }
    if (sys.name !== 'merchant-analysis') expect(checked).toBeGreaterThan(Object.keys(ENVIRONMENTS).length);
  });

  it('names the environments a key is read in: Filebeat\'s password only where logs are shipped', () => {
    const row = secretInventory(shippedSystem('quality-billing')).find(r => r.namespace === 'quality-billing-logging' && r.key === 'elastic-password')!;
    expect(row.environments).toEqual(['staging', 'prod']);
    expect(row.readBy).toEqual(['DaemonSet/quality-billing-filebeat']);
  });
});

describe('capacity charts', () => {
  it.each(SYSTEMS.flatMap(sys => Object.values(ENVIRONMENTS).map(e => [sys.name, e.name, sys, e] as const)))('docs/%s/capacity-%s.svg is current (run npm run docs)', async (sysName, name, sys, env) => {
    const committed = readFileSync(join(__dirname, '..', 'docs', sysName, `capacity-${name}.svg`), 'utf8');
    expect(committed).toBe(await capacityChart(sys, env));
  });

  it('the README\'s capacity table of every system is current (run npm run docs)', () => {
    const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');
    expect(withCapacityTables(readme)).toBe(readme);
    for (const sys of SYSTEMS) expect(readme).toContain(capacityTable(sys));
  });

  it('stacks every workload\'s requests and limits against allocatable, with the N-1 line only where a node may be lost', () => {
    const prod = synthStack(ENVIRONMENTS.prod).stack.capacity;
    const spec = capacityChartSpec(prod) as any;
    const [cpu] = spec.vconcat;
    const bars = cpu.layer[0].data.values;
    expect(new Set(bars.map((b: any) => b.workload)).size).toBe(prod.rows.length);
    const total = bars.filter((b: any) => b.measure === 'requests').reduce((a: number, b: any) => a + b.value, 0);
    expect(total).toBeCloseTo(prod.rows.reduce((a, r) => a + r.totalCpuRequest, 0) / 1000, 6);
    expect(cpu.layer[1].data.values.map((l: any) => l.label)).toEqual(['allocatable, 3 node(s)', 'N-1: 2 node(s)']);
    const dev = capacityChartSpec(synthStack(ENVIRONMENTS.dev).stack.capacity) as any;
    expect(dev.vconcat[0].layer[1].data.values.map((l: any) => l.label)).toEqual(['allocatable, 1 node(s)']);
  });

  it('renders to PNG with a real SVG renderer (rsvg-convert)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'qb-chart-'));
    try {
      for (const [sys, name] of SYSTEMS.flatMap(s => Object.keys(ENVIRONMENTS).map(e => [s.name, e]))) {
        const png = join(dir, `${sys}-${name}.png`);
        execFileSync('rsvg-convert', ['-o', png, join(__dirname, '..', 'docs', sys, `capacity-${name}.svg`)]);
        const bytes = readFileSync(png);
        expect(bytes.subarray(1, 4).toString()).toBe('PNG');
        expect(bytes.readUInt32BE(16)).toBeGreaterThan(600); // width
        expect(statSync(png).size).toBeGreaterThan(20000);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
