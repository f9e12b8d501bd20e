import { CapacityPlan, nodeLossTable, renderCapacityReport, scheduledJobsLines } from '../lib/capacity';
import { environment, ENVIRONMENTS } from '../lib/environments';
import { CapacityError } from '../lib/errors';
import { ConnectionBudget, PoolerClientBudget } from '../lib/tuning';
import { shippedSystem, SYSTEMS } from '../stacks/systems';
import { isPostgresSystem } from '../stacks/system-stack';
import { parseFlags } from './cli';
import { reportError } from './errors';

type Format = 'table' | 'markdown' | 'json';

/** The plan as JSON: rows, checks and the connection budget. */
function asJson(system: string, plan: CapacityPlan, budget: ConnectionBudget | undefined, pooler: PoolerClientBudget | undefined): object {
  return {
    system,
    environment: plan.environment.name,
    tier: plan.tier.name,
    nodes: plan.environment.nodes,
    allocatablePerNode: { cpu: plan.node.cpu.toString(), memory: plan.node.memory.toString(), disk: plan.node.disk.toString() },
    workloads: plan.rows.map(r => ({
      name: r.workload.name, kind: r.workload.kind, replicas: r.workload.replicas, maxReplicas: r.workload.maxReplicas ?? r.workload.replicas,
      cpuRequest: r.perPod.cpuRequest.toString(), cpuLimit: r.perPod.cpuLimit.toString(),
      memoryRequest: r.perPod.memoryRequest.toString(), memoryLimit: r.perPod.memoryLimit.toString(),
      storage: r.workload.storagePerReplica?.toString() ?? null,
    })),
    checks: plan.checks,
    nodeLoss: plan.nodeLoss ?? null,
    scheduledJobs: plan.scheduledJobs ?? null,
    passed: plan.passed,
    postgresConnections: budget ?? null,
    poolerClientConnections: pooler ?? null,
  };
}

/** The plan as a Markdown section: a table of workloads and a list of checks. */
function asMarkdown(plan: CapacityPlan): string {
  const rows = plan.rows.map(r => `| ${r.workload.name} | ${r.workload.kind} | ${r.workload.maxReplicas && r.workload.maxReplicas > r.workload.replicas ? `${r.workload.replicas}-${r.workload.maxReplicas}` : r.workload.replicas} | ${r.perPod.cpuRequest} / ${r.perPod.cpuLimit} | ${r.perPod.memoryRequest} / ${r.perPod.memoryLimit} | ${r.workload.storagePerReplica ?? '-'} |`);
  return [
    `### ${plan.environment.name}: ${plan.tier.name} tier x ${plan.environment.nodes} node(s) — ${plan.passed ? 'PASS' : 'FAIL'}`,
    '',
    '| workload | kind | replicas | CPU request / limit | memory request / limit | storage |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
    ...plan.checks.map(c => `- ${c.passed ? '✅' : '❌'} **${c.name}**: ${c.detail}`),
    '',
    ...scheduledJobsLines(plan).flatMap(l => [l, '']),
    ...markdownNodeLoss(plan),
  ].join('\n');
}

/** The workloads with Pending pods after losing a node, as a Markdown table. */
function markdownNodeLoss(plan: CapacityPlan): string[] {
  const [header, ...body] = nodeLossTable(plan);
  if (!header) return [];
  const row = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [`After losing one node (${plan.environment.nodes - 1} node(s) left):`, '', row(header), row(header.map(() => '---')), ...body.map(row), ''];
}

/** Prints the capacity report of each system (or `--system NAME`) and environment (or `--env NAME`); exits 1 if any fails. */
function main(argv: string[]): number {
  const values = parseFlags('capacity', argv, {
    env: { type: 'string', multiple: true, short: 'e' },
    system: { type: 'string', multiple: true, short: 's' },
    format: { type: 'string', default: 'table' },
    verbose: { type: 'boolean', default: false },
  });
  if (!values) return 1;
  const format = values.format as Format;
  if (!['table', 'markdown', 'json'].includes(format)) return reportError(new Error(`unknown --format ${JSON.stringify(values.format)}: use table, markdown or json`), { verbose: false, context: 'capacity' });
  let failed = false;
  const json: object[] = [];
  let systems;
  try {
    systems = values.system ? values.system.map(name => shippedSystem(name)) : SYSTEMS;
  } catch (e) {
    return reportError(e, { verbose: values.verbose ?? false, context: 'capacity' });
  }
  for (const system of systems) for (const name of values.env ?? Object.keys(ENVIRONMENTS)) {
    try {
      const stack = system.create(environment(name));
      // Systems on PostgreSQL also report its connection budget.
      const budget = isPostgresSystem(stack) ? stack.postgres.connectionBudget() : undefined;
      const poolerBudget = isPostgresSystem(stack) ? stack.pooler?.clientBudget() : undefined;
      if (format === 'json') { json.push(asJson(system.name, stack.capacity, budget, poolerBudget)); continue; }
      if (format === 'markdown') { console.log(`## ${system.name}\n\n${asMarkdown(stack.capacity)}`); continue; }
      console.log(`System ${system.name}`);
      console.log(renderCapacityReport(stack.capacity));
      if (!budget || !isPostgresSystem(stack)) { console.log(''); continue; }
      if (poolerBudget && stack.pooler) {
        // The two checks of a pooled system: apps → PgBouncer, then PgBouncer → PostgreSQL.
        console.log(`\nPgBouncer client budget, apps → PgBouncer (${stack.pooler.name}, each of ${stack.pooler.replicas} replica(s)):`);
        for (const l of poolerBudget.lines) console.log(`  ${String(l.connections).padStart(5)}  ${l.client}`);
        console.log(`  ${String(poolerBudget.headroom).padStart(5)}  headroom (10 %, at least 10)`);
        console.log(`  ${String(stack.pooler.maxClientConn()).padStart(5)}  max_client_conn`);
      }
      console.log(`\nPostgreSQL connection budget${stack.pooler ? ', PgBouncer → PostgreSQL' : ''} (${stack.postgres.name}):`);
      for (const l of budget.lines) console.log(`  ${String(l.connections).padStart(5)}  ${l.client}`);
      console.log(`  ${String(budget.headroom).padStart(5)}  headroom (10 %, at least 5)`);
      console.log(`  ${String(budget.superuserReserved).padStart(5)}  superuser_reserved_connections`);
      console.log(`  ${String(budget.maxConnections).padStart(5)}  max_connections\n`);
    } catch (e) {
      failed = true;
      // A failing plan is still the report the user asked for.
      if (e instanceof CapacityError && format === 'table') { console.log(e.report); continue; }
      reportError(e, { verbose: values.verbose ?? false, context: `capacity of ${system.name} ${name}` });
    }
  }
  if (format === 'json') console.log(JSON.stringify(json, null, 2));
  return failed ? 1 : 0;
}

process.exit(main(process.argv.slice(2)));
