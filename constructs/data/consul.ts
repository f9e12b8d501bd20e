import { k8s } from '../core/k8s';
import { Construct } from 'constructs';
import { ValidationError } from '../../lib/errors';
import { IMAGE_CATALOG, ImageRef } from '../../lib/images';
import { ByteQuantity } from '../../lib/quantity';
import { SecretKeyRef } from '../../lib/secrets';
import { majority, ResourceSpec, WorkloadSizing } from '../../lib/sizing';
import { checkInteger } from '../../lib/validate';
import { PersistentComponentProps, resolveComponent, resolveStorage } from '../core/component';
import { IConnectable, IConnectionClient } from '../core/connections';
import { emptyDir, onePerNode, plainEnv, podSecurityContext, restrictedContainer, secretEnv } from '../core/pod-spec';
import { podDisruptionBudgetOfOne } from '../core/rolling-deployment';
import { childPath, MetricsEndpoint, Workload } from '../core/workload';
import { dataVolumeClaim } from '../core/stateful-server';

/** Props of `Consul`. */
export interface ConsulProps extends PersistentComponentProps {
  /** Servers: 1 (development) or an odd number from 3, one per node. @default 3 */
  readonly servers?: number;
  /** Gossip encryption key (`consul keygen`). @default - key "gossip-key" of Secret "consul-credentials" */
  readonly gossipKeySecret?: SecretKeyRef;
  /** Datacenter name. @default "dc1" */
  readonly datacenter?: string;
}

const HTTP_PORT = 8500;
const DNS_PORT = 8600;
const SERVER_PORT = 8300;
const SERF_LAN_PORT = 8301;
/** UID of the official image's consul user. */
const CONSUL_UID = 100;

/**
 * Consul servers for service discovery (seed 003: `CONSUL_HOST=consul`, `CONSUL_PORT=8500`): a
 * StatefulSet of 3 (1 in development) that bootstrap a cluster by joining each other through a
 * headless Service, gossip encrypted with a key from a Secret, data on a volume, one server per
 * node, a PDB keeping a quorum. Clients connect with `connectTo(consul)` and get CONSUL_HOST and
 * CONSUL_PORT. Inside Kubernetes, Services already give every component a stable name: Consul is
 * here for the services that register and look each other up through it, as the seed's do.
 */
export class Consul extends Workload implements IConnectable {
  public readonly statefulSet: k8s.KubeStatefulSet;
  /** Clients' Service (HTTP API 8500, DNS 8600). */
  public readonly service: k8s.KubeService;
  public readonly servers: number;
  public readonly resources: ResourceSpec;
  public readonly storage: ByteQuantity;
  public readonly metrics: MetricsEndpoint;

