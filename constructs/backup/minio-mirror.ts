import { k8s } from '../core/k8s';
import { Construct } from 'constructs';
import { BUCKET_SYNC_SCRIPT } from '../../lib/backup/minio-scripts';
import { resolveS3Location, ResolvedS3Location, S3Location } from '../../lib/backup/s3';
import { IMAGE_CATALOG } from '../../lib/images';
import { RESOURCE_PRESETS } from '../../lib/presets';
import { checkCronSchedule } from '../../lib/schedule';
import { DATABASE_IMAGE_UID } from '../../lib/security';
import { ResourceQuantities, resources, ResourceSpec, WorkloadSizing } from '../../lib/sizing';
import { tier as lookupTier, TierName } from '../../lib/tiers';
import { MinIO } from '../data/minio';
import { emptyDir, plainEnv, restrictedContainer, runOncePodSpec, scheduledJobSpec, secretEnv } from '../core/pod-spec';
import { Workload } from '../core/workload';
import { s3ClientEnv } from './logical-backup-workload';

/** Props of `MinioMirror`. */
export interface MinioMirrorProps {
  /** The MinIO whose buckets are mirrored (all of them). */
  readonly minio: MinIO;
  /** The backup bucket and prefix: bucket `b` is mirrored to `<prefix>/minio/<b>/`. */
  readonly backupStorage: S3Location;
  /** Cron schedule. @default "0 1 * * *" (before the 02:00 database backup) */
  readonly schedule?: string;
  /** IANA time zone of the schedule. @default "UTC" */
  readonly timeZone?: string;
  /** Tier whose "backup" preset sizes the containers. @default "recommended" */
  readonly tier?: TierName;
  /** Requests and limits of each container. @default - the tier's "backup" preset */
  readonly resources?: ResourceQuantities;
}

const MIRROR_DIR = '/mirror';
const SCRIPTS_DIR = '/opt/backup';

/** Which side of a bucket sync a container speaks to: MinIO, or the backup storage. */
export type BucketSyncSide = { readonly minio: MinIO } | { readonly storage: ResolvedS3Location };

/**
 * A container running the bucket sync (lib/backup/minio-scripts.ts) for every bucket of `minio`,
 * from the pinned AWS CLI image, between MIRROR_DIR and one side: MinIO itself (the applications'
 * user, whose policy reaches exactly these buckets) or the mirror in the backup storage.
 */
export function bucketSyncContainer(name: string, minio: MinIO, side: BucketSyncSide, direction: 'download' | 'upload', res: ResourceSpec): k8s.Container {
  const remote = 'minio' in side
    ? [
      plainEnv('REMOTE_ROOT', 's3://'), plainEnv('S3_ENDPOINT', side.minio.endpoint), plainEnv('AWS_DEFAULT_REGION', 'us-east-1'),
      secretEnv('AWS_ACCESS_KEY_ID', side.minio.appAccessKeySecret), secretEnv('AWS_SECRET_ACCESS_KEY', side.minio.appSecretKeySecret),
      plainEnv('AWS_EC2_METADATA_DISABLED', 'true'), plainEnv('HOME', '/tmp'),
    ]
    : [...s3ClientEnv(side.storage, MIRROR_DIR), plainEnv('REMOTE_ROOT', `s3://${side.storage.bucket}/${side.storage.prefix}/minio/`)];
  return restrictedContainer({
    name, image: IMAGE_CATALOG.awsCli, uid: DATABASE_IMAGE_UID, resources: res,
    command: ['bash', `${SCRIPTS_DIR}/bucket-sync.sh`],
    env: [...remote.filter(e => e.name !== 'BACKUP_DIR'), plainEnv('BUCKETS', minio.buckets.join(' ')), plainEnv('MIRROR_DIR', MIRROR_DIR), plainEnv('DIRECTION', direction)],
    volumeMounts: [{ name: 'mirror', mountPath: MIRROR_DIR }, { name: 'scripts', mountPath: SCRIPTS_DIR, readOnly: true }, { name: 'tmp', mountPath: '/tmp' }],
  });
}

/** The pod of a bucket sync: `first` then `second`, sharing a scratch folder as large as MinIO's volume, with the script from `scriptsConfigMap`. */
export function bucketSyncPod(w: Workload, minio: MinIO, scriptsConfigMap: string, first: k8s.Container, second: k8s.Container): k8s.PodTemplateSpec {
  return {
    metadata: { labels: w.labels },
    spec: runOncePodSpec(DATABASE_IMAGE_UID, {
      initContainers: [first],
      containers: [second],
      volumes: [emptyDir('mirror', minio.storage.toString()), { name: 'scripts', configMap: { name: scriptsConfigMap, defaultMode: 0o555 } }, emptyDir('tmp', '256Mi')],
    }),
  };
}

/**
 * The daily mirror of MinIO's buckets (ai-bookkeeping, seed 004) to the backup storage: a CronJob
 * whose first container downloads every bucket with `aws s3 sync` (AWS CLI, from the pinned
 * amazon/aws-cli image: `mc mirror` could stream bucket to bucket, but the AWS CLI is the client
 * our other backups use, and the one the tests can run here) and whose second uploads what changed
 * to `<prefix>/minio/<bucket>/`; each checks that every object arrived with its size. Nothing is
 * deleted from the mirror (see lib/backup/minio-scripts.ts). Its name ends in "backup", which the
 * BackupMissing alert watches.
 */
export class MinioMirror extends Workload {
  public readonly cronJob: k8s.KubeCronJob;
  public readonly backupStorage: ResolvedS3Location;
  public readonly resources: ResourceSpec;
  /** The MinIO mirrored. */
  public readonly minio: MinIO;

  constructor(scope: Construct, id: string, props: MinioMirrorProps) {
    const m = props.minio;
    super(scope, id, { name: `${m.name}-backup`, component: 'backup', version: IMAGE_CATALOG.awsCli.version });
    const path = this.node.path;
    this.minio = m;
    this.backupStorage = resolveS3Location(path, 'backupStorage', props.backupStorage);
    const t = lookupTier(props.tier ?? 'recommended', path).name;
    this.resources = resources(props.resources ?? RESOURCE_PRESETS[t].backup, path, 'resources');
    const schedule = checkCronSchedule(path, 'schedule', props.schedule ?? '0 1 * * *');
    m.acceptTrafficFrom(this, m.port);
    this.allowEgressTo({ ipBlock: { cidr: this.backupStorage.cidr } }, [this.backupStorage.endpointPort]);

    const scripts = new k8s.KubeConfigMap(this, 'Scripts', { metadata: { name: `${this.name}-scripts`, labels: this.labels }, data: { 'bucket-sync.sh': BUCKET_SYNC_SCRIPT } });
    this.cronJob = new k8s.KubeCronJob(this, 'CronJob', {
      metadata: { name: this.name, labels: this.labels },
      spec: scheduledJobSpec({
        schedule, timeZone: props.timeZone ?? 'UTC', backoffLimit: 2,
        // Every object is downloaded again each night (the scratch folder is new); only changes are uploaded.
        activeDeadlineSeconds: 6 * 3600,
        template: bucketSyncPod(this, m, scripts.name,
          bucketSyncContainer('download', m, { minio: m }, 'download', this.resources),
          bucketSyncContainer('upload', m, { storage: this.backupStorage }, 'upload', this.resources)),
      }),
    });
  }

  public sizings(): WorkloadSizing[] {
    return [{ name: this.name, kind: 'CronJob', replicas: 1, containers: [this.resources], initContainers: [this.resources] }];
  }
}
