import { spawnSync } from 'child_process';
import { readFileSync } from 'fs';
import { load, loadAll } from 'js-yaml';
import { dump } from 'js-yaml';
import { join } from 'path';
import { Construct } from 'constructs';
import { main, restoreObjects, RestoreRequest } from '../bin/restore';
import { ENVIRONMENTS, EnvironmentSpec } from '../lib/environments';
import { MONGODB_RESTORE, POSTGRES_RESTORE, RESTORE_TARGETS, restoreTarget, RestoreTarget } from '../stacks/restore-targets';
import { SYSTEMS } from '../stacks/systems';
import { expectValidationError, K8sObject, modelClass, podSpec, synthChart } from './helpers';

/*
 * `npm run restore`: every system × store of RESTORE_TARGETS emits a Job that reads what the
 * deployed stack writes (Secrets, bucket and prefix, images, claims, ConfigMaps, pods it talks to);
 * every bad input is one message naming the value and what is allowed; quality-billing's output is
 * byte-identical to the command's before --system (fixtures written by a83a845); the README's
 * runbook commands run as written.
 */

const ROOT = join(__dirname, '..');
const NOW = new Date('2026-11-25T06:40:00Z');
/** Prod brought to one PostgreSQL member, as the point-in-time restore's error asks. */
const ONE_MEMBER: EnvironmentSpec = { ...ENVIRONMENTS.prod, postgresStandbys: 0, survivesNodeLoss: false };
const yaml = (objects: Record<string, any>[]) => objects.map(o => dump(o, { noRefs: true, lineWidth: -1 })).join('---\n');

/** Runs `main` with Date fixed at NOW; stdout, stderr lines and the exit code. */
function runMain(argv: string[]): { code: number; stdout: string; stderr: string } {
  jest.useFakeTimers({ now: NOW, doNotFake: ['nextTick', 'setImmediate', 'setTimeout', 'setInterval', 'clearTimeout', 'clearInterval', 'clearImmediate', 'queueMicrotask', 'hrtime', 'performance'] });
  let stdout = '';
  const errors: string[] = [];
  const out = jest.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => { stdout += String(s); return true; });
  const err = jest.spyOn(console, 'error').mockImplementation((m: string) => { errors.push(String(m)); });
  try {
    const code = main(argv);
    return { code, stdout, stderr: errors.join('\n') };
  } finally {
    out.mockRestore();
    err.mockRestore();
    jest.useRealTimers();
  }
}

/** Every `{ name, key }` of a secretKeyRef below `value`. */
function secretRefs(value: unknown, found = new Set<string>()): Set<string> {
  if (Array.isArray(value)) value.forEach(v => secretRefs(v, found));
  else if (value && typeof value === 'object') {
    const o = value as Record<string, any>;
    if (o.secretKeyRef) found.add(`${o.secretKeyRef.name}/${o.secretKeyRef.key}`);
    Object.values(o).forEach(v => secretRefs(v, found));
  }
  return found;
}

const containersOf = (o: K8sObject): any[] => [...(podSpec(o).initContainers ?? []), ...podSpec(o).containers];
const envValues = (c: any): Record<string, string | undefined> => Object.fromEntries((c.env ?? []).filter((e: any) => e.value !== undefined).map((e: any) => [e.name, e.value]));
const podLabels = (o: K8sObject): Record<string, string> => (o.kind === 'CronJob' ? o.spec.jobTemplate.spec.template : o.spec.template).metadata?.labels ?? {};
const selects = (selector: Record<string, string>, labels: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);

/**
 * The restore's objects against the deployed stack's: what a Job applied beside the deployment
 * needs to find there. Store-independent, so an entry added to RESTORE_TARGETS is held to it too.
 */
