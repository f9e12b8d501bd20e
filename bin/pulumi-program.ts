import { createHash } from 'crypto';
import * as pulumi from '@pulumi/pulumi';
import * as aws from '@pulumi/aws';
import * as docker from '@pulumi/docker';
import * as k8s from '@pulumi/kubernetes';
import { App } from 'cdk8s';
import { defineEnvironment, environment, EnvironmentSpec } from '../lib/environments';
import { IMAGE_CATALOG, ImageRef } from '../lib/images';
import { TierName } from '../lib/tiers';
import { BackupBucket } from '../pulumi/backup-bucket';
import { Cdk8sChart } from '../pulumi/cdk8s-chart';
import { ImageRepository } from '../pulumi/image-repository';
import { SECRET_SOURCES, StackSecrets } from '../pulumi/stack-secrets';
import { defaultBackupStorage, QualityBillingStack } from '../stacks/quality-billing-stack';

/** The stack outputs of `pulumi up`. */
export interface ProgramOutputs {
  readonly environment: string;
  readonly namespace: string;
  /** In-cluster URL of the API Service. */
  readonly apiEndpoint: string;
  /** In-cluster URL of Grafana (`kubectl port-forward` it; README). */
  readonly grafanaUrl: string | undefined;
  /** The backup bucket, when the environment has backups. */
  readonly backupBucket: pulumi.Output<string> | string | undefined;
  /** The application image the workloads run: repository@sha256 when built here. */
  readonly appImage: pulumi.Output<string> | string;
}

/** What the program made, for tests and for programs that embed it. */
export interface ProgramResult {
  readonly outputs: ProgramOutputs;
  readonly stack: QualityBillingStack;
  readonly chart: Cdk8sChart;
  readonly secrets: StackSecrets;
  /** The secret config values read, by config key (secret Outputs). */
  readonly secretValues: Readonly<Record<string, pulumi.Input<string> | undefined>>;
  readonly bucket?: BackupBucket;
}

/** Stand-in for the image digest, known only after the build: replaced in every object by the Output. */
export const IMAGE_PLACEHOLDER = 'pulumi.invalid/quality-billing-app:digest-pending';
/** The same for the PostgreSQL + pgBackRest image (its version label stays the catalog's). */
export const POSTGRES_IMAGE_PLACEHOLDER = `pulumi.invalid/postgres-pgbackrest:${IMAGE_CATALOG.postgresPgbackrest.tag}`;

/** Builds an image and pushes it to `repository`, or to an ECR repository created here; resolves to repository@sha256. */
function buildImage(name: string, o: { context: string; dockerfile?: string; tag: string; repository?: string; ecrName: string }): pulumi.Output<string> {
  let repositoryUrl: pulumi.Input<string>;
  let registry: docker.types.input.Registry | undefined;
  if (o.repository) {
    repositoryUrl = o.repository;
  } else {
    const repo = new ImageRepository(name, { name: o.ecrName });
    repositoryUrl = repo.repositoryUrl;
    const token = aws.ecr.getAuthorizationTokenOutput({ registryId: repo.repository.registryId });
    registry = { server: repo.repositoryUrl, username: token.userName, password: pulumi.secret(token.password) };
  }
  const image = new docker.Image(name, {
    imageName: pulumi.interpolate`${repositoryUrl}:${o.tag}`,
    build: { context: o.context, dockerfile: o.dockerfile, platform: 'linux/amd64' },
    registry,
  });
  return image.repoDigest;
}

/**
 * The Pulumi program: the same QualityBillingStack `npm run synth` writes, applied object by
 * object, plus the Secrets from secret config, the AWS backup bucket and its identity, the image
 * repository and the application image build. Config reference: README "Deploy with Pulumi".
 */
