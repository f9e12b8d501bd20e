import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'fs';
import { dirname, join, resolve } from 'path';
import { App, Chart } from 'cdk8s';
import { dump } from 'js-yaml';
import { ENVIRONMENTS, EnvironmentSpec } from '../lib/environments';
import { CapacityError, ValidationError } from '../lib/errors';
import { QualityBillingStack } from '../stacks/quality-billing-stack';

/**
 * Synthesizes every environment into `<outdir>/<env>/`. All environments are built into a
 * staging folder first; only when every one succeeded does it replace the output folder, so a
 * failed synth (bad props, a capacity check) leaves the previous output exactly as it was.
 */
export function synthAll(outdir: string, environments: readonly EnvironmentSpec[] = Object.values(ENVIRONMENTS)): string[] {
  const target = resolve(outdir);
  const staging = `${target}.staging-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  try {
    for (const env of environments) {
      const stack = new QualityBillingStack(new App(), 'quality-billing', { environment: env });
      mkdirSync(join(staging, env.name), { recursive: true });
      writeFileSync(join(staging, env.name, 'quality-billing.k8s.yaml'), manifestYaml(stack));
    }
  } catch (e) {
    rmSync(staging, { recursive: true, force: true });
    throw e;
  }
  mkdirSync(dirname(target), { recursive: true });
  const previous = `${target}.previous-${process.pid}`;
  if (existsSync(target)) renameSync(target, previous);
  renameSync(staging, target);
  rmSync(previous, { recursive: true, force: true });
  return readdirSync(target).sort().flatMap(env => readdirSync(join(target, env)).map(f => join(outdir, env, f)));
}

/**
 * The chart as a multi-document YAML file. `chart.toJson()` is cdk8s's own synthesis (validation,
 * dependency order, resolved values); js-yaml writes it about twice as fast as cdk8s's writer,
 * which was a third of a synth. YAML 1.1-ambiguous strings ("on", "yes") stay quoted.
 */
export function manifestYaml(chart: Chart): string {
  return chart.toJson().map(doc => dump(doc, { lineWidth: -1, noRefs: true })).join('---\n');
}

if (require.main === module) {
  const outdir = process.env.CDK8S_OUTDIR || 'dist';
  try {
    for (const file of synthAll(outdir)) console.log(`wrote ${file}`);
  } catch (e) {
    if (e instanceof ValidationError || e instanceof CapacityError) {
      console.error(`synth failed, ${outdir}/ left unchanged:\n${e.message}`);
      process.exit(1);
    }
    throw e;
  }
}
