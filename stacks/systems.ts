import { App } from 'cdk8s';
import { ValidationError } from '../lib/errors';
import { EnvironmentSpec } from '../lib/environments';
import type { SystemChart, SystemDefinition, SystemStackProps } from './system-stack';

/** A seed system the project ships as a stack. */
export interface ShippedSystem {
  /** Name on the command line (`--system`) and folder under `dist/`. */
  readonly name: string;
  /** Its seed manual, under ../shared/seeds/. */
  readonly seed: string;
  /** What distinguishes it (database, backups, edge). */
  readonly definition: SystemDefinition;
  /** Its applications, each with an image of its own (`SystemStackProps.appImages` keys). */
  readonly applications: readonly string[];
  /** Builds the system's stack for an environment in its own App. */
  create(environment: EnvironmentSpec, props?: Omit<SystemStackProps, 'environment'>): SystemChart;
}

type StackClass = new (scope: App, id: string, props: SystemStackProps) => SystemChart;
interface StackModule { readonly Stack: StackClass; readonly definition: SystemDefinition }

/**
 * A system whose stack module is required on first use (`create`, `definition`, `applications`):
 * `--system qcat` loads neither the other stacks nor the constructs only they use (MongoDB, MinIO,
 * Consul, Jaeger, …).
 */
const shipped = (name: string, seed: string, load: () => StackModule): ShippedSystem => ({
  name,
  seed,
  get definition() { return load().definition; },
  get applications() {
    const { DEFAULT_APPLICATION } = require('./system-chart') as typeof import('./system-chart');
    return load().definition.applications ?? [DEFAULT_APPLICATION];
  },
  create: (environment, props = {}) => new (load().Stack)(new App(), name, { ...props, environment }),
});

/** Every system the project ships, in the order the seeds number them. */
export const SYSTEMS: readonly ShippedSystem[] = [
  shipped('quality-billing', '000_68836680bbee086c.txt', () => { const m = require('./quality-billing-stack') as typeof import('./quality-billing-stack'); return { Stack: m.QualityBillingStack, definition: m.QUALITY_BILLING }; }),
  shipped('qcat', '001_ef1093b0782968c6.txt', () => { const m = require('./qcat-stack') as typeof import('./qcat-stack'); return { Stack: m.QcatStack, definition: m.QCAT }; }),
  shipped('finance-ai', '002_3702bed893f1ef3a.txt', () => { const m = require('./finance-ai-stack') as typeof import('./finance-ai-stack'); return { Stack: m.FinanceAiStack, definition: m.FINANCE_AI }; }),
  shipped('merchant-analysis', '003_da56c1ae41077423.txt', () => { const m = require('./merchant-analysis-stack') as typeof import('./merchant-analysis-stack'); return { Stack: m.MerchantAnalysisStack, definition: m.MERCHANT_ANALYSIS }; }),
  shipped('ai-bookkeeping', '004_52ae67f1ab978878.txt', () => { const m = require('./ai-bookkeeping-stack') as typeof import('./ai-bookkeeping-stack'); return { Stack: m.AiBookkeepingStack, definition: m.AI_BOOKKEEPING }; }),
];

/** Looks up a shipped system by name. */
export function shippedSystem(name: string): ShippedSystem {
  const found = SYSTEMS.find(s => s.name === name);
  if (!found) throw new ValidationError('System', 'name', name, `one of ${SYSTEMS.map(s => `"${s.name}"`).join(', ')}`);
  return found;
}