function expectMatchesDeployment(restore: K8sObject[], deployed: K8sObject[]): void {
  const namespace = deployed.find(o => o.kind === 'Deployment' || o.kind === 'StatefulSet')!.metadata.namespace;
  const jobs = restore.filter(o => o.kind === 'Job');
  expect(jobs).toHaveLength(1);
  const job = jobs[0];
  for (const o of restore) {
    expect(o.metadata.namespace).toBe(namespace);
    new (modelClass(o))(o).validate();
  }
  // Secrets: every key the restore reads is one the deployment reads (created out of band, or by Pulumi).
  const deployedSecrets = secretRefs(deployed);
  for (const ref of secretRefs(restore)) expect([ref, deployedSecrets.has(ref)]).toEqual([ref, true]);
  // Images: the deployment's own (the tools match the servers).
  const deployedImages = new Set(deployed.filter(o => podSpecOrUndefined(o)).flatMap(o => containersOf(o).map(c => c.image)));
  for (const c of containersOf(job)) expect([c.name, deployedImages.has(c.image)]).toEqual([c.name, true]);
  // Bucket, prefix, endpoint and kind: a backup CronJob of the deployment uploads exactly there.
  const storageKeys = ['S3_BUCKET', 'S3_PREFIX', 'S3_ENDPOINT', 'BACKUP_KIND'];
  for (const c of containersOf(job).filter(x => envValues(x).S3_BUCKET !== undefined)) {
    const wanted = storageKeys.map(k => envValues(c)[k]);
    const writers = deployed.filter(o => o.kind === 'CronJob').flatMap(o => containersOf(o)).filter(x => storageKeys.every((k, i) => envValues(x)[k] === wanted[i]));
    expect([c.name, wanted, writers.length > 0]).toEqual([c.name, wanted, true]);
  }
  // pgBackRest's repository: the one the server archives to.
  for (const c of containersOf(job)) {
    const repo = Object.entries(envValues(c)).filter(([k]) => k.startsWith('PGBACKREST_REPO1_'));
    if (!repo.length) continue;
    const server = deployed.filter(o => o.kind === 'StatefulSet').flatMap(o => containersOf(o)).find(x => repo.every(([k, v]) => envValues(x)[k] === v));
    expect([c.name, server !== undefined]).toEqual([c.name, true]);
  }
  // Claims: a StatefulSet member's volume; ConfigMaps: the deployment's or the restore's own.
  const claims = new Set(deployed.filter(o => o.kind === 'StatefulSet').flatMap(s => (s.spec.volumeClaimTemplates ?? []).flatMap((t: any) =>
    Array.from({ length: s.spec.replicas ?? 1 }, (_, i) => `${t.metadata.name}-${s.metadata.name}-${i}`))));
  const configMaps = new Set([...deployed, ...restore].filter(o => o.kind === 'ConfigMap').map(o => o.metadata.name));
  for (const v of podSpec(job).volumes ?? []) {
    if (v.persistentVolumeClaim) expect([v.persistentVolumeClaim.claimName, claims.has(v.persistentVolumeClaim.claimName)]).toEqual([v.persistentVolumeClaim.claimName, true]);
    if (v.configMap) expect([v.configMap.name, configMaps.has(v.configMap.name)]).toEqual([v.configMap.name, true]);
  }
  // NetworkPolicies: the Job's own policy selects its pods; every pod it may reach, or admits it on, is a deployed workload's.
  const deployedPods = deployed.filter(o => podSpecOrUndefined(o)).map(podLabels);
  const policies = restore.filter(o => o.kind === 'NetworkPolicy');
  expect(policies.some(p => selects(p.spec.podSelector.matchLabels, podLabels(job)))).toBe(true);
  for (const p of policies) {
    const peers = [...(p.spec.egress ?? []).flatMap((r: any) => r.to), ...(p.spec.ingress ?? []).flatMap((r: any) => r.from)].filter((x: any) => x.podSelector);
    for (const peer of peers) {
      const self = selects(peer.podSelector.matchLabels, podLabels(job));
      expect([p.metadata.name, peer.podSelector.matchLabels, self || deployedPods.some(l => selects(peer.podSelector.matchLabels, l))]).toEqual([p.metadata.name, peer.podSelector.matchLabels, true]);
    }
    if (!selects(p.spec.podSelector.matchLabels, podLabels(job))) expect(deployedPods.some(l => selects(p.spec.podSelector.matchLabels, l))).toBe(true);
  }
}

function podSpecOrUndefined(o: K8sObject): unknown {
  return ['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob'].includes(o.kind) ? podSpec(o) : undefined;
}

