import { k8s } from '../core/k8s';
import { UPLOAD_SCRIPT } from '../../lib/backup/logical-scripts';
import { ResolvedS3Location } from '../../lib/backup/s3';
import { IMAGE_CATALOG, ImageRef } from '../../lib/images';
import { DATABASE_IMAGE_UID } from '../../lib/security';
import { ResourceSpec } from '../../lib/sizing';
import { emptyDir, plainEnv, podSecurityContext, restrictedContainer, scheduledJobSpec } from '../core/pod-spec';
import { Workload } from '../core/workload';
import { s3ClientEnv } from './logical-backup-workload';

/** What differs between the backups that produce files and hand them to the shared upload step. */
export interface UploadBackupJobOptions {
  /** Folder under the storage prefix ("config", "mongodb"), passed to the upload as BACKUP_KIND. */
  readonly kind: string;
  /** Where the backups go. */
  readonly backupStorage: ResolvedS3Location;
  readonly retentionDays: number;
  readonly schedule: string;
  readonly timeZone: string;
  readonly activeDeadlineSeconds: number;
  readonly resources: ResourceSpec;
  /** The producing step: its image, script and environment; it writes `<BACKUP_DIR>/<id>/` with SHA256SUMS and `<BACKUP_DIR>/BACKUP_ID`. */
  readonly produce: { readonly name: string; readonly image: ImageRef; readonly shell: 'sh' | 'bash'; readonly script: string; readonly env: k8s.EnvVar[]; readonly volumeMounts?: k8s.VolumeMount[] };
  /** Pod volumes the producing step reads besides the scratch volume (the model volume). @default - none */
  readonly volumes?: k8s.Volume[];
  /** Size of the scratch volume. */
  readonly scratchSize: string;
  /** ServiceAccount the pod runs as, with its token (the config export reads the API). @default - none, no token */
  readonly serviceAccountName?: string;
}

const WORK_DIR = '/backup';
const SCRIPTS_DIR = '/opt/backup';

/**
 * A backup CronJob of two steps sharing a scratch volume: the producing container (an init
 * container) writes and checksums the files, then the logical backup's upload script verifies the
 * checksums, uploads (SHA256SUMS last) and applies the retention, always keeping the newest 3
 * complete backups. Used by the configuration export and the MongoDB dump.
 */
export function uploadBackupCronJob(w: Workload, o: UploadBackupJobOptions): k8s.KubeCronJob {
  const scripts = new k8s.KubeConfigMap(w, 'Scripts', { metadata: { name: `${w.name}-scripts`, labels: w.labels }, data: { [`${o.produce.name}.sh`]: o.produce.script, 'upload.sh': UPLOAD_SCRIPT } });
  const mounts = [{ name: 'work', mountPath: WORK_DIR }, { name: 'scripts', mountPath: SCRIPTS_DIR, readOnly: true }, { name: 'tmp', mountPath: '/tmp' }];
  const produce = restrictedContainer({
    name: o.produce.name, image: o.produce.image, uid: DATABASE_IMAGE_UID, resources: o.resources,
    command: [o.produce.shell, `${SCRIPTS_DIR}/${o.produce.name}.sh`],
    env: [...o.produce.env, plainEnv('BACKUP_DIR', WORK_DIR)],
    volumeMounts: [...mounts, ...o.produce.volumeMounts ?? []],
  });
  const upload = restrictedContainer({
    name: 'upload', image: IMAGE_CATALOG.awsCli, uid: DATABASE_IMAGE_UID, resources: o.resources,
    command: ['bash', `${SCRIPTS_DIR}/upload.sh`],
    env: [...s3ClientEnv(o.backupStorage, WORK_DIR), plainEnv('BACKUP_KIND', o.kind), plainEnv('RETENTION_DAYS', o.retentionDays), plainEnv('MIN_KEEP', 3)],
    volumeMounts: mounts,
  });
  w.allowEgressTo({ ipBlock: { cidr: o.backupStorage.cidr } }, [o.backupStorage.endpointPort]);
  return new k8s.KubeCronJob(w, 'CronJob', {
    metadata: { name: w.name, labels: w.labels },
    spec: scheduledJobSpec({
      schedule: o.schedule, timeZone: o.timeZone, backoffLimit: 2, activeDeadlineSeconds: o.activeDeadlineSeconds,
      template: {
        metadata: { labels: w.labels },
        spec: {
          restartPolicy: 'Never',
          serviceAccountName: o.serviceAccountName,
          automountServiceAccountToken: o.serviceAccountName !== undefined,
          enableServiceLinks: false,
          securityContext: podSecurityContext(DATABASE_IMAGE_UID),
          initContainers: [produce],
          containers: [upload],
          volumes: [emptyDir('work', o.scratchSize), { name: 'scripts', configMap: { name: scripts.name } }, emptyDir('tmp', '64Mi'), ...o.volumes ?? []],
        },
      },
    }),
  });
}
