import { k8s } from '../core/k8s';
import { Construct } from 'constructs';
import { IMAGE_CATALOG, ImageRef } from '../../lib/images';
import { RESOURCE_PRESETS } from '../../lib/presets';
import { ByteQuantity } from '../../lib/quantity';
import { renderRedisConf } from '../../lib/redis-config';
import { SecretKeyRef } from '../../lib/secrets';
import { DATABASE_IMAGE_UID } from '../../lib/security';
import { ResourceQuantities, resources, ResourceSpec, WorkloadSizing } from '../../lib/sizing';
import { redisMaxMemory, redisPeakBreakdown } from '../../lib/tuning';
import { checkInteger, checkPort } from '../../lib/validate';
import { emptyDir, execProbe, plainEnv, restrictedContainer, secretEnv } from '../core/pod-spec';
import { statefulServer } from '../core/stateful-server';
import { childPath, MetricsEndpoint, Workload } from '../core/workload';
import { PersistentComponentProps, resolveComponent, resolveStorage } from '../core/component';
import { ExternalRedis, ExternalRedisProps } from './external-redis';
import { IRedis, RedisDatabase, redisDatabase } from './redis-database';

/** Props of `Redis`. */
export interface RedisProps extends PersistentComponentProps {
  /** Password clients authenticate with. @default - key "password" of Secret "redis-credentials" */
  readonly passwordSecret?: SecretKeyRef;
  /**
   * Redis carries Celery's broker queue: `maxmemory-policy noeviction`, because an evicted key is
   * a lost task. Set false only for a pure cache, which then evicts with allkeys-lru.
   * @default true
   */
  readonly usedAsBroker?: boolean;
  /** Pinned redis_exporter image. @default - the catalog's redis_exporter */
  readonly exporterImage?: string;
  /** Requests and limits of the exporter sidecar. @default - the tier's preset */
  readonly exporterResources?: ResourceQuantities;
  /** Server port. @default 6379 */
  readonly port?: number;
  /** Logical databases. @default 16 */
  readonly databases?: number;
}

const EXPORTER_PORT = 9121;

/**
 * Redis 7 as a single-replica StatefulSet with AOF persistence on a volume, a generated
 * redis.conf (maxmemory from the limit, noeviction as a broker), password from a Secret and a
 * redis_exporter sidecar. Seed 000 §2.2 uses db 0 for the cache, 1 for the Celery broker and
 * 2 for results: `redis.cache`, `redis.broker`, `redis.results`.
 */
export class Redis extends Workload implements IRedis {
  /**
   * A Redis server this chart did not create (a managed cache), given its address and password
   * Secret: clients `connectTo` its databases like a `Redis`'s; see `ExternalRedis`.
   */
  public static fromConnection(scope: Construct, id: string, props: ExternalRedisProps): IRedis {
    return new ExternalRedis(scope, id, props);
  }

  public readonly statefulSet: k8s.KubeStatefulSet;
  public readonly service: k8s.KubeService;
  public readonly configMap: k8s.KubeConfigMap;
  public readonly metrics: MetricsEndpoint;
  public readonly resources: ResourceSpec;
  public readonly exporterResources: ResourceSpec;
  public readonly storage: ByteQuantity;
  public readonly maxMemory: ByteQuantity;
  public readonly usedAsBroker: boolean;
  public readonly passwordSecret: SecretKeyRef;
  public readonly port: number;
  /** Database 0 as REDIS_URL (seed 000 §2.2). */
  public readonly cache: RedisDatabase;
  /** Database 1 as CELERY_BROKER_URL. */
  public readonly broker: RedisDatabase;
  /** Database 2 as CELERY_RESULT_BACKEND. */
  public readonly results: RedisDatabase;
  /** Logical databases (`databases` of redis.conf). */
  public readonly databases: number;
  /** The server's pinned image (its redis-cli and redis-check-rdb serve the backup and restore). */
  public readonly image: ImageRef;

