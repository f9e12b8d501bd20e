import * as pulumi from '@pulumi/pulumi';
import { ENVIRONMENTS, EnvironmentSpec } from '../../lib/environments';
import { SECRET_SOURCES } from '../../pulumi/stack-secrets';
import { IMAGE_CATALOG } from '../../lib/images';
import { program } from '../../bin/pulumi-program';
import { defaultBackupStorage } from '../../stacks/quality-billing-stack';
import { K8sObject, synthStack } from '../helpers';

/*
 * The Pulumi program under Pulumi's own mocks (pulumi.runtime.setMocks): no Pulumi engine or
 * cluster runs here, so these tests see what the program registers and with which inputs — not
 * what a real `pulumi up` would do against AWS and a cluster.
 */

interface Registered { type: string; name: string; inputs: any }
let registered: Registered[] = [];
const DIGEST = `123456789012.dkr.ecr.us-east-1.amazonaws.com/quality-billing@sha256:${'ab'.repeat(32)}`;
const PG_DIGEST = `123456789012.dkr.ecr.us-east-1.amazonaws.com/quality-billing/postgres-pgbackrest@sha256:${'cd'.repeat(32)}`;

async function runProgram(stack: string, config: Record<string, string>) {
  registered = [];
  await pulumi.runtime.setMocks({
    newResource: args => {
      registered.push({ type: args.type, name: args.name, inputs: args.inputs });
      const state: Record<string, unknown> = { ...args.inputs };
      if (args.type === 'docker:index/image:Image') state.repoDigest = args.name === 'postgres-image' ? PG_DIGEST : DIGEST;
      if (args.type === 'aws:ecr/repository:Repository') { state.repositoryUrl = '123456789012.dkr.ecr.us-east-1.amazonaws.com/quality-billing'; state.registryId = '123456789012'; }
      if (args.type === 'aws:s3/bucket:Bucket') state.arn = `arn:aws:s3:::${args.inputs.bucket}`;
      if (args.type === 'aws:iam/user:User') state.name = args.name;
      if (args.type === 'aws:iam/accessKey:AccessKey') state.secret = 'mock-secret-access-key';
      return { id: `${args.name}-id`, state };
    },
    call: args => (args.token === 'aws:ecr/getAuthorizationToken:getAuthorizationToken' ? { userName: 'AWS', password: 'mock-token', proxyEndpoint: 'https://ecr' } : args.inputs),
  }, 'quality-billing', stack, false);
  const all: Record<string, string> = {};
  for (const [k, v] of Object.entries(config)) all[`quality-billing:${k}`] = v;
  pulumi.runtime.setAllConfig(all, SECRET_SOURCES.map(s => `quality-billing:${s.configKey}`));
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
  await Promise.all(Object.values(result.secrets.secrets).map(r => new Promise(resolve => r.urn.apply(resolve))));
  await new Promise(r => setTimeout(r, 300));
  return result;
}

const SECRET_CONFIG: Record<string, string> = Object.fromEntries(SECRET_SOURCES.map(s => [s.configKey, `value-of-${s.configKey}`]));
// Prebuilt images (the catalog's, as `npm run synth` uses them), so the objects can equal the manifests.
const baseConfig = (env: string): Record<string, string> => ({
  environment: env, appImage: 'quality-billing:1.0.0', ...SECRET_CONFIG,
  ...(env === 'dev' ? {} : { postgresImage: IMAGE_CATALOG.postgresPgbackrest.toString() }),
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

/** What `npm run synth` writes for the environment, with the bucket name the stack config gives it. */
function synthesized(env: EnvironmentSpec): K8sObject[] {
  const backupStorage = env.backup === false ? undefined : { bucket: `quality-billing-backups-${env.name}` };
  return synthStack(env, { backupStorage }).objects;
}

describe.each(Object.values(ENVIRONMENTS).map(e => [e.name, e] as const))('pulumi up --stack %s (under mocks)', (name, env) => {
  let objects: K8sObject[];
  let result: Awaited<ReturnType<typeof runProgram>>;

  beforeAll(async () => {
    objects = synthesized(env);
    result = await runProgram(name, baseConfig(name));
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
    expect(names).toContain('quality-billing/Postgres/StatefulSet');
    expect(names.every(n => n.startsWith('quality-billing/'))).toBe(true);
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
    for (const [secret, data] of Object.entries(result.secrets.data)) {
      for (const [k, v] of Object.entries(data)) expect([secret, k, await pulumi.isSecret(v)]).toEqual([secret, k, true]);
    }
    for (const [k, v] of Object.entries(result.secretValues)) {
      if (v !== undefined) expect([k, await pulumi.isSecret(pulumi.output(v))]).toEqual([k, true]);
    }
  });

  it('never puts a secret value into a Kubernetes object other than a Secret', () => {
    const text = JSON.stringify(kubernetes().map(r => r.inputs));
    for (const value of Object.values(SECRET_CONFIG)) expect(text).not.toContain(value);
    expect(text).not.toContain('mock-secret-access-key');
  });

  it('builds the database URL Secret from the password, URL-encoded', async () => {
    const url = secretValue(registered.find(r => r.type === 'kubernetes:core/v1:Secret' && r.inputs.metadata.name === 'db-credentials')!.inputs.stringData).url;
    expect(url).toBe('postgresql://quality_billing:value-of-dbPassword@quality-billing-postgres:5432/quality_billing');
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

describe('switches', () => {
  it('an existing bucket: no AWS resources, the keys come from secret config', async () => {
    await runProgram('prod', { ...baseConfig('prod'), existingBackupBucket: 'onprem-backups', backupEndpoint: 'https://minio.internal:9000' });
    expect(registered.filter(r => r.type.startsWith('aws:'))).toEqual([]);
    const cron = kubernetes().find(r => r.inputs.kind === 'CronJob' && r.inputs.metadata.name === 'quality-billing-postgres-backup')!.inputs;
    const env = Object.fromEntries(cron.spec.jobTemplate.spec.template.spec.containers[0].env.map((e: any) => [e.name, e.value]));
    expect(env).toMatchObject({ S3_BUCKET: 'onprem-backups', S3_ENDPOINT: 'https://minio.internal:9000' });
    const creds = secretValue(registered.find(r => r.type === 'kubernetes:core/v1:Secret' && r.inputs.metadata.name === 'backup-s3-credentials')!.inputs.stringData);
    expect(creds).toEqual({ 'access-key-id': 'value-of-backupAccessKeyId', 'secret-access-key': 'value-of-backupSecretAccessKey' });
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
    expect(job.metadata.name).not.toBe(result.stack.migration.jobName());
    const text = JSON.stringify(kubernetes().map(r => r.inputs));
    const leftovers = (needle: string) => kubernetes().filter(r => JSON.stringify(r.inputs).includes(needle)).map(r => key(r.inputs));
    expect(leftovers('digest-pending')).toEqual([]);
    expect(leftovers('pulumi.invalid')).toEqual([]);
    expect(leftovers(result.stack.migration.jobName())).toEqual([]);
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

  it('a missing secret fails with the config key and the command that sets it', async () => {
    const config: Record<string, string> = baseConfig('prod');
    delete config.redisPassword;
    await expect(runProgram('prod', config)).rejects.toThrow('Secret quality-billing/redis-credentials key "password" has no value: pulumi config set --secret redisPassword <value>');
  });

  it('a missing environment fails with Pulumi\'s message naming the key and the command', async () => {
    const config: Record<string, string> = baseConfig('prod');
    delete (config as any).environment;
    await expect(runProgram('prod', config)).rejects.toThrow(/quality-billing:environment[\s\S]*pulumi config set/);
  });
});
