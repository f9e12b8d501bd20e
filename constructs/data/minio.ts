import { k8s } from '../core/k8s';
import { Construct } from 'constructs';
import { ValidationError } from '../../lib/errors';
import { IMAGE_CATALOG, ImageRef } from '../../lib/images';
import { RESOURCE_PRESETS } from '../../lib/presets';
import { ByteQuantity } from '../../lib/quantity';
import { SecretKeyRef } from '../../lib/secrets';
import { resources, ResourceSpec, WorkloadSizing } from '../../lib/sizing';
import { TierName } from '../../lib/tiers';
import { checkPort } from '../../lib/validate';
import { PersistentComponentProps, resolveComponent, resolveStorage } from '../core/component';
import { IConnectable, IConnectionClient } from '../core/connections';
import { emptyDir, plainEnv, restrictedContainer, secretEnv } from '../core/pod-spec';
import { setupJob } from '../core/setup-job';
import { statefulServer } from '../core/stateful-server';
import { childPath, MetricsEndpoint, Workload } from '../core/workload';

/** Props of `MinIO`. */
export interface MinIOProps extends PersistentComponentProps {
  /** Buckets the bootstrap Job creates (idempotently, with versioning on); clients get the first as S3_BUCKET. */
  readonly buckets: readonly string[];
  /** Root (admin) user: only the bootstrap Job uses it. @default - key "root-user" of Secret "minio-credentials" */
  readonly rootUserSecret?: SecretKeyRef;
  /** Root password. @default - key "root-password" of Secret "minio-credentials" */
  readonly rootPasswordSecret?: SecretKeyRef;
  /** Access key of the applications' user, limited to `buckets`. @default - key "app-access-key" of Secret "minio-credentials" */
  readonly appAccessKeySecret?: SecretKeyRef;
  /** Secret key of the applications' user. @default - key "app-secret-key" of Secret "minio-credentials" */
  readonly appSecretKeySecret?: SecretKeyRef;
  /** S3 API port (seed 004). @default 9000 */
  readonly port?: number;
  /** Web console port. @default 9001 */
  readonly consolePort?: number;
  /** Pinned MinIO client (mc) image of the bootstrap Job. @default - the catalog's minioClient */
  readonly clientImage?: string;
}

/** UID the pod runs as; the official image runs as whoever it is told to with a writable data dir. */
const MINIO_UID = 1000;
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/**
 * MinIO object storage (seed 004, :9000): a single-drive StatefulSet on a persistent volume, the
 * S3 API and the web console as Service ports, root credentials from Secret references, cluster
 * metrics for Prometheus, and a bootstrap Job that creates the buckets and an application user
 * whose policy reaches only them. Clients connect with `client.connectTo(minio)` and get
 * S3_ENDPOINT_URL, S3_BUCKET, S3_ACCESS_KEY and S3_SECRET_KEY.
 */
export class MinIO extends Workload implements IConnectable {
  public readonly statefulSet: k8s.KubeStatefulSet;
  public readonly service: k8s.KubeService;
  public readonly bootstrap: MinIOBootstrap;
  public readonly resources: ResourceSpec;
  public readonly storage: ByteQuantity;
  public readonly port: number;
  public readonly consolePort: number;
  public readonly buckets: readonly string[];
  public readonly appAccessKeySecret: SecretKeyRef;
  public readonly appSecretKeySecret: SecretKeyRef;
  /** Where Prometheus scrapes the cluster metrics. */
  public readonly metrics: MetricsEndpoint;
  /** The S3 endpoint inside the namespace. */
  public readonly endpoint: string;

