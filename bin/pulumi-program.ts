import { createHash } from 'crypto';
import * as pulumi from '@pulumi/pulumi';
import * as aws from '@pulumi/aws';
import * as docker from '@pulumi/docker';
import * as k8s from '@pulumi/kubernetes';
import { MigrationJob } from '../constructs/app/migration-job';
import { MongoBackup } from '../constructs/backup/mongo-backup';
import { PostgresBackup } from '../constructs/backup/postgres-backup';
import { ValidationError } from '../lib/errors';
import { checkDnsLabel } from '../lib/validate';
import { defineEnvironment, environment, EnvironmentSpec } from '../lib/environments';
import { IMAGE_CATALOG, ImageRef } from '../lib/images';
import { TierName } from '../lib/tiers';
import { SecretsMode } from '../lib/external-secrets';
import type { ExternalSecretsOptions } from '../constructs/core/external-secrets';
import { BackupBucket } from '../pulumi/backup-bucket';
import { Cdk8sChart } from '../pulumi/cdk8s-chart';
import { ImageRepository } from '../pulumi/image-repository';
import { LEGACY_SECRET_CONFIG_KEYS, readSecretConfig, secretRequirements, SecretRequirement, StackSecrets } from '../pulumi/stack-secrets';
import { computedDatabaseUrls } from '../pulumi/secret-requirements';
import type { StandbySite } from '../stacks/system-chart';
import { isPostgresSystem, SystemChart, systemBackupStorage } from '../stacks/system-stack';
import { ShippedSystem, shippedSystem, SYSTEMS } from '../stacks/systems';

/** The system `pulumi up` deploys when config `system` is unset. */
export const DEFAULT_SYSTEM = 'quality-billing';

/** The stack outputs of `pulumi up`. */
export interface ProgramOutputs {
  /** The system deployed (config `system`). */
  readonly system: string;
  readonly environment: string;
  readonly namespace: string;
  /** In-cluster URL of the system's entry point: the application the edge serves (its API, merchant-analysis's gateway). */
  readonly apiEndpoint: string;
  /** In-cluster URL of Grafana (`kubectl port-forward` it; README), when the system runs its own. */
  readonly grafanaUrl: string | undefined;
  /** The backup bucket, when the environment has backups. */
  readonly backupBucket: pulumi.Output<string> | string | undefined;
  /** The image each application runs, by application: repository@sha256 when built here. */
  readonly appImages: Readonly<Record<string, pulumi.Output<string> | string>>;
  /** The application image, for a system with one application. */
  readonly appImage: pulumi.Output<string> | string | undefined;
}

/** What the program made, for tests and for programs that embed it. */
export interface ProgramResult {
  readonly outputs: ProgramOutputs;
  readonly stack: SystemChart;
  readonly chart: Cdk8sChart;
  /** The Secrets created from secret config; undefined when nothing reads one (every Secret written by an ExternalSecret). */
  readonly secrets: StackSecrets | undefined;
  /** The Secret keys the chart reads, each with its config key. */
  readonly secretRequirements: readonly SecretRequirement[];
  /** The values handed to the Secrets, by "<secret>/<key>" (secret Outputs). */
  readonly secretValues: Readonly<Record<string, pulumi.Input<string> | undefined>>;
  readonly bucket?: BackupBucket;
}

/** Stand-in for an application image's digest, known only after the build: replaced in every object by the Output. */
export function imagePlaceholder(system: string, application: string): string {
  return `pulumi.invalid/${system}-${application}:digest-pending-${application}`;
}

/** How one image is obtained: prebuilt (a reference), or built from a Docker context. */
type ImagePlan = { readonly prebuilt: string } | { readonly context: string };

/** Builds an image and pushes it to `repository`, or to an ECR repository created here; resolves to repository@sha256. */
function buildImage(name: string, o: { context: string; dockerfile?: string; args?: Record<string, string>; tag: string; repository?: string; ecrName: string }): pulumi.Output<string> {
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
    build: { context: o.context, dockerfile: o.dockerfile, args: o.args, platform: 'linux/amd64' },
    registry,
  });
  return image.repoDigest;
}

