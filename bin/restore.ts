import { ApiObject } from 'cdk8s';
import { dump } from 'js-yaml';
import { environment, ENVIRONMENTS } from '../lib/environments';
import { ValidationError } from '../lib/errors';
import { jobNameStamp } from '../lib/schedule';
import { checkRestoreFlags, RestoreFlag, RESTORE_TARGETS, restoreTarget, RestoreTarget } from '../stacks/restore-targets';
import type { SystemStackProps } from '../stacks/system-chart';
import { shippedSystem, SYSTEMS } from '../stacks/systems';
import { parseFlags } from './cli';
import { reportError } from './errors';

/** The system `npm run restore` restores without `--system`: the only one it restored before there was a choice. */
export const DEFAULT_RESTORE_SYSTEM = 'quality-billing';

/** What to restore. */
export interface RestoreRequest {
  /** Environment whose data is restored. */
  readonly env: string;
  /** System whose store is restored. @default "quality-billing" */
  readonly system?: string;
  /** The data store ("postgres", "mongodb", …: `RESTORE_TARGETS`). @default - the system's primary store: the first entry of RESTORE_TARGETS that lists it */
  readonly store?: string;
  /** Logical restore: "latest" or a backup id. @default "latest" */
  readonly backup?: string;
  /** Logical restore: the database restored into. @default - the app's database */
  readonly targetDatabase?: string;
  /** Logical restore: drop and recreate a target that has data. @default false */
  readonly replace?: boolean;
  /** Physical restore with pgBackRest (postgres only): "latest", "set:<label>" or "time:<timestamp with zone>". @default - none: a logical restore */
  readonly pitr?: string;
  /** Job name. @default - "<server>-restore-<UTC time>" (PostgreSQL: "<server>-pitr-restore-<UTC time>" with `pitr`) */
  readonly jobName?: string;
  /** The stack props the environment is deployed with (backup storage, images; `environment` replaces the named one). @default - none: the shipped stack */
  readonly stackProps?: Partial<SystemStackProps>;
}

/** The flags a request gives, for `checkRestoreFlags` (`--name` is taken by every store). */
function givenFlags(r: RestoreRequest): RestoreFlag[] {
  const given: [RestoreFlag, boolean][] = [
    ['backup', r.backup !== undefined], ['target-database', r.targetDatabase !== undefined], ['replace', r.replace === true],
    ['pitr', r.pitr !== undefined], ['name', r.jobName !== undefined],
  ];
  return given.filter(([, on]) => on).map(([f]) => f);
}

/**
 * The objects of a restore Job for a system's store in an environment, built from the same stack
 * as the deployment so the storage, credentials, images and names are those the backups were
 * written with. Unknown systems, stores the system does not have, flags the store does not take
 * and environments without backups are ValidationErrors.
 */
export function restoreObjects(r: RestoreRequest, now = new Date(), targets: readonly RestoreTarget[] = RESTORE_TARGETS): Record<string, any>[] {
  const system = shippedSystem(r.system ?? DEFAULT_RESTORE_SYSTEM);
  const env = environment(r.env);
  const target = restoreTarget(system.name, r.store, targets);
  checkRestoreFlags(target, givenFlags(r));
  const { environment: deployed, ...props } = r.stackProps ?? {};
  const stack = system.create(deployed ?? env, props);
  const stamp = jobNameStamp(now);
  const restore = target.build(stack, { backup: r.backup, targetDatabase: r.targetDatabase, replace: r.replace, pitr: r.pitr, jobName: r.jobName, stamp });
  return restore.node.findAll().filter((c): c is ApiObject => c instanceof ApiObject).map(o => o.toJson());
}

/** `--help`: the command, the systems with their stores, and each store's flags. */
function usage(): string {
  const stores = RESTORE_TARGETS.map(t => `  --store ${t.store} (${t.systems.join(', ')})\n${Object.entries(t.flags).map(([f, what]) => `    --${f}: ${what}`).join('\n')}`);
  const defaults = SYSTEMS.map(s => { const t = RESTORE_TARGETS.find(x => x.systems.includes(s.name)); return `${s.name}: ${t ? t.store : 'none'}`; }).join(', ');
  return `usage: npm run --silent restore -- --env NAME [--system NAME] [--store STORE] [flags of the store] | kubectl apply -f -

Prints a restore Job (and its NetworkPolicies) built from the same stack as the deployment.
--system defaults to ${DEFAULT_RESTORE_SYSTEM}; --store to the system's primary store (${defaults}).
environments: ${Object.keys(ENVIRONMENTS).join(', ')}
${stores.join('\n')}`;
}

/** `npm run restore -- --env prod [--system NAME] [--store STORE] [--backup ID] [--target-database NAME] [--replace] [--pitr TARGET] [--name JOB]`: YAML on stdout. */
export function main(argv: string[]): number {
  const values = parseFlags('restore', argv, {
    env: { type: 'string', short: 'e' },
    system: { type: 'string', short: 's' },
    store: { type: 'string' },
    backup: { type: 'string' },
    'target-database': { type: 'string' },
    replace: { type: 'boolean', default: false },
    pitr: { type: 'string' },
    name: { type: 'string' },
    verbose: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  });
  if (!values) return 1;
  if (values.help) {
    console.log(usage());
    return 0;
  }
  const verbose = values.verbose === true;
  if (!values.env) {
    console.error('restore: --env is required: the environment whose data is restored (e.g. --env prod)');
    return 1;
  }
  try {
    const objects = restoreObjects({
      env: values.env, system: values.system, store: values.store,
      backup: values.backup, targetDatabase: values['target-database'], replace: values.replace,
      pitr: values.pitr, jobName: values.name,
    });
    process.stdout.write(objects.map(o => dump(o, { noRefs: true, lineWidth: -1 })).join('---\n'));
    return 0;
  } catch (e) {
    // A refusal is one line, as parseFlags's are: the message names the value and what is allowed.
    if (e instanceof ValidationError && !verbose) {
      console.error(`restore: ${e.message}`);
      return 1;
    }
    return reportError(e, { verbose, context: 'restore' });
  }
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
