import { ApiObject, JsonPatch } from 'cdk8s';
import { k8s } from '../core/k8s';
import { Construct } from 'constructs';
import { FETCH_SCRIPT } from '../../lib/backup/logical-scripts';
import { MODEL_ARCHIVE_SCRIPT, MODEL_FETCH_IF_EMPTY_SCRIPT, MODEL_UNPACK_SCRIPT } from '../../lib/backup/model-scripts';
import { resolveS3Location, ResolvedS3Location, S3Location } from '../../lib/backup/s3';
import { IMAGE_CATALOG } from '../../lib/images';
import { RESOURCE_PRESETS } from '../../lib/presets';
import { ByteQuantity } from '../../lib/quantity';
import { checkCronSchedule } from '../../lib/schedule';
import { DATABASE_IMAGE_UID } from '../../lib/security';
import { ResourceQuantities, resources, ResourceSpec, WorkloadSizing } from '../../lib/sizing';
import { tier as lookupTier, TierName } from '../../lib/tiers';
import { checkDnsSubdomain, checkInteger, checkOneOf } from '../../lib/validate';
import type { AppWorkload } from '../app/app-workload';
import { emptyDir, plainEnv, podSecurityContext, restrictedContainer } from '../core/pod-spec';
import { Workload } from '../core/workload';
import { s3ClientEnv } from './logical-backup-workload';
import { uploadBackupCronJob } from './upload-backup-job';

/** Props of `ModelFiles`. */
export interface ModelFilesProps {
  /** Where the archives go: `<prefix>/models/<UTC id>/`. */
  readonly backupStorage: S3Location;
  /** Base object name: the volume claim, "<name>-backup" and "<name>-restore". @default "models" */
  readonly name?: string;
  /** Size of the model volume. @default - "2Gi" on the minimum tier, "10Gi" on recommended */
  readonly storage?: string;
  /** StorageClass of the volume; with ReadWriteMany it must offer shared file storage (EFS, NFS, CephFS). @default - the cluster's default StorageClass */
  readonly storageClassName?: string;
  /** Access mode of the volume: ReadWriteMany lets the API's replicas on different nodes read it. @default "ReadWriteMany" */
  readonly accessMode?: 'ReadWriteMany' | 'ReadWriteOnce';
  /** Cron schedule of the archive (Kubernetes cron). @default "30 5 * * 0" (Sunday 05:30: models change seldom, and the database backups are done by then) */
  readonly schedule?: string;
  /** IANA time zone of the schedule. @default "UTC" */
  readonly timeZone?: string;
  /** Days an archive is kept; the newest 3 complete ones are always kept. @default 30 (seed 002 keeps full backups 30 days) */
  readonly retentionDays?: number;
  /** Tier whose "backup" preset sizes the containers. @default "recommended" */
  readonly tier?: TierName;
  /** Requests and limits of each container. @default - the tier's "backup" preset */
  readonly resources?: ResourceQuantities;
}

const WORK_DIR = '/backup';
const SCRIPTS_DIR = '/opt/backup';
/** Where the model volume is mounted, in the backup and restore pods and in the applications. */
export const MODEL_MOUNT_PATH = '/models';

/**
 * The model files of seed 002 (§11.2: model files backed up to object storage regularly): a volume
 * the applications read their models from (`mountInto`), a CronJob that archives it with the
 * logical backup's verified upload and retention (`<prefix>/models/<id>/`, tar compared with the
 * volume before upload, SHA256SUMS last), and a Job that fills the volume from the newest complete
 * archive when it is empty — on a new site or after the volume was lost — and leaves it alone
 * otherwise, so it runs on every install.
 */
export class ModelFiles extends Workload {
  public readonly claim: k8s.KubePersistentVolumeClaim;
  public readonly cronJob: k8s.KubeCronJob;
  public readonly restoreJob: k8s.KubeJob;
  public readonly backupStorage: ResolvedS3Location;
  public readonly storage: ByteQuantity;
  public readonly resources: ResourceSpec;
  public readonly retentionDays: number;
  /** Name of the volume claim. */
  public readonly claimName: string;
  private readonly restoreName: string;

