import { createHash } from 'crypto';
import { k8s } from '../core/k8s';
import { Construct } from 'constructs';
import { ValidationError } from '../../lib/errors';
import { IMAGE_CATALOG, ImageRef } from '../../lib/images';
import { elasticsearchHeap, renderElasticsearchYml, retentionFit, RetentionFit } from '../../lib/logging/elasticsearch';
import { RESOURCE_PRESETS } from '../../lib/presets';
import { ByteQuantity } from '../../lib/quantity';
import { SecretKeyRef } from '../../lib/secrets';
import { resolveS3Location, ResolvedS3Location, S3Location } from '../../lib/backup/s3';
import { majority, resources, ResourceSpec, WorkloadSizing } from '../../lib/sizing';
import { checkInteger } from '../../lib/validate';
import { emptyDir, execProbe, plainEnv, podSecurityContext, restrictedContainer, secretEnv } from '../core/pod-spec';
import { podDisruptionBudgetOfOne } from '../core/rolling-deployment';
import { childPath, Workload } from '../core/workload';
import { PersistentComponentProps, resolveComponent, resolveStorage } from '../core/component';
import { dataVolumeClaim } from '../core/stateful-server';

/** Props of `Elasticsearch`. */
export interface ElasticsearchProps extends PersistentComponentProps {
  /** Nodes: 1 (single-node) or 3 (a cluster that survives losing one). @default 1 */
  readonly nodes?: 1 | 3;
  /** Password of the `elastic` superuser. @default - key "elastic-password" of Secret "elasticsearch-credentials" */
  readonly passwordSecret?: SecretKeyRef;
  /** Days a daily index is kept before it is deleted. @default 14 */
  readonly retentionDays?: number;
  /** Raw log volume a day, for checking that the retention fits the volume. @default "2Gi" */
  readonly dailyLogVolume?: string;
  /** Secret with tls.crt, tls.key and ca.crt for transport TLS; required with 3 nodes. @default - none */
  readonly transportCertsSecretName?: string;
  /**
   * Object storage the log archive's snapshot repository writes to (`LogSnapshots`): its endpoint
   * becomes the "default" S3 client, its keys go into the keystore at start, the pods may reach it,
   * and the image defaults to the catalog's `elasticsearchS3` (7.17 has no bundled repository-s3;
   * an `image` given must carry the plugin).
   * @default - no snapshot repository
   */
  readonly snapshotStorage?: S3Location;
}

/** Port of the HTTP API. */
export const ELASTICSEARCH_PORT = 9200;
const TRANSPORT_PORT = 9300;
const ES_UID = 1000;

/**
 * Elasticsearch 7.17 as a StatefulSet with a volume per node: heap half the memory (at most
 * 31 GiB), `node.store.allow_mmap: false` so no privileged sysctl init container is needed,
 * security on with the elastic password from a Secret, single-node or a 3-node cluster with
 * transport TLS. The retention of the daily indices is checked against the volume.
 */
export class Elasticsearch extends Workload {
  public readonly statefulSet: k8s.KubeStatefulSet;
  public readonly service: k8s.KubeService;
  public readonly resources: ResourceSpec;
  public readonly storage: ByteQuantity;
  public readonly heap: ByteQuantity;
  public readonly nodes: number;
  public readonly retentionDays: number;
  public readonly dailyLogVolume: ByteQuantity;
  public readonly passwordSecret: SecretKeyRef;
  public readonly port = ELASTICSEARCH_PORT;
  /** The image the nodes run (the Pulumi program builds the catalog's `elasticsearchS3` when it is this). */
  public readonly image: ImageRef;
  /** Replicas of each index: 0 on one node, 1 on three. */
  public readonly indexReplicas: number;
  /** `http://<service>:9200`. */
  public readonly url: string;
  /** Where the log archive's snapshots go, when it has one (`snapshotStorage`). */
  public readonly snapshotStorage?: ResolvedS3Location;

