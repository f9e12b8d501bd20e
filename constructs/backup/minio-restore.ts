import { k8s } from '../core/k8s';
import { Construct } from 'constructs';
import { BUCKET_SYNC_SCRIPT } from '../../lib/backup/minio-scripts';
import { IMAGE_CATALOG } from '../../lib/images';
import { WorkloadSizing } from '../../lib/sizing';
import { Workload } from '../core/workload';
import { bucketSyncContainer, bucketSyncPod, MinioMirror } from './minio-mirror';
import { backupInChart, restoreJob, restoreReaches, RestoreJobOptions, restoreObjectsFromBackup } from './restore-job';
import { jobNameStamp } from '../../lib/schedule';

/** Props of `MinioRestore`. */
export interface MinioRestoreProps {
  /** The mirror restored from (its MinIO, storage and sizing). */
  readonly mirror: MinioMirror;
  /** Name of the Job (Jobs are immutable: each restore gets its own). @default "<minio>-restore" */
  readonly jobName?: string;
}

/**
 * A one-off Job that mirrors the backup of every MinIO bucket back into MinIO: the first container
 * downloads `<prefix>/minio/<bucket>/`, the second uploads it into the bucket with `aws s3 sync`
 * as the applications' user; each checks that every object arrived with its size. Objects are
 * added or overwritten, none deleted; MinIO keeps running (its bucket versioning keeps what is
 * overwritten). Emitted by `npm run restore -- --store minio`, not part of the deployed stack.
 */
export class MinioRestore extends Workload {
  public readonly job: k8s.KubeJob;
  /** The mirror restored from. */
  public readonly mirror: MinioMirror;

  constructor(scope: Construct, id: string, props: MinioRestoreProps) {
    const mirror = props.mirror;
    const m = mirror.minio;
    super(scope, id, { name: `${m.name}-restore`, component: 'restore', version: IMAGE_CATALOG.awsCli.version });
    this.mirror = mirror;
    const storage = mirror.backupStorage;
    this.allowEgressTo({ ipBlock: { cidr: storage.cidr } }, [storage.endpointPort]);
    restoreReaches(this, m, m.port);
    const scripts = new k8s.KubeConfigMap(this, 'Scripts', { metadata: { name: `${this.name}-scripts`, labels: this.labels }, data: { 'bucket-sync.sh': BUCKET_SYNC_SCRIPT } });
    this.job = restoreJob(this, props.jobName ?? this.name, 12 * 3600, bucketSyncPod(this, m, scripts.name,
      bucketSyncContainer('fetch', m, { storage }, 'download', mirror.resources),
      bucketSyncContainer('restore', m, { minio: m }, 'upload', mirror.resources)));
  }

  public sizings(): WorkloadSizing[] {
    return [{ name: this.name, kind: 'Job', replicas: 1, containers: [this.mirror.resources], initContainers: [this.mirror.resources] }];
  }
}

/**
 * Adds a `MinioRestore` under `stack` from the chart's own `MinioMirror` (so the storage,
 * credentials and buckets are those the mirror was written with); undefined when the chart mirrors
 * no MinIO. `stamp` ends the default Job name (`jobNameStamp`).
 */
export function addMinioRestore(stack: Construct, o: { readonly jobName?: string; readonly stamp: string }): MinioRestore | undefined {
  const mirror = backupInChart(stack, MinioMirror);
  return mirror && new MinioRestore(stack, 'MinioRestore', { mirror, jobName: o.jobName ?? `${mirror.minio.name}-restore-${o.stamp}` });
}

/** The objects of a MinIO restore Job for a synthesized system's chart (`addMinioRestore`); a ValidationError when it mirrors no MinIO. */
export function minioRestoreObjects(stack: Construct, o: RestoreJobOptions = {}): Record<string, any>[] {
  return restoreObjectsFromBackup(stack, 'minio', 'mirror a MinIO (ai-bookkeeping in staging and prod)',
    () => addMinioRestore(stack, { jobName: o.jobName, stamp: jobNameStamp(o.now ?? new Date()) }));
}