  constructor(scope: Construct, id: string, props: MinIOProps) {
    const image = ImageRef.parse(props.image ?? IMAGE_CATALOG.minio.toString(), childPath(scope, id), 'image');
    super(scope, id, { name: props.name ?? 'minio', component: 'object-storage', version: image.version });
    const path = this.node.path;
    const { tier: t, resources: mainResources } = resolveComponent(path, props, 'minio');
    this.resources = mainResources;
    this.storage = resolveStorage(path, props, t, 'minio');
    this.port = checkPort(path, 'port', props.port ?? 9000);
    this.consolePort = checkPort(path, 'consolePort', props.consolePort ?? 9001);
    if (this.consolePort === this.port) throw new ValidationError(path, 'consolePort', this.consolePort, `a port other than the S3 port ${this.port}`);
    if (!Array.isArray(props.buckets) || props.buckets.length === 0) throw new ValidationError(path, 'buckets', props.buckets, 'at least one bucket name');
    for (const b of props.buckets) {
      if (typeof b !== 'string' || !BUCKET.test(b) || b.includes('..')) throw new ValidationError(path, 'buckets', b, 'an S3 bucket name: 3-63 lower-case letters, digits, "." and "-", starting and ending with a letter or digit');
    }
    if (new Set(props.buckets).size !== props.buckets.length) throw new ValidationError(path, 'buckets', props.buckets, 'each bucket once');
    this.buckets = [...props.buckets];
    const rootUser = props.rootUserSecret ?? SecretKeyRef.of('minio-credentials', 'root-user', path);
    const rootPassword = props.rootPasswordSecret ?? SecretKeyRef.of('minio-credentials', 'root-password', path);
    this.appAccessKeySecret = props.appAccessKeySecret ?? SecretKeyRef.of('minio-credentials', 'app-access-key', path);
    this.appSecretKeySecret = props.appSecretKeySecret ?? SecretKeyRef.of('minio-credentials', 'app-secret-key', path);
    this.endpoint = `http://${this.name}:${this.port}`;
    this.metrics = { serviceName: this.name, portName: 's3', port: this.port, path: '/minio/v2/metrics/cluster' };

    const env = [
      secretEnv('MINIO_ROOT_USER', rootUser),
      secretEnv('MINIO_ROOT_PASSWORD', rootPassword),
      // Metrics without a bearer token: the NetworkPolicy admits only the scraper to this port besides clients.
      plainEnv('MINIO_PROMETHEUS_AUTH_TYPE', 'public'),
      plainEnv('MINIO_BROWSER_REDIRECT', 'off'),
      plainEnv('MINIO_UPDATE', 'off'),
    ];
    const server = restrictedContainer({
      name: 'minio',
      image,
      uid: MINIO_UID,
      resources: this.resources,
      command: ['minio'],
      args: ['server', '/data', '--address', `:${this.port}`, '--console-address', `:${this.consolePort}`, '--certs-dir', '/tmp/certs'],
      env,
      ports: [{ name: 's3', containerPort: this.port }, { name: 'console', containerPort: this.consolePort }],
      volumeMounts: [{ name: 'data', mountPath: '/data' }, { name: 'tmp', mountPath: '/tmp' }],
      livenessProbe: { httpGet: { path: '/minio/health/live', port: k8s.IntOrString.fromString('s3') }, initialDelaySeconds: 10, periodSeconds: 15, timeoutSeconds: 5, failureThreshold: 4 },
      readinessProbe: { httpGet: { path: '/minio/health/ready', port: k8s.IntOrString.fromString('s3') }, periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 3 },
    });
    ({ service: this.service, statefulSet: this.statefulSet } = statefulServer(this, {
      server,
      port: { name: 's3', number: this.port },
      extraPorts: [{ name: 'console', number: this.consolePort }],
      uid: MINIO_UID,
      storage: this.storage,
      storageClassName: props.storageClassName,
      volumes: [emptyDir('tmp', '64Mi')],
      terminationGracePeriodSeconds: 30,
      // No configuration file: the settings that need a restart are the environment's.
      config: () => JSON.stringify(env),
    }));

    this.bootstrap = new MinIOBootstrap(this, 'Bootstrap', {
      minio: this,
      tier: t,
      image: ImageRef.parse(props.clientImage ?? IMAGE_CATALOG.minioClient.toString(), path, 'clientImage'),
      rootUser,
      rootPassword,
    });
  }

  /** Connects an application to the first bucket as the applications' user. */
  public bind(client: IConnectionClient): void {
    client.addEnv(
      plainEnv('S3_ENDPOINT_URL', this.endpoint),
      plainEnv('S3_BUCKET', this.buckets[0]),
      secretEnv('S3_ACCESS_KEY', this.appAccessKeySecret),
      secretEnv('S3_SECRET_KEY', this.appSecretKeySecret),
    );
    this.acceptTrafficFrom(client.workload, this.port);
  }

  public sizings(): WorkloadSizing[] {
    return [{ name: this.name, kind: 'StatefulSet', replicas: 1, containers: [this.resources], storagePerReplica: this.storage }];
  }
}