/**
 * The Pulumi program: the stack of the system config `system` names (the same chart `npm run
 * synth` writes), applied object by object, plus the Secrets it reads from secret config, the
 * AWS backup bucket and its identity, the image repositories and the application image builds.
 * Everything that can fail on config (unknown system, missing secret, missing image) fails before
 * the first resource is registered. Config reference: README "Deploy with Pulumi".
 */
export function program(): ProgramResult {
  const config = new pulumi.Config();
  const system = systemOf(config);
  const env = stackEnvironment(config);
  const namespace = config.get('namespace') ?? system.name;
  const stackName = pulumi.getStack();

  // Images: each application's prebuilt reference, or a placeholder for the digest of its build.
  const images = imagePlans(config, system);
  const postgresPrebuilt = config.get('postgresImage');
  const elasticsearchConfig = config.get('elasticsearchImage');
  const elasticsearchPrebuilt = elasticsearchConfig ? ImageRef.parse(elasticsearchConfig, 'Pulumi config', 'elasticsearchImage').toString() : undefined;
  const backups = env.backup !== false;
  const existingBucket = config.get('existingBackupBucket');
  const bucketName = existingBucket ?? config.get('backupBucket') ?? `${system.name}-backups-${stackName}`;
  const storageDefaults = systemBackupStorage(env.name, system.name);

  // Secrets: created here from secret config ("kubernetes"), or ExternalSecrets the operator fills
  // from a secret manager ("external-secrets": then no secret config is read).
  const secretsMode = config.get('secrets') as SecretsMode | undefined;
  const externalSecrets = config.getObject<ExternalSecretsOptions>('externalSecrets');
  const stack = system.create(env, {
    namespace,
    secrets: secretsMode,
    externalSecrets,
    appImages: Object.fromEntries(Object.entries(images).map(([app, plan]) => [app, 'prebuilt' in plan ? plan.prebuilt : imagePlaceholder(system.name, app)])),
    host: config.get('host'),
    sharedStorageClass: config.get('sharedStorageClass'),
    standbySite: standbySiteOf(config),
    postgresImage: postgresPrebuilt ? ImageRef.parse(postgresPrebuilt, 'Pulumi config', 'postgresImage').toString() : undefined,
    backupStorage: !backups ? undefined : {
      // The created bucket's name is an Output: the manifests carry the configured name, which it is.
      bucket: bucketName,
      region: config.get('backupRegion') ?? new pulumi.Config('aws').get('region') ?? storageDefaults.region,
      endpoint: config.get('backupEndpoint'),
    },
  });
  // Point-in-time recovery runs PostgreSQL with pgBackRest: built from images/ unless given, and
  // its digest put wherever the chart names the catalog's image (its version label stays the catalog's).
  const pgbackrest = IMAGE_CATALOG.postgresPgbackrest.toString();
  const buildPostgres = !postgresPrebuilt && isPostgresSystem(stack) && stack.postgres.image.toString() === pgbackrest;
  // The log archive runs Elasticsearch with repository-s3 (finance-ai in staging/prod): the catalog
  // names an image no registry serves, so it is built from images/ unless given, and pinned likewise.
  const elasticsearchS3 = IMAGE_CATALOG.elasticsearchS3.toString();
  const usesElasticsearchS3 = stack.logging?.elasticsearch.image.toString() === elasticsearchS3;

  // Secrets: what the chart reads, each from its config key, except what this program computes.
  // In "external-secrets" mode the chart's ExternalSecrets write them all: nothing is read.
  const requirements = secretRequirements(stack);
  const skip = config.getBoolean('certManager') ? [...new Set(requirements.filter(r => r.type === 'kubernetes.io/tls').map(r => r.secret))] : [];
  const createBucket = backups && !existingBucket;
  const computed = new Set<string>();
  const backupKeys = [storageDefaults.accessKeyId, storageDefaults.secretAccessKey].map(k => `${k.secretName}/${k.key}`);
  if (createBucket) backupKeys.forEach(k => computed.add(k));
  const databaseUrls = computedDatabaseUrls(stack);
  databaseUrls.forEach(u => computed.add(`${u.url.secretName}/${u.url.key}`));
  const secretValues: Record<string, pulumi.Input<string> | undefined> = readSecretConfig(config, requirements.filter(r => !skip.includes(r.secret)), computed,
    system.name === 'quality-billing' ? LEGACY_SECRET_CONFIG_KEYS : {});
  // Nothing has been registered yet: from here on, resources are created.

  const kubeContext = config.get('kubeContext');
  const provider = kubeContext ? new k8s.Provider('cluster', { context: kubeContext }) : undefined;
  const builtImages: Record<string, pulumi.Output<string> | string> = {};
  const single = system.applications.length === 1;
  for (const [app, plan] of Object.entries(images)) {
    if ('prebuilt' in plan) { builtImages[app] = plan.prebuilt; continue; }
    const repository = config.get('imageRepository');
    builtImages[app] = buildImage(single ? 'app-image' : `${app}-image`, {
      context: plan.context, dockerfile: config.get('imageDockerfile'), tag: config.get('imageTag') ?? 'release',
      repository: repository && !single ? `${repository}/${app}` : repository,
      ecrName: single ? system.name : `${system.name}/${app}`,
    });
  }
  const postgresImage = buildPostgres ? buildImage('postgres-image', {
    context: 'images/postgres-pgbackrest', tag: IMAGE_CATALOG.postgresPgbackrest.tag!,
    repository: config.get('postgresImageRepository'), ecrName: `${system.name}/postgres-pgbackrest`,
  }) : undefined;
  const elasticsearchImage = !usesElasticsearchS3 ? undefined : elasticsearchPrebuilt ?? buildImage('elasticsearch-image', {
    // The base is the catalog's Elasticsearch, so the plugin's version is the cluster's.
    context: 'images/elasticsearch-s3', args: { ELASTICSEARCH_IMAGE: IMAGE_CATALOG.elasticsearch.toString() }, tag: IMAGE_CATALOG.elasticsearchS3.tag!,
    repository: config.get('elasticsearchImageRepository'), ecrName: `${system.name}/elasticsearch-s3`,
  });

  // Backups: a bucket created here (AWS), or an existing S3-compatible bucket (on premises).
  let bucket: BackupBucket | undefined;
  if (createBucket && env.backup) {
    const destination = stack.backupDestination();
    // The system's own retention (QCAT keeps 30 days everywhere), as its backup CronJob applies it.
    const logical = stack.node.findAll().filter((c): c is PostgresBackup | MongoBackup => c instanceof PostgresBackup || c instanceof MongoBackup);
    bucket = new BackupBucket('backups', {
      bucketName,
      prefix: destination ? destination.replace(/^s3:\/\/[^/]+\/?/, '') : storageDefaults.prefix,
      logicalRetentionDays: logical.length > 0 ? Math.max(...logical.map(b => b.retentionDays)) : env.backup.retentionDays,
      iamPath: `/${system.name}/`,
      // QCAT's weekly configuration export writes beside the database's folder.
      extraPrefixes: isPostgresSystem(stack) && stack.configBackup ? [`${stack.configBackup.backupStorage.prefix}/config`] : [],
    });
    secretValues[backupKeys[0]] = pulumi.secret(bucket.accessKeyId);
    secretValues[backupKeys[1]] = bucket.secretAccessKey;
  }

  // A migration Job is named after a hash of its image: with a digest known only after the
  // build, the name is derived from the digest here, everywhere the synthesized name appears.
  const substitutions: Record<string, pulumi.Input<string>> = {};
  const migrations = stack.node.findAll().filter((c): c is MigrationJob => c instanceof MigrationJob);
  for (const [app, image] of Object.entries(builtImages)) {
    if (typeof image === 'string') continue;
    const placeholder = imagePlaceholder(system.name, app);
    substitutions[placeholder] = image;
    // The version label, as ImageRef.version gives it for a digest: its first 12 hex digits.
    substitutions[ImageRef.parse(placeholder).version] = image.apply(d => ImageRef.parse(d, 'docker.Image', 'repoDigest').version);
    for (const migration of migrations.filter(m => m.image.toString() === placeholder)) {
      const synthesizedJobName = migration.jobName();
      substitutions[synthesizedJobName] = image.apply(d => `${migration.name}-${createHash('sha256').update(`${d}\n${synthesizedJobName}`).digest('hex').slice(0, 10)}`);
    }
  }
  if (postgresImage) substitutions[pgbackrest] = postgresImage;
  if (elasticsearchImage) substitutions[elasticsearchS3] = elasticsearchImage;

  // Values computed from others: the database URLs (direct, and through PgBouncer) from the password.
  for (const u of databaseUrls) {
    const password = secretValues[`${u.password.secretName}/${u.password.key}`];
    if (password === undefined) continue;
    secretValues[`${u.url.secretName}/${u.url.key}`] = pulumi.secret(
      pulumi.interpolate`postgresql://${u.user}:${pulumi.output(password).apply(encodeURIComponent)}@${u.host}:${u.port}/${u.database}`);
  }

  let secrets: StackSecrets | undefined;
  const chart = new Cdk8sChart(system.name, {
    chart: stack,
    provider,
    substitutions,
    workloadDependsOn: namespaces => {
      secrets = new StackSecrets('secrets', { requirements, values: secretValues, partOf: system.name, provider, dependsOn: [...namespaces], skip });
      return Object.values(secrets.secrets);
    },
  });

  const grafana = stack.monitoring.grafana;
  const entry = stack.entry;
  const outputs: ProgramOutputs = {
    system: system.name,
    environment: env.name,
    namespace,
    apiEndpoint: entry ? `http://${entry.name}.${namespace}.svc.cluster.local:${entry.servicePort}` : '',
    grafanaUrl: grafana ? `http://${grafana.name}.${namespace}.svc.cluster.local:${grafana.port}` : undefined,
    backupBucket: bucket ? bucket.bucketName : backups ? existingBucket : undefined,
    appImages: builtImages,
    appImage: single ? Object.values(builtImages)[0] : undefined,
  };
  return { outputs, stack, chart, secrets, secretRequirements: requirements, secretValues, bucket };
}

