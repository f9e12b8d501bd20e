import { createHash } from 'crypto';
import { k8s } from './k8s';
import { ImageRef } from '../../lib/images';
import { ByteQuantity } from '../../lib/quantity';
import { DATABASE_IMAGE_UID } from '../../lib/security';
import { ResourceSpec } from '../../lib/sizing';
import { onePerNode, podSecurityContext, restrictedContainer } from './pod-spec';
import { podDisruptionBudgetOfOne } from './rolling-deployment';
import { Workload } from './workload';
import { lazy } from './lazy';

/** The Prometheus exporter sidecar of a stateful server. */
export interface ExporterSidecar {
  readonly image: ImageRef;
  readonly resources: ResourceSpec;
  readonly port: number;
  readonly env: k8s.EnvVar[];
  /** Volumes of the pod the exporter mounts (its query file). @default - none */
  readonly volumeMounts?: k8s.VolumeMount[];
}

/** What differs between the stateful servers (PostgreSQL, Redis). */
export interface StatefulServerOptions {
  /** The server container; it mounts the volume claim named "data". */
  readonly server: k8s.Container;
  /** Name and number of the server's port. */
  readonly port: { readonly name: string; readonly number: number };
  /** Further named ports of the server the Service exposes (a web console). @default - none */
  readonly extraPorts?: ReadonlyArray<{ readonly name: string; readonly number: number }>;
  /** A metrics exporter sidecar, for servers that do not serve Prometheus metrics themselves. @default - none */
  readonly exporter?: ExporterSidecar;
  /** UID the pod runs as. @default 999 (the official postgres and redis images) */
  readonly uid?: number;
  /** ServiceAccount of the pod; its token is mounted only when one is given. @default - none, no token */
  readonly serviceAccountName?: string;
  /** Size of the volume claim. */
  readonly storage: ByteQuantity;
  /** StorageClass of the claim. @default - the cluster's default */
  readonly storageClassName?: string;
  /** Pod volumes besides the claim. */
  readonly volumes: k8s.Volume[];
  /** Time the server gets to shut down cleanly before it is killed. */
  readonly terminationGracePeriodSeconds: number;
  /** The rendered configuration file; its checksum on the pod template restarts the server when it changes. */
  readonly config: () => string;
}

/**
 * A Service and a single-replica StatefulSet whose volume claim outlives the StatefulSet
 * (`Retain`), optionally with a metrics exporter sidecar: the shape of Postgres, Redis,
 * Prometheus and Alertmanager.
 */
export function statefulServer(w: Workload, o: StatefulServerOptions): { service: k8s.KubeService; statefulSet: k8s.KubeStatefulSet } {
  const service = new k8s.KubeService(w, 'Service', {
    metadata: { name: w.name, labels: w.labels },
    spec: {
      selector: w.selector,
      ports: [
        ...[o.port, ...o.extraPorts ?? []].map(p => ({ name: p.name, port: p.number, targetPort: k8s.IntOrString.fromString(p.name) })),
        ...(o.exporter ? [{ name: 'metrics', port: o.exporter.port, targetPort: k8s.IntOrString.fromString('metrics') }] : []),
      ],
    },
  });
  const uid = o.uid ?? DATABASE_IMAGE_UID;
  const e = o.exporter;
  const statefulSet = new k8s.KubeStatefulSet(w, 'StatefulSet', {
    metadata: { name: w.name, labels: w.labels },
    spec: {
      serviceName: w.name,
      replicas: 1,
      selector: { matchLabels: w.selector },
      persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
      template: {
        metadata: {
          labels: w.labels,
          // The server reads its configuration file only at start: a new checksum rolls the pod.
          annotations: lazy((): Record<string, string> => ({ 'quality-billing.io/config-checksum': createHash('sha256').update(o.config()).digest('hex') })),
        },
        spec: {
          serviceAccountName: o.serviceAccountName,
          automountServiceAccountToken: o.serviceAccountName !== undefined,
          enableServiceLinks: false,
          securityContext: podSecurityContext(uid),
          terminationGracePeriodSeconds: o.terminationGracePeriodSeconds,
          containers: [
            o.server,
            ...(e ? [exporterContainer(e, uid)] : []),
          ],
          volumes: o.volumes,
        },
      },
      volumeClaimTemplates: [dataVolumeClaim(w, o.storage, o.storageClassName)],
    },
  });
  return { service, statefulSet };
}

