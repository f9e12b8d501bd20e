import { parseArgs } from 'util';
import { deploymentPlan, DeploymentPlan } from '../lib/deployment-plan';
import { environment, ENVIRONMENTS, EnvironmentSpec } from '../lib/environments';
import { describeKey, K8sJson } from '../lib/k8s-objects';
import { ClusterCapacity, DeliveryPath, rehearse, RehearsalResult } from '../lib/rehearsal/rehearse';
import { nodeAllocatable, tier } from '../lib/tiers';
import { SECRETS_MODES, SecretsMode } from '../lib/external-secrets';
import type { SystemStackProps } from '../stacks/system-chart';
import { ShippedSystem, shippedSystem, SYSTEMS } from '../stacks/systems';
import { reportError } from './errors';

/** The image an upgrade rolls out: the same repository, a new tag. */
export const UPGRADE_IMAGE_TAG = '1.1.0';

/** The nodes of an environment, as the rehearsal sees them: its node count and each node's allocatable capacity. */
export function clusterCapacity(env: EnvironmentSpec): ClusterCapacity {
  const node = nodeAllocatable(tier(env.tier));
  return { nodes: env.nodes, cpuMillisPerNode: node.cpu.millicores, memoryBytesPerNode: node.memory.bytes };
}

/** What one rehearsal of a shipped system needs: the objects (and, for an upgrade, the running version's) and the nodes. */
export interface SystemRehearsal {
  readonly objects: readonly K8sJson[];
  readonly previous?: readonly K8sJson[];
  /** The nodes of the environment the stack was sized for (a system may adjust the environment, e.g. its tier). */
  readonly capacity: ClusterCapacity;
}

/** Synthesizes a system for an environment; for an upgrade, also the same system with a new application image. */
export function systemObjects(system: ShippedSystem, env: EnvironmentSpec, upgrade: boolean, props: Omit<SystemStackProps, 'environment'> = {}): SystemRehearsal {
  const stack = system.create(env, props);
  const current = stack.toJson() as K8sJson[];
  const capacity = clusterCapacity(stack.environment);
  if (!upgrade) return { objects: current, capacity };
  const next = system.create(env, { ...props, appImage: `${system.name}:${UPGRADE_IMAGE_TAG}` }).toJson() as K8sJson[];
  return { objects: next, previous: current, capacity };
}

/**
 * Rehearses one system × environment × path, for first install or upgrade, with the plan given
 * (default: the deployment plan of its objects) and the stack's props (default: none).
 */
export function rehearseSystem(system: ShippedSystem, env: EnvironmentSpec, path: DeliveryPath, upgrade: boolean, planOf: (objects: readonly K8sJson[]) => DeploymentPlan = deploymentPlan,
  props: Omit<SystemStackProps, 'environment'> = {}): RehearsalResult {
  const { objects, previous, capacity } = systemObjects(system, env, upgrade, props);
  return rehearse({ objects, previous, plan: planOf(objects), capacity, path });
}

/**
 * The README's table of critical-path estimates: every system × environment, both paths, first
 * install and upgrade. `run` rehearses one (default: rehearseSystem).
 */
export function criticalPathTable(run: (system: ShippedSystem, env: EnvironmentSpec, path: DeliveryPath, upgrade: boolean) => RehearsalResult = rehearseSystem): string {
  const cell = (r: RehearsalResult) => (r.converged ? duration(r.seconds!) : 'does not converge');
  const rows = SYSTEMS.flatMap(s => Object.values(ENVIRONMENTS).map(e => {
    const cells = ([['pulumi', false], ['kubectl', false], ['pulumi', true], ['kubectl', true]] as const).map(([path, upgrade]) => cell(run(s, e, path, upgrade)));
    return `| ${s.name} | ${e.name} | ${cells.join(' | ')} |`;
  }));
  return ['| system | environment | Pulumi install | kubectl install | Pulumi upgrade | kubectl upgrade |', '|---|---|---|---|---|---|', ...rows].join('\n');
}

/** Minutes and seconds. */
function duration(s: number): string {
  return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
}

/** "Kind name" of an object key, "Kind name pod N" of a pod. */
function describeSubject(subject: string): string {
  const [key, pod] = subject.split(' pod ');
  return pod === undefined ? describeKey(key) : `${describeKey(key)} pod ${pod}`;
}

/** The lines printed for one rehearsal. */
export function describeRehearsal(label: string, r: RehearsalResult, verbose: boolean): string[] {
  const head = `${label} ${r.path} ${r.upgrade ? 'upgrade' : 'install'}`;
  if (r.converged) {
    const lines = [`${head}: converges in ${duration(r.seconds!)} (${r.order.length} objects ready)`];
    for (const need of r.requirements) lines.push(`    requires: ${need}`);
    // An object ready the moment it is created shows once.
    const path = r.criticalPath.filter((e, i, all) => !(all[i + 1]?.subject === e.subject && all[i + 1].at === e.at && !e.what.startsWith('ready')));
    lines.push(`    critical path: ${path.map(e => `${describeSubject(e.subject)} ${e.what.split(' (')[0]} @${e.at}s`).join(' → ')}`);
    if (verbose) {
      lines.push(`    Secrets made outside the chart (by hand, or by the Pulumi program): ${r.externalSecrets.join(', ') || 'none'}`);
      for (const e of r.order) lines.push(`    ${String(e.at).padStart(5)}s ${e.subject}`);
    }
    return lines;
  }
  const lines = [`${head}: DOES NOT CONVERGE`];
  const shown = verbose ? r.blocked : r.blocked.slice(0, 5);
  for (const b of shown) lines.push(`    ${b}`);
  if (shown.length < r.blocked.length) lines.push(`    … ${r.blocked.length - shown.length} more chains (--verbose)`);
  for (const f of r.failures.slice(0, verbose ? undefined : 3)) lines.push(`    failed: ${f}`);
  for (const v of r.violations) lines.push(`    violation: ${v}`);
  return lines;
}

