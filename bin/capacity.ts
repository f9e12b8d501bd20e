import { parseArgs } from 'util';
import { App } from 'cdk8s';
import { renderCapacityReport } from '../lib/capacity';
import { environment, ENVIRONMENTS } from '../lib/environments';
import { CapacityError, ValidationError } from '../lib/errors';
import { QualityBillingStack } from '../stacks/quality-billing-stack';

/** Prints the capacity report of each environment (or of `--env NAME`); exits 1 if any fails. */
function main(): number {
  const { values } = parseArgs({ options: { env: { type: 'string', multiple: true } } });
  const names = values.env ?? Object.keys(ENVIRONMENTS);
  let failed = false;
  for (const name of names) {
    try {
      const stack = new QualityBillingStack(new App(), 'quality-billing', { environment: environment(name) });
      console.log(renderCapacityReport(stack.capacity));
      const budget = stack.postgres.connectionBudget();
      console.log(`\nPostgreSQL connection budget (${stack.postgres.name}):`);
      for (const l of budget.lines) console.log(`  ${String(l.connections).padStart(5)}  ${l.client}`);
      console.log(`  ${String(budget.headroom).padStart(5)}  headroom (10 %, at least 5)`);
      console.log(`  ${String(budget.superuserReserved).padStart(5)}  superuser_reserved_connections`);
      console.log(`  ${String(budget.maxConnections).padStart(5)}  max_connections\n`);
    } catch (e) {
      if (e instanceof CapacityError) { console.log(e.report); failed = true; continue; }
      if (e instanceof ValidationError) { console.error(e.message); failed = true; continue; }
      throw e;
    }
  }
  return failed ? 1 : 0;
}

process.exit(main());
