import * as pulumi from '@pulumi/pulumi';
import * as k8s from '@pulumi/kubernetes';
import { ApiObject, Chart } from 'cdk8s';

/** The keys of a `kubernetes.io/tls` Secret (Kubernetes' Secret types: both are required). */
export const TLS_SECRET_KEYS: readonly string[] = ['tls.crt', 'tls.key'];

/** A Secret key a chart reads, and the secret config key that fills it. */
export interface SecretRequirement {
  /** Namespace of the Secret (the reading object's). */
  readonly namespace: string;
  /** Secret name. */
  readonly secret: string;
  /** Key in the Secret. */
  readonly key: string;
  /** Secret type: `kubernetes.io/tls` when the Secret is served as a TLS certificate, else `Opaque`. */
  readonly type: 'Opaque' | 'kubernetes.io/tls';
  /** The config key (in the project's namespace) that sets it: `secretConfigKey(secret, key)`. */
  readonly configKey: string;
  /** What reads it: "<kind>/<name>" of each object, for errors and the README. */
  readonly readBy: readonly string[];
}

/**
 * The config key of a Secret's key: "<secret>-<key>" in lower camel case, every character other
 * than a letter or digit a word break — `db-credentials`/`password` → `dbCredentialsPassword`,
 * `qcat-tls`/`tls.crt` → `qcatTlsTlsCrt`. Deterministic, so the keys a system needs follow from
 * its chart alone (README "Deploy with Pulumi" lists them per system).
 */
export function secretConfigKey(secret: string, key: string): string {
  const words = `${secret}-${key}`.split(/[^A-Za-z0-9]+/).filter(w => w.length > 0);
  return words.map((w, i) => (i === 0 ? w.toLowerCase() : w[0].toUpperCase() + w.slice(1).toLowerCase())).join('');
}

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

/** Thrown when a chart reads a whole Secret whose keys cannot be known from the reference. */
export class UnknownSecretKeysError extends Error {
  public readonly name = 'UnknownSecretKeysError';

  constructor(
    /** "<namespace>/<secret>". */
    public readonly secret: string,
    /** "<kind>/<name>" of the object that reads it. */
    public readonly readBy: string,
  ) {
    super(`Secret ${secret} is read whole by ${readBy} (envFrom or a volume without items): name its keys (a secretKeyRef or volume items) so they can be filled from config`);
  }
}

type Kind = { readonly kind: string; readonly metadata: { readonly name: string; readonly namespace?: string } };

/**
 * Every Secret key the chart's objects read, found by walking them: `secretKeyRef`s, Secret
 * volumes (their `items`; projected ones too), `envFrom` Secret references, and the TLS Secrets
 * of Ingresses. A Secret read whole is a TLS Secret (`tls.crt`, `tls.key`) when an Ingress serves
 * it or its name ends in "-tls"; any other must name its keys. Secrets the chart creates itself,
 * or that a cert-manager Certificate in it writes, are not listed.
 */
export function secretRequirements(chart: Chart): SecretRequirement[] {
  const objects = chart.node.findAll().filter((c): c is ApiObject => c instanceof ApiObject).map(o => o.toJson() as Kind & Record<string, any>);
  const made = new Set<string>();
  for (const o of objects) {
    const ns = o.metadata.namespace ?? 'default';
    if (o.kind === 'Secret') made.add(`${ns}/${o.metadata.name}`);
    if (o.kind === 'Certificate' && o.spec?.secretName) made.add(`${ns}/${o.spec.secretName}`);
  }
  const found = new Map<string, { namespace: string; secret: string; keys: Map<string, Set<string>>; whole: Set<string>; tls: boolean }>();
  const entry = (namespace: string, secret: string) => {
    const id = `${namespace}/${secret}`;
    return found.get(id) ?? found.set(id, { namespace, secret, keys: new Map(), whole: new Set(), tls: secret.endsWith('-tls') }).get(id)!;
  };
  const addKey = (namespace: string, secret: string, key: string, by: string) => {
    const e = entry(namespace, secret);
    (e.keys.get(key) ?? e.keys.set(key, new Set()).get(key)!).add(by);
  };
  const addSecret = (namespace: string, secret: string, items: Array<{ key: string }> | undefined, by: string) => {
    if (items?.length) items.forEach(i => addKey(namespace, secret, i.key, by));
    else entry(namespace, secret).whole.add(by);
  };
  const walk = (v: unknown, ns: string, by: string): void => {
    if (Array.isArray(v)) { v.forEach(x => walk(x, ns, by)); return; }
    if (!v || typeof v !== 'object') return;
    const o = v as Record<string, any>;
    if (o.secretKeyRef?.name) addKey(ns, o.secretKeyRef.name, o.secretKeyRef.key, by);
    if (o.secret?.secretName) addSecret(ns, o.secret.secretName, o.secret.items, by); // a volume
    if (o.secret?.name) addSecret(ns, o.secret.name, o.secret.items, by); // a projected volume's source
    if (o.secretRef?.name) addSecret(ns, o.secretRef.name, undefined, by); // envFrom
    Object.values(o).forEach(x => walk(x, ns, by));
  };
  for (const o of objects) {
    const ns = o.metadata.namespace ?? 'default';
    const by = `${o.kind}/${o.metadata.name}`;
    if (o.kind === 'Certificate') continue; // its secretName is written by cert-manager
    if (o.kind === 'Ingress') {
      for (const t of o.spec?.tls ?? []) if (t.secretName) { const e = entry(ns, t.secretName); e.tls = true; e.whole.add(by); }
    }
    walk(o, ns, by);
  }
  const result: SecretRequirement[] = [];
  for (const e of found.values()) {
    if (made.has(`${e.namespace}/${e.secret}`)) continue;
    if (e.whole.size > 0) {
      if (!e.tls) throw new UnknownSecretKeysError(`${e.namespace}/${e.secret}`, [...e.whole][0]);
      for (const k of TLS_SECRET_KEYS) e.whole.forEach(by => addKey(e.namespace, e.secret, k, by));
    }
    for (const [key, by] of e.keys) {
      result.push({ namespace: e.namespace, secret: e.secret, key, type: e.tls ? 'kubernetes.io/tls' : 'Opaque', configKey: secretConfigKey(e.secret, key), readBy: [...by].sort() });
    }
  }
  return result.sort((a, b) => `${a.namespace}/${a.secret}/${a.key}`.localeCompare(`${b.namespace}/${b.secret}/${b.key}`));
}

/** "<secret>/<key>" of a requirement: how values are handed to `StackSecrets`. */
export function secretRef(r: { readonly secret: string; readonly key: string }): string {
  return `${r.secret}/${r.key}`;
}

/**
 * Reads each requirement's value from secret config (`secretConfigKey`, else its legacy
 * quality-billing key), except those in `provided` (computed by the program). Fails with every
 * key that has no value, and the command that sets it, before the caller changes anything.
 * @returns secret Outputs by "<secret>/<key>"
 */
export function readSecretConfig(config: pulumi.Config, requirements: readonly SecretRequirement[], provided: ReadonlySet<string> = new Set()): Record<string, pulumi.Output<string>> {
  const values: Record<string, pulumi.Output<string>> = {};
  const missing: SecretRequirement[] = [];
  for (const r of requirements) {
    const ref = secretRef(r);
    if (provided.has(ref) || values[ref]) continue;
    const legacy = LEGACY_SECRET_CONFIG_KEYS[ref];
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
