import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { UPLOAD_SCRIPT } from '../../lib/backup/logical-scripts';
import { MONGO_DUMP_SCRIPT } from '../../lib/backup/mongo-scripts';
import { resolveS3Location, ResolvedS3Location, S3Location } from '../../lib/backup/s3';
import { IMAGE_CATALOG } from '../../lib/images';
import { RESOURCE_PRESETS } from '../../lib/presets';
import { checkCronSchedule } from '../../lib/schedule';
import { SecretKeyRef } from '../../lib/secrets';
import { DATABASE_IMAGE_UID } from '../../lib/security';
import { ResourceQuantities, resources, ResourceSpec, WorkloadSizing } from '../../lib/sizing';
import { tier as lookupTier, TierName } from '../../lib/tiers';
import { checkInteger } from '../../lib/validate';
import { MongoReplicaSet } from '../mongo-replica-set';
import { emptyDir, plainEnv, podSecurityContext, restrictedContainer, scheduledJobSpec, secretEnv } from '../pod';
import { Workload } from '../workload';
import { s3ClientEnv } from './logical-backup-workload';

/** Props of `MongoBackup`. */
export interface MongoBackupProps {
  /** The replica set to dump. */
  readonly mongo: MongoReplicaSet;
  /** Where dumps go: `<prefix>/mongodb/<UTC id>/`. */
  readonly storage: S3Location;
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

const WORK_DIR = '/backup';
const SCRIPTS_DIR = '/opt/mongo-backup';

/**
 * The daily MongoDB backup (seed 003: mongodump): a CronJob whose pod dumps the replica set with
 * its oplog into a compressed archive, reads it back whole, and uploads it with the logical
 * backup's verified upload and retention (checksums last, the newest complete dumps always kept).
 * Its name contains "backup", which the BackupMissing alert watches.
 */
export class MongoBackup extends Workload {
  public readonly cronJob: k8s.KubeCronJob;
  public readonly storage: ResolvedS3Location;
  public readonly resources: ResourceSpec;
  public readonly retentionDays: number;

  constructor(scope: Construct, id: string, props: MongoBackupProps) {
    const m = props.mongo;
    super(scope, id, { name: `${m.name}-backup`, component: 'backup', version: m.image.version });
    const path = this.node.path;
    this.storage = resolveS3Location(path, 'storage', props.storage);
    this.retentionDays = checkInteger(path, 'retentionDays', props.retentionDays ?? 30, 1, 3650);
    const t = lookupTier(props.tier ?? 'recommended', path).name;
    this.resources = resources(props.resources ?? RESOURCE_PRESETS[t].backup, path, 'resources');
    const schedule = checkCronSchedule(path, 'schedule', props.schedule ?? '0 2 * * *');
    const rootUser = props.rootUserSecret ?? SecretKeyRef.of('mongo-credentials', 'root-user', path);
    const rootPassword = props.rootPasswordSecret ?? SecretKeyRef.of('mongo-credentials', 'root-password', path);
    m.acceptTrafficFrom(this, m.port);
    this.allowEgressTo({ ipBlock: { cidr: this.storage.cidr } }, [this.storage.endpointPort]);

    new k8s.KubeConfigMap(this, 'Scripts', { metadata: { name: `${this.name}-scripts`, labels: this.labels }, data: { 'dump.sh': MONGO_DUMP_SCRIPT, 'upload.sh': UPLOAD_SCRIPT } });
    const mounts = [{ name: 'work', mountPath: WORK_DIR }, { name: 'scripts', mountPath: SCRIPTS_DIR, readOnly: true }, { name: 'tmp', mountPath: '/tmp' }];
    const dump = restrictedContainer({
      name: 'dump', image: m.image, uid: DATABASE_IMAGE_UID, resources: this.resources,
      command: ['sh', `${SCRIPTS_DIR}/dump.sh`],
      env: [
        secretEnv('MONGO_ROOT_USER', rootUser), secretEnv('MONGO_ROOT_PASSWORD', rootPassword),
        plainEnv('MONGODB_URI', `mongodb://$(MONGO_ROOT_USER):$(MONGO_ROOT_PASSWORD)@${m.hosts.join(',')}/?replicaSet=${m.replicaSet}&authSource=admin`),
        plainEnv('BACKUP_DIR', WORK_DIR),
      ],
      volumeMounts: mounts,
    });
    const upload = restrictedContainer({
      name: 'upload', image: IMAGE_CATALOG.awsCli, uid: DATABASE_IMAGE_UID, resources: this.resources,
      command: ['bash', `${SCRIPTS_DIR}/upload.sh`],
      env: [...s3ClientEnv(this.storage, WORK_DIR), plainEnv('BACKUP_KIND', 'mongodb'), plainEnv('RETENTION_DAYS', this.retentionDays), plainEnv('MIN_KEEP', 3)],
      volumeMounts: mounts,
    });
    this.cronJob = new k8s.KubeCronJob(this, 'CronJob', {
      metadata: { name: this.name, labels: this.labels },
      spec: scheduledJobSpec({
        schedule, timeZone: props.timeZone ?? 'UTC', backoffLimit: 2, activeDeadlineSeconds: 6 * 3600,
        template: {
          metadata: { labels: this.labels },
          spec: {
            restartPolicy: 'Never', automountServiceAccountToken: false, enableServiceLinks: false,
            securityContext: podSecurityContext(DATABASE_IMAGE_UID),
            initContainers: [dump], containers: [upload],
            volumes: [{ name: 'work', emptyDir: { sizeLimit: k8s.Quantity.fromString(m.storage.toString()) } }, { name: 'scripts', configMap: { name: `${this.name}-scripts` } }, emptyDir('tmp', '64Mi')],
          },
        },
      }),
    });
  }

  public sizings(): WorkloadSizing[] {
    return [{ name: this.name, kind: 'CronJob', replicas: 1, containers: [this.resources], initContainers: [this.resources] }];
  }
}