export function program(): ProgramResult {
  const config = new pulumi.Config();
  const env = stackEnvironment(config);
  const namespace = config.get('namespace') ?? 'quality-billing';
  const kubeContext = config.get('kubeContext');
  const provider = kubeContext ? new k8s.Provider('cluster', { context: kubeContext }) : undefined;

  // The image: prebuilt (config appImage), or built from imageContext and pushed by digest.
  const prebuilt = config.get('appImage');
  let appImage: pulumi.Output<string> | string;
  if (prebuilt) {
    appImage = ImageRef.parse(prebuilt, 'Pulumi config', 'appImage').toString();
  } else {
    const context = config.get('imageContext');
    if (!context) throw new Error('Missing required configuration variable "imageContext" (the application\'s Docker build context): `pulumi config set imageContext ../quality-billing`, or deploy a prebuilt image with `pulumi config set appImage <repository>@sha256:<digest>`');
    appImage = buildImage('app-image', {
      context, dockerfile: config.get('imageDockerfile'), tag: config.get('imageTag') ?? 'release',
      repository: config.get('imageRepository'), ecrName: 'quality-billing',
    });
  }

  // Point-in-time recovery needs PostgreSQL with pgBackRest: built from images/ unless given.
  let postgresImage: pulumi.Output<string> | string | undefined = config.get('postgresImage');
  if (postgresImage) postgresImage = ImageRef.parse(postgresImage, 'Pulumi config', 'postgresImage').toString();
  else if (env.backup !== false && env.backup.pointInTimeRecovery) {
    postgresImage = buildImage('postgres-image', {
      context: 'images/postgres-pgbackrest', tag: IMAGE_CATALOG.postgresPgbackrest.tag!,
      repository: config.get('postgresImageRepository'), ecrName: 'quality-billing/postgres-pgbackrest',
    });
  }

  // Backups: a bucket created here (AWS), or an existing S3-compatible bucket (on premises).
  const existingBucket = config.get('existingBackupBucket');
  const storageDefaults = defaultBackupStorage(env.name);
  let bucket: BackupBucket | undefined;
  if (env.backup !== false && !existingBucket) {
    bucket = new BackupBucket('backups', {
      bucketName: config.get('backupBucket') ?? `quality-billing-backups-${pulumi.getStack()}`,
      prefix: storageDefaults.prefix,
      logicalRetentionDays: env.backup.retentionDays,
    });
  }

  const stack = new QualityBillingStack(new App(), 'quality-billing', {
    environment: env,
    namespace,
    appImage: typeof appImage === 'string' ? appImage : IMAGE_PLACEHOLDER,
    host: config.get('host'),
    postgresImage: typeof postgresImage === 'string' ? postgresImage : postgresImage ? POSTGRES_IMAGE_PLACEHOLDER : undefined,
    backupStorage: env.backup === false ? undefined : {
      // The bucket's name is an Output: the manifests carry the configured name, which it is.
      bucket: existingBucket ?? config.get('backupBucket') ?? `quality-billing-backups-${pulumi.getStack()}`,
      region: config.get('backupRegion') ?? new pulumi.Config('aws').get('region') ?? storageDefaults.region,
      endpoint: config.get('backupEndpoint'),
    },
  });

  // The migration Job is named after a hash of its image: with a digest known only after the
  // build, the name is derived from the digest here, everywhere the synthesized name appears.
  const substitutions: Record<string, pulumi.Input<string>> = {};
  if (typeof appImage !== 'string') {
    const synthesizedJobName = stack.migration.jobName();
    substitutions[IMAGE_PLACEHOLDER] = appImage;
    // The version label, as ImageRef.version gives it for a digest: its first 12 hex digits.
    substitutions[ImageRef.parse(IMAGE_PLACEHOLDER).version] = appImage.apply(d => ImageRef.parse(d, 'docker.Image', 'repoDigest').version);
    substitutions[synthesizedJobName] = appImage.apply(d => `${stack.migration.name}-${createHash('sha256').update(`${d}\n${synthesizedJobName}`).digest('hex').slice(0, 10)}`);
  }

  if (postgresImage !== undefined && typeof postgresImage !== 'string') substitutions[POSTGRES_IMAGE_PLACEHOLDER] = postgresImage;

  const secretValues: Record<string, pulumi.Input<string> | undefined> = {};
  for (const s of SECRET_SOURCES) secretValues[s.configKey] = config.getSecret(s.configKey);
  if (bucket) {
    secretValues.backupAccessKeyId = pulumi.secret(bucket.accessKeyId);
    secretValues.backupSecretAccessKey = bucket.secretAccessKey;
  }
  const c = stack.postgres.connection;
  const dbPassword = secretValues.dbPassword;
  const derived: Record<string, pulumi.Input<string>> = dbPassword === undefined ? {} : {
    'db-credentials/url': pulumi.secret(pulumi.interpolate`postgresql://${c.user}:${pulumi.output(dbPassword).apply(encodeURIComponent)}@${c.host}:${c.port}/${c.database}`),
  };
  let secrets: StackSecrets | undefined;
  const chart = new Cdk8sChart('quality-billing', {
    chart: stack,
    provider,
    substitutions,
    workloadDependsOn: namespaces => {
      secrets = new StackSecrets('secrets', {
        chart: stack, values: secretValues, derived, provider, dependsOn: [...namespaces],
        skip: config.getBoolean('certManager') ? ['quality-billing-tls'] : undefined,
      });
      return Object.values(secrets.secrets);
    },
  });

  const grafana = stack.monitoring.grafana;
  const outputs: ProgramOutputs = {
    environment: env.name,
    namespace,
    apiEndpoint: `http://${stack.api.name}.${namespace}.svc.cluster.local:${stack.api.servicePort}`,
    grafanaUrl: grafana ? `http://${grafana.name}.${namespace}.svc.cluster.local:${grafana.port}` : undefined,
    backupBucket: bucket ? bucket.bucketName : existingBucket,
    appImage,
  };
  return { outputs, stack, chart, secrets: secrets!, secretValues, bucket };
}

/** The environment of this stack: `environment` (dev/staging/prod) with optional `tier`/`nodes` overrides. */
function stackEnvironment(config: pulumi.Config): EnvironmentSpec {
  const base = environment(config.require('environment'));
  const tier = config.get('tier') as TierName | undefined;
  const nodes = config.getNumber('nodes');
  return defineEnvironment({ name: base.name, ...(tier ? { tier } : {}), ...(nodes ? { nodes } : {}) }, base);
}
