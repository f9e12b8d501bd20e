import { createHash } from 'crypto';
import { k8s } from '../core/k8s';
import { Construct } from 'constructs';
import { ValidationError } from '../../lib/errors';
import { IMAGE_CATALOG, ImageRef } from '../../lib/images';
import { RESOURCE_PRESETS } from '../../lib/presets';
import { ByteQuantity } from '../../lib/quantity';
import { renderRedisConf } from '../../lib/redis-config';
import { REDIS_START_SCRIPT, SENTINEL_START_SCRIPT } from '../../lib/redis-replication';
import { SecretKeyRef } from '../../lib/secrets';
import { DATABASE_IMAGE_UID } from '../../lib/security';
import { majority, ResourceQuantities, resources, ResourceSpec, WorkloadSizing } from '../../lib/sizing';
import { redisMaxMemory, redisPeakBreakdown } from '../../lib/tuning';
import { checkInteger, checkPort } from '../../lib/validate';
import { PersistentComponentProps, resolveComponent, resolveStorage } from '../core/component';
import { IConnectable, IConnectionClient } from '../core/connections';
import { emptyDir, execProbe, plainEnv, restrictedContainer, secretEnv } from '../core/pod-spec';
import { childPath, MetricsEndpoint, Workload } from '../core/workload';
import { replicatedStatefulSet } from '../core/stateful-server';
import { redisPing } from './redis';

/** Props of `RedisReplication`. */
export interface RedisReplicationProps extends PersistentComponentProps {
  /** Replicas besides the master (seed 003: 2). @default 2 */
  readonly replicas?: number;
  /** Sentinels: an odd number; a majority of them must agree to fail over. @default 3 */
  readonly sentinels?: number;
  /** Password of the data pods and the sentinels (hex, as for `Redis`). @default - key "password" of Secret "redis-credentials" */
  readonly passwordSecret?: SecretKeyRef;
  /** Data port. @default 6379 */
  readonly port?: number;
  /** Sentinel port. @default 26379 */
  readonly sentinelPort?: number;
  /** Name the sentinels know the master by. @default - the construct's name */
  readonly masterName?: string;
  /** `noeviction` (a queue or broker) or `allkeys-lru` (a pure cache). @default true (noeviction) */
  readonly usedAsBroker?: boolean;
  /** Pinned redis_exporter image. @default - the catalog's redisExporter */
  readonly exporterImage?: string;
  /** Requests and limits of each sentinel. @default - the tier's "redisSentinel" preset */
  readonly sentinelResources?: ResourceQuantities;
}

const EXPORTER_PORT = 9121;

/**
 * Redis with replication and automatic failover (seed 003: a master and two replicas): a
 * StatefulSet of 1 + `replicas` data pods sharing the `Redis` construct's redis.conf rules, and a
 * StatefulSet of Redis Sentinels that promote a replica when the master is down for 5 s. Each pod
 * decides its role at start from what the sentinels report, so a restarted master rejoins as a
 * replica. Pods of each set are spread one per node. Clients connect with `connectTo` and get the
 * sentinels' address and the master's name (REDIS_SENTINEL_HOSTS, REDIS_MASTER_NAME) plus
 * REDIS_PASSWORD: they must use a Sentinel-aware client (redis-py `Sentinel`), which follows the
 * master through a failover — a plain URL to one Service could not.
 */