/** Props of `MinIOBootstrap`. */
export interface MinIOBootstrapProps {
  /** The server to set up. */
  readonly minio: MinIO;
  /** Tier whose "minioBootstrap" preset sizes the Job. */
  readonly tier: TierName;
  /** Image with the MinIO client (mc) and a shell. */
  readonly image: ImageRef;
  /** The root user, which only this Job uses. */
  readonly rootUser: SecretKeyRef;
  /** The root password. */
  readonly rootPassword: SecretKeyRef;
}

/**
 * The idempotent setup of a MinIO: waits for it, creates each bucket if missing with versioning
 * on, and (re)creates the applications' user with a policy on those buckets only. The Job's name
 * carries a hash of the script (`setupJob`), so a change of buckets runs it again.
 */
export class MinIOBootstrap extends Workload {
  public readonly job: k8s.KubeJob;
  public readonly resources: ResourceSpec;
  /** The setup script, as mounted. */
  public readonly script: string;

  constructor(scope: Construct, id: string, props: MinIOBootstrapProps) {
    const m = props.minio;
    super(scope, id, { name: `${m.name}-bootstrap`, component: 'object-storage-setup', version: props.image.version });
    this.resources = resources(RESOURCE_PRESETS[props.tier].minioBootstrap, this.node.path, 'resources');
    this.script = minioBootstrapScript(m.buckets, `${m.name}-app`);
    this.job = setupJob(this, {
      files: { 'bootstrap.sh': this.script },
      filesConfigMap: { id: 'Script', name: `${this.name}-script` },
      mountPath: '/bootstrap',
      container: {
        name: 'bootstrap',
        image: props.image,
        uid: MINIO_UID,
        resources: this.resources,
        command: ['/bin/sh', '/bootstrap/bootstrap.sh'],
        env: [
          plainEnv('MINIO_URL', m.endpoint),
          plainEnv('MC_CONFIG_DIR', '/tmp/.mc'),
          secretEnv('MINIO_ROOT_USER', props.rootUser),
          secretEnv('MINIO_ROOT_PASSWORD', props.rootPassword),
          secretEnv('APP_ACCESS_KEY', m.appAccessKeySecret),
          secretEnv('APP_SECRET_KEY', m.appSecretKeySecret),
        ],
        volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
      },
      volumes: [emptyDir('tmp', '16Mi')],
    });
    m.acceptTrafficFrom(this, m.port);
  }

  public sizings(): WorkloadSizing[] {
    return [{ name: this.name, kind: 'Job', replicas: 1, containers: [this.resources] }];
  }
}

/**
 * The bootstrap script: every step is safe to repeat (`mb --ignore-existing`, policy create
 * overwrites, user add resets the secret key, an attached policy is not an error).
 */
export function minioBootstrapScript(buckets: readonly string[], policyName: string): string {
  const policy = {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: ['s3:ListBucket', 's3:GetBucketLocation'], Resource: buckets.map(b => `arn:aws:s3:::${b}`) },
      { Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'], Resource: buckets.map(b => `arn:aws:s3:::${b}/*`) },
    ],
  };
  return `#!/bin/sh
# Generated by quality-billing-infra (MinIO bootstrap): safe to run any number of times.
set -eu
tries=0
until mc alias set local "$MINIO_URL" "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD" >/dev/null 2>&1 && mc ready local >/dev/null 2>&1; do
  tries=$((tries + 1))
  if [ "$tries" -ge 60 ]; then echo "MinIO at $MINIO_URL is not ready after 5 minutes" >&2; exit 1; fi
  sleep 5
done
for bucket in ${buckets.join(' ')}; do
  mc mb --ignore-existing "local/$bucket"
  mc version enable "local/$bucket"
done
cat > /tmp/policy.json <<'POLICY'
${JSON.stringify(policy, null, 2)}
POLICY
mc admin policy create local ${policyName} /tmp/policy.json
mc admin user add local "$APP_ACCESS_KEY" "$APP_SECRET_KEY"
if ! out=$(mc admin policy attach local ${policyName} --user "$APP_ACCESS_KEY" 2>&1); then
  case "$out" in
    *"already"*) ;;
    *) echo "$out" >&2; exit 1 ;;
  esac
fi
echo "buckets ready: ${buckets.join(', ')}"
`;
}