  constructor(scope: Construct, id: string, props: ModelFilesProps) {
    const name = props.name ?? 'models';
    super(scope, id, { name: `${name}-backup`, component: 'backup', version: IMAGE_CATALOG.postgres.version });
    const path = this.node.path;
    this.backupStorage = resolveS3Location(path, 'backupStorage', props.backupStorage);
    const t = lookupTier(props.tier ?? 'recommended', path).name;
    this.resources = resources(props.resources ?? RESOURCE_PRESETS[t].backup, path, 'resources');
    this.storage = ByteQuantity.parse(props.storage ?? (t === 'minimum' ? '2Gi' : '10Gi'), path, 'storage');
    if (props.storageClassName !== undefined) checkDnsSubdomain(path, 'storageClassName', props.storageClassName);
    const accessMode = checkOneOf(path, 'accessMode', props.accessMode ?? 'ReadWriteMany', ['ReadWriteMany', 'ReadWriteOnce'] as const);
    this.retentionDays = checkInteger(path, 'retentionDays', props.retentionDays ?? 30, 7, 3650);
    const schedule = checkCronSchedule(path, 'schedule', props.schedule ?? '30 5 * * 0');
    this.claimName = name;
    this.restoreName = `${name}-restore`;
    // The archive is at most the volume's size; a little more for the checksum files.
    const scratch = `${Math.ceil(this.storage.gibibytes) + 1}Gi`;

    this.claim = new k8s.KubePersistentVolumeClaim(this, 'Claim', {
      // Not awaited, like the claims of a StatefulSet's volumeClaimTemplates: under WaitForFirstConsumer
      // it binds only once a consumer's pod is placed, and the consumers are applied after it
      // (pulumi-kubernetes #895; #3130 reads the bind mode only where it can, #4179 on updates).
      // Its consumers' awaits still fail when it never binds.
      metadata: { name: this.claimName, labels: this.labels, annotations: { 'pulumi.com/skipAwait': 'true' } },
      spec: {
        accessModes: [accessMode],
        storageClassName: props.storageClassName,
        resources: { requests: { storage: k8s.Quantity.fromString(this.storage.toString()) } },
      },
    });
    const modelVolume = (readOnly: boolean): k8s.Volume => ({ name: 'models', persistentVolumeClaim: { claimName: this.claimName, readOnly } });

    this.cronJob = uploadBackupCronJob(this, {
      kind: 'models', backupStorage: this.backupStorage, retentionDays: this.retentionDays, schedule, timeZone: props.timeZone ?? 'UTC',
      activeDeadlineSeconds: 3 * 3600, resources: this.resources, scratchSize: scratch,
      produce: {
        name: 'archive', image: IMAGE_CATALOG.postgres, shell: 'bash', script: MODEL_ARCHIVE_SCRIPT,
        env: [plainEnv('MODEL_DIR', MODEL_MOUNT_PATH)], volumeMounts: [{ name: 'models', mountPath: MODEL_MOUNT_PATH, readOnly: true }],
      },
      volumes: [modelVolume(true)],
    });

    const restoreLabels = { ...this.labels, 'app.kubernetes.io/name': this.restoreName };
    const scripts = new k8s.KubeConfigMap(this, 'RestoreScripts', {
      metadata: { name: `${this.restoreName}-scripts`, labels: restoreLabels },
      data: { 'fetch-if-empty.sh': MODEL_FETCH_IF_EMPTY_SCRIPT, 'fetch.sh': FETCH_SCRIPT, 'unpack.sh': MODEL_UNPACK_SCRIPT },
    });
    const mounts = [{ name: 'work', mountPath: WORK_DIR }, { name: 'scripts', mountPath: SCRIPTS_DIR, readOnly: true }, { name: 'tmp', mountPath: '/tmp' }, { name: 'models', mountPath: MODEL_MOUNT_PATH }];
    const fetch = restrictedContainer({
      name: 'fetch', image: IMAGE_CATALOG.awsCli, uid: DATABASE_IMAGE_UID, resources: this.resources,
      command: ['bash', `${SCRIPTS_DIR}/fetch-if-empty.sh`],
      env: [...s3ClientEnv(this.backupStorage, WORK_DIR), plainEnv('BACKUP_KIND', 'models'), plainEnv('BACKUP_ID', 'latest'), plainEnv('MODEL_DIR', MODEL_MOUNT_PATH)],
      volumeMounts: mounts.map(m => (m.name === 'models' ? { ...m, readOnly: true } : m)),
    });
    const unpack = restrictedContainer({
      name: 'unpack', image: IMAGE_CATALOG.postgres, uid: DATABASE_IMAGE_UID, resources: this.resources,
      command: ['bash', `${SCRIPTS_DIR}/unpack.sh`],
      env: [plainEnv('BACKUP_DIR', WORK_DIR), plainEnv('MODEL_DIR', MODEL_MOUNT_PATH)],
      volumeMounts: mounts,
    });
    this.restoreJob = new k8s.KubeJob(this, 'RestoreJob', {
      metadata: { name: this.restoreName, labels: restoreLabels },
      spec: {
        backoffLimit: 3,
        activeDeadlineSeconds: 3 * 3600,
        ttlSecondsAfterFinished: 86400,
        template: {
          metadata: { labels: this.labels },
          spec: {
            restartPolicy: 'Never',
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            securityContext: podSecurityContext(DATABASE_IMAGE_UID),
            initContainers: [fetch],
            containers: [unpack],
            volumes: [emptyDir('work', scratch), { name: 'scripts', configMap: { name: scripts.name } }, emptyDir('tmp', '64Mi'), modelVolume(false)],
          },
        },
      },
    });
  }

  /**
   * Mounts the model volume read-only into `app`'s pods at /models and sets MODEL_DIR, through
   * cdk8s's JSON patch escape hatch on its Deployment (the app constructs take no extra volumes).
   */
  public mountInto(app: AppWorkload & { readonly deployment: k8s.KubeDeployment }): this {
    app.addEnv(plainEnv('MODEL_DIR', MODEL_MOUNT_PATH));
    ApiObject.of(app.deployment).addJsonPatch(
      JsonPatch.add('/spec/template/spec/volumes/-', { name: 'models', persistentVolumeClaim: { claimName: this.claimName, readOnly: true } }),
      JsonPatch.add('/spec/template/spec/containers/0/volumeMounts/-', { name: 'models', mountPath: MODEL_MOUNT_PATH, readOnly: true }),
    );
    return this;
  }

  public sizings(): WorkloadSizing[] {
    const scratch = ByteQuantity.gibibytes(Math.ceil(this.storage.gibibytes) + 1);
    return [
      { name: this.name, kind: 'CronJob', replicas: 1, containers: [this.resources], initContainers: [this.resources], scratchStorage: scratch },
      // The volume is counted once, with the Job that fills it.
      { name: this.restoreName, kind: 'Job', replicas: 1, containers: [this.resources], initContainers: [this.resources], storagePerReplica: this.storage, scratchStorage: scratch },
    ];
  }
}