/** The system config `system` names (default quality-billing); an unknown one fails listing those that exist. */
function systemOf(config: pulumi.Config): ShippedSystem {
  const name = config.get('system') ?? DEFAULT_SYSTEM;
  if (!SYSTEMS.some(s => s.name === name)) {
    throw new ValidationError(`Pulumi config ${config.name}:system`, 'system', name, `one of ${SYSTEMS.map(s => `"${s.name}"`).join(', ')} (pulumi config set system <name>)`);
  }
  return shippedSystem(name);
}

/**
 * Each application's image: `appImages.<app>`, else `appImage` (prebuilt), else a build of
 * `imageContexts.<app>`, else of `imageContext`. An application with none fails naming the keys.
 */
function imagePlans(config: pulumi.Config, system: ShippedSystem): Record<string, ImagePlan> {
  const byApp = (key: string): Record<string, string> => {
    const value = config.getObject<Record<string, string>>(key) ?? {};
    for (const app of Object.keys(value)) {
      if (!system.applications.includes(app)) {
        throw new ValidationError(`Pulumi config ${config.name}:${key}`, `${key} key`, app, `one of ${system.applications.map(a => `"${a}"`).join(', ')} (the applications of ${system.name})`);
      }
    }
    return value;
  };
  const prebuilt = byApp('appImages');
  const contexts = byApp('imageContexts');
  const all = config.get('appImage');
  const plans: Record<string, ImagePlan> = {};
  for (const app of system.applications) {
    const ref = prebuilt[app] ?? all;
    const context = contexts[app] ?? config.get('imageContext');
    if (ref) plans[app] = { prebuilt: ImageRef.parse(ref, 'Pulumi config', prebuilt[app] ? `appImages.${app}` : 'appImage').toString() };
    else if (context) plans[app] = { context };
    else {
      throw new Error(`Missing required configuration variable "imageContext" (the Docker build context of ${system.name}'s application "${app}"): `
        + `\`pulumi config set ${system.applications.length === 1 ? 'imageContext' : `--path 'imageContexts.${app}'`} <directory>\`, `
        + `or deploy a prebuilt image with \`pulumi config set ${system.applications.length === 1 ? 'appImage' : `--path 'appImages.${app}'`} <repository>@sha256:<digest>\``);
    }
  }
  return plans;
}