  constructor(scope: Construct, id: string, props: ConsulProps = {}) {
    const image = ImageRef.parse(props.image ?? IMAGE_CATALOG.consul.toString(), childPath(scope, id), 'image');
    super(scope, id, { name: props.name ?? 'consul', component: 'service-discovery', version: image.version });
    const path = this.node.path;
    const { tier: t, resources: r } = resolveComponent(path, props, 'consul');
    this.resources = r;
    this.storage = resolveStorage(path, props, t, 'consul');
    this.servers = checkInteger(path, 'servers', props.servers ?? 3, 1, 7);
    if (this.servers !== 1 && (this.servers % 2 === 0 || this.servers < 3)) throw new ValidationError(path, 'servers', this.servers, '1 (development) or an odd number from 3: a Raft quorum must survive a lost server');
    const datacenter = props.datacenter ?? 'dc1';
    if (!/^[a-z0-9-]{1,32}$/.test(datacenter)) throw new ValidationError(path, 'datacenter', datacenter, 'lower-case letters, digits and "-"');
    const gossipKey = props.gossipKeySecret ?? SecretKeyRef.of('consul-credentials', 'gossip-key', path);
    const headless = `${this.name}-server`;
    this.metrics = { serviceName: this.name, portName: 'http', port: HTTP_PORT, path: '/v1/agent/metrics?format=prometheus' };

    new k8s.KubeService(this, 'Headless', {
      metadata: { name: headless, labels: this.labels },
      spec: {
        clusterIp: 'None', publishNotReadyAddresses: true, selector: this.selector,
        ports: [{ name: 'server', port: SERVER_PORT, targetPort: k8s.IntOrString.fromString('server') }, { name: 'serf-lan', port: SERF_LAN_PORT, targetPort: k8s.IntOrString.fromString('serf-lan') }],
      },
    });
    this.service = new k8s.KubeService(this, 'Service', {
      metadata: { name: this.name, labels: this.labels },
      spec: {
        selector: this.selector,
        ports: [{ name: 'http', port: HTTP_PORT, targetPort: k8s.IntOrString.fromString('http') }, { name: 'dns', port: DNS_PORT, targetPort: k8s.IntOrString.fromString('dns'), protocol: 'UDP' }],
      },
    });
    const joins = Array.from({ length: this.servers }, (_, i) => `-retry-join=${this.name}-${i}.${headless}`);
    const server = restrictedContainer({
      name: 'consul', image, uid: CONSUL_UID, resources: this.resources,
      command: ['consul'],
      args: ['agent', '-server', `-bootstrap-expect=${this.servers}`, `-datacenter=${datacenter}`, '-data-dir=/consul/data', '-client=0.0.0.0',
        '-bind=0.0.0.0', '-advertise=$(POD_IP)', '-ui', '-encrypt=$(CONSUL_GOSSIP_KEY)', '-disable-host-node-id', '-hcl=telemetry { prometheus_retention_time = "60s" disable_hostname = true }', ...joins],
      env: [{ name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }, secretEnv('CONSUL_GOSSIP_KEY', gossipKey), plainEnv('CONSUL_DISABLE_PERM_MGMT', 'true')],
      ports: [
        { name: 'http', containerPort: HTTP_PORT }, { name: 'dns', containerPort: DNS_PORT, protocol: 'UDP' },
        { name: 'server', containerPort: SERVER_PORT }, { name: 'serf-lan', containerPort: SERF_LAN_PORT },
      ],
      volumeMounts: [{ name: 'data', mountPath: '/consul/data' }, { name: 'tmp', mountPath: '/tmp' }],
      livenessProbe: { tcpSocket: { port: k8s.IntOrString.fromString('http') }, periodSeconds: 15, timeoutSeconds: 3, failureThreshold: 4 },
      // Ready once the agent answers and the cluster has a leader.
      readinessProbe: { exec: { command: ['sh', '-c', `wget -qO- http://127.0.0.1:${HTTP_PORT}/v1/status/leader | grep -q ':${SERVER_PORT}'`] }, periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 3 },
    });
    this.statefulSet = new k8s.KubeStatefulSet(this, 'StatefulSet', {
      metadata: { name: this.name, labels: this.labels },
      spec: {
        serviceName: headless,
        replicas: this.servers,
        podManagementPolicy: 'Parallel',
        selector: { matchLabels: this.selector },
        persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
        template: {
          metadata: { labels: this.labels },
          spec: {
            automountServiceAccountToken: false, enableServiceLinks: false, securityContext: podSecurityContext(CONSUL_UID),
            terminationGracePeriodSeconds: 30,
            affinity: this.servers > 1 ? onePerNode(this.selector) : undefined,
            containers: [server],
            volumes: [emptyDir('tmp', '64Mi')],
          },
        },
        volumeClaimTemplates: [dataVolumeClaim(this, this.storage, props.storageClassName)],
      },
    });
    if (this.servers > 1) {
      podDisruptionBudgetOfOne(this);
    }
    // Servers talk Raft and gossip (TCP and UDP) with each other.
    this.allowIngressFrom(this.peer, [SERVER_PORT, SERF_LAN_PORT]);
    this.allowEgressTo(this.peer, [SERVER_PORT, SERF_LAN_PORT]);
    this.allowIngressFrom(this.peer, [SERF_LAN_PORT], 'UDP');
    this.allowEgressTo(this.peer, [SERF_LAN_PORT], 'UDP');
  }

  /** Gives the client CONSUL_HOST and CONSUL_PORT and opens the HTTP API to it. */
  public bind(client: IConnectionClient): void {
    client.addEnv(plainEnv('CONSUL_HOST', this.name), plainEnv('CONSUL_PORT', HTTP_PORT));
    this.acceptTrafficFrom(client.workload, HTTP_PORT);
  }

  public sizings(): WorkloadSizing[] {
    return [{ name: this.name, kind: 'StatefulSet', replicas: this.servers, containers: [this.resources], storagePerReplica: this.storage, onePerNode: this.servers > 1, quorum: this.servers > 1 ? majority(this.servers) : undefined }];
  }
}
