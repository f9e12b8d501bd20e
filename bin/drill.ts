import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { dump } from 'js-yaml';
import { drillSteps, checkDrillKind, DrillKind } from '../lib/drill/kinds';
import { environment } from '../lib/environments';
import { ValidationError } from '../lib/errors';
import { jobNameStamp } from '../lib/schedule';
import { RestoreTest } from '../constructs/backup/restore-test';
import { Drill } from '../constructs/drill/drill';
import { isPostgresSystem } from '../stacks/system-stack';
import { shippedSystem } from '../stacks/systems';
import { parseFlags } from './cli';
import { reportError } from './errors';

/** What drill to run. */
export interface DrillRequest {
  /** The system (`npm run synth -- --system` names). */
  readonly system: string;
  /** The environment it runs in. */
  readonly env: string;
  /** "switchover", "restore" or "service". */
  readonly kind: string;
  /** switchover: the member to hand the primary to. @default - the synchronous standby at run time */
  readonly candidate?: string;
  /** Job name. @default - "<system>-drill-<kind>-<UTC time>" */
  readonly jobName?: string;
}

/** A drill's steps and the objects of the Job that runs them. */
export interface DrillPlan {
  /** The steps in words, in order. */
  readonly steps: readonly string[];
  /** The Job and what it needs (ServiceAccount, Role, scripts, NetworkPolicies), as JSON. */
  readonly objects: Record<string, any>[];
}

/**
 * The steps and objects of a one-off drill, built from the same stack as the deployment, so the
 * bucket, images, names and credentials are those the system runs with. A kind the system cannot
 * do in that environment (a switchover without Patroni standbys, any drill without a backup
 * bucket for its record) or at all (a switchover or PostgreSQL restore in merchant-analysis, on
 * MongoDB) is a ValidationError.
 */
export function drillPlan(r: DrillRequest, now = new Date()): DrillPlan {
  const env = environment(r.env);
  const stack = shippedSystem(r.system).create(env);
  const where = `System "${r.system}", environment "${env.name}"`;
  const storage = stack.drillRecordStorage();
  const postgres = isPostgresSystem(stack) ? stack : undefined;
  const kind: DrillKind = checkDrillKind(where, 'kind', r.kind, {
    postgresMembers: postgres?.postgres.members ?? 0, backups: postgres ? postgres.backup !== undefined : storage !== undefined, describedAs: `environment "${env.name}" of ${r.system}`,
    // A system on MongoDB: no Patroni to switch over; its restore drill is its own CronJob, not this one-off PostgreSQL restore.
    unavailable: postgres ? undefined : {
      switchover: 'runs no PostgreSQL (its data is in a MongoDB replica set, without Patroni), so there is no Patroni standby to switch over to',
      restore: 'runs no PostgreSQL: its restore test restores the MongoDB dump, not a pg_dump',
    },
  });
  const stamp = jobNameStamp(now);
  const jobName = r.jobName ?? `${r.system}-drill-${kind}-${stamp}`;
  const record = { system: r.system, environment: env.name, storage: storage! };
  let drill: Construct;
  let steps: readonly string[];
  if (kind === 'restore') {
    const stack = postgres!;
    const test = new RestoreTest(stack, 'RestoreDrillJob', {
      postgres: stack.postgres, backupStorage: stack.backup!.backupStorage, tier: env.tier,
      name: `${r.system}-drill-restore`, jobName, record: { system: r.system, environment: env.name },
    });
    drill = test;
    steps = drillSteps('restore', { system: r.system, environment: env.name, namespace: test.namespace, recordDestination: test.recordDestination });
  } else {
    if (r.candidate !== undefined && kind !== 'switchover') throw new ValidationError(where, 'candidate', r.candidate, 'no --candidate: only a switchover drill has one');
    const d = new Drill(stack, 'DrillJob', {
      kind, record, jobName, tier: env.tier,
      ...kind === 'switchover'
        ? { postgres: postgres!.postgres, candidate: r.candidate }
        : { deployments: stack.appDeployments(), healthChecks: stack.appServices() },
    });
    drill = d;
    steps = d.steps;
  }
  const objects = drill.node.findAll().filter((c): c is ApiObject => c instanceof ApiObject).map(o => o.toJson());
  return { steps, objects };
}

const FLAGS = {
  system: { type: 'string' },
  env: { type: 'string', short: 'e' },
  kind: { type: 'string' },
  candidate: { type: 'string' },
  name: { type: 'string' },
  steps: { type: 'boolean', default: false },
  verbose: { type: 'boolean', default: false },
} as const;

/**
 * `npm run drill -- --system NAME --env ENV --kind switchover|restore|service [--candidate MEMBER]
 * [--name JOB] [--steps]`: the ordered steps on stderr and the Job's YAML on stdout (`kubectl
 * apply -f -`); with --steps, only the steps, on stdout.
 */
export function main(argv: string[]): number {
  const values = parseFlags('drill', argv, FLAGS);
  if (!values) return 1;
  try {
    for (const flag of ['system', 'env', 'kind'] as const) {
      if (!values[flag]) {
        console.error(`drill: --${flag} is required (e.g. npm run drill -- --system finance-ai --env staging --kind switchover)`);
        return 1;
      }
    }
    const plan = drillPlan({ system: values.system!, env: values.env!, kind: values.kind!, candidate: values.candidate, jobName: values.name });
    const numbered = plan.steps.map((s, i) => `${i + 1}. ${s}`).join('\n') + '\n';
    if (values.steps) {
      process.stdout.write(numbered);
    } else {
      process.stderr.write(`The ${values.kind} drill of ${values.system} (${values.env}) runs, in order:\n${numbered}`);
      process.stdout.write(plan.objects.map(o => dump(o, { noRefs: true, lineWidth: -1 })).join('---\n'));
    }
    return 0;
  } catch (e) {
    return reportError(e, { verbose: values.verbose === true, context: 'drill' });
  }
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
