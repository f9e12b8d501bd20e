import { ValidationError } from './errors';

/**
 * The promotion runbook of a standby site (issue 21 §1), worked out from the site's manifests in
 * standby mode and in promoted mode (`standbySite.promoted`): which PostgreSQL to promote and how,
 * which Deployments to scale to how many replicas, which ScaledObjects, Jobs and CronJobs to
 * resume, and where the edge is. Pure (no cdk8s): `bin/promote.ts` synthesizes both sets and
 * prints the steps; the real-tool proof runs `PROMOTE_SQL` on a real standby.
 */

/** A Kubernetes object as synthesized (kind, metadata, spec). */
export type ManifestObject = { readonly kind: string; readonly metadata: { readonly name: string; readonly annotations?: Record<string, string>; readonly labels?: Record<string, string> }; readonly spec?: any; readonly data?: any };

/** One step of the runbook: what it does, why, and the commands that do it. */
export interface PromotionStep {
  readonly title: string;
  readonly why: string;
  readonly commands: readonly string[];
}

/** What the runbook is made from. */
export interface PromotionInput {
  /** The namespace of the system. */
  readonly namespace: string;
  /** kubectl context of the standby site (its `standbySite.cluster`). */
  readonly cluster: string;
  /** kubectl context of the lost primary (its `standbySite.primaryCluster`). */
  readonly primaryCluster: string;
  /** The server: its StatefulSet name, superuser, database, and whether Patroni runs it. */
  readonly postgres: { readonly name: string; readonly user: string; readonly database: string; readonly patroni: boolean };
  /** The host name the edge serves. */
  readonly host: string;
  /** The site's objects in standby mode (what runs now). */
  readonly standby: readonly ManifestObject[];
  /** The same site's objects with `standbySite.promoted: true`. */
  readonly promoted: readonly ManifestObject[];
  /** Where the promoted manifests are written for `kubectl apply`. */
  readonly promotedManifestsFile: string;
}

/**
 * Promotes a standalone standby: ends recovery and waits up to 60 s for it (PostgreSQL docs,
 * pg_promote). The server then starts a new timeline and archives it to the site's own repository.
 */
export const PROMOTE_SQL = 'SELECT pg_promote(wait => true, wait_seconds => 60)';

/** Under Patroni: removing standby_cluster from the dynamic configuration promotes the standby leader (Patroni docs, "Standby cluster"). */
export const PATRONI_PROMOTE_ARGS = ['edit-config', '--force', '-s', 'standby_cluster=null'] as const;

/** KEDA's annotation that pauses a ScaledObject at a replica count (KEDA docs, "Pause autoscaling"), set on a standby site's. */
export const KEDA_PAUSED_REPLICAS = 'autoscaling.keda.sh/paused-replicas';

/**
 * The Pulumi Kubernetes provider's annotation that skips an object's await (pulumi-kubernetes docs,
 * "Resource annotations"), set on a standby site's objects that await what cannot happen before promotion.
 */