describe('npm run restore: every system × store', () => {
  const combinations = RESTORE_TARGETS.flatMap(t => t.systems.map(system => [system, t.store] as const));

  it('covers every shipped system with a store (the five seeds)', () => {
    expect(new Set(combinations.map(([system]) => system))).toEqual(new Set(SYSTEMS.map(s => s.name)));
  });

  it.each(combinations)('%s --store %s, prod: a Job reading what the deployment writes', (system, store) => {
    const restore = restoreObjects({ env: 'prod', system, store }, NOW) as K8sObject[];
    expectMatchesDeployment(restore, synthChart(system, ENVIRONMENTS.prod).objects);
    // The default store is the first entry listing the system: the same objects without --store.
    if (restoreTarget(system).store === store) expect(restoreObjects({ env: 'prod', system }, NOW)).toEqual(restore);
  });

  it.each(['quality-billing', 'qcat', 'finance-ai'])('%s --pitr, prod brought to one member: the Job writes the server\'s claim from its repository', system => {
    const restore = restoreObjects({ env: 'prod', system, pitr: 'time:2026-11-25 10:00:00+08', stackProps: { environment: ONE_MEMBER } }, NOW) as K8sObject[];
    expectMatchesDeployment(restore, synthChart(system, ONE_MEMBER).objects);
    const job = restore.find(o => o.kind === 'Job')!;
    expect(job.metadata.name).toBe(`${system}-postgres-pitr-restore-20261125t0640`);
    expect(podSpec(job).volumes.find((v: any) => v.persistentVolumeClaim).persistentVolumeClaim.claimName).toBe(`data-${system}-postgres-0`);
  });

  it('merchant-analysis: the MongoDB Job fetches the mongodb dumps of its bucket and restores into the asked database', () => {
    const restore = restoreObjects({ env: 'staging', system: 'merchant-analysis', backup: '20261125T020000Z', targetDatabase: 'merchant_analysis_restored', replace: true }, NOW) as K8sObject[];
    expectMatchesDeployment(restore, synthChart('merchant-analysis', ENVIRONMENTS.staging).objects);
    expect(restore.map(o => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      'ConfigMap/merchant-analysis-mongodb-restore-scripts',
      'Job/merchant-analysis-mongodb-restore-20261125t0640',
      'NetworkPolicy/merchant-analysis-mongodb-restore',
      'NetworkPolicy/merchant-analysis-mongodb-restore-to-merchant-analysis-mongodb',
    ]);
    const job = restore.find(o => o.kind === 'Job')!;
    const [fetch, mongo] = containersOf(job);
    expect(envValues(fetch)).toMatchObject({ S3_BUCKET: 'merchant-analysis-backups', S3_PREFIX: 'staging', BACKUP_KIND: 'mongodb', BACKUP_ID: '20261125T020000Z' });
    expect(envValues(mongo)).toMatchObject({ SOURCE_DATABASE: 'merchant_analysis', TARGET_DATABASE: 'merchant_analysis_restored', REPLACE: 'true' });
    expect(job.spec).toMatchObject({ backoffLimit: 0, ttlSecondsAfterFinished: 7 * 86400 });
  });
});

describe('npm run restore: quality-billing as before --system', () => {
  it.each([
    ['prod', ['--env', 'prod']],
    ['prod-backup-replace', ['--env', 'prod', '--backup', '20261125T020000Z', '--replace']],
    ['prod-target-database', ['--env', 'prod', '--target-database', 'quality_billing_restored']],
    ['staging-name', ['--env', 'staging', '--name', 'my-restore', '--backup', 'latest']],
  ])('%s: the same bytes as a83a845 printed, and the same with --system quality-billing --store postgres', (fixture, argv) => {
    const before = readFileSync(join(__dirname, 'fixtures', 'restore', `quality-billing-${fixture}.yaml`), 'utf8');
    expect(runMain(argv)).toEqual({ code: 0, stdout: before, stderr: '' });
    expect(runMain([...argv, '--system', 'quality-billing', '--store', 'postgres']).stdout).toBe(before);
  });

  it('the point-in-time restore of prod brought to one member: the same bytes as a83a845 built', () => {
    const before = readFileSync(join(__dirname, 'fixtures', 'restore', 'quality-billing-prod-one-member-pitr.yaml'), 'utf8');
    expect(yaml(restoreObjects({ env: 'prod', stackProps: { environment: ONE_MEMBER }, pitr: 'time:2026-11-25 10:00:00+08' }, NOW))).toBe(before);
  });
});