export class RedisReplication extends Workload implements IConnectable {
  public readonly statefulSet: k8s.KubeStatefulSet;
  public readonly sentinelStatefulSet: k8s.KubeStatefulSet;
  /** Headless Service of the data pods (stable names, metrics). */
  public readonly service: k8s.KubeService;
  /** The sentinels' Service clients ask for the master. */
  public readonly sentinelService: k8s.KubeService;
  public readonly configMap: k8s.KubeConfigMap;
  public readonly replicas: number;
  public readonly sentinels: number;
  /** Sentinels that must agree that the master is down. */
  public readonly quorum: number;
  public readonly port: number;
  public readonly sentinelPort: number;
  public readonly masterName: string;
  public readonly passwordSecret: SecretKeyRef;
  public readonly resources: ResourceSpec;
  public readonly exporterResources: ResourceSpec;
  public readonly sentinelResources: ResourceSpec;
  public readonly storage: ByteQuantity;
  public readonly maxMemory: ByteQuantity;
  public readonly metrics: MetricsEndpoint;
  /** The sentinels' workload (its pods, NetworkPolicy and sizing). */
  public readonly sentinel: RedisSentinel;
  /** The data pods' pinned image (its redis-cli and redis-check-rdb serve the backup and restore). */
  public readonly image: ImageRef;
  /** Whether it keeps every key (`noeviction`) rather than evicting as a cache (`allkeys-lru`). */
  public readonly usedAsBroker: boolean;
  /** Logical databases (`databases` of redis.conf). */
  public readonly databases = 16;
  /** Headless Service name of the data pods: pod i is `<name>-<i>.<headlessServiceName>`. */
  public readonly headlessServiceName: string;

  constructor(scope: Construct, id: string, props: RedisReplicationProps = {}) {
    const image = ImageRef.parse(props.image ?? IMAGE_CATALOG.redis.toString(), childPath(scope, id), 'image');
    super(scope, id, { name: props.name ?? 'redis', component: 'cache', version: image.version });
    this.image = image;
    this.usedAsBroker = props.usedAsBroker !== false;
    const path = this.node.path;
    const { tier: t, resources: mainResources } = resolveComponent(path, props, 'redis');
    this.resources = mainResources;
    this.exporterResources = resources(RESOURCE_PRESETS[t].redisExporter, path, 'exporterResources');
    this.sentinelResources = resources(props.sentinelResources ?? RESOURCE_PRESETS[t].redisSentinel, path, 'sentinelResources');
    this.storage = resolveStorage(path, props, t, 'redis');
    this.replicas = checkInteger(path, 'replicas', props.replicas ?? 2, 0, 10);
    this.sentinels = checkInteger(path, 'sentinels', props.sentinels ?? 3, 1, 7);
    if (this.sentinels % 2 === 0) throw new ValidationError(path, 'sentinels', this.sentinels, 'an odd number (1, 3, 5, 7): a majority must be able to agree');
    if (this.replicas > 0 && this.sentinels < 3) throw new ValidationError(path, 'sentinels', this.sentinels, 'at least 3 when there are replicas to promote (one sentinel cannot tell its own isolation from the master\'s)');
    this.quorum = Math.floor(this.sentinels / 2) + 1;
    this.port = checkPort(path, 'port', props.port ?? 6379);
    this.sentinelPort = checkPort(path, 'sentinelPort', props.sentinelPort ?? 26379);
    this.masterName = props.masterName ?? this.name;
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(this.masterName)) throw new ValidationError(path, 'masterName', this.masterName, 'letters, digits, ".", "-" and "_"');
    this.passwordSecret = props.passwordSecret ?? SecretKeyRef.of('redis-credentials', 'password', path);
    this.maxMemory = redisMaxMemory(this.resources.memoryLimit);
    const headless = this.headlessServiceName = `${this.name}-headless`;
    this.metrics = { serviceName: headless, portName: 'metrics', port: EXPORTER_PORT, path: '/metrics' };
    const exporterImage = ImageRef.parse(props.exporterImage ?? IMAGE_CATALOG.redisExporter.toString(), path, 'exporterImage');

