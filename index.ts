/**
 * quality-billing-infra: cdk8s constructs and stacks for the quality-billing system.
 *
 *   import { Postgres, Redis, AppService, QualityBillingStack, ENVIRONMENTS } from 'quality-billing-infra';
 */

// lib: pure building blocks
export * from './lib/capacity';
export * from './lib/environments';
export * from './lib/errors';
export * from './lib/images';
export * from './lib/labels';
export * from './lib/postgres-config';
export * from './lib/presets';
export * from './lib/quantity';
export * from './lib/redis-config';
export * from './lib/schedule';
export * from './lib/secrets';
export * from './lib/security';
export * from './lib/sizing';
export * from './lib/tiers';
export * from './lib/tuning';
export * from './lib/validate';
export * from './lib/wait-for-job';

// constructs
export * from './constructs/app-service';
export * from './constructs/app-workload';
export * from './constructs/celery-beat';
export * from './constructs/celery-worker';
export * from './constructs/connections';
export * from './constructs/migration-job';
export * from './constructs/pod';
export * from './constructs/postgres';
export * from './constructs/redis';
export * from './constructs/restricted-namespace';
export * from './constructs/workload';

// stacks and the synth entry point
export * from './stacks/quality-billing-stack';
export { synthAll } from './bin/synth';
