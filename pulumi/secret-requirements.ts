import { ApiObject, Chart } from 'cdk8s';
import { ExternalSecrets } from '../constructs/core/external-secrets';
import { K8sJson } from '../lib/k8s-objects';
import { SecretRequirement, secretRequirementsOf } from '../lib/secret-requirements';
import { SecretKeyRef } from '../lib/secrets';
import { isPostgresSystem, SystemChart } from '../stacks/system-stack';

// The Secret keys a chart reads (lib/secret-requirements.ts, re-exported here where the Pulumi
// layer has always offered them): no Pulumi module, so tools can list them without loading Pulumi.
export * from '../lib/secret-requirements';

/**
 * Every Secret key the chart's objects read (`secretRequirementsOf` over its objects): what the
 * Pulumi program fills from secret config. Secrets an ExternalSecret of the chart has written
 * (`secrets: "external-secrets"`) are not listed: the operator makes them, nothing is asked of config.
 */
export function secretRequirements(chart: Chart): SecretRequirement[] {
  // The ExternalSecrets are made at synth; this reads the objects before it.
  for (const c of chart.node.findAll()) if (c instanceof ExternalSecrets) c.refresh();
  return secretRequirementsOf(chart.node.findAll().filter((c): c is ApiObject => c instanceof ApiObject).map(o => o.toJson() as K8sJson));
}

/** A database URL Secret key the Pulumi program computes from the password instead of reading config. */
export interface ComputedDatabaseUrl {
  /** The Secret key the URL is written to. */
  readonly url: SecretKeyRef;
  /** The Secret key of the password it is computed from. */
  readonly password: SecretKeyRef;
  /** The user in the URL. */
  readonly user: string;
  /** The database in the URL. */
  readonly database: string;
  /** The host in the URL: PostgreSQL's Service, or PgBouncer's where the environment has a pooler. */
  readonly host: string;
  /** The port in the URL. */
  readonly port: number;
}

/**
 * The database URLs the Pulumi program computes for a stack: PostgreSQL's own and, where the
 * environment has PgBouncer, the applications' URL through it. One list for the program and for
 * the Secrets inventory (bin/docs.ts), so the docs never ask config for a key the program fills.
 */
export function computedDatabaseUrls(stack: SystemChart): ComputedDatabaseUrl[] {
  if (!isPostgresSystem(stack)) return [];
  const { user, database, host, port, urlSecret, passwordSecret } = stack.postgres.connection;
  const pooler = stack.pooler;
  return [
    { url: urlSecret, password: passwordSecret, user, database, host, port },
    ...pooler ? [{ url: pooler.urlSecret, password: passwordSecret, user, database, host: pooler.name, port: pooler.port }] : [],
  ];
}