describe('npm run restore: bad input', () => {
  it.each<[string, string[], RegExp]>([
    ['an unknown system', ['--env', 'prod', '--system', 'billing'], /System: invalid name "billing": expected one of "quality-billing", "qcat", "finance-ai", "merchant-analysis", "ai-bookkeeping"/],
    ['an unknown store', ['--env', 'prod', '--store', 'cassandra'], new RegExp(`npm run restore: invalid --store "cassandra": expected one of ${RESTORE_TARGETS.map(t => `"${t.store}"`).join(', ')}$`)],
    ['a store the system does not have (qcat, mongodb)', ['--env', 'prod', '--system', 'qcat', '--store', 'mongodb'], /System "qcat": invalid store "mongodb": expected a store qcat has: "postgres" \(mongodb is in merchant-analysis\)/],
    ['a store the system does not have (merchant-analysis, postgres)', ['--env', 'prod', '--system', 'merchant-analysis', '--store', 'postgres'], /System "merchant-analysis": invalid store "postgres": expected a store merchant-analysis has: "mongodb"/],
    ['an environment without backups (PostgreSQL)', ['--env', 'dev', '--system', 'finance-ai'], /Environment "dev": invalid backup false: expected backups enabled: this environment has none to restore/],
    ['an environment without backups (MongoDB)', ['--env', 'dev', '--system', 'merchant-analysis'], /Environment "dev": invalid backup false: expected backups enabled: this environment has none to restore/],
    ['an unknown environment', ['--env', 'production', '--system', 'qcat'], /invalid .*"production".*dev.*staging.*prod/],
    ['--pitr for MongoDB', ['--env', 'prod', '--system', 'merchant-analysis', '--pitr', 'latest'], /--store mongodb: invalid flag "--pitr": expected one of --backup, --target-database, --replace, --name \(the flags --store mongodb takes\)/],
    ['--pitr with --backup', ['--env', 'prod', '--pitr', 'latest', '--backup', 'latest'], /--store postgres --pitr: invalid flag "--backup": expected only --name besides --pitr/],
    ['--pitr with --target-database', ['--env', 'prod', '--system', 'qcat', '--pitr', 'latest', '--target-database', 'x'], /--store postgres --pitr: invalid flag "--target-database": expected only --name besides --pitr/],
    ['--pitr with --replace', ['--env', 'prod', '--pitr', 'latest', '--replace'], /--store postgres --pitr: invalid flag "--replace": expected only --name besides --pitr/],
    ['--pitr for a system without pgBackRest', ['--env', 'prod', '--system', 'ai-bookkeeping', '--pitr', 'latest'], /System "ai-bookkeeping": invalid backup.pointInTimeRecovery false: expected true: ai-bookkeeping has no point-in-time recovery/],
    ['a bad dump id', ['--env', 'prod', '--system', 'merchant-analysis', '--backup', 'yesterday'], /merchant-analysis\/MongoRestore: invalid backupId "yesterday": expected "latest" or a dump id such as "20261125T020000Z"/],
    ['a bad MongoDB database name', ['--env', 'prod', '--system', 'merchant-analysis', '--target-database', 'a.b'], /merchant-analysis\/MongoRestore: invalid targetDatabase "a.b": expected a MongoDB database name/],
    ['a bad PostgreSQL database name', ['--env', 'prod', '--system', 'qcat', '--target-database', 'Qcat-Copy'], /qcat\/Restore: invalid targetDatabase "Qcat-Copy"/],
    ['a bad Job name', ['--env', 'prod', '--system', 'merchant-analysis', '--name', 'Restore_1'], /invalid jobName "Restore_1"/],
    ['no --env', ['--system', 'qcat'], /--env is required/],
  ])('%s: exit 1, one line naming it and what is allowed, nothing on stdout', (_, argv, message) => {
    const r = runMain(argv);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^restore: /);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.split('\n')).toHaveLength(1);
  });

  it('--help: every store with its systems and flags, the defaults, exit 0', () => {
    const logged: string[] = [];
    const log = jest.spyOn(console, 'log').mockImplementation((m: string) => { logged.push(m); });
    try {
      expect(main(['--help'])).toBe(0);
    } finally {
      log.mockRestore();
    }
    const help = logged.join('\n');
    expect(help).toContain('--system defaults to quality-billing; --store to the system\'s primary store (quality-billing: postgres, qcat: postgres, finance-ai: postgres, merchant-analysis: mongodb, ai-bookkeeping: postgres)');
    for (const t of RESTORE_TARGETS) {
      expect(help).toContain(`--store ${t.store} (${t.systems.join(', ')})`);
      for (const f of Object.keys(t.flags)) expect(help).toMatch(new RegExp(`--store ${t.store} [^]*--${f}: `));
    }
  });

  it('misspelled and unknown flags: one line from parseFlags naming the flag and the flags allowed', () => {
    const r = runMain(['--env', 'prod', '--sytem', 'qcat']);
    expect(r).toEqual({ code: 1, stdout: '', stderr: 'restore: unknown flag --sytem (did you mean --system?); allowed: --env VALUE, --system VALUE, --store VALUE, --backup VALUE, --target-database VALUE, --replace, --pitr VALUE, --name VALUE, --verbose, --help' });
    expect(runMain(['--env', 'prod', 'qcat']).stderr).toMatch(/^restore: unexpected argument qcat; allowed: /);
  });

  it('restoreObjects: the same refusals as ValidationErrors with field, value and what is allowed', () => {
    const req = (r: Partial<RestoreRequest>) => () => restoreObjects({ env: 'prod', ...r }, NOW);
    expectValidationError(req({ system: 'qcat', store: 'cassandra' }), { path: 'npm run restore', field: '--store', value: 'cassandra', allowed: /"postgres", "mongodb"/ });
    expectValidationError(req({ system: 'merchant-analysis', pitr: 'latest' }), { path: '--store mongodb', field: 'flag', value: '--pitr', allowed: /--backup, --target-database, --replace, --name/ });
    expectValidationError(req({ system: 'qcat', store: 'mongodb' }), { path: 'System "qcat"', field: 'store', value: 'mongodb', allowed: /"postgres"/ });
  });
});

