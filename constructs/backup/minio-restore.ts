import { k8s } from '../core/k8s';
import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { BUCKET_SYNC_SCRIPT } from '../../lib/backup/minio-scripts';
import { ValidationError } from '../../lib/errors';
import { IMAGE_CATALOG } from '../../lib/images';
import { WorkloadSizing } from '../../lib/sizing';
import { checkDnsLabel } from '../../lib/validate';
import { Workload } from '../core/workload';
import { bucketSyncContainer, bucketSyncPod, MinioMirror } from './minio-mirror';

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
    const path = this.node.path;
    this.mirror = mirror;
    const storage = mirror.backupStorage;
    this.allowEgressTo({ ipBlock: { cidr: storage.cidr } }, [storage.endpointPort]);
    // A policy of its own on MinIO's pods, so the Job's objects work applied alone.
    this.allowEgressTo(m.peerFor(this), [m.port]);
    new k8s.KubeNetworkPolicy(this, 'MinioIngress', {
      metadata: { name: `${this.name}-to-${m.name}`.slice(0, 63).replace(/-+$/, ''), labels: this.labels, namespace: m.explicitNamespace },
      spec: {
        podSelector: { matchLabels: m.selector },
        policyTypes: ['Ingress'],
        ingress: [{ from: [this.peerFor(m)], ports: [{ protocol: 'TCP', port: k8s.IntOrString.fromNumber(m.port) }] }],
      },
    });
    const scripts = new k8s.KubeConfigMap(this, 'Scripts', { metadata: { name: `${this.name}-scripts`, labels: this.labels }, data: { 'bucket-sync.sh': BUCKET_SYNC_SCRIPT } });
    this.job = new k8s.KubeJob(this, 'Job', {
      metadata: { name: checkDnsLabel(path, 'jobName', props.jobName ?? this.name), labels: this.labels },
      spec: {
        // One try: a failed restore is read and understood before it runs again.
        backoffLimit: 0,
        activeDeadlineSeconds: 12 * 3600,
        ttlSecondsAfterFinished: 7 * 86400,
        template: bucketSyncPod(this, m, scripts.name,
          bucketSyncContainer('fetch', m, { storage }, 'download', mirror.resources),
          bucketSyncContainer('restore', m, { minio: m }, 'upload', mirror.resources)),
      },
    });
  }

  public sizings(): WorkloadSizing[] {
    return [{ name: this.name, kind: 'Job', replicas: 1, containers: [this.mirror.resources], initContainers: [this.mirror.resources] }];
  }
}

/** What `minioRestoreObjects` restores. */
export interface MinioRestoreOptions {
  /** Name of the Job. @default "<minio>-restore-<UTC time>" */
  readonly jobName?: string;
  /** The time the default Job name carries. @default - now */
  readonly now?: Date;
}

/**
 * The objects of a MinIO restore Job for a synthesized system's chart (`npm run restore --
 * --store minio`), built under `stack` from the chart's own `MinioMirror`, so the storage,
 * credentials and buckets are those the mirror was written with. A ValidationError when the chart
 * mirrors no MinIO.
 */
export function minioRestoreObjects(stack: Construct, o: MinioRestoreOptions = {}): Record<string, any>[] {
  const mirror = stack.node.findAll().find((c): c is MinioMirror => c instanceof MinioMirror);
  if (!mirror) throw new ValidationError(stack.node.path, 'store', 'minio', 'a system and environment that mirror a MinIO (ai-bookkeeping in staging and prod): this chart has none');
  const stamp = (o.now ?? new Date()).toISOString().replace(/[-:]/g, '').slice(0, 13).toLowerCase();
  const restore = new MinioRestore(stack, 'MinioRestore', { mirror, jobName: o.jobName ?? `${mirror.minio.name}-restore-${stamp}` });
  return restore.node.findAll().filter((c): c is ApiObject => c instanceof ApiObject).map(a => a.toJson());
}
