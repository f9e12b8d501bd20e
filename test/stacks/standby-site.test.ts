import { parse } from 'yaml';
import { main as promoteMain, promotion } from '../../bin/promote';
import { ENVIRONMENTS } from '../../lib/environments';
import { KEDA_PAUSED_REPLICAS, PATRONI_PROMOTE_ARGS, PROMOTE_SQL, promotionSteps, renderPromotionSteps } from '../../lib/standby-promotion';
import { expectValidationError, find, K8sObject, synthChart, synthSystem } from '../helpers';

// Issue 21 §1: a standby site of each PostgreSQL system with point-in-time recovery.
const SITE = { cluster: 'site-b', primaryCluster: 'site-a' };
const prod = ENVIRONMENTS.prod;
const byName = (objects: K8sObject[]) => new Map(objects.map(o => [`${o.kind}/${o.metadata.name}`, o]));
const server = (objects: K8sObject[], name: string) => find(objects, 'StatefulSet', name).spec.template.spec.containers.find((c: any) => c.name === 'postgres');

describe.each(['quality-billing', 'qcat', 'finance-ai'])('%s prod as a standby site', system => {
  const primary = synthSystem(system, prod).objects;
  const { objects, stack } = synthSystem(system, prod, { standbySite: SITE });
  const promoted = synthSystem(system, prod, { standbySite: { ...SITE, promoted: true } }).objects;
  const pg = `${system}-postgres`;
  const files = find(objects, 'ConfigMap', `${pg}-files`).data;
  const patroni = parse(files['patroni.yml']);

  it('every application Deployment runs 0 replicas; the same Deployments run replicas on the primary', () => {
    const held = objects.filter(o => o.kind === 'Deployment' && o.spec.replicas === 0).map(o => o.metadata.name).sort();
    expect(held).toContain(`${system}-api`);
    const components = new Set(held.map(n => find(objects, 'Deployment', n).metadata.labels?.['app.kubernetes.io/component']));
    expect([...components].every(c => ['api', 'worker', 'scheduler'].includes(c ?? ''))).toBe(true);
    const apps = byName(primary);
    for (const name of held) expect(apps.get(`Deployment/${name}`)!.spec.replicas ?? 1).toBeGreaterThan(0);
    // Nothing else is held: PostgreSQL, the pooler, the edge and monitoring keep running.
    expect(find(objects, 'StatefulSet', pg).spec.replicas).toBe(find(primary, 'StatefulSet', pg).spec.replicas);
  });

  it('KEDA is paused at 0, HPAs stay (inactive on a target at 0), the migration Job and every CronJob are suspended', () => {
    for (const o of objects.filter(x => x.kind === 'ScaledObject')) expect(o.metadata.annotations?.[KEDA_PAUSED_REPLICAS]).toBe('0');
    for (const o of objects.filter(x => x.kind === 'HorizontalPodAutoscaler')) expect(find(objects, 'Deployment', o.spec.scaleTargetRef.name).spec.replicas).toBe(0);
    const cronJobs = objects.filter(o => o.kind === 'CronJob');
    expect(cronJobs.map(o => o.metadata.name)).toEqual(expect.arrayContaining([`${pg}-backup-full`, `${pg}-backup-incr`, `${pg}-backup`, `${pg}-maintenance`]));
    for (const o of cronJobs) expect(o.spec.suspend).toBe(true);
    for (const o of objects.filter(x => x.kind === 'Job' && x.metadata.labels?.['app.kubernetes.io/component'] === 'migration')) expect(o.spec.suspend).toBe(true);
    expect(primary.filter(o => o.spec?.suspend === true)).toEqual([]);
  });

  it('PostgreSQL is a Patroni standby cluster replaying the primary\'s repository with its own configuration and keys', () => {
    const standbyCluster = patroni.bootstrap.dcs.standby_cluster;
    expect(standbyCluster.restore_command).toBe(stack.standby!.restoreCommand);
    expect(standbyCluster.restore_command).toBe('bash /etc/pgbackrest-standby/standby-archive-get.sh %f "%p"');
    const method = patroni.postgresql[standbyCluster.create_replica_methods[0]];
    expect(method).toEqual({ command: 'bash /etc/pgbackrest-standby/standby-restore.sh', no_params: true, no_leader: true });
    // Not in the dynamic file patroni-start.sh applies at every start: a restart after promotion stays promoted.
    expect(files['patroni-dynamic.yml']).not.toContain('standby_cluster');
    expect(parse(find(primary, 'ConfigMap', `${pg}-files`).data['patroni.yml']).bootstrap.dcs.standby_cluster).toBeUndefined();
    const standbyConf = find(objects, 'ConfigMap', `${pg}-standby`).data;
    expect(standbyConf['pgbackrest-primary.conf']).toContain(`repo1-path=/prod/postgres/pgbackrest`);
    expect(standbyConf['pgbackrest-primary.conf']).toContain(`[${pg}]`);
    expect(standbyConf['standby-archive-get.sh']).toContain('--config="$PRIMARY_PGBACKREST_CONFIG" --stanza="$PRIMARY_STANZA" archive-get');
    expect(standbyConf['standby-restore.sh']).toContain('--type=standby');
    const env = server(objects, pg).env;
    expect(env.find((e: any) => e.name === 'PRIMARY_REPO_S3_KEY').valueFrom.secretKeyRef).toEqual({ name: 'backup-s3-credentials', key: 'access-key-id' });
    expect(server(objects, pg).volumeMounts).toContainEqual({ name: 'pgbackrest-standby', mountPath: '/etc/pgbackrest-standby', readOnly: true });
  });

  it('archives (once promoted) only into the site\'s own repository, never the primary\'s', () => {
    const own = find(objects, 'ConfigMap', `${pg}-pgbackrest`).data['pgbackrest.conf'];
    expect(own).toContain(`repo1-path=/prod/postgres-site-b/pgbackrest`);
    expect(find(primary, 'ConfigMap', `${pg}-pgbackrest`).data['pgbackrest.conf']).toContain(`repo1-path=/prod/postgres/pgbackrest`);
    // archive_command runs with the default config (the own one); only restore_command reads the primary's.
    expect(files['postgresql.conf']).toContain(`archive_command = 'bash /etc/pgbackrest/pgbackrest-archive-push.sh %p'`);
    expect(find(objects, 'ConfigMap', `${pg}-standby`).data['standby-archive-get.sh']).not.toContain('archive-push');
  });

  it('writes its log snapshots to a repository of its own where the system archives logs (one writing cluster per Elasticsearch repository)', () => {
    const repo = (os: K8sObject[]) => os.find(o => o.kind === 'ConfigMap' && o.metadata.name.endsWith('-log-snapshots-files'));
    if (!repo(primary)) return expect(repo(objects)).toBeUndefined();
    expect(JSON.parse(repo(primary)!.data['repository.json']).settings.base_path).toBe('prod/elasticsearch');
    expect(JSON.parse(repo(objects)!.data['repository.json']).settings.base_path).toBe('prod/elasticsearch-site-b');
  });

  it('standby: what awaits what cannot happen before promotion skips Pulumi\'s await; promoted: skipAwait only where the primary has it', () => {
    const skips = (list: K8sObject[]) => list.filter(o => o.metadata.annotations?.['pulumi.com/skipAwait'] === 'true').map(o => `${o.kind}/${o.metadata.name}`).sort();
    const added = skips(objects).filter(k => !skips(primary).includes(k));
    expect(added).toContain(`Service/${system}-api`);
    for (const k of added) {
      const [kind, name] = k.split('/');
      const o = find(objects, kind, name);
      if (kind === 'Job') expect(o.spec.suspend).toBe(true);
      else expect(kind).toBe('Service');
    }
    // Every added Service selects only Deployments held at 0 replicas.
    for (const k of added.filter(x => x.startsWith('Service/'))) {
      const selector = find(objects, 'Service', k.split('/')[1]).spec.selector;
      const behind = objects.filter(o => ['Deployment', 'StatefulSet', 'DaemonSet'].includes(o.kind)
        && Object.entries(selector).every(([l, v]) => o.spec.template.metadata.labels?.[l] === v));
      expect(behind.length).toBeGreaterThan(0);
      for (const w of behind) expect([w.kind, w.spec.replicas]).toEqual(['Deployment', 0]);
    }
    expect(skips(promoted)).toEqual(skips(primary));
  });

  it('promoted: the applications, KEDA and the CronJobs resume, and PostgreSQL\'s objects are byte-identical (applying restarts no database pod)', () => {
    const p = byName(promoted);
    const normal = byName(primary);
    for (const o of objects.filter(x => x.kind === 'Deployment' && x.spec.replicas === 0)) {
      expect(p.get(`Deployment/${o.metadata.name}`)!.spec.replicas).toEqual(normal.get(`Deployment/${o.metadata.name}`)!.spec.replicas);
    }
    expect(promoted.filter(o => o.spec?.suspend === true)).toEqual([]);
    expect(promoted.filter(o => o.metadata.annotations?.[KEDA_PAUSED_REPLICAS] !== undefined)).toEqual([]);
    for (const o of objects.filter(x => x.metadata.name.startsWith(pg) && ['StatefulSet', 'ConfigMap'].includes(x.kind) && x.metadata.name !== `${pg}-maintenance`)) {
      expect(p.get(`${o.kind}/${o.metadata.name}`)).toEqual(o);
    }
  });
});

