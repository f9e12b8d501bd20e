import { readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import * as pulumi from '@pulumi/pulumi';
import { parse } from 'yaml';
import { ENVIRONMENTS, EnvironmentSpec } from '../../lib/environments';
import { secretConfigKey, secretRequirements } from '../../pulumi/stack-secrets';
import { IMAGE_CATALOG } from '../../lib/images';
import { program } from '../../bin/pulumi-program';
import { defaultBackupStorage, QualityBillingStack } from '../../stacks/quality-billing-stack';
import { isPostgresSystem } from '../../stacks/system-stack';
import { SYSTEMS } from '../../stacks/systems';
import { K8sObject, synthChart } from '../helpers';

/*
 * The Pulumi program under Pulumi's own mocks (pulumi.runtime.setMocks): no Pulumi engine or
 * cluster runs here, so these tests see what the program registers and with which inputs — not
 * what a real `pulumi up` would do against AWS and a cluster.
 */

interface Registered { type: string; name: string; inputs: any }
let registered: Registered[] = [];
const DIGEST = `123456789012.dkr.ecr.us-east-1.amazonaws.com/quality-billing@sha256:${'ab'.repeat(32)}`;
const PG_DIGEST = `123456789012.dkr.ecr.us-east-1.amazonaws.com/quality-billing/postgres-pgbackrest@sha256:${'cd'.repeat(32)}`;
/** The digest the mocks give a built image: quality-billing's app DIGEST, the others one of their own. */
const digestOf = (imageResource: string) => imageResource === 'app-image' ? DIGEST : imageResource === 'postgres-image' ? PG_DIGEST
  : `123456789012.dkr.ecr.us-east-1.amazonaws.com/${imageResource}@sha256:${Buffer.from(imageResource.padEnd(32, '-').slice(0, 32)).toString('hex')}`;

/** `f` computed once per argument (each call synthesizes charts). */
function memo<T>(f: (arg: string) => T): (arg: string) => T {
  const cache = new Map<string, T>();
  return arg => (cache.has(arg) ? cache.get(arg)! : cache.set(arg, f(arg)).get(arg)!);
}

/** Every secret config key a system's environments read: values for all of them, so each stack finds its own. */
const secretKeys = memo((system: string): string[] => [...new Set(Object.values(ENVIRONMENTS).flatMap(env =>
  secretRequirements(synthChart(system, env).stack).map(r => r.configKey)))].sort());

async function runProgram(stack: string, config: Record<string, string>) {
  registered = [];
  await pulumi.runtime.setMocks({
    newResource: args => {
      registered.push({ type: args.type, name: args.name, inputs: args.inputs });
      const state: Record<string, unknown> = { ...args.inputs };
      if (args.type === 'docker:index/image:Image') state.repoDigest = digestOf(args.name);
      if (args.type === 'aws:ecr/repository:Repository') { state.repositoryUrl = `123456789012.dkr.ecr.us-east-1.amazonaws.com/${args.inputs.name}`; state.registryId = '123456789012'; }
      if (args.type === 'aws:s3/bucket:Bucket') state.arn = `arn:aws:s3:::${args.inputs.bucket}`;
      if (args.type === 'aws:iam/user:User') state.name = args.name;
      if (args.type === 'aws:iam/accessKey:AccessKey') state.secret = 'mock-secret-access-key';
      return { id: `${args.name}-id`, state };
    },
    call: args => (args.token === 'aws:ecr/getAuthorizationToken:getAuthorizationToken' ? { userName: 'AWS', password: 'mock-token', proxyEndpoint: 'https://ecr' } : args.inputs),
  }, 'quality-billing', stack, false);
  const all: Record<string, string> = {};
  for (const [k, v] of Object.entries(config)) all[`quality-billing:${k}`] = v;
  pulumi.runtime.setAllConfig(all, Object.keys(config).filter(k => SECRET_KEYS.has(k)).map(k => `quality-billing:${k}`));
  let result: ReturnType<typeof program>;
  try {
    result = program();
  } catch (e) {
    // Let the registrations already sent finish before the next test replaces the mock monitor.
    await new Promise(r => setTimeout(r, 300));
    throw e;
  }
  // Let every registration reach the mocks.
  await Promise.all(Object.values(result.chart.resources).map(r => new Promise(resolve => r.urn.apply(resolve))));
  await Promise.all(Object.values(result.secrets?.secrets ?? {}).map(r => new Promise(resolve => r.urn.apply(resolve))));
  await new Promise(r => setTimeout(r, 300));
  return result;
}

/** Every secret config key of every system, and quality-billing's older keys: declared secret to the mocks. */
const SECRET_KEYS = new Set([...SYSTEMS.flatMap(s => secretKeys(s.name)), 'redisPassword', 'dbPassword']);
const secretConfig = (system: string): Record<string, string> => Object.fromEntries(secretKeys(system).map(k => [k, `value-of-${k}`]));
/** Images given per application, so each must land on its own Deployments. */
const appImages = (system: string): Record<string, string> =>
  Object.fromEntries(SYSTEMS.find(s => s.name === system)!.applications.map(app => [app, `registry.example/${system}-${app}:1.0.0`]));
/** The PostgreSQL image `npm run synth` uses for the system and environment, given as prebuilt (no build). */
const postgresImage = (system: string, env: EnvironmentSpec): Record<string, string> => postgresImageOf(`${system}/${env.name}`);
const postgresImageOf = memo((stackId: string): Record<string, string> => {
  const [system, env] = stackId.split('/');
  const stack = synthChart(system, ENVIRONMENTS[env as keyof typeof ENVIRONMENTS]).stack;
  // Where the log archive runs Elasticsearch with repository-s3 (finance-ai in staging/prod), the catalog's image as prebuilt too.
  const images: Record<string, string> = isPostgresSystem(stack) ? { postgresImage: stack.postgres.image.toString() } : {};
  if (stack.logging?.elasticsearch.image.toString() === IMAGE_CATALOG.elasticsearchS3.toString()) images.elasticsearchImage = IMAGE_CATALOG.elasticsearchS3.toString();
  return images;
});
// Prebuilt images (the catalog's, as `npm run synth` uses them), so the objects can equal the manifests.
const baseConfig = (env: string): Record<string, string> => ({
  environment: env, appImage: 'quality-billing:1.0.0', ...secretConfig('quality-billing'),
  ...(env === 'dev' ? {} : { postgresImage: IMAGE_CATALOG.postgresPgbackrest.toString() }),
});
/** Another system's config: its secrets, an image per application, its PostgreSQL image. */
const systemConfig = (system: string, env: EnvironmentSpec): Record<string, string> => ({
  system, environment: env.name, appImages: JSON.stringify(appImages(system)), ...secretConfig(system), ...postgresImage(system, env),
});
// How Pulumi marks a secret value inside resource inputs (its wire format's secret signature).
const SECRET_SIG = { '4dabf18193072939515e22adb298388d': '1b47061264138c4ac30d75fd1eb44270' };
/** The value inside a secret marker; fails when the value is not marked secret. */
function secretValue(v: any): any {
  expect(v).toMatchObject(SECRET_SIG);
  return v.value;
}
const key = (o: { kind: string; metadata: { name: string; namespace?: string } }) => `${o.kind}/${o.metadata.namespace ?? '_'}/${o.metadata.name}`;
const kubernetes = () => registered.filter(r => r.type.startsWith('kubernetes:') && !(r.type === 'kubernetes:core/v1:Secret'));
const secretOf = (name: string) => secretValue(registered.find(r => r.type === 'kubernetes:core/v1:Secret' && r.inputs.metadata.name === name)!.inputs.stringData);

/** What `npm run synth` writes for the system and environment, with the images and bucket name the stack config gives it. */
function synthesized(system: string, env: EnvironmentSpec): K8sObject[] {
  const backupStorage = env.backup === false ? undefined : { bucket: `${system}-backups-${env.name}` };
  if (system === 'quality-billing') return synthChart(system, env, { backupStorage, appImage: 'quality-billing:1.0.0', ...(env.name === 'dev' ? {} : { postgresImage: IMAGE_CATALOG.postgresPgbackrest.toString() }) }).objects;
  const { postgresImage: pg } = postgresImage(system, env);
  return synthChart(system, env, { backupStorage, appImages: appImages(system), ...(pg ? { postgresImage: pg } : {}) }).objects;
}

const STACKS = SYSTEMS.flatMap(sys => Object.values(ENVIRONMENTS).map(env => [sys.name, env.name, env] as const));

describe.each(STACKS)('pulumi up: system %s, stack %s (under mocks)', (system, name, env) => {
  let objects: K8sObject[];
  let result: Awaited<ReturnType<typeof runProgram>>;
  const config = () => (system === 'quality-billing' ? baseConfig(name) : systemConfig(system, env));

  beforeAll(async () => {
    objects = synthesized(system, env);
    result = await runProgram(name, config());
  });

  it('registers one Kubernetes resource per synthesized object: the same kinds, namespaces and names', () => {
    const got = kubernetes().map(r => key(r.inputs)).sort();
    expect(got).toEqual(objects.map(key).sort());
    expect(new Set(got).size).toBe(got.length);
  });

  it('registers each with the synthesized spec', () => {
    const byKey = new Map(kubernetes().map(r => [key(r.inputs), r.inputs]));
    for (const o of objects) expect([key(o), byKey.get(key(o))]).toEqual([key(o), o]);
  });

  it('names resources by their stable construct path, as children of the component', () => {
    const names = kubernetes().map(r => r.name);
    if (isPostgresSystem(result.stack)) expect(names).toContain(`${system}/Postgres/StatefulSet`);
    expect(names.every(n => n.startsWith(`${system}/`))).toBe(true);
    expect(registered.find(r => r.type === 'quality-billing:index:Cdk8sChart')).toBeDefined();
  });

  it('creates every Secret the manifests reference, with only secret Outputs as data', async () => {
    const secrets = registered.filter(r => r.type === 'kubernetes:core/v1:Secret').map(r => `${r.inputs.metadata.namespace}/${r.inputs.metadata.name}`).sort();
    const expected = new Set<string>();
    const walk = (v: any, ns: string): void => {
      if (Array.isArray(v)) v.forEach(x => walk(x, ns));
      else if (v && typeof v === 'object') {
        if (v.secretKeyRef) expected.add(`${ns}/${v.secretKeyRef.name}`);
        if (v.secret?.secretName) expected.add(`${ns}/${v.secret.secretName}`);
        Object.values(v).forEach(x => walk(x, ns));
      }
    };
    objects.forEach(o => walk(o, o.metadata.namespace!));
    objects.filter(o => o.kind === 'Ingress').forEach(o => o.spec.tls.forEach((t: any) => expected.add(`${o.metadata.namespace}/${t.secretName}`)));
    expect(secrets).toEqual([...expected].sort());
    // On the wire to the provider, every Secret's data is marked secret…
    for (const r of registered.filter(x => x.type === 'kubernetes:core/v1:Secret')) secretValue(r.inputs.stringData);
    // …and so is every value handed to it, and every secret config value read.
    for (const [secret, data] of Object.entries(result.secrets!.data)) {
      for (const [k, v] of Object.entries(data)) expect([secret, k, await pulumi.isSecret(v)]).toEqual([secret, k, true]);
    }
    for (const [k, v] of Object.entries(result.secretValues)) {
      if (v !== undefined) expect([k, await pulumi.isSecret(pulumi.output(v))]).toEqual([k, true]);
    }
  });

  it('fills each Secret key from the config key named after the Secret and the key, or computes it', () => {
    const computed = new Set(['db-credentials/url', 'db-credentials/pooler-url', 'finance-ai-secrets/database-url', 'finance-ai-secrets/pooler-url', 'backup-s3-credentials/access-key-id', 'backup-s3-credentials/secret-access-key']);
    for (const r of registered.filter(x => x.type === 'kubernetes:core/v1:Secret')) {
      for (const [k, v] of Object.entries(secretValue(r.inputs.stringData))) {
        const ref = `${r.inputs.metadata.name}/${k}`;
        if (!computed.has(ref)) expect([ref, v]).toEqual([ref, `value-of-${secretConfigKey(r.inputs.metadata.name, k)}`]);
      }
    }
  });

  it('builds the database URL Secrets from the password, URL-encoded: direct, and through PgBouncer where there is one', () => {
    if (!isPostgresSystem(result.stack)) return; // merchant-analysis runs MongoDB
    const c = result.stack.postgres.connection;
    const url = secretOf(c.urlSecret.secretName)[c.urlSecret.key];
    const db = system.replace(/-/g, '_');
    const direct = `postgresql://${db}:value-of-dbCredentialsPassword@${system}-postgres:5432/${db}`;
    const pooler = result.stack.pooler;
    if (!pooler) {
      expect(url).toBe(direct);
      return;
    }
    expect(secretOf(pooler.urlSecret.secretName)[pooler.urlSecret.key]).toBe(`postgresql://${db}:value-of-dbCredentialsPassword@${system}-pgbouncer:6432/${db}`);
    // The direct URL is created only where a client still reads it (a migration Job).
    expect([undefined, direct]).toContain(url);
  });

  it('never puts a secret value into a Kubernetes object other than a Secret', () => {
    const text = JSON.stringify(kubernetes().map(r => r.inputs));
    for (const value of Object.values(secretConfig(system))) expect(text).not.toContain(value);
    expect(text).not.toContain('mock-secret-access-key');
  });

  it('creates the system\'s own backup bucket when the environment has backups, and outputs what it deployed', async () => {
    const buckets = registered.filter(r => r.type === 'aws:s3/bucket:Bucket').map(r => r.inputs.bucket);
    expect(buckets).toEqual(env.backup === false ? [] : [`${system}-backups-${name}`]);
    expect(result.outputs).toMatchObject({ system, environment: name, namespace: system });
    expect(result.outputs.apiEndpoint).toMatch(new RegExp(`^http://${system}-(api|api-gateway)\\.${system}\\.svc\\.cluster\\.local:\\d+$`));
    expect(Object.keys(result.outputs.appImages).sort()).toEqual(SYSTEMS.find(s => s.name === system)!.applications.slice().sort());
    if (env.backup !== false) expect(await new Promise(resolve => pulumi.output(result.outputs.backupBucket).apply(resolve))).toBe(`${system}-backups-${name}`);
  });
});

describe.each(SYSTEMS.map(s => [s.name]))('secret config of %s', system => {
  it('a missing secret fails before anything is registered, with the config key and the exact command, listing every missing key', async () => {
    const config = system === 'quality-billing' ? baseConfig('prod') : systemConfig(system, ENVIRONMENTS.prod);
    delete config.grafanaCredentialsAdminPassword;
    delete config.appSecretsSecretKey;
    await expect(runProgram('prod', config)).rejects.toThrow(
      `Secret ${system}/app-secrets key "secret-key" has no value: pulumi config set --secret appSecretsSecretKey <value>\n`
      + `  Secret ${system}/grafana-credentials key "admin-password" has no value: pulumi config set --secret grafanaCredentialsAdminPassword <value>`);
    expect(registered).toEqual([]);
  });
});
describe('the backup bucket (prod, created on AWS)', () => {
  beforeAll(async () => { await runProgram('prod', baseConfig('prod')); });
  const one = (type: string) => { const found = registered.filter(r => r.type === type); expect(found).toHaveLength(1); return found[0].inputs; };

  it('is encrypted, versioned, closed to the public and reachable over TLS only', () => {
    expect(one('aws:s3/bucket:Bucket').bucket).toBe('quality-billing-backups-prod');
    expect(one('aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration').rules[0].applyServerSideEncryptionByDefault.sseAlgorithm).toBe('AES256');
    expect(one('aws:s3/bucketVersioning:BucketVersioning').versioningConfiguration.status).toBe('Enabled');
    expect(one('aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock')).toMatchObject({ blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true });
    const policy = JSON.parse(one('aws:s3/bucketPolicy:BucketPolicy').policy);
    expect(policy.Statement).toEqual([expect.objectContaining({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]);
  });

  it('expires logical backups at the environment\'s retention, and leaves pgBackRest\'s own expiry alone', () => {
    const rules = one('aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration').rules;
    const logical = rules.find((r: any) => r.filter.prefix === `${defaultBackupStorage('prod').prefix}/logical/`);
    expect(logical.expiration.days).toBe((ENVIRONMENTS.prod.backup as { retentionDays: number }).retentionDays);
    const pgbackrest = rules.find((r: any) => r.filter.prefix === 'prod/postgres/pgbackrest/');
    expect(pgbackrest.expiration).toBeUndefined();
    expect(pgbackrest.noncurrentVersionExpiration.noncurrentDays).toBe(7);
  });

  it('gives the backup identity only list/get/put/delete, only under the stack\'s prefix', () => {
    const policy = JSON.parse(one('aws:iam/userPolicy:UserPolicy').policy);
    expect(policy.Statement).toEqual([
      { Sid: 'ListPrefix', Effect: 'Allow', Action: ['s3:ListBucket'], Resource: ['arn:aws:s3:::quality-billing-backups-prod'], Condition: { StringLike: { 's3:prefix': ['prod/postgres/*', 'prod/postgres/'] } } },
      { Sid: 'ObjectsUnderPrefix', Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], Resource: ['arn:aws:s3:::quality-billing-backups-prod/prod/postgres/*'] },
    ]);
    const creds = secretValue(registered.find(r => r.type === 'kubernetes:core/v1:Secret' && r.inputs.metadata.name === 'backup-s3-credentials')!.inputs.stringData);
    expect(creds).toEqual({ 'access-key-id': 'backups-writer-key-id', 'secret-access-key': 'mock-secret-access-key' });
  });
});

describe('the backup identity of QCAT (weekly configuration export beside the database backups)', () => {
  it('may also write the configuration export\'s folder, and nothing else', async () => {
    await runProgram('prod', systemConfig('qcat', ENVIRONMENTS.prod));
    const policy = JSON.parse(registered.find(r => r.type === 'aws:iam/userPolicy:UserPolicy')!.inputs.policy);
    expect(policy.Statement).toEqual([
      { Sid: 'ListPrefix', Effect: 'Allow', Action: ['s3:ListBucket'], Resource: ['arn:aws:s3:::qcat-backups-prod'], Condition: { StringLike: { 's3:prefix': ['prod/postgres/*', 'prod/postgres/', 'prod/config/*', 'prod/config/'] } } },
      { Sid: 'ObjectsUnderPrefix', Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], Resource: ['arn:aws:s3:::qcat-backups-prod/prod/postgres/*', 'arn:aws:s3:::qcat-backups-prod/prod/config/*'] },
    ]);
    expect(registered.find(r => r.type === 'aws:iam/user:User')!.inputs.path).toBe('/qcat/');
  });
});

describe('switches', () => {
  it('secrets from a secret manager: no secret config read, no Secret created, one ExternalSecret per Secret from the configured store', async () => {
    const { secretRequirements: asked, secrets } = await runProgram('prod', {
      environment: 'prod', appImage: 'quality-billing:1.0.0', postgresImage: IMAGE_CATALOG.postgresPgbackrest.toString(),
      secrets: 'external-secrets', externalSecrets: JSON.stringify({ storeName: 'vault-backend' }),
    });
    expect(asked).toEqual([]);
    expect(secrets).toBeUndefined();
    expect(registered.filter(r => r.type === 'kubernetes:core/v1:Secret')).toEqual([]);
    const externalSecrets = registered.filter(r => r.inputs?.kind === 'ExternalSecret');
    expect(externalSecrets.map(r => r.inputs.metadata.name)).toEqual(expect.arrayContaining(['db-credentials', 'redis-credentials', 'app-secrets', 'elasticsearch-credentials']));
    for (const r of externalSecrets) expect(r.inputs.spec.secretStoreRef).toEqual({ name: 'vault-backend', kind: 'ClusterSecretStore' });
  });

  it('an existing bucket: no AWS resources, the keys come from secret config', async () => {
    await runProgram('prod', { ...baseConfig('prod'), existingBackupBucket: 'onprem-backups', backupEndpoint: 'https://minio.internal:9000' });
    expect(registered.filter(r => r.type.startsWith('aws:'))).toEqual([]);
    const cron = kubernetes().find(r => r.inputs.kind === 'CronJob' && r.inputs.metadata.name === 'quality-billing-postgres-backup')!.inputs;
    const env = Object.fromEntries(cron.spec.jobTemplate.spec.template.spec.containers[0].env.map((e: any) => [e.name, e.value]));
    expect(env).toMatchObject({ S3_BUCKET: 'onprem-backups', S3_ENDPOINT: 'https://minio.internal:9000' });
    const creds = secretValue(registered.find(r => r.type === 'kubernetes:core/v1:Secret' && r.inputs.metadata.name === 'backup-s3-credentials')!.inputs.stringData);
    expect(creds).toEqual({ 'access-key-id': 'value-of-backupS3CredentialsAccessKeyId', 'secret-access-key': 'value-of-backupS3CredentialsSecretAccessKey' });
  });

  it('a built image: pushed to a scanned ECR repository, and its digest pinned in the Deployment and the migration Job', async () => {
    const config: Record<string, string> = { ...baseConfig('prod'), imageContext: '../quality-billing' };
    delete config.appImage;
    delete config.postgresImage;
    const result = await runProgram('prod', config);
    const images = registered.filter(r => r.type === 'docker:index/image:Image');
    expect(images.map(i => [i.name, i.inputs.build.context])).toEqual([['app-image', '../quality-billing'], ['postgres-image', 'images/postgres-pgbackrest']]);
    const pg = kubernetes().find(r => r.inputs.kind === 'StatefulSet' && r.inputs.metadata.name === 'quality-billing-postgres')!.inputs;
    expect(pg.spec.template.spec.containers[0].image).toBe(PG_DIGEST);
    const backup = kubernetes().find(r => r.inputs.kind === 'CronJob' && r.inputs.metadata.name === 'quality-billing-postgres-backup')!.inputs;
    expect(backup.spec.jobTemplate.spec.template.spec.initContainers[0].image).toBe(PG_DIGEST);
    expect(registered.filter(r => r.type === 'aws:ecr/repository:Repository').map(r => [r.inputs.name, r.inputs.imageScanningConfiguration])).toEqual([
      ['quality-billing', { scanOnPush: true }], ['quality-billing/postgres-pgbackrest', { scanOnPush: true }]]);
    expect(JSON.parse(registered.find(r => r.type === 'aws:ecr/lifecyclePolicy:LifecyclePolicy')!.inputs.policy).rules[0].selection.tagStatus).toBe('untagged');
    const api = kubernetes().find(r => r.inputs.kind === 'Deployment' && r.inputs.metadata.name === 'quality-billing-api')!.inputs;
    expect(api.spec.template.spec.containers[0].image).toBe(DIGEST);
    const job = kubernetes().find(r => r.inputs.kind === 'Job' && r.inputs.metadata.labels['app.kubernetes.io/component'] === 'migration')!.inputs;
    expect(job.spec.template.spec.containers[0].image).toBe(DIGEST);
    // The Job's name follows the digest, and so do the waiters' Role and environment.
    expect(job.metadata.name).toMatch(/^quality-billing-migrate-[0-9a-f]{10}$/);
    expect(job.metadata.name).not.toBe((result.stack as QualityBillingStack).migration.jobName());
    const text = JSON.stringify(kubernetes().map(r => r.inputs));
    const leftovers = (needle: string) => kubernetes().filter(r => JSON.stringify(r.inputs).includes(needle)).map(r => key(r.inputs));
    expect(leftovers('digest-pending')).toEqual([]);
    expect(leftovers('pulumi.invalid')).toEqual([]);
    expect(leftovers((result.stack as QualityBillingStack).migration.jobName())).toEqual([]);
    expect(api.metadata.labels['app.kubernetes.io/version']).toBe('abababababab');
    expect(text.split(job.metadata.name).length).toBeGreaterThan(3);
    expect(await new Promise(resolve => (result.outputs.appImage as pulumi.Output<string>).apply(resolve))).toBe(DIGEST);
  });

  it('the migration Job before the app, namespaces before what lives in them', async () => {
    const result = await runProgram('prod', baseConfig('prod'));
    void result;
    // Only the order of registration is visible to the mocks, not the dependsOn edges Pulumi orders its operations by.
    const order = kubernetes().map(r => `${r.inputs.kind}/${r.inputs.metadata.name}`);
    expect(order.findIndex(o => o.startsWith('Namespace/'))).toBe(0);
    const job = order.findIndex(o => o.startsWith('Job/quality-billing-migrate'));
    expect(job).toBeLessThan(order.indexOf('Deployment/quality-billing-api'));
  });

  it('reads quality-billing\'s older secret config keys when the derived one is unset', async () => {
    const config: Record<string, string> = { ...baseConfig('prod'), redisPassword: 'value-of-redisPassword', dbPassword: 'p@ss' };
    delete config.redisCredentialsPassword;
    delete config.dbCredentialsPassword;
    await runProgram('prod', config);
    expect(secretOf('redis-credentials').password).toBe('value-of-redisPassword');
    expect(secretOf('db-credentials').url).toBe('postgresql://quality_billing:p%40ss@quality-billing-postgres:5432/quality_billing');
  });

  it('reads the older keys for quality-billing only: another system with dbPassword set still asks for its own key', async () => {
    const config: Record<string, string> = { ...systemConfig('qcat', ENVIRONMENTS.prod), dbPassword: 'p@ss' };
    delete config.dbCredentialsPassword;
    await expect(runProgram('prod', config)).rejects.toThrow('key "password" has no value: pulumi config set --secret dbCredentialsPassword <value>');
  });

  it('a missing secret fails with the config key and the command that sets it', async () => {
    const config: Record<string, string> = baseConfig('prod');
    delete config.redisCredentialsPassword;
    await expect(runProgram('prod', config)).rejects.toThrow('Secret quality-billing/redis-credentials key "password" has no value: pulumi config set --secret redisCredentialsPassword <value>');
  });

  it('an unknown system fails before anything is registered, listing the systems', async () => {
    await expect(runProgram('prod', { ...baseConfig('prod'), system: 'billing' })).rejects.toThrow(
      'Pulumi config quality-billing:system: invalid system "billing": expected one of "quality-billing", "qcat", "finance-ai", "merchant-analysis", "ai-bookkeeping" (pulumi config set system <name>)');
    expect(registered).toEqual([]);
  });

  it('merchant-analysis built from five contexts: five ECR repositories of its own, each Deployment its own digest', async () => {
    const apps = SYSTEMS.find(s => s.name === 'merchant-analysis')!.applications;
    const config = systemConfig('merchant-analysis', ENVIRONMENTS.prod);
    delete config.appImages;
    config.imageContexts = JSON.stringify(Object.fromEntries(apps.map(a => [a, `../merchant-analysis/${a}`])));
    const result = await runProgram('prod', config);
    expect(registered.filter(r => r.type === 'docker:index/image:Image').map(i => [i.name, i.inputs.build.context]).sort())
      .toEqual(apps.map(a => [`${a}-image`, `../merchant-analysis/${a}`]).sort());
    expect(registered.filter(r => r.type === 'aws:ecr/repository:Repository').map(r => r.inputs.name).sort()).toEqual(apps.map(a => `merchant-analysis/${a}`).sort());
    for (const app of apps) {
      const d = kubernetes().find(r => r.inputs.kind === 'Deployment' && r.inputs.metadata.name === `merchant-analysis-${app}`)!.inputs;
      expect([app, d.spec.template.spec.containers[0].image]).toEqual([app, digestOf(`${app}-image`)]);
      expect(await new Promise(resolve => pulumi.output(result.outputs.appImages[app]).apply(resolve))).toBe(digestOf(`${app}-image`));
    }
    expect(kubernetes().filter(r => JSON.stringify(r.inputs).includes('pulumi.invalid')).map(r => key(r.inputs))).toEqual([]);
    expect(registered.filter(r => r.type === 'aws:s3/bucket:Bucket').map(r => r.inputs.bucket)).toEqual(['merchant-analysis-backups-prod']);
  });

  it('finance-ai with the log archive: builds images/elasticsearch-s3 on the catalog\'s Elasticsearch and pins its digest wherever the chart runs it', async () => {
    const config = systemConfig('finance-ai', ENVIRONMENTS.prod);
    delete config.elasticsearchImage;
    await runProgram('prod', config);
    const built = registered.filter(r => r.type === 'docker:index/image:Image' && r.name === 'elasticsearch-image');
    expect(built.map(i => [i.inputs.build.context, i.inputs.build.args, i.inputs.imageName])).toEqual([[
      'images/elasticsearch-s3', { ELASTICSEARCH_IMAGE: IMAGE_CATALOG.elasticsearch.toString() },
      `123456789012.dkr.ecr.us-east-1.amazonaws.com/finance-ai/elasticsearch-s3:${IMAGE_CATALOG.elasticsearchS3.tag}`]]);
    expect(registered.filter(r => r.type === 'aws:ecr/repository:Repository').map(r => r.inputs.name)).toContain('finance-ai/elasticsearch-s3');
    const es = kubernetes().find(r => r.inputs.kind === 'StatefulSet' && r.inputs.metadata.name === 'finance-ai-elasticsearch')!.inputs;
    const podSpec = es.spec.template.spec;
    expect([...podSpec.initContainers, ...podSpec.containers].filter((c: any) => c.image.includes('elasticsearch')).map((c: any) => c.image))
      .toEqual(expect.arrayContaining([digestOf('elasticsearch-image')]));
    expect(podSpec.containers.find((c: any) => c.name === 'elasticsearch').image).toBe(digestOf('elasticsearch-image'));
    // No object is left pointing at the catalog's name, which no registry serves.
    expect(kubernetes().filter(r => JSON.stringify(r.inputs).includes(IMAGE_CATALOG.elasticsearchS3.toString())).map(r => key(r.inputs))).toEqual([]);
  });

  it('finance-ai with a prebuilt elasticsearchImage (pushed elsewhere): no build, the reference pinned instead; a bad one fails naming the key', async () => {
    const prebuilt = `registry.example/elasticsearch-s3@sha256:${'ef'.repeat(32)}`;
    await runProgram('staging', { ...systemConfig('finance-ai', ENVIRONMENTS.staging), elasticsearchImage: prebuilt, elasticsearchImageRepository: 'registry.example/unused' });
    expect(registered.filter(r => r.type === 'docker:index/image:Image').map(r => r.name)).not.toContain('elasticsearch-image');
    const es = kubernetes().find(r => r.inputs.kind === 'StatefulSet' && r.inputs.metadata.name === 'finance-ai-elasticsearch')!.inputs;
    expect(es.spec.template.spec.containers.find((c: any) => c.name === 'elasticsearch').image).toBe(prebuilt);
    await expect(runProgram('staging', { ...systemConfig('finance-ai', ENVIRONMENTS.staging), elasticsearchImage: 'Not An Image' })).rejects.toThrow(/elasticsearchImage/);
  });

  it('finance-ai built with elasticsearchImageRepository: pushed there, no ECR repository for it', async () => {
    const config: Record<string, string> = { ...systemConfig('finance-ai', ENVIRONMENTS.prod), elasticsearchImageRepository: 'registry.example/platform/elasticsearch-s3' };
    delete config.elasticsearchImage;
    await runProgram('prod', config);
    expect(registered.find(r => r.type === 'docker:index/image:Image' && r.name === 'elasticsearch-image')!.inputs.imageName)
      .toBe(`registry.example/platform/elasticsearch-s3:${IMAGE_CATALOG.elasticsearchS3.tag}`);
    expect(registered.filter(r => r.type === 'aws:ecr/repository:Repository').map(r => r.inputs.name)).not.toContain('finance-ai/elasticsearch-s3');
  });

  it('finance-ai with sharedStorageClass: the model volume on that StorageClass (ReadWriteMany), not awaited', async () => {
    await runProgram('prod', { ...systemConfig('finance-ai', ENVIRONMENTS.prod), sharedStorageClass: 'efs-sc' });
    const claim = kubernetes().find(r => r.inputs.kind === 'PersistentVolumeClaim' && r.inputs.metadata.name === 'finance-ai-models')!.inputs;
    expect(claim.spec).toMatchObject({ storageClassName: 'efs-sc', accessModes: ['ReadWriteMany'] });
    expect(claim.metadata.annotations).toEqual({ 'pulumi.com/skipAwait': 'true' });
  });

  it('finance-ai prod with standbySite: a standby site (apps at 0, CronJobs suspended, held Services not awaited); promoted: none of it', async () => {
    const site = { cluster: 'site-b', primaryCluster: 'site-a', primaryBackupStorage: { bucket: 'finance-ai-backups-prod-a' } };
    await runProgram('prod', { ...systemConfig('finance-ai', ENVIRONMENTS.prod), standbySite: JSON.stringify(site) });
    const api = kubernetes().find(r => r.inputs.kind === 'Deployment' && r.inputs.metadata.name === 'finance-ai-api')!.inputs;
    expect(api.spec.replicas).toBe(0);
    const service = kubernetes().find(r => r.inputs.kind === 'Service' && r.inputs.metadata.name === 'finance-ai-api')!.inputs;
    expect(service.metadata.annotations).toEqual({ 'pulumi.com/skipAwait': 'true' });
    expect(kubernetes().filter(r => r.inputs.kind === 'CronJob').every(r => r.inputs.spec.suspend === true)).toBe(true);
    const standbyConf = kubernetes().find(r => r.inputs.kind === 'ConfigMap' && r.inputs.metadata.name === 'finance-ai-postgres-standby')!.inputs;
    expect(standbyConf.data['pgbackrest-primary.conf']).toContain('repo1-s3-bucket=finance-ai-backups-prod-a');

    await runProgram('prod', { ...systemConfig('finance-ai', ENVIRONMENTS.prod), standbySite: JSON.stringify({ ...site, promoted: true }) });
    expect(kubernetes().find(r => r.inputs.kind === 'Deployment' && r.inputs.metadata.name === 'finance-ai-api')!.inputs.spec.replicas).not.toBe(0);
    expect(kubernetes().find(r => r.inputs.kind === 'Service' && r.inputs.metadata.name === 'finance-ai-api')!.inputs.metadata.annotations).toBeUndefined();
  });

  it.each([
    ['not JSON', 'site-b', /Pulumi config quality-billing:standbySite: invalid standbySite "site-b": expected an object/],
    ['an unknown key', JSON.stringify({ cluster: 'site-b', primaryCluster: 'site-a', clutser: 'x' }), /quality-billing:standbySite: invalid standbySite key "clutser": expected one of "cluster"/],
    ['no primaryCluster', JSON.stringify({ cluster: 'site-b' }), /quality-billing:standbySite: invalid standbySite.primaryCluster \(undefined\): expected the Kubernetes cluster/],
    ['a cluster that is not a DNS label', JSON.stringify({ cluster: 'Site_B', primaryCluster: 'site-a' }), /quality-billing:standbySite: invalid standbySite.cluster "Site_B": expected a DNS-1123 label/],
    ['promoted as a string', JSON.stringify({ cluster: 'site-b', primaryCluster: 'site-a', promoted: 'yes' }), /quality-billing:standbySite: invalid standbySite.promoted "yes": expected a boolean/],
    ['an unknown storage key', JSON.stringify({ cluster: 'site-b', primaryCluster: 'site-a', primaryBackupStorage: { bukket: 'b' } }), /invalid standbySite.primaryBackupStorage key "bukket"/],
  ])('standbySite %s fails with a ValidationError naming the config key, before anything is registered', async (_, value, message) => {
    const run = runProgram('prod', { ...systemConfig('finance-ai', ENVIRONMENTS.prod), standbySite: value });
    await expect(run).rejects.toThrow(message);
    await expect(run).rejects.toMatchObject({ name: 'ValidationError' });
    expect(registered).toEqual([]);
  });

  it('dev ships no log archive: no Elasticsearch image is built', async () => {
    await runProgram('dev', systemConfig('finance-ai', ENVIRONMENTS.dev));
    expect(registered.filter(r => r.type === 'docker:index/image:Image').map(r => r.name)).toEqual([]);
  });

  it('an image for an application the system does not have fails naming its applications', async () => {
    const config = { ...systemConfig('qcat', ENVIRONMENTS.prod), appImages: JSON.stringify({ gateway: 'x:1' }) };
    await expect(runProgram('prod', config)).rejects.toThrow('invalid appImages key "gateway": expected one of "app" (the applications of qcat)');
  });

  it('a missing environment fails with Pulumi\'s message naming the key and the command', async () => {
    const config: Record<string, string> = baseConfig('prod');
    delete (config as any).environment;
    await expect(runProgram('prod', config)).rejects.toThrow(/quality-billing:environment[\s\S]*pulumi config set/);
  });
});

describe('the stack files and the README', () => {
  const ROOT = join(__dirname, '..', '..');
  const stackFiles = readdirSync(ROOT).filter(f => /^Pulumi\.[^.]+\.yaml$/.test(f)).sort();

  it('ships a stack file per environment and one for another system', () => {
    expect(stackFiles).toEqual(['Pulumi.dev.yaml', 'Pulumi.prod.yaml', 'Pulumi.qcat-prod.yaml', 'Pulumi.staging.yaml']);
  });

  it.each(stackFiles.map(f => [f]))('%s deploys its system with its secrets set', async file => {
    const config: Record<string, string> = {};
    for (const [k, v] of Object.entries(parse(readFileSync(join(ROOT, file), 'utf8')).config as Record<string, unknown>)) {
      if (k.startsWith('quality-billing:')) config[k.slice('quality-billing:'.length)] = String(v);
    }
    const stack = file.replace(/^Pulumi\.|\.yaml$/g, '');
    const result = await runProgram(stack, { ...config, ...secretConfig(config.system) });
    expect(result.outputs).toMatchObject({ system: config.system, environment: config.environment });
    expect(registered.filter(r => r.type === 'docker:index/image:Image').map(r => r.inputs.build.context)).toContain(config.imageContext);
  });

  it('lists the secret config keys each system reads', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const row = (name: string) => {
      const line = readme.split('\n').find(l => l.startsWith(`| ${name} | `));
      expect([name, line]).toEqual([name, expect.any(String)]);
      return (line!.split(' | ')[1].match(/`[a-z][A-Za-z0-9]+`/g) ?? []).map(k => k.slice(1, -1));
    };
    // Computed by the program, never set: the database URLs, direct and through PgBouncer.
    const computed = new Set(['dbCredentialsUrl', 'dbCredentialsPoolerUrl', 'financeAiSecretsDatabaseUrl', 'financeAiSecretsPoolerUrl']);
    for (const sys of SYSTEMS) {
      const listed = new Set([...row('every system'), ...row(sys.name)]);
      expect([sys.name, [...listed].sort()]).toEqual([sys.name, secretKeys(sys.name).filter(k => !computed.has(k))]);
    }
  });
});
