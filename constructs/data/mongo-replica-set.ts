import { k8s } from '../core/k8s';
import { Construct, IConstruct } from 'constructs';
import { ValidationError } from '../../lib/errors';
import { IMAGE_CATALOG, ImageRef } from '../../lib/images';
import { RS_INIT_SHELL, rsInitiateScript, rsUsersScript } from '../../lib/mongo-replica-set-scripts';
import { RESOURCE_PRESETS } from '../../lib/presets';
import { ByteQuantity } from '../../lib/quantity';
import { SecretKeyRef } from '../../lib/secrets';
import { DATABASE_IMAGE_UID } from '../../lib/security';
import { majority, ResourceQuantities, resources, ResourceSpec, WorkloadSizing } from '../../lib/sizing';
import { mongoCacheSizeGb } from '../../lib/tuning';
import { checkInteger, checkPort } from '../../lib/validate';
import { PersistentComponentProps, resolveComponent, resolveStorage } from '../core/component';
import { IConnectable, IConnectionClient } from '../core/connections';
import { emptyDir, execProbe, onePerNode, plainEnv, podSecurityContext, restrictedContainer, secretEnv } from '../core/pod-spec';
import { podDisruptionBudgetOfOne } from '../core/rolling-deployment';
import { setupJob } from '../core/setup-job';
import { childPath, MetricsEndpoint, Workload } from '../core/workload';
import { dataVolumeClaim } from '../core/stateful-server';

/** Props of `MongoReplicaSet`. */
export interface MongoReplicaSetProps extends PersistentComponentProps {
  /** Replica set name (seed 003). @default "rs0" */
  readonly replicaSet?: string;
  /** Members: an odd number, at least 3 unless `allowSingleMember` (dev). @default 3 */
  readonly members?: number;
  /** Allow a one-member set (no redundancy: for development only). @default false */
  readonly allowSingleMember?: boolean;
  /** Database the application user may read and write, handed to clients. @default "app" */
  readonly database?: string;
  /** Name of the application user. @default "app" */
  readonly appUser?: string;
  /** Root user, used only by the image's first start and the initiation Job. @default - key "root-user" of Secret "mongo-credentials" */
  readonly rootUserSecret?: SecretKeyRef;
  /** Root password. @default - key "root-password" of Secret "mongo-credentials" */
  readonly rootPasswordSecret?: SecretKeyRef;
  /** Password of the application user (hex: it is written into a mongo-shell file). @default - key "app-password" of Secret "mongo-credentials" */
  readonly appPasswordSecret?: SecretKeyRef;
  /** Password of the exporter's clusterMonitor user (hex). @default - key "exporter-password" of Secret "mongo-credentials" */
  readonly exporterPasswordSecret?: SecretKeyRef;
  /** The members' shared key file (`openssl rand -base64 756`). @default - key "keyfile" of Secret "mongo-keyfile" */
  readonly keyFileSecret?: SecretKeyRef;
  /** Server port. @default 27017 */
  readonly port?: number;
  /** Pinned mongodb_exporter image. @default - the catalog's mongoExporter */
  readonly exporterImage?: string;
  /** Requests and limits of the exporter sidecar. @default - the tier's preset */
  readonly exporterResources?: ResourceQuantities;
}

const EXPORTER_PORT = 9216;
const REPLICA_SET_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** A MongoDB replica set that backups dump (`MongoReplicaSet`). */
export interface IMongoReplicaSet extends IConnectable, IConstruct {
  /** Prefix of the objects made for it (its backup is "<name>-backup"). */
  readonly name: string;
  /** Image whose tools (mongodump) match the server's version. */
  readonly image: ImageRef;
  /** Replica set name (`?replicaSet=`). */
  readonly replicaSet: string;
  /** Server port. */
  readonly port: number;
  /** Size of each member's data volume, which sizes a dump's scratch space. */
  readonly storage: ByteQuantity;
  /** `host:port` of every member. */
  readonly hosts: string[];
  /** The application database (what maintenance validates). */
  readonly database: string;
  /** Allows traffic from `client` to the members on `port`, in both workloads' policies. */
  acceptTrafficFrom(client: Workload, port: number): void;
}

