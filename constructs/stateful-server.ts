import { createHash } from 'crypto';
import { Lazy } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { ImageRef } from '../lib/images';
import { ByteQuantity } from '../lib/quantity';
import { DATABASE_IMAGE_UID } from '../lib/security';
import { ResourceSpec } from '../lib/sizing';
import { podSecurityContext, restrictedContainer } from './pod';
import { Workload } from './workload';

/** The Prometheus exporter sidecar of a stateful server. */
export interface ExporterSidecar {
  readonly image: ImageRef;
  readonly resources: ResourceSpec;
  readonly port: number;
  readonly env: k8s.EnvVar[];
}

/** What differs between the stateful servers (PostgreSQL, Redis). */
export interface StatefulServerOptions {
  /** The server container; it mounts the volume claim named "data". */
  readonly server: k8s.Container;
  /** Name and number of the server's port. */
  readonly port: { readonly name: string; readonly number: number };
  readonly exporter: ExporterSidecar;
  readonly storage: ByteQuantity;
  readonly storageClassName?: string;
  /** Pod volumes besides the claim. */
  readonly volumes: k8s.Volume[];
  readonly terminationGracePeriodSeconds: number;
  /** The rendered configuration file; its checksum on the pod template restarts the server when it changes. */
  readonly config: () => string;
}

/**
 * A Service and a single-replica StatefulSet whose volume claim outlives the StatefulSet
 * (`Retain`), with a metrics exporter sidecar: the shape Postgres and Redis share.
 */
export function statefulServer(w: Workload, o: StatefulServerOptions): { service: k8s.KubeService; statefulSet: k8s.KubeStatefulSet } {
  const service = new k8s.KubeService(w, 'Service', {
    metadata: { name: w.name, labels: w.labels },
    spec: {
      selector: w.selector,
      ports: [
        { name: o.port.name, port: o.port.number, targetPort: k8s.IntOrString.fromString(o.port.name) },
        { name: 'metrics', port: o.exporter.port, targetPort: k8s.IntOrString.fromString('metrics') },
      ],
    },
  });
  const exporterPort = k8s.IntOrString.fromNumber(o.exporter.port);
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
          annotations: Lazy.any({ produce: () => ({ 'quality-billing.io/config-checksum': createHash('sha256').update(o.config()).digest('hex') }) }) as unknown as Record<string, string>,
        },
        spec: {
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: podSecurityContext(DATABASE_IMAGE_UID),
          terminationGracePeriodSeconds: o.terminationGracePeriodSeconds,
          containers: [
            o.server,
            restrictedContainer({
              name: 'exporter',
              image: o.exporter.image,
              uid: DATABASE_IMAGE_UID,
              resources: o.exporter.resources,
              env: o.exporter.env,
              ports: [{ name: 'metrics', containerPort: o.exporter.port }],
              livenessProbe: { tcpSocket: { port: exporterPort }, periodSeconds: 30, timeoutSeconds: 5, failureThreshold: 3 },
              readinessProbe: { httpGet: { path: '/metrics', port: exporterPort }, periodSeconds: 30, timeoutSeconds: 10, failureThreshold: 3 },
            }),
          ],
          volumes: o.volumes,
        },
      },
      volumeClaimTemplates: [{
        metadata: { name: 'data', labels: w.selector },
        spec: {
          accessModes: ['ReadWriteOnce'],
          storageClassName: o.storageClassName,
          resources: { requests: { storage: k8s.Quantity.fromString(o.storage.toString()) } },
        },
      }],
    },
  });
  return { service, statefulSet };
}
