import { k8s } from '../core/k8s';
import { Construct } from 'constructs';
import { RESOURCE_PRESETS } from '../../lib/presets';
import { checkCronSchedule } from '../../lib/schedule';
import { DATABASE_IMAGE_UID } from '../../lib/security';
import { SecretKeyRef } from '../../lib/secrets';
import { ResourceQuantities, resources, ResourceSpec, WorkloadSizing } from '../../lib/sizing';
import { tier as lookupTier, TierName } from '../../lib/tiers';
import { checkInteger } from '../../lib/validate';
import { emptyDir, plainEnv, restrictedContainer, runOncePodSpec, scheduledJobSpec, secretEnv } from '../core/pod-spec';
import { Workload } from '../core/workload';
import { IMongoReplicaSet } from './mongo-replica-set';

/** Props of `MongoMaintenance`. */
export interface MongoMaintenanceProps {
  /** The replica set whose application database is validated. */
  readonly mongo: IMongoReplicaSet;
  /** Root user the validation connects as (validate needs the database's admin rights). @default - key "root-user" of Secret "mongo-credentials" */
  readonly rootUserSecret?: SecretKeyRef;
  /** Root password. @default - key "root-password" of Secret "mongo-credentials" */
  readonly rootPasswordSecret?: SecretKeyRef;
  /** Cron schedule, inside the system's maintenance window. @default "30 2 * * 0" (Sunday 02:30, after the 02:00 dump has started) */
  readonly schedule?: string;
  /** IANA time zone of the schedule. @default "UTC" */
  readonly timeZone?: string;
  /** Longest a run may last, in seconds. @default 3600 */
  readonly activeDeadlineSeconds?: number;
  /** Latest a missed run may still start, in seconds after its time; with the active deadline it bounds the run's end inside the window. @default 600 */
  readonly startingDeadlineSeconds?: number;
  /** Tier whose "postgresMaintenance" preset (the maintenance job's size) sizes the container. @default "recommended" */
  readonly tier?: TierName;
  /** Requests and limits of the container. @default - the tier's maintenance preset */
  readonly resources?: ResourceQuantities;
}

/**
 * The mongo shell program a maintenance run executes: `validate` with `background: true` on every
 * collection of the application database (WiredTiger, MongoDB 4.4+: it reads a checkpoint and
 * does not block reads or writes), failing the run when one is not valid. No `compact`: on
 * MongoDB 5 it needs `force` on a primary and its space comes back only after a resync-like
 * rewrite, which is no routine job.
 */
export function mongoValidateScript(database: string): string {
  return [
    `const d = db.getSiblingDB(${JSON.stringify(database)});`,
    'let bad = [];',
    'for (const c of d.getCollectionNames()) {',
    '  const r = d.runCommand({ validate: c, background: true });',
    '  print(`${c}: valid=${r.valid} errors=${(r.errors || []).length} warnings=${(r.warnings || []).length}`);',
    '  if (r.ok !== 1 || r.valid !== true) bad.push(c);',
    '}',
    'if (bad.length) { print(`invalid: ${bad.join(", ")}`); quit(1); }',
  ].join('\n');
}

/**
 * Weekly MongoDB maintenance (seed 003 §维护计划: routine maintenance every Sunday 02:00–04:00): a
 * CronJob that validates every collection of the application database in the background and
 * fails when one is corrupt. Its component "mongodb-maintenance" makes the system's maintenance
 * window hold its schedule: a run starts and, at the latest, ends inside the window.
 */
export class MongoMaintenance extends Workload {
  public readonly cronJob: k8s.KubeCronJob;
  public readonly resources: ResourceSpec;

  constructor(scope: Construct, id: string, props: MongoMaintenanceProps) {
    const m = props.mongo;
    super(scope, id, { name: `${m.name}-maintenance`, component: 'mongodb-maintenance', version: m.image.version });
    const path = this.node.path;
    const t = lookupTier(props.tier ?? 'recommended', path).name;
    this.resources = resources(props.resources ?? RESOURCE_PRESETS[t].postgresMaintenance, path, 'resources');
    const schedule = checkCronSchedule(path, 'schedule', props.schedule ?? '30 2 * * 0');
    const activeDeadlineSeconds = checkInteger(path, 'activeDeadlineSeconds', props.activeDeadlineSeconds ?? 3600, 60);
    const startingDeadlineSeconds = checkInteger(path, 'startingDeadlineSeconds', props.startingDeadlineSeconds ?? 600, 10);
    const rootUser = props.rootUserSecret ?? SecretKeyRef.of('mongo-credentials', 'root-user', path);
    const rootPassword = props.rootPasswordSecret ?? SecretKeyRef.of('mongo-credentials', 'root-password', path);
    m.acceptTrafficFrom(this, m.port);

    this.cronJob = new k8s.KubeCronJob(this, 'CronJob', {
      metadata: { name: this.name, labels: this.labels },
      spec: {
        ...scheduledJobSpec({
          schedule, timeZone: props.timeZone ?? 'UTC', backoffLimit: 1, activeDeadlineSeconds,
          template: {
            metadata: { labels: this.labels },
            spec: runOncePodSpec(DATABASE_IMAGE_UID, {
              containers: [restrictedContainer({
                name: 'validate', image: m.image, uid: DATABASE_IMAGE_UID, resources: this.resources,
                command: ['sh', '-c', 'shell=$(command -v mongosh || command -v mongo) && exec "$shell" --quiet "$MONGODB_URI" --eval "$VALIDATE_JS"'],
                env: [
                  secretEnv('MONGO_ROOT_USER', rootUser), secretEnv('MONGO_ROOT_PASSWORD', rootPassword),
                  plainEnv('MONGODB_URI', `mongodb://$(MONGO_ROOT_USER):$(MONGO_ROOT_PASSWORD)@${m.hosts.join(',')}/admin?replicaSet=${m.replicaSet}&authSource=admin`),
                  plainEnv('VALIDATE_JS', mongoValidateScript(m.database)),
                  plainEnv('HOME', '/tmp'),
                ],
                volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
              })],
              volumes: [emptyDir('tmp', '64Mi')],
            }),
          },
        }),
        // Late starts are what could push a run past the window's close.
        startingDeadlineSeconds,
      },
    });
  }

  public sizings(): WorkloadSizing[] {
    return [{ name: this.name, kind: 'CronJob', replicas: 1, containers: [this.resources] }];
  }
}