  constructor(scope: Construct, id: string, props: RedisProps = {}) {
    const image = ImageRef.parse(props.image ?? IMAGE_CATALOG.redis.toString(), childPath(scope, id), 'image');
    super(scope, id, { name: props.name ?? 'redis', component: 'cache', version: image.version });
    this.image = image;
    const path = this.node.path;
    const { tier: t, resources: mainResources } = resolveComponent(path, props, 'redis');
    const exporterImage = ImageRef.parse(props.exporterImage ?? IMAGE_CATALOG.redisExporter.toString(), path, 'exporterImage');
    this.resources = mainResources;
    this.exporterResources = resources(props.exporterResources ?? RESOURCE_PRESETS[t].redisExporter, path, 'exporterResources');
    this.storage = resolveStorage(path, props, t, 'redis');
    this.port = checkPort(path, 'port', props.port ?? 6379);
    this.databases = checkInteger(path, 'databases', props.databases ?? 16, 3, 1024);
    this.usedAsBroker = props.usedAsBroker ?? true;
    this.passwordSecret = props.passwordSecret ?? SecretKeyRef.of('redis-credentials', 'password', path);
    this.maxMemory = redisMaxMemory(this.resources.memoryLimit);
    this.metrics = { serviceName: this.name, portName: 'metrics', port: EXPORTER_PORT, path: '/metrics' };
    this.cache = this.database(0, 'REDIS_URL');
    this.broker = this.database(1, 'CELERY_BROKER_URL', { broker: true });
    this.results = this.database(2, 'CELERY_RESULT_BACKEND');

    const config = renderRedisConf({
      port: this.port,
      maxMemory: this.maxMemory,
      maxMemoryPolicy: this.usedAsBroker ? 'noeviction' : 'allkeys-lru',
      databases: this.databases,
    });
    this.configMap = new k8s.KubeConfigMap(this, 'Config', {
      metadata: { name: `${this.name}-config`, labels: this.labels },
      data: { 'redis.conf': config },
    });

    const ping = redisPing(this.port);
    const server = restrictedContainer({
      name: 'redis',
      image,
      uid: DATABASE_IMAGE_UID,
      resources: this.resources,
      command: ['redis-server'],
      args: ['/etc/redis/redis.conf', '--dir', '/data', '--requirepass', '$(REDIS_PASSWORD)'],
      env: [secretEnv('REDIS_PASSWORD', this.passwordSecret), secretEnv('REDISCLI_AUTH', this.passwordSecret)],
      ports: [{ name: 'redis', containerPort: this.port }],
      volumeMounts: [
        { name: 'data', mountPath: '/data' },
        { name: 'config', mountPath: '/etc/redis', readOnly: true },
        { name: 'tmp', mountPath: '/tmp' },
      ],
      // Loading a large AOF at start can take minutes.
      startupProbe: execProbe(ping, { periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 60 }),
      livenessProbe: { tcpSocket: { port: k8s.IntOrString.fromNumber(this.port) }, periodSeconds: 15, timeoutSeconds: 3, failureThreshold: 4 },
      readinessProbe: execProbe(ping, { periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 3 }),
    });
    ({ service: this.service, statefulSet: this.statefulSet } = statefulServer(this, {
      server,
      port: { name: 'redis', number: this.port },
      exporter: {
        image: exporterImage,
        resources: this.exporterResources,
        port: EXPORTER_PORT,
        env: [plainEnv('REDIS_ADDR', `redis://127.0.0.1:${this.port}`), secretEnv('REDIS_PASSWORD', this.passwordSecret)],
      },
      storage: this.storage,
      storageClassName: props.storageClassName,
      volumes: [{ name: 'config', configMap: { name: this.configMap.name } }, emptyDir('tmp', '64Mi')],
      terminationGracePeriodSeconds: 60,
      config: () => config,
    }));
  }

  /** A logical database handed to clients under `envVar`. */
  public database(db: number, envVar: string, options: { broker?: boolean } = {}): RedisDatabase {
    return redisDatabase(this, { host: this.name, port: this.port, passwordSecret: this.passwordSecret, databases: this.databases }, db, envVar, options);
  }

  public sizings(): WorkloadSizing[] {
    return [{ name: this.name, kind: 'StatefulSet', replicas: 1, containers: [this.resources, this.exporterResources], storagePerReplica: this.storage, peakMemory: redisPeakBreakdown(this.resources.memoryLimit) }];
  }
}

/**
 * The probe command of a Redis server or sentinel: PONG on `port`. redis-cli reads REDISCLI_AUTH
 * (which the container must set from the Secret), so the password is not on its command line.
 */
export function redisPing(port: number): string[] {
  return ['sh', '-c', `redis-cli -h 127.0.0.1 -p ${port} ping | grep -q PONG`];
}