/** The fields `standbySite` config may set, with the type each must have (`StandbySite`). */
const STANDBY_SITE_FIELDS: Readonly<Record<string, 'string' | 'boolean' | 'object'>> = {
  cluster: 'string', primaryCluster: 'string', allowSameCluster: 'boolean', primaryStanza: 'string', promoted: 'boolean', primaryBackupStorage: 'object',
};
/** The fields of `standbySite.primaryBackupStorage` config may set (the keys stay the stack's default Secret keys). */
const STANDBY_STORAGE_FIELDS: Readonly<Record<string, 'string' | 'boolean'>> = { bucket: 'string', prefix: 'string', region: 'string', endpoint: 'string', pathStyle: 'boolean' };

/**
 * `standbySite` (an object, `pulumi config set --path standbySite.cluster site-b`): this stack is
 * the standby site of a primary in another cluster (README "Standby site and promotion"). Its
 * shape is checked here, so a bad value names the config key; the stack checks the rest
 * (a primary's cluster, point-in-time recovery, its own repository).
 */
function standbySiteOf(config: pulumi.Config): StandbySite | undefined {
  const raw = config.get('standbySite');
  if (raw === undefined) return undefined;
  const where = `Pulumi config ${config.name}:standbySite`;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new ValidationError(where, 'standbySite', raw, 'an object { cluster, primaryCluster, ... } (pulumi config set --path standbySite.cluster <cluster>)');
  }
  const checkFields = (field: string, v: unknown, fields: Readonly<Record<string, string>>): Record<string, unknown> => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ValidationError(where, field, v, `an object with ${Object.keys(fields).join(', ')}`);
    for (const [k, x] of Object.entries(v)) {
      if (!(k in fields)) throw new ValidationError(where, `${field} key`, k, `one of ${Object.keys(fields).map(f => `"${f}"`).join(', ')}`);
      const type = fields[k] === 'object' ? (typeof x === 'object' && x !== null && !Array.isArray(x) ? 'object' : typeof x) : typeof x;
      if (type !== fields[k]) throw new ValidationError(where, `${field}.${k}`, x, `a ${fields[k]}`);
    }
    return v as Record<string, unknown>;
  };
  const site = checkFields('standbySite', value, STANDBY_SITE_FIELDS);
  for (const k of ['cluster', 'primaryCluster']) {
    if (site[k] === undefined) throw new ValidationError(where, `standbySite.${k}`, undefined, 'the Kubernetes cluster (a DNS label) of the standby site and of its primary: both are required');
    checkDnsLabel(where, `standbySite.${k}`, site[k] as string);
  }
  if (site.primaryBackupStorage !== undefined) checkFields('standbySite.primaryBackupStorage', site.primaryBackupStorage, STANDBY_STORAGE_FIELDS);
  return site as unknown as StandbySite;
}

/** The environment of this stack: `environment` (dev/staging/prod) with optional `tier`/`nodes` overrides. */
function stackEnvironment(config: pulumi.Config): EnvironmentSpec {
  const base = environment(config.require('environment'));
  const tier = config.get('tier') as TierName | undefined;
  const nodes = config.getNumber('nodes');
  return defineEnvironment({ name: base.name, ...(tier ? { tier } : {}), ...(nodes ? { nodes } : {}) }, base);
}
