import { spawnSync } from 'child_process';
import { join } from 'path';
import { loadAll } from 'js-yaml';
import { drillPlan, main } from '../bin/drill';
import { expectValidationError } from './helpers';

/*
 * `npm run drill` as package.json starts it (transpile-only), for the exit codes and the lines it
 * prints; drillPlan in process for the objects.
 */
const ROOT = join(__dirname, '..');
const script: string = require('../package.json').scripts.drill;

function drill(...args: string[]) {
  const [command, ...pre] = script.split(' ');
  expect(command).toBe('node');
  return spawnSync(process.execPath, [...pre, ...args], { cwd: ROOT, encoding: 'utf8' });
}

describe('npm run drill', () => {
  it('prints the switchover\'s steps on stderr and its Job on stdout, exit 0', () => {
    const r = drill('--system', 'finance-ai', '--env', 'prod', '--kind', 'switchover', '--name', 'sw-1');
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/^The switchover drill of finance-ai \(prod\) runs, in order:\n1\. refuse while a backup Job of finance-ai runs .*\n2\. list the members of Patroni cluster finance-ai-postgres/);
    expect(r.stderr).toContain('3. patronictl switchover --leader <leader> --candidate <synchronous standby> --force finance-ai-postgres');
    expect(r.stderr).toMatch(/7\. write the record .* s3:\/\/finance-ai-backups\/prod\/drills\/switchover\/<UTC start>\//);
    const objects = loadAll(r.stdout) as any[];
    const job = objects.find(o => o.kind === 'Job');
    expect(job.metadata).toMatchObject({ name: 'sw-1', namespace: 'finance-ai' });
    expect(job.spec.template.spec.initContainers[0].command).toEqual(['bash', '/opt/drill/drill-budget.sh', '780', 'bash', '/opt/drill/switchover.sh']);
    expect(objects.map(o => o.kind).sort()).toEqual(['ConfigMap', 'Job', 'NetworkPolicy', 'NetworkPolicy', 'Role', 'RoleBinding', 'ServiceAccount']);
  });

  it('with --steps prints only the numbered steps, on stdout', () => {
    const r = drill('--system', 'finance-ai', '--env', 'staging', '--kind', 'service', '--steps');
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout.split('\n').filter(Boolean).map(l => l.slice(0, 3))).toEqual(['1. ', '2. ', '3. ']);
    expect(r.stdout).toContain('1. kubectl rollout restart deployment/finance-ai-api');
    expect(r.stdout).toContain('2. GET http://finance-ai-api:80/health answers 200');
  });

  it.each([
    [['--system', 'finance-ai', '--env', 'dev', '--kind', 'switchover'], 'drill:\nSystem "finance-ai", environment "dev": invalid kind "switchover": expected no drill here: environment "dev" of finance-ai runs PostgreSQL without Patroni standbys (postgresStandbys 0, 1 member), so there is no standby to switch over to\n'],
    [['--system', 'finance-ai', '--env', 'prod', '--kind', 'failover'], 'drill:\nSystem "finance-ai", environment "prod": invalid kind "failover": expected a drill kind, one of "switchover", "restore", "service" (known kinds: switchover, restore, service)\n'],
    [['--system', 'finance-ai', '--env', 'prod', '--knd', 'restore'], 'drill: unknown flag --knd (did you mean --kind?); allowed: --system VALUE, --env VALUE, --kind VALUE, --candidate VALUE, --name VALUE, --steps, --verbose\n'],
    [['--system', 'finance-ai', '--env', 'prod'], 'drill: --kind is required (e.g. npm run drill -- --system finance-ai --env staging --kind switchover)\n'],
    [['--system', 'finance-ai', '--env', 'prod', '--kind', 'service', '--candidate', 'finance-ai-postgres-1'], 'drill:\nSystem "finance-ai", environment "prod": invalid candidate "finance-ai-postgres-1": expected no --candidate: only a switchover drill has one\n'],
  ])('%j: the error on stderr, nothing on stdout, exit 1', (args, text) => {
    const r = drill(...args);
    expect(r.stderr).toBe(text);
    expect(r.stdout).toBe('');
    expect(r.status).toBe(1);
  });
});

