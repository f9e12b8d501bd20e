import { createHash } from 'crypto';
import { k8s } from '../core/k8s';
import { Construct } from 'constructs';
import { IMAGE_CATALOG, ImageRef } from '../../lib/images';
import { renderFilebeatYml } from '../../lib/logging/filebeat';
import { SecretKeyRef } from '../../lib/secrets';
import { ResourceSpec, WorkloadSizing } from '../../lib/sizing';
import { ValidationError } from '../../lib/errors';
import { ApiServerAddress, checkDnsLabel, checkInteger } from '../../lib/validate';
import { emptyDir, plainEnv, resourceRequirements, secretEnv } from '../core/pod-spec';
import { childPath, Workload } from '../core/workload';
import { Elasticsearch } from './elasticsearch';
import { ComponentProps, resolveComponent } from '../core/component';

/** Props of `Filebeat`. */
export interface FilebeatProps extends ComponentProps {
  /** The cluster logs are shipped to; its password and CA are used. */
  readonly elasticsearch: Elasticsearch;
  /** Namespace whose container logs are shipped. */
  readonly sourceNamespace: string;
  /** Namespace Filebeat runs in: one whose Pod Security admission allows hostPath (see `RestrictedNamespace.enforce`). */
  readonly namespace: string;
  /** Nodes in the cluster: one Filebeat pod each, for the capacity planner. */
  readonly nodes: number;
  /** Password of the Elasticsearch user Filebeat ships as. @default - the elastic password of `elasticsearch` */
  readonly passwordSecret?: SecretKeyRef;
  /** Elasticsearch user. @default "elastic" */
  readonly username?: string;
  /** Where the Kubernetes API server listens (for pod metadata). @default - any address on 443 and 6443 */
  readonly apiServer?: ApiServerAddress;
  /**
   * Folder of the node that holds Filebeat's data path (its registry of read offsets): an absolute
   * path under /var/lib, created when missing. One per Filebeat, so two systems on a node never
   * share a registry.
   * @default "/var/lib/<name>-data" ("/var/lib/quality-billing-filebeat-data")
   */
  readonly dataHostPath?: string;
}

/** Where Filebeat's data path (`--path.data`: the registry, meta.json) is mounted in its container. */
export const FILEBEAT_DATA_PATH = '/usr/share/filebeat/data';

/** Node folders Filebeat reads: container log symlinks and the files they point to. */
export const FILEBEAT_HOST_PATHS = ['/var/log/containers', '/var/log/pods'] as const;

/**
 * Filebeat as a DaemonSet shipping one namespace's container logs to Elasticsearch, the app's
 * JSON lines decoded (seed 000 §7.2). THE DOCUMENTED EXCEPTION to Pod Security "restricted":
 * it runs as uid 0 (the kubelet's log files are root's, mode 0640) and mounts the node's log
 * folders through read-only hostPath volumes. Everything else is restricted: no privilege
 * escalation, every capability dropped (so root reads only what root owns), RuntimeDefault
 * seccomp, read-only root filesystem. Its registry (the data path) lives in a writable hostPath
 * folder under /var/lib, as in Elastic's own filebeat-kubernetes.yaml ("data folder stores a
 * registry of read status for all files, so we don't send everything again on a Filebeat pod
 * restart"): a recreated pod resumes from the offsets of the last (elastic/beats #5557 is what an
 * emptyDir registry does). It is the only host path written to (the policy test checks).
 */
export class Filebeat extends Workload {
  public readonly daemonSet: k8s.KubeDaemonSet;
  public readonly resources: ResourceSpec;
  public readonly nodes: number;
  public readonly config: string;
  /** The node folder holding the registry. */
  public readonly dataHostPath: string;

