import { App } from 'cdk8s';
import { ValidationError } from '../lib/errors';
import { EnvironmentSpec } from '../lib/environments';
import { AiBookkeepingStack } from './ai-bookkeeping-stack';
import { FinanceAiStack } from './finance-ai-stack';
import { MerchantAnalysisStack } from './merchant-analysis-stack';
import { QcatStack } from './qcat-stack';
import { QualityBillingStack } from './quality-billing-stack';
import { SystemChart, SystemStackProps } from './system-stack';

/** A seed system the project ships as a stack. */
export interface ShippedSystem {
  /** Name on the command line (`--system`) and folder under `dist/`. */
  readonly name: string;
  /** Its seed manual, under ../shared/seeds/. */
  readonly seed: string;
  /** Builds the system's stack for an environment in its own App. */
  create(environment: EnvironmentSpec, props?: Omit<SystemStackProps, 'environment'>): SystemChart;
}

const shipped = (name: string, seed: string, Stack: new (scope: App, id: string, props: SystemStackProps) => SystemChart): ShippedSystem => ({
  name, seed, create: (environment, props = {}) => new Stack(new App(), name, { ...props, environment }),
});

/** Every system the project ships, in the order the seeds number them. */
export const SYSTEMS: readonly ShippedSystem[] = [
  shipped('quality-billing', '000_68836680bbee086c.txt', QualityBillingStack),
  shipped('qcat', '001_ef1093b0782968c6.txt', QcatStack),
  shipped('finance-ai', '002_3702bed893f1ef3a.txt', FinanceAiStack),
  shipped('merchant-analysis', '003_da56c1ae41077423.txt', MerchantAnalysisStack),
  shipped('ai-bookkeeping', '004_52ae67f1ab978878.txt', AiBookkeepingStack),
];

/** Looks up a shipped system by name. */
export function shippedSystem(name: string): ShippedSystem {
  const found = SYSTEMS.find(s => s.name === name);
  if (!found) throw new ValidationError('System', 'name', name, `one of ${SYSTEMS.map(s => `"${s.name}"`).join(', ')}`);
  return found;
}