export const SKIP_AWAIT_ANNOTATION = 'pulumi.com/skipAwait';

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** The ordered steps. Throws a ValidationError when `standby` is not a standby site's objects. */
export function promotionSteps(i: PromotionInput): PromotionStep[] {
  const k = `kubectl --context ${i.cluster} --namespace ${i.namespace}`;
  const pg = i.postgres;
  const sts = i.standby.find(o => o.kind === 'StatefulSet' && o.metadata.name === pg.name);
  const standbyEnv: Array<{ name: string }> = sts?.spec?.template?.spec?.containers?.find((c: any) => c.name === 'postgres')?.env ?? [];
  if (!standbyEnv.some(e => e.name === 'PRIMARY_STANZA')) {
    throw new ValidationError('promotion', 'standby', pg.name, `the objects of a standby site (standbySite set, not promoted): StatefulSet ${pg.name} does not replay a primary's archive`);
  }
  if (!i.standby.some(o => (o.kind === 'Deployment' && o.spec?.replicas === 0) || o.spec?.suspend === true)) {
    throw new ValidationError('promotion', 'standby', 'already promoted: no Deployment at 0 replicas, nothing suspended', 'the objects of a standby site not yet promoted (standbySite.promoted false)');
  }
  const exec = `${k} exec ${pg.name}-0 --container postgres --`;
  const psql = (sql: string) => `${exec} psql --no-psqlrc -U ${pg.user} -d ${pg.database} -v ON_ERROR_STOP=1 -Atc ${q(sql)}`;
  const promotedByName = new Map(i.promoted.map(o => [`${o.kind}/${o.metadata.name}`, o]));

  const held = i.standby.filter(o => o.kind === 'Deployment' && o.spec?.replicas === 0);
  const scale = held.map(d => {
    const p = promotedByName.get(`Deployment/${d.metadata.name}`);
    // An autoscaled Deployment declares no replicas: its autoscaler's minimum is what it starts with.
    const scaler = (kind: string) => i.promoted.find(o => o.kind === kind && o.spec?.scaleTargetRef?.name === d.metadata.name)?.spec;
    const replicas = p?.spec?.replicas ?? scaler('HorizontalPodAutoscaler')?.minReplicas ?? scaler('ScaledObject')?.minReplicaCount ?? 1;
    return `${k} scale deployment/${d.metadata.name} --replicas=${replicas}`;
  });
  const paused = i.standby.filter(o => o.kind === 'ScaledObject' && o.metadata.annotations?.[KEDA_PAUSED_REPLICAS] !== undefined)
    .map(o => `${k} annotate scaledobject/${o.metadata.name} ${KEDA_PAUSED_REPLICAS}-`);
  const resume = (kind: 'Job' | 'CronJob') => i.standby.filter(o => o.kind === kind && o.spec?.suspend === true)
    .map(o => `${k} patch ${kind.toLowerCase()}/${o.metadata.name} --type merge -p '{"spec":{"suspend":false}}'`);
  const edge = i.standby.find(o => o.kind === 'Service' && o.metadata.labels?.['app.kubernetes.io/component'] === 'edge');
  const ingress = i.standby.find(o => o.kind === 'Ingress');

  return [
    {
      title: 'Fence the old primary',
      why: 'Promoting while the old primary still takes writes forks the data (two histories). If its cluster answers at all, stop its writers and its database; if it does not, make sure it cannot come back as a primary (its pods stay down until it is rebuilt as a standby).',
      commands: [
        ...held.length > 0 ? [`kubectl --context ${i.primaryCluster} --namespace ${i.namespace} scale deployment ${held.map(d => d.metadata.name).join(' ')} --replicas=0`] : [],
        `kubectl --context ${i.primaryCluster} --namespace ${i.namespace} scale statefulset/${pg.name} --replicas=0`,
      ],
    },
    {
      title: 'See how far the standby has replayed',
      why: 'Every segment the primary archived before it was lost is replayed before the promotion ends recovery; this shows the last replayed transaction and its age (the data the site loses is what was written after it).',
      commands: [psql('SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn(), pg_last_xact_replay_timestamp(), now() - pg_last_xact_replay_timestamp()')],
    },
    {
      title: 'Promote PostgreSQL',
      why: pg.patroni
        ? 'Removing standby_cluster from the dynamic configuration makes Patroni promote the standby leader; the other members follow it. The new timeline is archived to this site\'s own repository, never the primary\'s.'
        : 'pg_promote ends recovery and starts a new timeline, archived to this site\'s own repository, never the primary\'s.',
      commands: [
        pg.patroni ? `${exec} patronictl -c /etc/postgresql/patroni.yml ${PATRONI_PROMOTE_ARGS.join(' ')}` : psql(PROMOTE_SQL),
        `until [ "$(${psql('SELECT pg_is_in_recovery()')})" = f ]; do sleep 1; done`,
      ],
    },
    {
      title: 'Start the applications',
      why: 'The migration Job runs first (the applications wait for it; the schema came with the data, so it has nothing to do); then the API, the Celery workers and beat get their promoted replicas, KEDA resumes, and the backups and maintenance CronJobs resume against the new primary.',
      commands: [...resume('Job'), ...scale, ...paused, ...resume('CronJob')],
    },
    {
      title: 'Make the promoted state the declared one',
      why: 'Synthesized with standbySite.promoted: true, the manifests declare what the commands above did; PostgreSQL\'s objects are unchanged, so applying them restarts no database pod. Commit the promoted props so the next deploy keeps them.',
      commands: [`${k.replace(' --namespace ' + i.namespace, '')} apply -f ${i.promotedManifestsFile}`],
    },
    {
      title: 'Point the edge at the site',
      why: `This site's ${edge ? 'nginx edge' : 'Ingress'} already routes to its own API. Check it answers for ${i.host}, then switch the DNS record of ${i.host} (or the global load balancer) to its address; the DNS change is not in the 5-minute takeover target.`,
      commands: edge
        ? [
          `ADDR=$(${k} get service ${edge.metadata.name} -o jsonpath='{.status.loadBalancer.ingress[0].ip}{.status.loadBalancer.ingress[0].hostname}')`,
          `curl --fail --resolve ${i.host}:443:$ADDR https://${i.host}/health`,
          `# then point ${i.host} at $ADDR in DNS`,
        ]
        : [
          `ADDR=$(${k} get ingress ${ingress?.metadata.name ?? '<ingress>'} -o jsonpath='{.status.loadBalancer.ingress[0].ip}{.status.loadBalancer.ingress[0].hostname}')`,
          `curl --fail --resolve ${i.host}:443:$ADDR https://${i.host}/health`,
          `# then point ${i.host} at $ADDR in DNS`,
        ],
    },
    {
      title: 'Afterwards: rebuild the old primary as a standby',
      why: `The old primary's data ends on the old timeline. Redeploy ${i.primaryCluster} with standbySite { cluster: "${i.primaryCluster}", primaryCluster: "${i.cluster}", primaryBackupStorage: this site's backup storage } after deleting its PostgreSQL volumes; it restores from this site's repository.`,
      commands: [`kubectl --context ${i.primaryCluster} --namespace ${i.namespace} delete pvc ${Array.from({ length: sts?.spec?.replicas ?? 1 }, (_, n) => `data-${pg.name}-${n}`).join(' ')}`],
    },
  ];
}

/** The steps as the CLI prints them. */
export function renderPromotionSteps(steps: readonly PromotionStep[]): string {
  return steps.map((s, n) => [`# ${n + 1}. ${s.title}`, `# ${s.why}`, ...s.commands, ''].join('\n')).join('\n');
}