describe('a standalone standby site (postgresStandbys 0)', () => {
  const env = { ...prod, postgresStandbys: 0, survivesNodeLoss: false };
  const { objects, stack } = synthSystem('quality-billing', env, { standbySite: SITE });
  const c = server(objects, 'quality-billing-postgres');

  it('restores from the primary\'s repository before PostgreSQL starts, and replays with restore_command', () => {
    expect(c.command).toEqual(['bash', '-c', 'bash /etc/pgbackrest-standby/standby-restore.sh && exec docker-entrypoint.sh "$@"', '--']);
    expect(c.args[0]).toBe('postgres');
    // The restore runs before PostgreSQL answers: the startup probe waits an hour, not 10 minutes.
    expect(c.startupProbe.failureThreshold * c.startupProbe.periodSeconds).toBe(3600);
    expect(find(objects, 'ConfigMap', 'quality-billing-postgres-config').data['postgresql.conf']).toContain(`restore_command = '${stack.standby!.restoreCommand}'`);
  });

  it('a primary has neither', () => {
    const primary = synthSystem('quality-billing', env).objects;
    expect(server(primary, 'quality-billing-postgres').command).toBeUndefined();
    expect(server(primary, 'quality-billing-postgres').startupProbe.failureThreshold).toBe(60);
    expect(find(primary, 'ConfigMap', 'quality-billing-postgres-config').data['postgresql.conf']).not.toContain('restore_command');
  });
});

