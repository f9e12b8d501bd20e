import { Construct } from 'constructs';
import { AppService } from '../constructs/app/app-service';
import { CeleryBeat } from '../constructs/app/celery-beat';
import { CELERY_QUEUES, CeleryWorker } from '../constructs/app/celery-worker';
import { MigrationJob } from '../constructs/app/migration-job';
import { AlertReceivers } from '../constructs/monitoring/alertmanager';
import { S3Location } from '../lib/backup/s3';
import { IMAGE_CATALOG } from '../lib/images';
import { placeholderReceivers, systemBackupStorage, SystemDefinition, SystemStack, SystemStackProps } from './system-stack';

/** Props of `QualityBillingStack`. */
export type QualityBillingStackProps = SystemStackProps;

/** The quality-billing system (seed 000). */
export const QUALITY_BILLING: SystemDefinition = { name: 'quality-billing', title: 'Quality Billing', database: 'quality_billing', appImage: IMAGE_CATALOG.app.toString() };

/** The default backup location of an environment (the Pulumi program creates this bucket). */
export function defaultBackupStorage(environmentName: string): S3Location {
  return systemBackupStorage(environmentName, QUALITY_BILLING.name);
}

/** Placeholder receivers: `.invalid` can never resolve, so nothing is sent until they are set. */
export const PLACEHOLDER_RECEIVERS: AlertReceivers = placeholderReceivers(QUALITY_BILLING.name);

/**
 * The quality-billing system of seed 000 for one environment: PostgreSQL, Redis, the migration
 * Job, the FastAPI service, Celery workers and beat, in a restricted namespace with default-deny
 * networking. Sized from the environment's tier; synth fails with the capacity report when the
 * environment's hardware cannot hold it.
 */
export class QualityBillingStack extends SystemStack {
  public readonly migration: MigrationJob;
  public readonly api: AppService;
  public readonly workers: readonly CeleryWorker[];
  public readonly beat: CeleryBeat;

  constructor(scope: Construct, id: string, props: QualityBillingStackProps) {
    super(scope, id, props, QUALITY_BILLING);
    const env = this.environment;
    const prefix = this.prefix;
    const settings = this.settings;
    this.migration = new MigrationJob(this, 'Migration', { name: `${prefix}-migrate`, tier: env.tier, settings, apiServer: props.apiServer })
      .connectTo(this.postgres);

    this.api = new AppService(this, 'Api', { name: `${prefix}-api`, replicas: env.appReplicas, tier: env.tier, settings })
      .connectTo(this.database)
      .connectTo(this.redis.cache)
      .connectTo(this.redis.broker)
      .connectTo(this.redis.results)
      .waitFor(this.migration);
    this.autoscaleByEnvironment(this.api, env.appReplicas);
    this.addEdge(this.api);

    const queueSets: string[][] = env.celeryWorkerPerQueue ? CELERY_QUEUES.map(q => [q]) : [[...CELERY_QUEUES]];
    this.workers = queueSets.map(queues => {
      const suffix = queues.length === 1 ? queues[0].replace(/_/g, '-') : 'worker';
      return new CeleryWorker(this, `Worker-${suffix}`, { name: `${prefix}-celery-${suffix}`, queues, replicas: env.celeryWorkerReplicas, tier: env.tier, settings })
        .connectTo(this.database)
        .connectTo(this.redis.cache)
        .connectTo(this.redis.broker)
        .connectTo(this.redis.results)
        .waitFor(this.migration);
    });
    for (const w of this.workers) {
      if (env.autoscaling === 'queue') {
        if (env.autoscaleFactor > 1) w.autoscaleOnQueue({ broker: this.redis.broker, minReplicas: env.celeryWorkerReplicas, maxReplicas: Math.ceil(env.celeryWorkerReplicas * env.autoscaleFactor) });
      } else {
        this.autoscaleByEnvironment(w, env.celeryWorkerReplicas);
      }
    }

    this.beat = new CeleryBeat(this, 'Beat', { name: `${prefix}-celery-beat`, tier: env.tier, settings })
      .connectTo(this.database)
      .connectTo(this.redis.broker)
      .waitFor(this.migration);

    this.addMonitoring([this.api], { celeryBroker: this.redis.broker });
    this.addLogging();
    this.addBackups();
  }
}