  constructor(scope: Construct, id: string, props: ElasticsearchProps = {}) {
    const image = ImageRef.parse(props.image ?? (props.snapshotStorage ? IMAGE_CATALOG.elasticsearchS3 : IMAGE_CATALOG.elasticsearch).toString(), childPath(scope, id), 'image');
    super(scope, id, { name: props.name ?? 'elasticsearch', component: 'logging-store', version: image.version });
    this.image = image;
    const path = this.node.path;
    const { tier: t, resources: mainResources } = resolveComponent(path, props, 'elasticsearch');
    this.resources = mainResources;
    this.heap = elasticsearchHeap(this.resources.memoryLimit, path);
    this.storage = resolveStorage(path, props, t, 'elasticsearch');
    this.nodes = props.nodes ?? 1;
    if (this.nodes !== 1 && this.nodes !== 3) throw new ValidationError(path, 'nodes', this.nodes, '1 or 3');
    if (this.nodes > 1 && !props.transportCertsSecretName) {
      throw new ValidationError(path, 'transportCertsSecretName', props.transportCertsSecretName, 'a Secret with tls.crt, tls.key and ca.crt: a cluster with security on needs transport TLS');
    }
    this.indexReplicas = this.nodes > 1 ? 1 : 0;
    this.retentionDays = checkInteger(path, 'retentionDays', props.retentionDays ?? 14, 1, 3650);
    this.dailyLogVolume = ByteQuantity.parse(props.dailyLogVolume ?? '2Gi', path, 'dailyLogVolume');
    const fit = this.retentionFit();
    if (!fit.fits) {
      throw new ValidationError(path, 'retentionDays', this.retentionDays,
        `at most ${fit.maxDays} days: ${this.retentionDays} days of ${this.dailyLogVolume}/day need ${fmt(fit.needed)} per node, the ${this.storage} volume holds ${fmt(fit.usable)} under the 85 % watermark`);
    }
    this.passwordSecret = props.passwordSecret ?? SecretKeyRef.of('elasticsearch-credentials', 'elastic-password', path);
    this.url = `http://${this.name}:${ELASTICSEARCH_PORT}`;
    const headless = `${this.name}-nodes`;
    const nodeNames = Array.from({ length: this.nodes }, (_, i) => `${this.name}-${i}`);
    const snapshots = props.snapshotStorage && resolveS3Location(path, 'snapshotStorage', props.snapshotStorage);
    this.snapshotStorage = snapshots || undefined;
    const config = renderElasticsearchYml({
      clusterName: this.name, nodeNames, serviceName: headless, transportCertsDir: '/usr/share/elasticsearch/config/transport',
      s3Client: snapshots ? { endpoint: snapshots.endpointPort === 443 ? snapshots.endpointHost : `${snapshots.endpointHost}:${snapshots.endpointPort}`, pathStyle: snapshots.pathStyle } : undefined,
    });
    if (snapshots) this.allowEgressTo({ ipBlock: { cidr: snapshots.cidr } }, [snapshots.endpointPort]);
    const configMap = new k8s.KubeConfigMap(this, 'Config', { metadata: { name: `${this.name}-config`, labels: this.labels }, data: { 'elasticsearch.yml': config } });
    if (this.nodes > 1) {
      this.allowIngressFrom(this.peer, [TRANSPORT_PORT]);
      this.allowEgressTo(this.peer, [TRANSPORT_PORT]);
    }

    this.service = new k8s.KubeService(this, 'Service', {
      metadata: { name: this.name, labels: this.labels },
      spec: { selector: this.selector, ports: [{ name: 'http', port: ELASTICSEARCH_PORT, targetPort: k8s.IntOrString.fromString('http') }] },
    });
    new k8s.KubeService(this, 'NodesService', {
      metadata: { name: headless, labels: this.labels },
      spec: { clusterIp: 'None', publishNotReadyAddresses: true, selector: this.selector, ports: [{ name: 'transport', port: TRANSPORT_PORT, targetPort: k8s.IntOrString.fromString('transport') }] },
    });

    const health = ['sh', '-c', `curl -sf -u "elastic:$ELASTIC_PASSWORD" "http://127.0.0.1:${ELASTICSEARCH_PORT}/_cluster/health?local=true" >/dev/null`];
    const es = restrictedContainer({
      name: 'elasticsearch',
      image,
      uid: ES_UID,
      resources: this.resources,
      env: [
        plainEnv('ES_JAVA_OPTS', `-Xms${this.heap.mebibytes}m -Xmx${this.heap.mebibytes}m`),
        plainEnv('ES_TMPDIR', '/tmp'),
        plainEnv('node.name', '$(POD_NAME)'),
        secretEnv('ELASTIC_PASSWORD', this.passwordSecret),
      ],
      ports: [{ name: 'http', containerPort: ELASTICSEARCH_PORT }, { name: 'transport', containerPort: TRANSPORT_PORT }],
      volumeMounts: [
        { name: 'data', mountPath: '/usr/share/elasticsearch/data' },
        { name: 'config-dir', mountPath: '/usr/share/elasticsearch/config' },
        { name: 'config', mountPath: '/usr/share/elasticsearch/config/elasticsearch.yml', subPath: 'elasticsearch.yml', readOnly: true },
        ...(this.nodes > 1 ? [{ name: 'transport-certs', mountPath: '/usr/share/elasticsearch/config/transport', readOnly: true }] : []),
        { name: 'tmp', mountPath: '/tmp' },
        { name: 'logs', mountPath: '/usr/share/elasticsearch/logs' },
      ],
      startupProbe: execProbe(health, { periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 60 }),
      livenessProbe: { tcpSocket: { port: k8s.IntOrString.fromString('transport') }, periodSeconds: 20, timeoutSeconds: 5, failureThreshold: 6 },
      readinessProbe: execProbe(health, { periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 }),
    });
    // POD_NAME must precede node.name, which refers to it.
    es.env!.unshift({ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } });
    // The image's config folder is copied to a writable emptyDir, so the root filesystem stays read-only.
    // With a snapshot repository, the S3 keys are written into that copy's keystore from the Secret:
    // repository-s3's access_key/secret_key are secure settings, read from the keystore at start.
    const init = restrictedContainer({
      name: 'copy-config',
      image,
      uid: ES_UID,
      resources: snapshots ? resources(KEYSTORE_RESOURCES, path, 'initResources') : resources(RESOURCE_PRESETS[t].logSetup, path, 'initResources'),
      command: ['sh', '-c', snapshots ? KEYSTORE_SCRIPT : 'cp -a /usr/share/elasticsearch/config/. /config/'],
      env: snapshots ? [plainEnv('ES_PATH_CONF', '/config'), secretEnv('S3_ACCESS_KEY', snapshots.accessKeyId), secretEnv('S3_SECRET_KEY', snapshots.secretAccessKey)] : undefined,
      volumeMounts: [{ name: 'config-dir', mountPath: '/config' }, ...(snapshots ? [{ name: 'tmp', mountPath: '/tmp' }] : [])],
    });
    this.statefulSet = new k8s.KubeStatefulSet(this, 'StatefulSet', {
      metadata: { name: this.name, labels: this.labels },
      spec: {
        serviceName: headless,
        replicas: this.nodes,
        podManagementPolicy: 'Parallel',
        selector: { matchLabels: this.selector },
        persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
        template: {
          metadata: { labels: this.labels, annotations: { 'quality-billing.io/config-checksum': createHash('sha256').update(config).digest('hex') } },
          spec: {
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            securityContext: podSecurityContext(ES_UID),
            terminationGracePeriodSeconds: 120,
            initContainers: [init],
            containers: [es],
            topologySpreadConstraints: this.nodes > 1 ? [{ maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: this.selector } }] : undefined,
            volumes: [
              { name: 'config', configMap: { name: configMap.name } },
              emptyDir('config-dir', '64Mi'),
              emptyDir('tmp', '1Gi'),
              emptyDir('logs', '256Mi'),
              ...(this.nodes > 1 ? [{ name: 'transport-certs', secret: { secretName: props.transportCertsSecretName!, defaultMode: 0o440 } }] : []),
            ],
          },
        },
        volumeClaimTemplates: [dataVolumeClaim(this, this.storage, props.storageClassName)],
      },
    });
    if (this.nodes > 1) {
      podDisruptionBudgetOfOne(this);
    }
  }

  /** Whether the retention fits the volume (the capacity report shows it too). */
  public retentionFit(): RetentionFit {
    return retentionFit(this.retentionDays, this.dailyLogVolume, this.storage, this.nodes, this.nodes > 1 ? 1 : 0);
  }

  public sizings(): WorkloadSizing[] {
    return [{ name: this.name, kind: 'StatefulSet', replicas: this.nodes, containers: [this.resources], storagePerReplica: this.storage, onePerNode: this.nodes > 1, quorum: this.nodes > 1 ? majority(this.nodes) : undefined }];
  }
}

/** The keystore tool is a JVM (64 MiB heap): the init container gets room for it. */
const KEYSTORE_RESOURCES = { cpuRequest: '100m', cpuLimit: '500m', memoryRequest: '256Mi', memoryLimit: '256Mi' };
/** The config copy, then the keys from the environment into its keystore: `--stdin` keeps them off the command line, `-f` replaces a key already there. */
const KEYSTORE_SCRIPT = [
  'set -eu',
  'cp -a /usr/share/elasticsearch/config/. /config/',
  '[ -f /config/elasticsearch.keystore ] || elasticsearch-keystore create',
  'printf %s "$S3_ACCESS_KEY" | elasticsearch-keystore add --stdin -f s3.client.default.access_key',
  'printf %s "$S3_SECRET_KEY" | elasticsearch-keystore add --stdin -f s3.client.default.secret_key',
].join('\n');

function fmt(q: ByteQuantity): string {
  return `${q.gibibytes.toFixed(1)}Gi`;
}