const OPTIONS = {
  system: { type: 'string', multiple: true, short: 's' },
  env: { type: 'string', multiple: true, short: 'e' },
  path: { type: 'string', multiple: true },
  upgrade: { type: 'boolean', default: false },
  table: { type: 'boolean', default: false },
  verbose: { type: 'boolean', default: false },
  secrets: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

const ALLOWED = '--system NAME, --env NAME, --path pulumi|kubectl, --upgrade, --secrets kubernetes|external-secrets, --table, --verbose, --help';

/** The ClusterSecretStore the rehearsal's external-secrets variant names (the model does not read it). */
export const REHEARSAL_SECRET_STORE = 'secret-store';

/** The stack props of a secrets mode, as the rehearsal builds it. */
export function secretsProps(mode: SecretsMode): Omit<SystemStackProps, 'environment'> {
  return mode === 'external-secrets' ? { secrets: mode, externalSecrets: { storeName: REHEARSAL_SECRET_STORE } } : {};
}

const USAGE = `usage: npm run rehearse -- [--system NAME]... [--env NAME]... [--path pulumi|kubectl] [--upgrade] [--secrets kubernetes|external-secrets] [--verbose] | --table

Rehearses delivery in a model of a cluster (no cluster and no Pulumi engine run): first install
(or, with --upgrade, a new application image) for each system × environment × path. With
--secrets external-secrets the stacks read their Secrets through ExternalSecrets (store "${REHEARSAL_SECRET_STORE}").
systems: ${SYSTEMS.map(s => s.name).join(', ')}; environments: ${Object.keys(ENVIRONMENTS).join(', ')}; paths: pulumi, kubectl`;

/** Parses the command line; an unknown flag becomes one line naming it and the allowed ones. */
export function parseRehearseArgs(argv: string[]): { systems: ShippedSystem[]; envs: EnvironmentSpec[]; paths: DeliveryPath[]; upgrade: boolean; secrets: SecretsMode; table: boolean; verbose: boolean; help: boolean } {
  let values;
  try {
    values = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false }).values;
  } catch (e) {
    const flag = (/'([^' ]+)/.exec((e as Error).message)?.[1] ?? argv.find(a => a.startsWith('-')) ?? '');
    if ((e as { code?: string }).code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      const long = /--[\w-]+/.exec((e as Error).message)?.[0] ?? flag;
      throw new Error(`flag ${long} needs a value; allowed: ${ALLOWED}`);
    }
    if ((e as { code?: string }).code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') throw new Error(`unexpected argument ${flag}; allowed: ${ALLOWED}`);
    throw new Error(`unknown flag ${flag}; allowed: ${ALLOWED}`);
  }
  const paths = (values.path ?? ['pulumi', 'kubectl']).map(p => {
    if (p !== 'pulumi' && p !== 'kubectl') throw new Error(`unknown --path ${JSON.stringify(p)}; allowed: pulumi, kubectl`);
    return p as DeliveryPath;
  });
  const secrets = values.secrets ?? 'kubernetes';
  if (!(SECRETS_MODES as readonly string[]).includes(secrets)) throw new Error(`unknown --secrets ${JSON.stringify(secrets)}; allowed: ${SECRETS_MODES.join(', ')}`);
  return {
    secrets: secrets as SecretsMode,
    systems: values.system ? values.system.map(name => shippedSystem(name)) : [...SYSTEMS],
    envs: (values.env ?? Object.keys(ENVIRONMENTS)).map(name => environment(name)),
    paths, upgrade: values.upgrade ?? false, table: values.table ?? false, verbose: values.verbose ?? false, help: values.help ?? false,
  };
}

function main(argv: string[]): number {
  let args: ReturnType<typeof parseRehearseArgs>;
  try {
    args = parseRehearseArgs(argv);
  } catch (e) {
    // One line: the flag and what is allowed.
    console.error(`rehearse: ${(e as Error).message}`);
    return 1;
  }
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  if (args.table) {
    // The README's table (section "Rehearsal of delivery").
    console.log(criticalPathTable());
    return 0;
  }
  let failed = 0;
  let total = 0;
  try {
    for (const system of args.systems) {
      for (const env of args.envs) {
        for (const path of args.paths) {
          const r = rehearseSystem(system, env, path, args.upgrade, deploymentPlan, secretsProps(args.secrets));
          total++;
          if (!r.converged) failed++;
          const label = `${system.name}/${env.name}${args.secrets === 'kubernetes' ? '' : ` (${args.secrets})`}`;
          for (const line of describeRehearsal(label, r, args.verbose)) console.log(line);
        }
      }
    }
  } catch (e) {
    return reportError(e, { verbose: args.verbose, context: 'rehearse failed' });
  }
  console.log(`${total - failed} of ${total} rehearsals converge (${args.upgrade ? 'upgrade' : 'first install'}, secrets: ${args.secrets}; a model of the cluster and the Pulumi engine, see README "Rehearsal of delivery")`);
  return failed === 0 ? 0 : 1;
}

if (require.main === module) process.exit(main(process.argv.slice(2)));