describe('drillPlan', () => {
  it('emits the restore drill as a one-off run of the restore test\'s pod, with a name and policy of its own', () => {
    const { steps, objects } = drillPlan({ system: 'qcat', env: 'prod', kind: 'restore', jobName: 'qcat-restore-now' }, new Date('2026-11-25T06:40:00Z'));
    expect(steps).toHaveLength(3);
    const job = objects.find(o => o.kind === 'Job')!;
    expect(job.metadata.name).toBe('qcat-restore-now');
    const pod = job.spec.template.spec;
    expect(pod.initContainers.map((c: any) => c.name)).toEqual(['fetch', 'restore']);
    expect(pod.containers.map((c: any) => c.name)).toEqual(['record']);
    expect(objects.find(o => o.kind === 'NetworkPolicy')!.metadata.name).toBe('qcat-drill-restore');
    expect(drillPlan({ system: 'qcat', env: 'prod', kind: 'restore' }, new Date('2026-11-25T06:40:00Z')).objects.find(o => o.kind === 'Job')!.metadata.name).toBe('qcat-drill-restore-20261125t0640');
  });

  it('names the candidate a switchover hands the primary to', () => {
    const { steps, objects } = drillPlan({ system: 'quality-billing', env: 'staging', kind: 'switchover', candidate: 'quality-billing-postgres-0' });
    expect(steps[2]).toBe('patronictl switchover --leader <leader> --candidate quality-billing-postgres-0 --force quality-billing-postgres');
    const env = objects.find(o => o.kind === 'Job')!.spec.template.spec.initContainers[0].env;
    expect(env).toContainEqual({ name: 'CANDIDATE', value: 'quality-billing-postgres-0' });
  });

  it('plans merchant-analysis\'s service drill (MongoDB, no Patroni): its five Deployments restarted, each /health asked', () => {
    const { steps, objects } = drillPlan({ system: 'merchant-analysis', env: 'prod', kind: 'service', jobName: 'ma-svc-1' });
    const job = objects.find(o => o.kind === 'Job')!;
    expect(job.metadata.name).toBe('ma-svc-1');
    const env = Object.fromEntries(job.spec.template.spec.initContainers[0].env.map((e: any) => [e.name, e.value]));
    const apps = ['api-gateway', 'data-simulator', 'cashflow-predictor', 'cost-analyzer', 'compliance-checker'].map(a => `merchant-analysis-${a}`);
    expect(env.DEPLOYMENTS.split(' ').sort()).toEqual([...apps].sort());
    expect(env.HEALTH_URLS.split(' ')).toHaveLength(5);
    expect(objects.find(o => o.kind === 'Role')!.rules).toEqual([{ apiGroups: ['apps'], resources: ['deployments'], resourceNames: env.DEPLOYMENTS.split(' '), verbs: ['get', 'patch'] }]);
    expect(steps.join('\n')).toContain('s3://merchant-analysis-backups/prod/drills/service/');
  });

  it('refuses a switchover and a PostgreSQL restore in merchant-analysis (no Patroni), and any drill where there are no backups', () => {
    expectValidationError(() => drillPlan({ system: 'merchant-analysis', env: 'prod', kind: 'switchover' }), { path: 'System "merchant-analysis", environment "prod"', field: 'kind', value: 'switchover', allowed: /^one of "service": .*without Patroni/ });
    expectValidationError(() => drillPlan({ system: 'merchant-analysis', env: 'prod', kind: 'restore' }), { field: 'kind', value: 'restore', allowed: /runs no PostgreSQL/ });
    expectValidationError(() => drillPlan({ system: 'merchant-analysis', env: 'dev', kind: 'service' }), { field: 'kind', value: 'service', allowed: /no backups/ });
    expectValidationError(() => drillPlan({ system: 'qcat', env: 'dev', kind: 'restore' }), { field: 'kind', value: 'restore', allowed: /no backups/ });
  });

  it('main returns 1 for an unknown system', () => {
    const error = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    expect(main(['--system', 'billing', '--env', 'prod', '--kind', 'service'])).toBe(1);
    expect(error.mock.calls.map(c => c.join(' ')).join('\n')).toContain('invalid name "billing": expected one of "quality-billing"');
    error.mockRestore();
  });
});
