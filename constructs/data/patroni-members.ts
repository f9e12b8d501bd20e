import { createHash } from 'crypto';
import { k8s } from '../core/k8s';
import { ByteQuantity } from '../../lib/quantity';
import { DATABASE_IMAGE_UID } from '../../lib/security';
import { exporterContainer, ExporterSidecar, replicatedStatefulSet } from '../core/stateful-server';
import { Workload } from '../core/workload';

/** The role label's values Patroni 3.0 writes on the pods (patroni/dcs/kubernetes.py `touch_member`). */
export const PATRONI_ROLE_LABEL = 'role';
/** Value of the role label on the primary. */
export const PATRONI_PRIMARY_ROLE = 'master';
/** Value of the role label on a running standby. */
export const PATRONI_REPLICA_ROLE = 'replica';
/** Label whose value is the cluster's name (Patroni's `scope_label`). */
export const PATRONI_SCOPE_LABEL = 'cluster-name';

/** What `patroniMembers` builds the members from. */
export interface PatroniMembersOptions {
  /** Members: the primary and its standbys. */
  readonly members: number;
  /** The Patroni container (it runs PostgreSQL); it mounts the claim "data". */
  readonly server: k8s.Container;
  /** PostgreSQL's port, named "postgres". */
  readonly port: number;
  /** The exporter sidecar of every member. */
  readonly exporter: ExporterSidecar;
  readonly storage: ByteQuantity;
  /** @default - the cluster's default */
  readonly storageClassName?: string;
  readonly volumes: k8s.Volume[];
  readonly terminationGracePeriodSeconds: number;
  /** Everything the members read at start (postgresql.conf, patroni.yml): a change rolls them. */
  readonly config: () => string;
}

/** The objects of a Patroni cluster. */
export interface PatroniMembers {
  /** Always points at the primary: selects the member pod Patroni labels "master". */
  readonly primaryService: k8s.KubeService;
  /** Points at the running standbys (read-only queries). */
  readonly replicaService: k8s.KubeService;
  /** Headless: stable member names for the StatefulSet, and every member's exporter for Prometheus. */
  readonly membersService: k8s.KubeService;
  readonly statefulSet: k8s.KubeStatefulSet;
  /** The identity Patroni talks to the Kubernetes API as. */
  readonly serviceAccount: k8s.KubeServiceAccount;
}

/**
 * PostgreSQL members run by Patroni with its Kubernetes DCS: a StatefulSet of `members` pods, one
 * per node, with a PodDisruptionBudget of one; a Service on the pod Patroni labels primary, one on
 * its standbys, and a headless one for the members; and the RBAC Patroni needs.
 *
 * The Role is what Patroni's Kubernetes docs list for ConfigMaps mode ("kubernetes.use_endpoints"
 * off: the leader, config, sync and failover keys are annotations of ConfigMaps named after the
 * cluster) and what the Zalando operator grants its Spilo pods (charts/postgres-operator
 * clusterrole-postgres-pod.yaml): ConfigMaps read and written, and pods read, watched and patched
 * (Patroni writes each pod's role label and status annotation). Namespaced, nothing else: no
 * Secrets, no Endpoints writes, no exec.
 */
export function patroniMembers(w: Workload, o: PatroniMembersOptions): PatroniMembers {
  const portSpec = (name: string, port: number) => ({ name, port, targetPort: k8s.IntOrString.fromString(name) });
  const primaryService = new k8s.KubeService(w, 'Service', {
    metadata: {
      name: w.name, labels: w.labels,
      // No endpoints until Patroni labels a member: Pulumi need not await them (the StatefulSet's
      // readiness is the wait). Belt-and-braces since @pulumi/kubernetes 4.17.0 (#3142), which finds
      // a Service selecting no pod ready after 10 s. Pulumi's documented annotation; lib/deployment-plan.ts models it.
      annotations: { 'pulumi.com/skipAwait': 'true' },
    },
    spec: { selector: { ...w.selector, [PATRONI_ROLE_LABEL]: PATRONI_PRIMARY_ROLE }, ports: [portSpec('postgres', o.port)] },
  });
  const replicaService = new k8s.KubeService(w, 'ReplicaService', {
    metadata: { name: `${w.name}-replicas`, labels: w.labels, annotations: { 'pulumi.com/skipAwait': 'true' } },
    spec: { selector: { ...w.selector, [PATRONI_ROLE_LABEL]: PATRONI_REPLICA_ROLE }, ports: [portSpec('postgres', o.port)] },
  });
  const membersService = new k8s.KubeService(w, 'MembersService', {
    metadata: { name: `${w.name}-members`, labels: w.labels },
    spec: { clusterIp: 'None', selector: w.selector, ports: [portSpec('postgres', o.port), portSpec('metrics', o.exporter.port)] },
  });

  const serviceAccount = new k8s.KubeServiceAccount(w, 'ServiceAccount', { metadata: { name: w.name, labels: w.labels }, automountServiceAccountToken: false });
  new k8s.KubeRole(w, 'Role', {
    metadata: { name: w.name, labels: w.labels },
    rules: [
      { apiGroups: [''], resources: ['configmaps'], verbs: ['create', 'get', 'list', 'patch', 'update', 'watch', 'delete'] },
      { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'patch', 'watch'] },
    ],
  });
  new k8s.KubeRoleBinding(w, 'RoleBinding', {
    metadata: { name: w.name, labels: w.labels },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: w.name },
    subjects: [{ kind: 'ServiceAccount', name: w.name }],
  });

  // Patroni decides who leads: no member waits for another to be ready to start.
  const statefulSet = replicatedStatefulSet(w, {
    serviceName: membersService.name,
    replicas: o.members,
    checksum: () => createHash('sha256').update(o.config()).digest('hex'),
    containers: [o.server, exporterContainer(o.exporter, DATABASE_IMAGE_UID)],
    volumes: o.volumes,
    storage: o.storage,
    storageClassName: o.storageClassName,
    podLabels: { [PATRONI_SCOPE_LABEL]: w.name },
    serviceAccountName: serviceAccount.name,
    terminationGracePeriodSeconds: o.terminationGracePeriodSeconds,
  });
  return { primaryService, replicaService, membersService, statefulSet, serviceAccount };
}
