import { App } from 'cdk8s';
import { ValidationError } from '../lib/errors';
import { EnvironmentSpec } from '../lib/environments';
import { AiBookkeepingStack } from './ai-bookkeeping-stack';
import { FinanceAiStack } from './finance-ai-stack';
import { MerchantAnalysisStack } from './merchant-analysis-stack';
import { QcatStack } from './qcat-stack';
import { QualityBillingStack } from './quality-billing-stack';
import { AI_BOOKKEEPING } from './ai-bookkeeping-stack';
import { FINANCE_AI } from './finance-ai-stack';
import { MERCHANT_ANALYSIS } from './merchant-analysis-stack';
import { QCAT } from './qcat-stack';
import { QUALITY_BILLING } from './quality-billing-stack';
import { DEFAULT_APPLICATION, SystemChart, SystemDefinition, SystemStackProps } from './system-stack';

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

const shipped = (definition: SystemDefinition, seed: string, Stack: new (scope: App, id: string, props: SystemStackProps) => SystemChart): ShippedSystem => ({
  name: definition.name, seed, definition, applications: definition.applications ?? [DEFAULT_APPLICATION],
  create: (environment, props = {}) => new Stack(new App(), definition.name, { ...props, environment }),
});

/** Every system the project ships, in the order the seeds number them. */
export const SYSTEMS: readonly ShippedSystem[] = [
  shipped(QUALITY_BILLING, '000_68836680bbee086c.txt', QualityBillingStack),
  shipped(QCAT, '001_ef1093b0782968c6.txt', QcatStack),
  shipped(FINANCE_AI, '002_3702bed893f1ef3a.txt', FinanceAiStack),
  shipped(MERCHANT_ANALYSIS, '003_da56c1ae41077423.txt', MerchantAnalysisStack),
  shipped(AI_BOOKKEEPING, '004_52ae67f1ab978878.txt', AiBookkeepingStack),
];

/** Looks up a shipped system by name. */
export function shippedSystem(name: string): ShippedSystem {
  const found = SYSTEMS.find(s => s.name === name);
  if (!found) throw new ValidationError('System', 'name', name, `one of ${SYSTEMS.map(s => `"${s.name}"`).join(', ')}`);
  return found;
}