describe('standby site bad input', () => {
  it('refuses the primary\'s own cluster unless allowed', () => {
    expectValidationError(() => synthSystem('quality-billing', prod, { standbySite: { cluster: 'site-a', primaryCluster: 'site-a' } }),
      { path: 'quality-billing', field: 'standbySite.cluster', value: 'site-a', allowed: /a cluster other than standbySite.primaryCluster \("site-a"\).*allowSameCluster/ });
    const { objects } = synthSystem('quality-billing', prod, { standbySite: { cluster: 'site-a', primaryCluster: 'site-a', allowSameCluster: true } });
    expect(find(objects, 'Deployment', 'quality-billing-api').spec.replicas).toBe(0);
  });

  it('refuses a system or environment without point-in-time recovery: there is no WAL archive to replay', () => {
    expectValidationError(() => synthSystem('ai-bookkeeping', prod, { standbySite: SITE }),
      { path: 'ai-bookkeeping', field: 'standbySite', value: 'system "ai-bookkeeping" in environment "prod" without point-in-time recovery', allowed: /backup.pointInTimeRecovery: true/ });
    expectValidationError(() => synthSystem('quality-billing', ENVIRONMENTS.dev, { standbySite: SITE }),
      { path: 'quality-billing', field: 'standbySite', value: 'system "quality-billing" in environment "dev" without point-in-time recovery', allowed: /WAL archive/ });
  });

  it('refuses its own repository equal to the primary\'s (a promoted standby would archive into the primary\'s stanza)', () => {
    expectValidationError(() => synthSystem('quality-billing', prod, { standbySite: SITE, backupStorage: { prefix: 'prod/postgres' } }),
      { path: 'quality-billing/Standby', field: 'recovery.backupStorage', value: 's3://quality-billing-backups/prod/postgres', allowed: /other than the primary's/ });
  });

  it('refuses a cluster name that is not a DNS label, and a system without PostgreSQL', () => {
    expectValidationError(() => synthSystem('quality-billing', prod, { standbySite: { cluster: 'Site B', primaryCluster: 'site-a' } }),
      { path: 'quality-billing', field: 'standbySite.cluster', value: 'Site B', allowed: /./ });
    expectValidationError(() => synthChart('merchant-analysis', prod, { standbySite: SITE }),
      { path: 'merchant-analysis', field: 'standbySite', value: 'site-b', allowed: /no PostgreSQL/ });
  });
});

describe('npm run promote', () => {
  it('prints the steps in order: fence, check, promote (Patroni: remove standby_cluster), migrate, scale, resume, apply, edge', () => {
    const r = promotion({ system: 'quality-billing', env: 'prod', cluster: 'site-b', primaryCluster: 'site-a', out: '/tmp/qb-promoted.yaml' });
    const lines = r.text.split('\n');
    const at = (re: RegExp) => lines.findIndex(l => re.test(l));
    const order = [
      /--context site-a .* scale deployment quality-billing-api .*--replicas=0/,
      /pg_last_wal_replay_lsn/,
      new RegExp(`patronictl -c /etc/postgresql/patroni.yml ${PATRONI_PROMOTE_ARGS.join(' ')}`),
      /until .*SELECT pg_is_in_recovery\(\)/,
      /patch job\/quality-billing-migrate-\w+ .*"suspend":false/,
      /scale deployment\/quality-billing-api --replicas=3$/,
      /scale deployment\/quality-billing-celery-default --replicas=2$/,
      /annotate scaledobject\/quality-billing-celery-default autoscaling.keda.sh\/paused-replicas-$/,
      /patch cronjob\/quality-billing-postgres-backup-full .*"suspend":false/,
      /apply -f \/tmp\/qb-promoted.yaml/,
      /get service quality-billing-edge/,
    ].map(at);
    expect(order.filter(n => n < 0)).toEqual([]);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(r.promoted.filter(o => o.spec?.suspend === true)).toEqual([]);
  });

  it('a standalone standby is promoted with pg_promote; objects that are not a standby site are refused', () => {
    const env = { ...prod, postgresStandbys: 0, survivesNodeLoss: false };
    const standby = synthSystem('quality-billing', env, { standbySite: SITE }).objects;
    const promoted = synthSystem('quality-billing', env, { standbySite: { ...SITE, promoted: true } }).objects;
    const input = {
      namespace: 'quality-billing', cluster: 'site-b', primaryCluster: 'site-a', host: 'api.example.com', promotedManifestsFile: 'promoted.yaml',
      postgres: { name: 'quality-billing-postgres', user: 'quality_billing', database: 'quality_billing', patroni: false }, standby, promoted,
    };
    const text = renderPromotionSteps(promotionSteps(input));
    expect(text).toContain(`exec quality-billing-postgres-0 --container postgres -- psql --no-psqlrc -U quality_billing -d quality_billing -v ON_ERROR_STOP=1 -Atc '${PROMOTE_SQL}'`);
    expect(text).not.toContain('patronictl');
    expectValidationError(() => promotionSteps({ ...input, standby: promoted }),
      { path: 'promotion', field: 'standby', value: 'already promoted: no Deployment at 0 replicas, nothing suspended', allowed: /not yet promoted/ });
    expectValidationError(() => promotionSteps({ ...input, standby: synthSystem('quality-billing', env).objects }),
      { path: 'promotion', field: 'standby', value: 'quality-billing-postgres', allowed: /does not replay a primary's archive/ });
  });

  it('refuses unknown flags and missing ones', () => {
    const errors: string[] = [];
    const spy = jest.spyOn(console, 'error').mockImplementation((m: string) => { errors.push(m); });
    try {
      expect(promoteMain(['--system', 'quality-billing', '--env', 'prod', '--cluster', 'b', '--primary-clustr', 'a'])).toBe(1);
      expect(errors.join('\n')).toContain('unknown flag --primary-clustr (did you mean --primary-cluster?)');
      expect(promoteMain(['--system', 'quality-billing', '--env', 'prod', '--cluster', 'b'])).toBe(1);
      expect(errors.join('\n')).toContain('--primary-cluster');
    } finally {
      spy.mockRestore();
    }
  });
});
