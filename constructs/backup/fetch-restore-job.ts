import { k8s } from '../core/k8s';
import { FETCH_SCRIPT } from '../../lib/backup/logical-scripts';
import { ResolvedS3Location } from '../../lib/backup/s3';
import { IMAGE_CATALOG, ImageRef } from '../../lib/images';
import { DATABASE_IMAGE_UID } from '../../lib/security';
import { ResourceSpec } from '../../lib/sizing';
import { checkDnsLabel } from '../../lib/validate';
import { emptyDir, plainEnv, restrictedContainer, runOncePodSpec } from '../core/pod-spec';
import { Workload } from '../core/workload';
import { s3ClientEnv } from './logical-backup-workload';

/** What differs between the restores of the backups `uploadBackupCronJob` writes. */
export interface FetchRestoreJobOptions {
  /** Folder under the storage prefix the backups are in ("mongodb"), passed to the fetch as BACKUP_KIND. */
  readonly kind: string;
  /** Where the backups are. */
  readonly backupStorage: ResolvedS3Location;
  /** "latest" (the newest complete backup) or a backup id; checked by the caller. */
  readonly backupId: string;
  /** Name of the Job (checked as a DNS label). */
  readonly jobName: string;
  /** Requests and limits of each container. */
  readonly resources: ResourceSpec;
  /** Size of the scratch volume the backup is downloaded to. */
  readonly scratchSize: string;
  /** The restoring step: its image, script and environment; it reads `<BACKUP_DIR>/BACKUP_ID` and `<BACKUP_DIR>/<id>/`. */
  readonly restore: { readonly image: ImageRef; readonly shell: 'sh' | 'bash'; readonly script: string; readonly env: k8s.EnvVar[] };
}

const WORK_DIR = '/backup';
const SCRIPTS_DIR = '/opt/backup';

/**
 * A one-off restore Job of two steps sharing a scratch volume, emitted on demand by
 * `npm run restore` with a ConfigMap of its scripts: the logical backup's fetch (aws-cli image)
 * downloads the newest complete backup of `kind`, or the one named, and checks its SHA256SUMS;
 * then the restoring container runs its script. One try (a failed restore is read and understood
 * before it runs again); deleted a week after it finishes. The counterpart of `uploadBackupCronJob`.
 */
export function fetchRestoreJob(w: Workload, o: FetchRestoreJobOptions): k8s.KubeJob {
  const scripts = new k8s.KubeConfigMap(w, 'Scripts', { metadata: { name: `${w.name}-scripts`, labels: w.labels }, data: { 'fetch.sh': FETCH_SCRIPT, 'restore.sh': o.restore.script } });
  const mounts = [{ name: 'work', mountPath: WORK_DIR }, { name: 'scripts', mountPath: SCRIPTS_DIR, readOnly: true }, { name: 'tmp', mountPath: '/tmp' }];
  const fetch = restrictedContainer({
    name: 'fetch', image: IMAGE_CATALOG.awsCli, uid: DATABASE_IMAGE_UID, resources: o.resources,
    command: ['bash', `${SCRIPTS_DIR}/fetch.sh`],
    env: [...s3ClientEnv(o.backupStorage, WORK_DIR), plainEnv('BACKUP_KIND', o.kind), plainEnv('BACKUP_ID', o.backupId)],
    volumeMounts: mounts,
  });
  const restore = restrictedContainer({
    name: 'restore', image: o.restore.image, uid: DATABASE_IMAGE_UID, resources: o.resources,
    command: [o.restore.shell, `${SCRIPTS_DIR}/restore.sh`],
    env: [...o.restore.env, plainEnv('BACKUP_DIR', WORK_DIR)],
    volumeMounts: mounts,
  });
  w.allowEgressTo({ ipBlock: { cidr: o.backupStorage.cidr } }, [o.backupStorage.endpointPort]);
  return new k8s.KubeJob(w, 'Job', {
    metadata: { name: checkDnsLabel(w.node.path, 'jobName', o.jobName), labels: w.labels },
    spec: {
      backoffLimit: 0,
      activeDeadlineSeconds: 12 * 3600,
      ttlSecondsAfterFinished: 7 * 86400,
      template: {
        metadata: { labels: w.labels },
        spec: runOncePodSpec(DATABASE_IMAGE_UID, {
          initContainers: [fetch],
          containers: [restore],
          volumes: [emptyDir('work', o.scratchSize), { name: 'scripts', configMap: { name: scripts.name } }, emptyDir('tmp', '64Mi')],
        }),
      },
    },
  });
}