/**
 * MongoDB as a replica set (seed 003: `rs0`, three members): a StatefulSet of N members with a
 * volume each, spread one per node (required anti-affinity) with a PodDisruptionBudget allowing
 * one member down, a headless Service for the members' stable names, internal authentication by a
 * key file and a root user from Secret references, the WiredTiger cache sized to the memory limit,
 * a mongodb_exporter sidecar, and an idempotent initiation Job (`rs.initiate` only when the set
 * is not yet initiated) that also keeps the application's and the exporter's users. Clients
 * connect with `client.connectTo(mongo)` and get MONGODB_URI with `?replicaSet=rs0`.
 */
export class MongoReplicaSet extends Workload implements IMongoReplicaSet {
  public readonly statefulSet: k8s.KubeStatefulSet;
  /** Headless: `<name>-<i>.<name>` resolves to member i. */
  public readonly service: k8s.KubeService;
  public readonly podDisruptionBudget?: k8s.KubePodDisruptionBudget;
  public readonly initJob: k8s.KubeJob;
  /** The mongod image (its mongodump/mongosh serve the backup and init Jobs). */
  public readonly image: ImageRef;
  public readonly replicaSet: string;
  public readonly members: number;
  public readonly port: number;
  public readonly database: string;
  public readonly appUser: string;
  public readonly appPasswordSecret: SecretKeyRef;
  public readonly resources: ResourceSpec;
  public readonly exporterResources: ResourceSpec;
  public readonly initResources: ResourceSpec;
  public readonly storage: ByteQuantity;
  /** WiredTiger cache, from the memory limit. */
  public readonly cacheSizeGb: number;
  /** Where Prometheus scrapes the exporter (each member). */
  public readonly metrics: MetricsEndpoint;
  /** The scripts the initiation Job runs. */
  public readonly initScripts: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, props: MongoReplicaSetProps = {}) {
    const image = ImageRef.parse(props.image ?? IMAGE_CATALOG.mongo.toString(), childPath(scope, id), 'image');
    super(scope, id, { name: props.name ?? 'mongo', component: 'document-database', version: image.version });
    const path = this.node.path;
    this.image = image;
    const { tier: t, resources: mainResources } = resolveComponent(path, props, 'mongo');
    this.resources = mainResources;
    this.exporterResources = resources(props.exporterResources ?? RESOURCE_PRESETS[t].mongoExporter, path, 'exporterResources');
    this.initResources = resources(RESOURCE_PRESETS[t].mongoInit, path, 'initResources');
    this.storage = resolveStorage(path, props, t, 'mongo');
    this.replicaSet = props.replicaSet ?? 'rs0';
    if (!REPLICA_SET_NAME.test(this.replicaSet)) throw new ValidationError(path, 'replicaSet', this.replicaSet, 'a name of letters, digits, "-" and "_" (at most 64)');
    this.members = checkInteger(path, 'members', props.members ?? 3, 1, 7);
    if (this.members % 2 === 0) throw new ValidationError(path, 'members', this.members, 'an odd number (1, 3, 5, 7), so that a majority can always elect a primary');
    if (this.members < 3 && !props.allowSingleMember) throw new ValidationError(path, 'members', this.members, 'at least 3 (a majority survives one member down); allowSingleMember: true for development');
    this.port = checkPort(path, 'port', props.port ?? 27017);
    this.database = props.database ?? 'app';
    if (!/^[A-Za-z0-9_-]{1,63}$/.test(this.database)) throw new ValidationError(path, 'database', this.database, 'a database name of letters, digits, "_" and "-" (at most 63)');
    this.appUser = props.appUser ?? 'app';
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(this.appUser)) throw new ValidationError(path, 'appUser', this.appUser, 'a user name of letters, digits, "_", "." and "-"');
    this.cacheSizeGb = mongoCacheSizeGb(this.resources.memoryLimit);
    const secret = (key: string) => SecretKeyRef.of('mongo-credentials', key, path);
    const rootUser = props.rootUserSecret ?? secret('root-user');
    const rootPassword = props.rootPasswordSecret ?? secret('root-password');
    this.appPasswordSecret = props.appPasswordSecret ?? secret('app-password');
    const exporterPassword = props.exporterPasswordSecret ?? secret('exporter-password');
    const keyFile = props.keyFileSecret ?? SecretKeyRef.of('mongo-keyfile', 'keyfile', path);
    const exporterImage = ImageRef.parse(props.exporterImage ?? IMAGE_CATALOG.mongoExporter.toString(), path, 'exporterImage');
    this.metrics = { serviceName: this.name, portName: 'metrics', port: EXPORTER_PORT, path: '/metrics' };

    this.service = new k8s.KubeService(this, 'Service', {
      metadata: { name: this.name, labels: this.labels },
      spec: {
        clusterIp: 'None',
        // Members must resolve each other before they are ready, or the set never forms.
        publishNotReadyAddresses: true,
        selector: this.selector,
        ports: [
          { name: 'mongodb', port: this.port, targetPort: k8s.IntOrString.fromString('mongodb') },
          { name: 'metrics', port: EXPORTER_PORT, targetPort: k8s.IntOrString.fromString('metrics') },
        ],
      },
    });

    const ping = ['sh', '-c', `$(command -v mongosh || command -v mongo) --quiet --port ${this.port} --eval 'db.adminCommand({ ping: 1 }).ok' | grep -q 1`];
    // mongod refuses a key file others can read, and Secret files belong to root: copy it, 0400.
    const keyFileInit = restrictedContainer({
      name: 'key-file', image, uid: DATABASE_IMAGE_UID, resources: this.initResources,
      command: ['sh', '-c', 'cp /etc/mongo-key-source/keyfile /etc/mongo-key/keyfile && chmod 0400 /etc/mongo-key/keyfile'],
      volumeMounts: [{ name: 'key-source', mountPath: '/etc/mongo-key-source', readOnly: true }, { name: 'key', mountPath: '/etc/mongo-key' }],
    });
    const mongod = restrictedContainer({
      name: 'mongod', image, uid: DATABASE_IMAGE_UID, resources: this.resources,
      // The image's entrypoint creates the root user on a member's first start, then runs mongod.
      args: ['mongod', '--replSet', this.replicaSet, '--bind_ip_all', '--port', String(this.port), '--keyFile', '/etc/mongo-key/keyfile',
        '--wiredTigerCacheSizeGB', String(this.cacheSizeGb), '--dbpath', '/data/db'],
      env: [secretEnv('MONGO_INITDB_ROOT_USERNAME', rootUser), secretEnv('MONGO_INITDB_ROOT_PASSWORD', rootPassword)],
      ports: [{ name: 'mongodb', containerPort: this.port }],
      volumeMounts: [
        { name: 'data', mountPath: '/data/db' },
        { name: 'key', mountPath: '/etc/mongo-key', readOnly: true },
        { name: 'configdb', mountPath: '/data/configdb' },
        { name: 'tmp', mountPath: '/tmp' },
      ],
      startupProbe: execProbe(ping, { periodSeconds: 10, timeoutSeconds: 10, failureThreshold: 60 }),
      livenessProbe: { tcpSocket: { port: k8s.IntOrString.fromString('mongodb') }, periodSeconds: 15, timeoutSeconds: 5, failureThreshold: 4 },
      readinessProbe: execProbe(ping, { periodSeconds: 10, timeoutSeconds: 10, failureThreshold: 3 }),
    });
    const exporter = restrictedContainer({
      name: 'exporter', image: exporterImage, uid: DATABASE_IMAGE_UID, resources: this.exporterResources,
      args: ['--collect-all', '--compatible-mode', `--web.listen-address=:${EXPORTER_PORT}`],
      env: [
        secretEnv('MONGO_EXPORTER_PASSWORD', exporterPassword),
        // Kubernetes expands $(MONGO_EXPORTER_PASSWORD) at start: the manifest holds no password.
        plainEnv('MONGODB_URI', `mongodb://exporter:$(MONGO_EXPORTER_PASSWORD)@127.0.0.1:${this.port}/admin?directConnection=true`),
      ],
      ports: [{ name: 'metrics', containerPort: EXPORTER_PORT }],
      livenessProbe: { tcpSocket: { port: k8s.IntOrString.fromString('metrics') }, periodSeconds: 30, timeoutSeconds: 5, failureThreshold: 3 },
      readinessProbe: { httpGet: { path: '/metrics', port: k8s.IntOrString.fromString('metrics') }, periodSeconds: 30, timeoutSeconds: 10, failureThreshold: 3 },
    });
    this.statefulSet = new k8s.KubeStatefulSet(this, 'StatefulSet', {
      metadata: { name: this.name, labels: this.labels },
      spec: {
        serviceName: this.name,
        replicas: this.members,
        // Members start together: each waits for the others only in the initiation Job.
        podManagementPolicy: 'Parallel',
        selector: { matchLabels: this.selector },
        persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
        template: {
          metadata: { labels: this.labels },
          spec: {
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            securityContext: podSecurityContext(DATABASE_IMAGE_UID),
            terminationGracePeriodSeconds: 60,
            affinity: this.members > 1 ? onePerNode(this.selector) : undefined,
            initContainers: [keyFileInit],
            containers: [mongod, exporter],
            volumes: [
              { name: 'key-source', secret: { secretName: keyFile.secretName, items: [{ key: keyFile.key, path: 'keyfile' }], defaultMode: 0o440 } },
              emptyDir('key', '1Mi', 'Memory'),
              emptyDir('configdb', '16Mi'),
              emptyDir('tmp', '256Mi'),
            ],
          },
        },
        volumeClaimTemplates: [dataVolumeClaim(this, this.storage, props.storageClassName)],
      },
    });
    if (this.members > 1) {
      this.podDisruptionBudget = podDisruptionBudgetOfOne(this);
    }
    // Members talk to each other on the server port.
    this.allowIngressFrom(this.peer, [this.port]);
    this.allowEgressTo(this.peer, [this.port]);

    const init = { replicaSet: this.replicaSet, members: this.hosts, appDatabase: this.database, appUser: this.appUser };
    this.initScripts = { 'rs-init.sh': RS_INIT_SHELL, 'rs-initiate.js': rsInitiateScript(init), 'rs-users.js': rsUsersScript(init) };
    const initWorkload = new MongoInit(this, 'Init', { name: `${this.name}-init`, version: image.version, resources: this.initResources });
    this.initJob = setupJob(initWorkload, {
      files: this.initScripts,
      filesConfigMap: { id: 'Scripts', name: `${this.name}-init-scripts` },
      mountPath: '/scripts',
      container: {
        name: 'init', image, uid: DATABASE_IMAGE_UID, resources: this.initResources,
        command: ['sh', '/scripts/rs-init.sh'],
        env: [
          secretEnv('MONGO_ROOT_USER', rootUser), secretEnv('MONGO_ROOT_PASSWORD', rootPassword),
          secretEnv('APP_PASSWORD', this.appPasswordSecret), secretEnv('EXPORTER_PASSWORD', exporterPassword),
          plainEnv('MEMBERS', this.hosts.join(' ')),
          plainEnv('SET_URI', `mongodb://${this.hosts.join(',')}/admin?replicaSet=${this.replicaSet}`),
          plainEnv('HOME', '/tmp'),
        ],
        volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
      },
      volumes: [emptyDir('tmp', '64Mi')],
    });
    this.acceptTrafficFrom(initWorkload, this.port);
  }

  /** `host:port` of every member, by its stable name in the namespace. */
  public get hosts(): string[] {
    return Array.from({ length: this.members }, (_, i) => `${this.name}-${i}.${this.name}:${this.port}`);
  }

  /** The replica-set URI clients use, with `$(MONGODB_PASSWORD)` for Kubernetes to expand. */
  public uri(): string {
    return `mongodb://${this.appUser}:$(MONGODB_PASSWORD)@${this.hosts.join(',')}/${this.database}?replicaSet=${this.replicaSet}&authSource=admin`;
  }

  /** Gives the client MONGODB_PASSWORD (from the Secret) and MONGODB_URI, and opens the port to it. */
  public bind(client: IConnectionClient): void {
    client.addEnv(secretEnv('MONGODB_PASSWORD', this.appPasswordSecret), plainEnv('MONGODB_URI', this.uri()));
    this.acceptTrafficFrom(client.workload, this.port);
  }

  public sizings(): WorkloadSizing[] {
    return [{ name: this.name, kind: 'StatefulSet', replicas: this.members, containers: [this.resources, this.exporterResources], initContainers: [this.initResources], storagePerReplica: this.storage, onePerNode: this.members > 1, quorum: this.members > 1 ? majority(this.members) : undefined }];
  }
}

/** The initiation Job's identity (labels, NetworkPolicy, sizing). */
class MongoInit extends Workload {
  private readonly resources: ResourceSpec;

  constructor(scope: Construct, id: string, o: { name: string; version: string; resources: ResourceSpec }) {
    super(scope, id, { name: o.name, component: 'document-database-setup', version: o.version });
    this.resources = o.resources;
  }

  public sizings(): WorkloadSizing[] {
    return [{ name: this.name, kind: 'Job', replicas: 1, containers: [this.resources] }];
  }
}