  constructor(scope: Construct, id: string, props: FilebeatProps) {
    const image = ImageRef.parse(props.image ?? IMAGE_CATALOG.filebeat.toString(), childPath(scope, id), 'image');
    const namespace = checkDnsLabel(childPath(scope, id), 'namespace', props.namespace);
    super(scope, id, { name: props.name ?? 'filebeat', component: 'log-shipper', version: image.version, namespace });
    const path = this.node.path;
    this.resources = resolveComponent(path, props, 'filebeat').resources;
    this.nodes = checkInteger(path, 'nodes', props.nodes, 1, 1000);
    const source = checkDnsLabel(path, 'sourceNamespace', props.sourceNamespace);
    this.dataHostPath = checkRegistryHostPath(path, props.dataHostPath ?? `/var/lib/${this.name}-data`);
    const es = props.elasticsearch;
    es.acceptTrafficFrom(this, es.port);
    this.allowEgressToApiServer(props.apiServer);
    this.config = renderFilebeatYml({ namespace: source, elasticsearchUrl: `http://${es.name}.${es.namespace}.svc:${es.port}` });

    const meta = (name: string) => ({ name, namespace, labels: this.labels });
    const configMap = new k8s.KubeConfigMap(this, 'Config', { metadata: meta(`${this.name}-config`), data: { 'filebeat.yml': this.config } });
    new k8s.KubeServiceAccount(this, 'ServiceAccount', { metadata: meta(this.name), automountServiceAccountToken: false });
    // Pod metadata of the shipped namespace only: a Role there, bound to this ServiceAccount.
    new k8s.KubeRole(this, 'PodReader', {
      metadata: { name: `${this.name}-pod-reader`, namespace: source, labels: this.labels },
      rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }],
    });
    new k8s.KubeRoleBinding(this, 'PodReaderBinding', {
      metadata: { name: `${this.name}-pod-reader`, namespace: source, labels: this.labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: `${this.name}-pod-reader` },
      subjects: [{ kind: 'ServiceAccount', name: this.name, namespace }],
    });

    const volumes: k8s.Volume[] = [
      { name: 'config', configMap: { name: configMap.name } },
      emptyDir('tmp', '64Mi'),
      ...FILEBEAT_HOST_PATHS.map((p, i) => ({ name: `host-logs-${i}`, hostPath: { path: p, type: 'Directory' } })),
      { name: 'data', hostPath: { path: this.dataHostPath, type: 'DirectoryOrCreate' } },
    ];
    this.daemonSet = new k8s.KubeDaemonSet(this, 'DaemonSet', {
      metadata: meta(this.name),
      spec: {
        selector: { matchLabels: this.selector },
        updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: k8s.IntOrString.fromNumber(1) } },
        template: {
          metadata: { labels: this.labels, annotations: { 'quality-billing.io/config-checksum': createHash('sha256').update(this.config).digest('hex') } },
          spec: {
            serviceAccountName: this.name,
            automountServiceAccountToken: true,
            enableServiceLinks: false,
            terminationGracePeriodSeconds: 30,
            securityContext: { runAsUser: 0, runAsGroup: 0, runAsNonRoot: false, seccompProfile: { type: 'RuntimeDefault' } },
            containers: [{
              name: 'filebeat',
              image: image.toString(),
              imagePullPolicy: 'IfNotPresent',
              args: ['-e', '-c', '/etc/filebeat/filebeat.yml', '--path.data', FILEBEAT_DATA_PATH, '-strict.perms=false'],
              env: [
                { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
                plainEnv('ELASTICSEARCH_USERNAME', props.username ?? 'elastic'),
                secretEnv('ELASTICSEARCH_PASSWORD', props.passwordSecret ?? es.passwordSecret),
              ],
              resources: resourceRequirements(this.resources),
              securityContext: {
                runAsUser: 0,
                runAsNonRoot: false,
                allowPrivilegeEscalation: false,
                privileged: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'] },
                seccompProfile: { type: 'RuntimeDefault' },
              },
              volumeMounts: [
                { name: 'config', mountPath: '/etc/filebeat', readOnly: true },
                { name: 'data', mountPath: FILEBEAT_DATA_PATH },
                { name: 'tmp', mountPath: '/tmp' },
                ...FILEBEAT_HOST_PATHS.map((p, i) => ({ name: `host-logs-${i}`, mountPath: p, readOnly: true })),
              ],
              livenessProbe: { exec: { command: ['filebeat', 'test', 'config', '-c', '/etc/filebeat/filebeat.yml', '-strict.perms=false'] }, periodSeconds: 60, timeoutSeconds: 10, failureThreshold: 3 },
              readinessProbe: { exec: { command: ['sh', '-c', 'curl -sf http://127.0.0.1:5066/ >/dev/null'] }, periodSeconds: 20, timeoutSeconds: 5, failureThreshold: 3 },
              terminationMessagePolicy: 'FallbackToLogsOnError',
            }],
            volumes,
          },
        },
      },
    });
  }

  public sizings(): WorkloadSizing[] {
    return [{ name: this.name, kind: 'DaemonSet', replicas: this.nodes, containers: [this.resources], onePerNode: true }];
  }
}

/** A registry folder: absolute, under /var/lib, no "." or ".." segment (it is the one host path written to). */
function checkRegistryHostPath(path: string, value: string): string {
  const segments = typeof value === 'string' ? value.split('/').slice(3) : [];
  const ok = typeof value === 'string' && value.startsWith('/var/lib/') && segments.length > 0
    && segments.every(s => /^[A-Za-z0-9][-_.A-Za-z0-9]*$/.test(s) && s !== '.' && s !== '..');
  if (!ok) throw new ValidationError(path, 'dataHostPath', value, 'an absolute folder under /var/lib ("/var/lib/<system>-filebeat-data"), without "." or ".." segments');
  return value;
}
