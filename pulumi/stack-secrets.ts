import * as pulumi from '@pulumi/pulumi';
import * as k8s from '@pulumi/kubernetes';
import { SecretRequirement, secretRef } from './secret-requirements';

export * from './secret-requirements';

/**
 * The config keys quality-billing's stacks used before the keys were derived from the Secrets,
 * by "<secret>/<key>": still read when the derived key is unset, so existing stacks keep working.
 */
export const LEGACY_SECRET_CONFIG_KEYS: Readonly<Record<string, string>> = {
  'db-credentials/password': 'dbPassword',
  'redis-credentials/password': 'redisPassword',
  'app-secrets/secret-key': 'appSecretKey',
  'grafana-credentials/admin-password': 'grafanaAdminPassword',
  'alertmanager-credentials/slack-webhook-url': 'slackWebhookUrl',
  'alertmanager-credentials/smtp-password': 'smtpPassword',
  'elasticsearch-credentials/elastic-password': 'elasticPassword',
  'elasticsearch-credentials/kibana-password': 'kibanaPassword',
  'backup-s3-credentials/access-key-id': 'backupAccessKeyId',
  'backup-s3-credentials/secret-access-key': 'backupSecretAccessKey',
  'quality-billing-tls/tls.crt': 'tlsCertificate',
  'quality-billing-tls/tls.key': 'tlsPrivateKey',
};

/** Thrown when a Secret key the chart reads has no value: names every such key and the command that sets it. */
export class MissingSecretConfigError extends Error {
  public readonly name = 'MissingSecretConfigError';

  constructor(
    /** The project's config namespace ("quality-billing"). */
    public readonly project: string,
    /** The Secret keys without a value. */
    public readonly missing: readonly SecretRequirement[],
  ) {
    super(`${missing.length} Secret key(s) the chart reads have no value; nothing was changed. Set each with:\n${missing
      .map(m => `  Secret ${m.namespace}/${m.secret} key "${m.key}" has no value: pulumi config set --secret ${m.configKey} <value>`).join('\n')}`);
  }
}

/**
 * Reads each requirement's value from secret config (`secretConfigKey`, else its key in
 * `legacyKeys`), except those in `provided` (computed by the program). Fails with every
 * key that has no value, and the command that sets it, before the caller changes anything.
 * @returns secret Outputs by "<secret>/<key>"
 */
export function readSecretConfig(
  config: pulumi.Config,
  requirements: readonly SecretRequirement[],
  provided: ReadonlySet<string> = new Set(),
  /** Older config keys still read, by "<secret>/<key>" (quality-billing's stacks: `LEGACY_SECRET_CONFIG_KEYS`); other systems never had any. */
  legacyKeys: Readonly<Record<string, string>> = {},
): Record<string, pulumi.Output<string>> {
  const values: Record<string, pulumi.Output<string>> = {};
  const missing: SecretRequirement[] = [];
  for (const r of requirements) {
    const ref = secretRef(r);
    if (provided.has(ref) || values[ref]) continue;
    const legacy = legacyKeys[ref];
    const value = config.getSecret(r.configKey) ?? (legacy ? config.getSecret(legacy) : undefined);
    if (value === undefined) missing.push(r);
    else values[ref] = value;
  }
  if (missing.length > 0) throw new MissingSecretConfigError(config.name, missing);
  return values;
}

/** Arguments of `StackSecrets`. */
export interface StackSecretsArgs {
  /** The Secret keys to create (`secretRequirements(chart)`). */
  readonly requirements: readonly SecretRequirement[];
  /** Values by "<secret>/<key>" (`readSecretConfig`, plus what the program computes); every one is made a secret Output. */
  readonly values: Readonly<Record<string, pulumi.Input<string> | undefined>>;
  /** The `app.kubernetes.io/part-of` label of the Secrets. @default "quality-billing" */
  readonly partOf?: string;
  /** Secrets created by something else (cert-manager's TLS Secret), by name. @default - none */
  readonly skip?: readonly string[];
  /** Kubernetes provider. @default - the default provider */
  readonly provider?: k8s.Provider;
  /** What the Secrets wait for (their namespaces). @default - nothing */
  readonly dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/**
 * The Kubernetes Secrets a chart reads, created from secret config values: their data is a
 * secret Output end to end, so it is encrypted in the state and shown as [secret] in previews.
 */
export class StackSecrets extends pulumi.ComponentResource {
  /** The Secrets, by "<namespace>/<name>". */
  public readonly secrets: Readonly<Record<string, k8s.core.v1.Secret>>;
  /** The data handed to each Secret, by "<namespace>/<name>" and key: every value a secret Output. */
  public readonly data: Readonly<Record<string, Readonly<Record<string, pulumi.Output<string>>>>>;

  constructor(name: string, args: StackSecretsArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super('quality-billing:index:StackSecrets', name, {}, opts);
    const bySecret = new Map<string, SecretRequirement[]>();
    for (const r of args.requirements) {
      if (args.skip?.includes(r.secret)) continue;
      const id = `${r.namespace}/${r.secret}`;
      (bySecret.get(id) ?? bySecret.set(id, []).get(id)!).push(r);
    }
    const secrets: Record<string, k8s.core.v1.Secret> = {};
    const allData: Record<string, Record<string, pulumi.Output<string>>> = {};
    for (const [id, requirements] of bySecret) {
      const data: Record<string, pulumi.Output<string>> = {};
      for (const r of requirements) {
        const value = args.values[secretRef(r)];
        if (value === undefined) throw new MissingSecretConfigError(pulumi.getProject(), [r]);
        data[r.key] = pulumi.secret(value);
      }
      const { namespace, secret, type } = requirements[0];
      allData[id] = data;
      secrets[id] = new k8s.core.v1.Secret(id, {
        metadata: { name: secret, namespace, labels: { 'app.kubernetes.io/managed-by': 'pulumi', 'app.kubernetes.io/part-of': args.partOf ?? 'quality-billing' } },
        type,
        stringData: data,
      }, { parent: this, provider: args.provider, dependsOn: args.dependsOn, additionalSecretOutputs: ['data', 'stringData'] });
    }
    this.secrets = secrets;
    this.data = allData;
    this.registerOutputs({});
  }
}