describe('RESTORE_TARGETS: where Redis and MinIO plug in', () => {
  /** A stand-in for an entry the lead adds at merge: a store of merchant-analysis after mongodb. */
  const standIn: RestoreTarget = {
    store: 'redis', systems: ['merchant-analysis'], flags: { backup: 'an RDB id', name: 'the Job name' },
    build: (stack, p) => new Construct(stack, `StandIn-${p.backup ?? 'latest'}`),
  };
  const targets = [POSTGRES_RESTORE, MONGODB_RESTORE, standIn];

  it('one entry is enough: --store reaches its build with the stack, the default store stays the database', () => {
    expect(restoreTarget('merchant-analysis', undefined, targets)).toBe(MONGODB_RESTORE);
    expect(restoreTarget('merchant-analysis', 'redis', targets)).toBe(standIn);
    const build = jest.spyOn(standIn, 'build');
    expect(restoreObjects({ env: 'prod', system: 'merchant-analysis', store: 'redis', backup: '20261125T020000Z' }, NOW, targets)).toEqual([]);
    expect(build).toHaveBeenCalledWith(expect.objectContaining({ node: expect.objectContaining({ id: 'merchant-analysis' }) }), expect.objectContaining({ backup: '20261125T020000Z', stamp: '20261125t0640' }));
    expectValidationError(() => restoreObjects({ env: 'prod', system: 'merchant-analysis', store: 'redis', replace: true }, NOW, targets),
      { path: '--store redis', field: 'flag', value: '--replace', allowed: /one of --backup, --name/ });
    expectValidationError(() => restoreTarget('qcat', 'redis', targets), { path: 'System "qcat"', field: 'store', value: 'redis', allowed: /"postgres" \(redis is in merchant-analysis\)/ });
    expectValidationError(() => restoreTarget('qcat', undefined, [MONGODB_RESTORE, standIn]), { path: 'System "qcat"', field: 'store', value: undefined, allowed: /a system with a store to restore: mongodb \(merchant-analysis\); redis \(merchant-analysis\)/ });
  });
});

describe('the README restore runbook, run as written', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const runbook = readme.slice(readme.indexOf('### Restore runbook'), readme.indexOf('## Maintenance windows'));
  const commands = runbook.split('\n').filter(l => l.startsWith('npm run --silent restore -- ')).map(l => l.replace(/ \| kubectl apply -f -$/, ''));
  const script: string = require('../package.json').scripts.restore;

  it('documents a command for each store: with --store, or as the default store of the command\'s system', () => {
    const storeOf = (c: string) => /--store (\S+)/.exec(c)?.[1] ?? restoreTarget(/--system (\S+)/.exec(c)?.[1] ?? 'quality-billing').store;
    expect(RESTORE_TARGETS.map(t => [t.store, commands.some(c => storeOf(c) === t.store)])).toEqual(RESTORE_TARGETS.map(t => [t.store, true]));
  });

  it.each(commands.map(c => [c]))('%s', command => {
    const args = command.replace('npm run --silent restore -- ', '').match(/'[^']*'|\S+/g)!.map(a => a.replace(/^'(.*)'$/, '$1'));
    const [node, ...pre] = script.split(' ');
    expect(node).toBe('node');
    const r = spawnSync(process.execPath, [...pre, ...args], { cwd: ROOT, encoding: 'utf8' });
    if (args.includes('--pitr')) {
      // The runbook says so: prod runs Patroni, and the command refuses it, naming the steps.
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/standbys.*patronictl .*remove/s);
      return;
    }
    expect([r.status, r.stderr]).toEqual([0, '']);
    const objects = loadAll(r.stdout) as K8sObject[];
    const job = objects.find(o => o.kind === 'Job')!;
    const system = args.includes('--system') ? args[args.indexOf('--system') + 1] : 'quality-billing';
    expect(job.metadata.namespace).toBe(system);
    expect(job.metadata.name).toMatch(new RegExp(`^${system}-(${RESTORE_TARGETS.map(t => t.store).join('|')})-restore-\\d{8}t\\d{4}$`));
    expect(load(dump(job))).toEqual(job);
  });
});
