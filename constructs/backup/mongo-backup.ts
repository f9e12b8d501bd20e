import { k8s } from '../core/k8s';
import { Construct } from 'constructs';
import { MONGO_DUMP_SCRIPT } from '../../lib/backup/mongodump-scripts';
import { resolveS3Location, ResolvedS3Location, S3Location } from '../../lib/backup/s3';
import { RESOURCE_PRESETS } from '../../lib/presets';
import { checkCronSchedule } from '../../lib/schedule';
import { SecretKeyRef } from '../../lib/secrets';
import { ResourceQuantities, resources, ResourceSpec, WorkloadSizing } from '../../lib/sizing';
import { tier as lookupTier, TierName } from '../../lib/tiers';
import { checkInteger } from '../../lib/validate';
import { IMongoReplicaSet } from '../data/mongo-replica-set';
import { plainEnv, secretEnv } from '../core/pod-spec';
import { Workload } from '../core/workload';
import { uploadBackupCronJob } from './upload-backup-job';

/** Props of `MongoBackup`. */
export interface MongoBackupProps {
  /** The replica set to dump. */
  readonly mongo: IMongoReplicaSet;
  /** Where dumps go: `<prefix>/mongodb/<UTC id>/`. */
  readonly backupStorage: S3Location;
  /** Root user mongodump connects as (it reads the oplog). @default - key "root-user" of Secret "mongo-credentials" */
  readonly rootUserSecret?: SecretKeyRef;
  /** Root password. @default - key "root-password" of Secret "mongo-credentials" */
  readonly rootPasswordSecret?: SecretKeyRef;
  /** Cron schedule. @default "0 2 * * *" */
  readonly schedule?: string;
  /** IANA time zone of the schedule. @default "UTC" */
  readonly timeZone?: string;
  /** Days a dump is kept; the newest 3 complete ones always are. @default 30 */
  readonly retentionDays?: number;
  /** Tier whose "backup" preset sizes the containers. @default "recommended" */
  readonly tier?: TierName;
  /** Requests and limits of each container. @default - the tier's "backup" preset */
  readonly resources?: ResourceQuantities;
}

/**
 * The daily MongoDB backup (seed 003: mongodump): a CronJob whose pod dumps the replica set with
 * its oplog into a compressed archive, reads it back whole, and uploads it with the logical
 * backup's verified upload and retention (checksums last, the newest complete dumps always kept).
 * Its name contains "backup", which the BackupMissing alert watches.
 */
export class MongoBackup extends Workload {
  public readonly cronJob: k8s.KubeCronJob;
  public readonly backupStorage: ResolvedS3Location;
  public readonly resources: ResourceSpec;
  public readonly retentionDays: number;

  constructor(scope: Construct, id: string, props: MongoBackupProps) {
    const m = props.mongo;
    super(scope, id, { name: `${m.name}-backup`, component: 'backup', version: m.image.version });
    const path = this.node.path;
    this.backupStorage = resolveS3Location(path, 'backupStorage', props.backupStorage);
    this.retentionDays = checkInteger(path, 'retentionDays', props.retentionDays ?? 30, 1, 3650);
    const t = lookupTier(props.tier ?? 'recommended', path).name;
    this.resources = resources(props.resources ?? RESOURCE_PRESETS[t].backup, path, 'resources');
    const schedule = checkCronSchedule(path, 'schedule', props.schedule ?? '0 2 * * *');
    const rootUser = props.rootUserSecret ?? SecretKeyRef.of('mongo-credentials', 'root-user', path);
    const rootPassword = props.rootPasswordSecret ?? SecretKeyRef.of('mongo-credentials', 'root-password', path);
    m.acceptTrafficFrom(this, m.port);

    this.cronJob = uploadBackupCronJob(this, {
      kind: 'mongodb', backupStorage: this.backupStorage, retentionDays: this.retentionDays, schedule, timeZone: props.timeZone ?? 'UTC',
      activeDeadlineSeconds: 6 * 3600, resources: this.resources, scratchSize: m.storage.toString(),
      produce: {
        name: 'dump', image: m.image, shell: 'sh', script: MONGO_DUMP_SCRIPT,
        env: mongoRootEnv(m, rootUser, rootPassword),
      },
    });
  }

  public sizings(): WorkloadSizing[] {
    return [{ name: this.name, kind: 'CronJob', replicas: 1, containers: [this.resources], initContainers: [this.resources] }];
  }
}

/**
 * The root user's credentials (from the Secret) and MONGODB_URI of the replica set with them, which
 * Kubernetes expands at start: the manifest holds no password. For the dump and the restore.
 */
export function mongoRootEnv(m: IMongoReplicaSet, rootUser: SecretKeyRef, rootPassword: SecretKeyRef): k8s.EnvVar[] {
  return [
    secretEnv('MONGO_ROOT_USER', rootUser), secretEnv('MONGO_ROOT_PASSWORD', rootPassword),
    plainEnv('MONGODB_URI', `mongodb://$(MONGO_ROOT_USER):$(MONGO_ROOT_PASSWORD)@${m.hosts.join(',')}/?replicaSet=${m.replicaSet}&authSource=admin`),
  ];
}