/** The exporter sidecar's container: scraped on its "metrics" port, probed by TCP (alive) and by a scrape (ready). */
export function exporterContainer(e: ExporterSidecar, uid: number): k8s.Container {
  return restrictedContainer({
    name: 'exporter',
    image: e.image,
    uid,
    resources: e.resources,
    env: e.env,
    volumeMounts: e.volumeMounts,
    ports: [{ name: 'metrics', containerPort: e.port }],
    livenessProbe: { tcpSocket: { port: k8s.IntOrString.fromNumber(e.port) }, periodSeconds: 30, timeoutSeconds: 5, failureThreshold: 3 },
    readinessProbe: { httpGet: { path: '/metrics', port: k8s.IntOrString.fromNumber(e.port) }, periodSeconds: 30, timeoutSeconds: 10, failureThreshold: 3 },
  });
}

/** The volume claim template "data" of a StatefulSet's pods: one ReadWriteOnce volume per pod. */
export function dataVolumeClaim(w: Workload, storage: ByteQuantity, storageClassName?: string): k8s.KubePersistentVolumeClaimProps {
  return {
    metadata: { name: 'data', labels: w.selector },
    spec: { accessModes: ['ReadWriteOnce'], storageClassName, resources: { requests: { storage: k8s.Quantity.fromString(storage.toString()) } } },
  };
}

/** What `replicatedStatefulSet` builds a StatefulSet from. */
export interface ReplicatedStatefulSetOptions {
  /** The headless Service that gives each pod its DNS name. */
  readonly serviceName: string;
  /** Pods of the set. */
  readonly replicas: number;
  /** Checksum of the pods' configuration, as a template annotation; a function when only known at synth. */
  readonly checksum: string | (() => string);
  /** The pods' containers. */
  readonly containers: k8s.Container[];
  /** The pods' volumes, beside the "data" claim. */
  readonly volumes: k8s.Volume[];
  /** One "data" volume per pod of this size, retained when the set is deleted or scaled down. @default - none */
  readonly storage?: ByteQuantity;
  /** StorageClass of the "data" volumes. @default - the cluster's default */
  readonly storageClassName?: string;
  /** Labels the pods carry beside the workload's. @default - none */
  readonly podLabels?: Record<string, string>;
  /** A ServiceAccount whose token the pods mount (they call the API server). @default - none, no token */
  readonly serviceAccountName?: string;
  /** Seconds a pod has to stop after SIGTERM. @default 30 */
  readonly terminationGracePeriodSeconds?: number;
}

/**
 * A StatefulSet whose pods start together (members that elect or find their leader themselves:
 * none waits for another to be ready), one per node, with a PDB of one when there are several.
 */
export function replicatedStatefulSet(w: Workload, o: ReplicatedStatefulSetOptions): k8s.KubeStatefulSet {
  const checksum = o.checksum;
  const sts = new k8s.KubeStatefulSet(w, 'StatefulSet', {
    metadata: { name: w.name, labels: w.labels },
    spec: {
      serviceName: o.serviceName,
      replicas: o.replicas,
      podManagementPolicy: 'Parallel',
      selector: { matchLabels: w.selector },
      persistentVolumeClaimRetentionPolicy: o.storage ? { whenDeleted: 'Retain', whenScaled: 'Retain' } : undefined,
      template: {
        metadata: {
          labels: { ...w.labels, ...o.podLabels },
          annotations: typeof checksum === 'string'
            ? { 'quality-billing.io/config-checksum': checksum }
            : lazy((): Record<string, string> => ({ 'quality-billing.io/config-checksum': checksum() })),
        },
        spec: {
          serviceAccountName: o.serviceAccountName,
          automountServiceAccountToken: o.serviceAccountName !== undefined,
          enableServiceLinks: false,
          securityContext: podSecurityContext(DATABASE_IMAGE_UID),
          terminationGracePeriodSeconds: o.terminationGracePeriodSeconds ?? 30,
          affinity: o.replicas > 1 ? onePerNode(w.selector) : undefined,
          containers: o.containers,
          volumes: o.volumes,
        },
      },
      volumeClaimTemplates: o.storage ? [dataVolumeClaim(w, o.storage, o.storageClassName)] : undefined,
    },
  });
  if (o.replicas > 1) {
    podDisruptionBudgetOfOne(w);
  }
  return sts;
}