    const config = renderRedisConf({ port: this.port, maxMemory: this.maxMemory, maxMemoryPolicy: this.usedAsBroker ? 'noeviction' : 'allkeys-lru', databases: this.databases });
    this.configMap = new k8s.KubeConfigMap(this, 'Config', {
      metadata: { name: `${this.name}-config`, labels: this.labels },
      data: { 'redis.conf': config, 'redis-start.sh': REDIS_START_SCRIPT, 'sentinel-start.sh': SENTINEL_START_SCRIPT },
    });
    this.service = new k8s.KubeService(this, 'Service', {
      metadata: { name: headless, labels: this.labels },
      spec: {
        clusterIp: 'None',
        publishNotReadyAddresses: true,
        selector: this.selector,
        ports: [
          { name: 'redis', port: this.port, targetPort: k8s.IntOrString.fromString('redis') },
          { name: 'metrics', port: EXPORTER_PORT, targetPort: k8s.IntOrString.fromString('metrics') },
        ],
      },
    });
    this.sentinel = new RedisSentinel(this, 'Sentinel', { name: `${this.name}-sentinel`, version: image.version, replicas: this.sentinels, resources: this.sentinelResources });
    this.sentinelService = new k8s.KubeService(this, 'SentinelService', {
      metadata: { name: this.sentinel.name, labels: this.sentinel.labels },
      spec: { selector: this.sentinel.selector, ports: [{ name: 'sentinel', port: this.sentinelPort, targetPort: k8s.IntOrString.fromString('sentinel') }] },
    });
    new k8s.KubeService(this, 'SentinelHeadless', {
      metadata: { name: `${this.sentinel.name}-headless`, labels: this.sentinel.labels },
      spec: { clusterIp: 'None', publishNotReadyAddresses: true, selector: this.sentinel.selector, ports: [{ name: 'sentinel', port: this.sentinelPort, targetPort: k8s.IntOrString.fromString('sentinel') }] },
    });

    const roleEnv = (selfService: string) => [
      secretEnv('REDIS_PASSWORD', this.passwordSecret),
      secretEnv('REDISCLI_AUTH', this.passwordSecret),
      plainEnv('REDIS_PORT', this.port),
      plainEnv('MASTER_NAME', this.masterName),
      plainEnv('SENTINEL_HOST', this.sentinel.name),
      plainEnv('SENTINEL_PORT', this.sentinelPort),
      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      plainEnv('SELF_HOST', `$(POD_NAME).${selfService}`),
      plainEnv('FIRST_HOST', `${this.name}-0.${headless}`),
    ];
    const data = restrictedContainer({
      name: 'redis', image, uid: DATABASE_IMAGE_UID, resources: this.resources,
      command: ['sh', '/etc/redis/redis-start.sh'],
      env: roleEnv(headless),
      ports: [{ name: 'redis', containerPort: this.port }],
      volumeMounts: [{ name: 'data', mountPath: '/data' }, { name: 'config', mountPath: '/etc/redis', readOnly: true }, { name: 'tmp', mountPath: '/tmp' }],
      startupProbe: execProbe(redisPing(this.port), { periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 60 }),
      livenessProbe: { tcpSocket: { port: k8s.IntOrString.fromString('redis') }, periodSeconds: 15, timeoutSeconds: 3, failureThreshold: 4 },
      readinessProbe: execProbe(redisPing(this.port), { periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 3 }),
    });
    const exporter = restrictedContainer({
      name: 'exporter', image: exporterImage, uid: DATABASE_IMAGE_UID, resources: this.exporterResources,
      env: [plainEnv('REDIS_ADDR', `redis://127.0.0.1:${this.port}`), secretEnv('REDIS_PASSWORD', this.passwordSecret)],
      ports: [{ name: 'metrics', containerPort: EXPORTER_PORT }],
      livenessProbe: { tcpSocket: { port: k8s.IntOrString.fromString('metrics') }, periodSeconds: 30, timeoutSeconds: 5, failureThreshold: 3 },
      readinessProbe: { httpGet: { path: '/metrics', port: k8s.IntOrString.fromString('metrics') }, periodSeconds: 30, timeoutSeconds: 10, failureThreshold: 3 },
    });
    const checksum = createHash('sha256').update(JSON.stringify(this.configMap.toJson().data)).digest('hex');
    this.statefulSet = replicatedStatefulSet(this, {
      serviceName: headless, replicas: this.replicas + 1, checksum, containers: [data, exporter],
      volumes: [{ name: 'config', configMap: { name: this.configMap.name } }, emptyDir('tmp', '64Mi')],
      storage: this.storage, storageClassName: props.storageClassName,
    });

