import { App } from 'cdk8s';
import { ValidationError } from '../lib/errors';
import { EnvironmentSpec } from '../lib/environments';
import type { SystemChart, SystemStackProps } from './system-stack';

/** A seed system the project ships as a stack. */
export interface ShippedSystem {
  /** Name on the command line (`--system`) and folder under `dist/`. */
  readonly name: string;
  /** Its seed manual, under ../shared/seeds/. */
  readonly seed: string;
  /** Builds the system's stack for an environment in its own App. */
  create(environment: EnvironmentSpec, props?: Omit<SystemStackProps, 'environment'>): SystemChart;
}

type StackClass = new (scope: App, id: string, props: SystemStackProps) => SystemChart;

/**
 * A system whose stack module is required on its first `create`: `--system qcat` loads neither
 * the other stacks nor the constructs only they use (MongoDB, MinIO, Consul, Jaeger, …).
 */
const shipped = (name: string, seed: string, load: () => StackClass): ShippedSystem => ({
  name, seed, create: (environment, props = {}) => new (load())(new App(), name, { ...props, environment }),
});

/** Every system the project ships, in the order the seeds number them. */
export const SYSTEMS: readonly ShippedSystem[] = [
  shipped('quality-billing', '000_68836680bbee086c.txt', () => (require('./quality-billing-stack') as typeof import('./quality-billing-stack')).QualityBillingStack),
  shipped('qcat', '001_ef1093b0782968c6.txt', () => (require('./qcat-stack') as typeof import('./qcat-stack')).QcatStack),
  shipped('finance-ai', '002_3702bed893f1ef3a.txt', () => (require('./finance-ai-stack') as typeof import('./finance-ai-stack')).FinanceAiStack),
  shipped('merchant-analysis', '003_da56c1ae41077423.txt', () => (require('./merchant-analysis-stack') as typeof import('./merchant-analysis-stack')).MerchantAnalysisStack),
  shipped('ai-bookkeeping', '004_52ae67f1ab978878.txt', () => (require('./ai-bookkeeping-stack') as typeof import('./ai-bookkeeping-stack')).AiBookkeepingStack),
];

/** Looks up a shipped system by name. */
export function shippedSystem(name: string): ShippedSystem {
  const found = SYSTEMS.find(s => s.name === name);
  if (!found) throw new ValidationError('System', 'name', name, `one of ${SYSTEMS.map(s => `"${s.name}"`).join(', ')}`);
  return found;
}
