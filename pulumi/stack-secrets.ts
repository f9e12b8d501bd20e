import * as pulumi from '@pulumi/pulumi';
import * as k8s from '@pulumi/kubernetes';
import { ApiObject, Chart } from 'cdk8s';

/** A Secret key the program fills from `pulumi config set --secret <configKey>`. */
export interface SecretSource {
  readonly secret: string;
  readonly key: string;
  /** Config key (in the project's namespace). */
  readonly configKey: string;
  /** What it is, for the README and for errors. */
  readonly description: string;
}

/** Every Secret key the quality-billing manifests reference, and the config key that sets it. */
export const SECRET_SOURCES: readonly SecretSource[] = [
  { secret: 'db-credentials', key: 'password', configKey: 'dbPassword', description: 'PostgreSQL password of quality_billing (also builds db-credentials/url)' },
  { secret: 'redis-credentials', key: 'password', configKey: 'redisPassword', description: 'Redis password (URL-safe: hex)' },
  { secret: 'app-secrets', key: 'secret-key', configKey: 'appSecretKey', description: 'APP_SECRET_KEY of the FastAPI app' },
  { secret: 'grafana-credentials', key: 'admin-password', configKey: 'grafanaAdminPassword', description: 'Grafana admin password' },
  { secret: 'alertmanager-credentials', key: 'slack-webhook-url', configKey: 'slackWebhookUrl', description: 'Slack incoming-webhook URL for alerts' },
  { secret: 'alertmanager-credentials', key: 'smtp-password', configKey: 'smtpPassword', description: 'SMTP password for alert e-mail' },
  { secret: 'elasticsearch-credentials', key: 'elastic-password', configKey: 'elasticPassword', description: 'Elasticsearch "elastic" password (staging, prod)' },
  { secret: 'elasticsearch-credentials', key: 'kibana-password', configKey: 'kibanaPassword', description: 'Kibana "kibana_system" password (staging, prod)' },
  { secret: 'backup-s3-credentials', key: 'access-key-id', configKey: 'backupAccessKeyId', description: 'backup storage access key id (only with an existing bucket)' },
  { secret: 'backup-s3-credentials', key: 'secret-access-key', configKey: 'backupSecretAccessKey', description: 'backup storage secret key (only with an existing bucket)' },
  { secret: 'quality-billing-tls', key: 'tls.crt', configKey: 'tlsCertificate', description: 'PEM certificate chain of the edge (unless cert-manager issues it)' },
  { secret: 'quality-billing-tls', key: 'tls.key', configKey: 'tlsPrivateKey', description: 'PEM private key of the edge (unless cert-manager issues it)' },
];

/** The Secret keys the chart's objects read, by namespace: `{ namespace: { secret: Set<key> } }`. */
export function referencedSecrets(chart: Chart): Map<string, Map<string, Set<string>>> {
  const refs = new Map<string, Map<string, Set<string>>>();
  const add = (ns: string, secret: string, key: string | undefined) => {
    const byNs = refs.get(ns) ?? refs.set(ns, new Map()).get(ns)!;
    const keys = byNs.get(secret) ?? byNs.set(secret, new Set()).get(secret)!;
    if (key) keys.add(key);
  };
  const walk = (v: unknown, ns: string): void => {
    if (Array.isArray(v)) { v.forEach(x => walk(x, ns)); return; }
    if (!v || typeof v !== 'object') return;
    const o = v as Record<string, any>;
    if (o.secretKeyRef?.name) add(ns, o.secretKeyRef.name, o.secretKeyRef.key);
    if (o.secret?.secretName) add(ns, o.secret.secretName, undefined); // a whole-Secret volume: its keys come from SECRET_SOURCES
    Object.values(o).forEach(x => walk(x, ns));
  };
  for (const obj of chart.node.findAll().filter((c): c is ApiObject => c instanceof ApiObject)) {
    const json = obj.toJson();
    // An Ingress's or Certificate's secretName is TLS, handled like a volume.
    if (json.kind === 'Ingress') for (const t of json.spec?.tls ?? []) add(json.metadata.namespace, t.secretName, undefined);
    if (json.kind === 'Certificate') continue; // cert-manager writes that Secret itself
    walk(json, json.metadata.namespace ?? 'default');
  }
  return refs;
}

/** Arguments of `StackSecrets`. */
export interface StackSecretsArgs {
  /** The chart whose Secret references are filled. */
  readonly chart: Chart;
  /** Values by config key; every one is made a secret Output. Keys a stack does not need may be absent. */
  readonly values: Readonly<Record<string, pulumi.Input<string> | undefined>>;
  /** Extra keys computed from others (db-credentials/url from the password), by "<secret>/<key>". @default - none */
  readonly derived?: Readonly<Record<string, pulumi.Input<string>>>;
  /** Secrets created by something else (cert-manager's TLS Secret). @default - none */
  readonly skip?: readonly string[];
  /** Kubernetes provider. @default - the default provider */
  readonly provider?: k8s.Provider;
  /** What the Secrets wait for (their namespaces). @default - nothing */
  readonly dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/**
 * The Kubernetes Secrets a chart reads, created from secret config values: their data is a
 * secret Output end to end, so it is encrypted in the state and shown as [secret] in previews.
 * A referenced key with no source fails with the config key and the command that sets it.
 */
export class StackSecrets extends pulumi.ComponentResource {
  /** The Secrets, by "<namespace>/<name>". */
  public readonly secrets: Readonly<Record<string, k8s.core.v1.Secret>>;
  /** The data handed to each Secret, by "<namespace>/<name>" and key: every value a secret Output. */
  public readonly data: Readonly<Record<string, Readonly<Record<string, pulumi.Output<string>>>>>;

  constructor(name: string, args: StackSecretsArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super('quality-billing:index:StackSecrets', name, {}, opts);
    const secrets: Record<string, k8s.core.v1.Secret> = {};
    const allData: Record<string, Record<string, pulumi.Output<string>>> = {};
    for (const [namespace, bySecret] of referencedSecrets(args.chart)) {
      for (const [secretName, keys] of bySecret) {
        if (args.skip?.includes(secretName)) continue;
        const sources = SECRET_SOURCES.filter(s => s.secret === secretName);
        const wanted = keys.size > 0 ? [...keys] : sources.map(s => s.key);
        const data: Record<string, pulumi.Output<string>> = {};
        for (const key of wanted) {
          const derived = args.derived?.[`${secretName}/${key}`];
          const source = sources.find(s => s.key === key);
          const value = derived ?? (source ? args.values[source.configKey] : undefined);
          if (value === undefined) {
            const hint = source ? `pulumi config set --secret ${source.configKey} <value>` : `add "${secretName}/${key}" to SECRET_SOURCES`;
            throw new Error(`StackSecrets: Secret ${namespace}/${secretName} key "${key}" has no value: ${hint}`);
          }
          data[key] = pulumi.secret(value);
        }
        allData[`${namespace}/${secretName}`] = data;
        const type = secretName.endsWith('-tls') ? 'kubernetes.io/tls' : 'Opaque';
        secrets[`${namespace}/${secretName}`] = new k8s.core.v1.Secret(`${namespace}/${secretName}`, {
          metadata: { name: secretName, namespace, labels: { 'app.kubernetes.io/managed-by': 'pulumi', 'app.kubernetes.io/part-of': 'quality-billing' } },
          type,
          stringData: data,
        }, { parent: this, provider: args.provider, dependsOn: args.dependsOn, additionalSecretOutputs: ['data', 'stringData'] });
      }
    }
    this.secrets = secrets;
    this.data = allData;
    this.registerOutputs({});
  }
}