    const sentinelContainer = restrictedContainer({
      name: 'sentinel', image, uid: DATABASE_IMAGE_UID, resources: this.sentinelResources,
      command: ['sh', '/etc/redis/sentinel-start.sh'],
      env: [...roleEnv(`${this.sentinel.name}-headless`), plainEnv('QUORUM', this.quorum), plainEnv('CONF_DIR', '/sentinel')],
      ports: [{ name: 'sentinel', containerPort: this.sentinelPort }],
      volumeMounts: [{ name: 'config', mountPath: '/etc/redis', readOnly: true }, { name: 'sentinel', mountPath: '/sentinel' }],
      livenessProbe: { tcpSocket: { port: k8s.IntOrString.fromString('sentinel') }, periodSeconds: 15, timeoutSeconds: 3, failureThreshold: 4 },
      readinessProbe: execProbe(redisPing(this.sentinelPort), { periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 3 }),
    });
    this.sentinelStatefulSet = replicatedStatefulSet(this.sentinel, {
      serviceName: `${this.sentinel.name}-headless`, replicas: this.sentinels, checksum, containers: [sentinelContainer],
      volumes: [{ name: 'config', configMap: { name: this.configMap.name } }, emptyDir('sentinel', '16Mi')],
    });

    // Data pods replicate from each other and ask the sentinels; sentinels watch the data pods and each other.
    this.allowIngressFrom(this.peer, [this.port]);
    this.allowEgressTo(this.peer, [this.port]);
    this.sentinel.allowIngressFrom(this.sentinel.peer, [this.sentinelPort]);
    this.sentinel.allowEgressTo(this.sentinel.peer, [this.sentinelPort]);
    this.acceptTrafficFrom(this.sentinel, this.port);
    this.sentinel.acceptTrafficFrom(this, this.sentinelPort);
  }

  /** Gives the client the sentinels, the master's name and the password, and opens both ports to it. */
  public bind(client: IConnectionClient): void {
    client.addEnv(
      secretEnv('REDIS_PASSWORD', this.passwordSecret),
      plainEnv('REDIS_SENTINEL_HOSTS', `${this.sentinel.name}:${this.sentinelPort}`),
      plainEnv('REDIS_MASTER_NAME', this.masterName),
    );
    this.acceptTrafficFrom(client.workload, this.port);
    this.sentinel.acceptTrafficFrom(client.workload, this.sentinelPort);
  }

  public sizings(): WorkloadSizing[] {
    const pods = this.replicas + 1;
    return [{ name: this.name, kind: 'StatefulSet', replicas: pods, containers: [this.resources, this.exporterResources], storagePerReplica: this.storage, peakMemory: redisPeakBreakdown(this.resources.memoryLimit), onePerNode: pods > 1 }];
  }
}

/** The sentinels' identity (labels, NetworkPolicy, sizing). */
export class RedisSentinel extends Workload {
  public readonly replicas: number;
  private readonly resources: ResourceSpec;

  constructor(scope: Construct, id: string, o: { name: string; version: string; replicas: number; resources: ResourceSpec }) {
    super(scope, id, { name: o.name, component: 'cache-sentinel', version: o.version });
    this.replicas = o.replicas;
    this.resources = o.resources;
  }

  public sizings(): WorkloadSizing[] {
    return [{ name: this.name, kind: 'StatefulSet', replicas: this.replicas, containers: [this.resources], onePerNode: this.replicas > 1, quorum: this.replicas > 1 ? majority(this.replicas) : undefined }];
  }
}

