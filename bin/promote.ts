import { mkdirSync, writeFileSync } from 'fs';
import { dirname } from 'path';
import { dump } from 'js-yaml';
import { environment } from '../lib/environments';
import { ValidationError } from '../lib/errors';
import { ManifestObject, promotionSteps, renderPromotionSteps } from '../lib/standby-promotion';
import { shippedSystem } from '../stacks/systems';
import type { SystemStackProps } from '../stacks/system-chart';
import { parseFlags } from './cli';
import { reportError } from './errors';

/** What to promote. */
export interface PromotionRequest {
  /** A shipped PostgreSQL system ("quality-billing", "qcat", "finance-ai", "ai-bookkeeping"). */
  readonly system: string;
  /** The environment the standby site is deployed as. */
  readonly env: string;
  /** The standby site's cluster (its kubectl context). */
  readonly cluster: string;
  /** The lost primary's cluster (its kubectl context). */
  readonly primaryCluster: string;
  /** Where the promoted manifests go. @default "dist/<system>-<env>-promoted.yaml" */
  readonly out?: string;
  /** The stack props the site is deployed with (besides `standbySite.cluster` and `primaryCluster`). */
  readonly stackProps?: Omit<SystemStackProps, 'environment'>;
}

/** The runbook's steps and the promoted manifests, from the site's stack in standby and in promoted mode. */
export function promotion(r: PromotionRequest): { text: string; promoted: ManifestObject[]; out: string } {
  const env = environment(r.env);
  const system = shippedSystem(r.system);
  const site = { ...r.stackProps?.standbySite, cluster: r.cluster, primaryCluster: r.primaryCluster };
  const build = (promoted: boolean) => system.create(env, { ...r.stackProps, standbySite: { ...site, promoted } });
  const standbyStack = build(false);
  const pg = (standbyStack as Partial<import('../stacks/system-stack').SystemStack>).postgres;
  if (!pg) throw new ValidationError('promote', 'system', r.system, 'a system on PostgreSQL (quality-billing, qcat, finance-ai, ai-bookkeeping)');
  const standby = standbyStack.toJson() as ManifestObject[];
  const promoted = build(true).toJson() as ManifestObject[];
  const out = r.out ?? `dist/${r.system}-${env.name}-promoted.yaml`;
  const steps = promotionSteps({
    namespace: standbyStack.namespace ?? r.system, cluster: r.cluster, primaryCluster: r.primaryCluster,
    postgres: { name: pg.name, user: pg.connection.user, database: pg.connection.database, patroni: pg.members > 1 },
    host: r.stackProps?.host ?? `api.${r.system}.invalid`, standby, promoted, promotedManifestsFile: out,
  });
  return { text: renderPromotionSteps(steps), promoted, out };
}

const FLAGS = {
  system: { type: 'string' },
  env: { type: 'string' },
  cluster: { type: 'string' },
  'primary-cluster': { type: 'string' },
  out: { type: 'string' },
  verbose: { type: 'boolean', default: false },
} as const;

/**
 * `npm run promote -- --system NAME --env ENV --cluster SITE --primary-cluster LOST [--out FILE]`:
 * prints the ordered promotion steps of a standby site and writes its promoted manifests to FILE.
 */
export function main(argv: string[]): number {
  const values = parseFlags('promote', argv, FLAGS);
  if (!values) return 1;
  try {
    for (const f of ['system', 'env', 'cluster', 'primary-cluster'] as const) {
      if (!values[f]) throw new ValidationError('promote', `--${f}`, undefined, f === 'system' ? 'a PostgreSQL system (e.g. --system finance-ai)' : f === 'env' ? 'the environment the standby site runs (e.g. --env prod)' : 'a kubectl context (the cluster name)');
    }
    const r = promotion({ system: values.system!, env: values.env!, cluster: values.cluster!, primaryCluster: values['primary-cluster']!, out: values.out });
    mkdirSync(dirname(r.out), { recursive: true });
    writeFileSync(r.out, r.promoted.map(o => dump(o, { noRefs: true, lineWidth: -1 })).join('---\n'));
    process.stdout.write(r.text);
    return 0;
  } catch (e) {
    return reportError(e, { verbose: values.verbose === true, context: 'promote' });
  }
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
