import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { assertCapacity, CapacityCheck, CapacityPlan, planCapacity } from '../lib/capacity';
import { defineEnvironment, EnvironmentSpec } from '../lib/environments';
import { SecretKeyRef } from '../lib/secrets';
import { AppSettings } from '../constructs/app-workload';
import { AppService } from '../constructs/app-service';
import { CeleryBeat } from '../constructs/celery-beat';
import { CELERY_QUEUES, CeleryWorker } from '../constructs/celery-worker';
import { MigrationJob } from '../constructs/migration-job';
import { Postgres } from '../constructs/postgres';
import { Redis } from '../constructs/redis';
import { AppIngress } from '../constructs/edge/app-ingress';
import { NginxEdge } from '../constructs/edge/nginx-edge';
import { TlsCertificate } from '../constructs/edge/tls-certificate';
import { Logging } from '../constructs/logging/logging';
import { PointInTimeRecovery } from '../constructs/backup/point-in-time-recovery';
import { PostgresBackup } from '../constructs/backup/postgres-backup';
import { RestoreTest } from '../constructs/backup/restore-test';
import { S3Location } from '../lib/backup/s3';
import { IMAGE_CATALOG } from '../lib/images';
import { AlertReceivers } from '../constructs/monitoring/alertmanager';
import { Monitoring, MonitoringMode, PrometheusOperatorOptions } from '../constructs/monitoring/monitoring';
import { RestrictedNamespace } from '../constructs/restricted-namespace';
import { childPath, collectSizings } from '../constructs/workload';
import { checkDnsLabel } from '../lib/validate';

/** Props of `QualityBillingStack`. */
export interface QualityBillingStackProps {
  /** The environment to size and configure for (`ENVIRONMENTS.prod`, or one made with `defineEnvironment`). */
  readonly environment: EnvironmentSpec;
  /** Namespace everything is deployed to (seed 000 §4.1). @default "quality-billing" */
  readonly namespace?: string;
  /** Pinned application image. @default - the catalog's placeholder "quality-billing:1.0.0" */
  readonly appImage?: string;
  /** APP_SECRET_KEY. @default - Secret "app-secrets", key "secret-key" */
  readonly appSecretKey?: SecretKeyRef;
  /** Namespace of the ingress controller allowed to reach the API's HTTP port (edge "ingress"). @default "ingress-nginx" */
  readonly ingressControllerNamespace?: string;
  /** Host name the API is served on (Ingress rule, certificate). @default "api.quality-billing.invalid" (a placeholder) */
  readonly host?: string;
  /** TLS Secret (tls.crt/tls.key) of the edge or Ingress. @default "quality-billing-tls" */
  readonly tlsSecretName?: string;
  /** Have cert-manager issue and renew the TLS Secret from this issuer. @default - the Secret is created by hand */
  readonly certManager?: { readonly issuerName: string; readonly issuerKind?: 'ClusterIssuer' | 'Issuer' };
  /** Where the Kubernetes API server listens, for pods that wait for the migration Job and for Prometheus. @default - any address on 443 and 6443 */
  readonly apiServer?: { readonly cidr: string; readonly ports: readonly number[] };
  /**
   * Where alerts go. The defaults are placeholders on the reserved `.invalid` domain: set your
   * own. Secrets: Secret "alertmanager-credentials", keys "slack-webhook-url" and "smtp-password".
   * @default - placeholders
   */
  readonly alerting?: Partial<AlertReceivers>;
  /** Run our own Prometheus, Alertmanager and Grafana, or emit ServiceMonitors and a PrometheusRule for kube-prometheus-stack. @default "standalone" */
  readonly monitoringMode?: MonitoringMode;
  /** Where kube-prometheus-stack runs, in `prometheus-operator` mode. @default - its defaults */
  readonly prometheusOperator?: PrometheusOperatorOptions;
  /**
   * Where database backups go, when the environment has backups.
   * @default - bucket "quality-billing-backups" in us-east-1 (AWS S3), prefix "<environment>/postgres", keys "access-key-id" and "secret-access-key" of Secret "backup-s3-credentials"
   */
  readonly backupStorage?: Partial<S3Location>;
  /** PostgreSQL image. @default - the catalog's postgres, or postgres-pgbackrest when the environment has point-in-time recovery */
  readonly postgresImage?: string;
}

/** The default backup location of an environment (the Pulumi program creates this bucket). */
export function defaultBackupStorage(environmentName: string): S3Location {
  return {
    bucket: 'quality-billing-backups',
    prefix: `${environmentName}/postgres`,
    region: 'us-east-1',
    accessKeyId: SecretKeyRef.of('backup-s3-credentials', 'access-key-id'),
    secretAccessKey: SecretKeyRef.of('backup-s3-credentials', 'secret-access-key'),
  };
}

/** Placeholder receivers: `.invalid` can never resolve, so nothing is sent until they are set. */
export const PLACEHOLDER_RECEIVERS: AlertReceivers = {
  slackChannel: '#quality-billing-alerts',
  slackWebhookSecret: SecretKeyRef.of('alertmanager-credentials', 'slack-webhook-url'),
  emailTo: 'oncall@quality-billing.invalid',
  emailFrom: 'alertmanager@quality-billing.invalid',
  smtpSmarthost: 'smtp.quality-billing.invalid:587',
  smtpUsername: 'alertmanager',
  smtpPasswordSecret: SecretKeyRef.of('alertmanager-credentials', 'smtp-password'),
};

/**
 * The quality-billing system of seed 000 for one environment: PostgreSQL, Redis, the migration
 * Job, the FastAPI service, Celery workers and beat, in a restricted namespace with default-deny
 * networking. Sized from the environment's tier; the constructor fails with the capacity report
 * when the environment's hardware cannot hold it.
 */
export class QualityBillingStack extends Chart {
  public readonly environment: EnvironmentSpec;
  public readonly restrictedNamespace: RestrictedNamespace;
  public readonly postgres: Postgres;
  public readonly redis: Redis;
  public readonly migration: MigrationJob;
  public readonly api: AppService;
  public readonly workers: readonly CeleryWorker[];
  public readonly beat: CeleryBeat;
  public readonly monitoring: Monitoring;
  /** The nginx edge, when the environment's edge is "nginx". */
  public readonly edge?: NginxEdge;
  /** The Ingress, when the environment's edge is "ingress". */
  public readonly ingress?: AppIngress;
  /** Elasticsearch, Kibana and Filebeat, when the environment ships logs. */
  public readonly logging?: Logging;
  /** The daily logical backup, when the environment has backups. */
  public readonly backup?: PostgresBackup;
  /** The monthly restore test, when the environment has backups. */
  public readonly restoreTest?: RestoreTest;
  /** WAL archiving and full/incremental backups, when the environment has point-in-time recovery. */
  public readonly pointInTimeRecovery?: PointInTimeRecovery;
  /** The capacity plan that passed. */
  public readonly capacity: CapacityPlan;

  constructor(scope: Construct, id: string, props: QualityBillingStackProps) {
    const env = defineEnvironment(props.environment, props.environment);
    const namespace = checkDnsLabel(childPath(scope, id), 'namespace', props.namespace ?? 'quality-billing');
    super(scope, id, { namespace, labels: { 'app.kubernetes.io/instance': 'quality-billing', 'app.kubernetes.io/part-of': 'quality-billing' } });
    this.environment = env;
    const prefix = 'quality-billing';
    this.restrictedNamespace = new RestrictedNamespace(this, 'Namespace', { name: namespace });

    const pitr = env.backup !== false && env.backup.pointInTimeRecovery;
    this.postgres = new Postgres(this, 'Postgres', {
      name: `${prefix}-postgres`, tier: env.tier, timeZone: env.timeZone,
      image: props.postgresImage ?? (pitr ? IMAGE_CATALOG.postgresPgbackrest.toString() : undefined),
    });
    this.redis = new Redis(this, 'Redis', { name: `${prefix}-redis`, tier: env.tier });

    const settings: AppSettings = {
      image: props.appImage,
      appEnv: env.name === 'prod' ? 'production' : env.name,
      logLevel: env.logLevel,
      secretKey: props.appSecretKey,
      tier: env.tier,
    };
    this.migration = new MigrationJob(this, 'Migration', { name: `${prefix}-migrate`, settings, apiServer: props.apiServer })
      .connectTo(this.postgres);

    this.api = new AppService(this, 'Api', { name: `${prefix}-api`, replicas: env.appReplicas, settings })
      .connectTo(this.postgres)
      .connectTo(this.redis.cache)
      .connectTo(this.redis.broker)
      .connectTo(this.redis.results)
      .waitFor(this.migration);
    const maxOf = (replicas: number) => Math.ceil(replicas * env.autoscaleFactor);
    if (env.autoscaleFactor > 1) this.api.autoscale({ maxReplicas: maxOf(env.appReplicas) });

    const host = props.host ?? 'api.quality-billing.invalid';
    const tlsSecretName = props.tlsSecretName ?? 'quality-billing-tls';
    if (props.certManager) new TlsCertificate(this, 'Certificate', { secretName: tlsSecretName, dnsNames: [host], ...props.certManager });
    if (env.edge === 'nginx') {
      this.edge = new NginxEdge(this, 'Edge', { name: `${prefix}-edge`, app: this.api, replicas: env.edgeReplicas, tier: env.tier, tlsSecretName });
    } else {
      this.ingress = new AppIngress(this, 'Ingress', { app: this.api, host, tlsSecretName, controllerNamespace: props.ingressControllerNamespace });
    }

    const queueSets: string[][] = env.celeryWorkerPerQueue ? CELERY_QUEUES.map(q => [q]) : [[...CELERY_QUEUES]];
    this.workers = queueSets.map(queues => {
      const suffix = queues.length === 1 ? queues[0].replace(/_/g, '-') : 'worker';
      return new CeleryWorker(this, `Worker-${suffix}`, { name: `${prefix}-celery-${suffix}`, queues, replicas: env.celeryWorkerReplicas, settings })
        .connectTo(this.postgres)
        .connectTo(this.redis.cache)
        .connectTo(this.redis.broker)
        .connectTo(this.redis.results)
        .waitFor(this.migration);
    });
    if (env.autoscaleFactor > 1) for (const w of this.workers) w.autoscale({ maxReplicas: maxOf(env.celeryWorkerReplicas) });

    this.beat = new CeleryBeat(this, 'Beat', { name: `${prefix}-celery-beat`, settings })
      .connectTo(this.postgres)
      .connectTo(this.redis.broker)
      .waitFor(this.migration);

    this.monitoring = new Monitoring(this, 'Monitoring', {
      namePrefix: prefix,
      mode: props.monitoringMode,
      operator: props.prometheusOperator,
      tier: env.tier,
      receivers: { ...PLACEHOLDER_RECEIVERS, ...props.alerting },
      celeryBroker: this.redis.broker,
      apiServer: props.apiServer,
    }).monitor(this.api, this.postgres, this.redis);
    if (this.edge) this.monitoring.monitor(this.edge);

    if (env.logging) {
      this.logging = new Logging(this, 'Logging', {
        namePrefix: prefix,
        tier: env.tier,
        sourceNamespace: namespace,
        clusterNodes: env.nodes,
        elasticsearch: { retentionDays: env.logRetentionDays, dailyLogVolume: env.dailyLogVolume },
      });
    }

    if (env.backup !== false) {
      const storage = { ...defaultBackupStorage(env.name), ...props.backupStorage };
      const common = { postgres: this.postgres, storage, tier: env.tier, timeZone: env.timeZone };
      this.backup = new PostgresBackup(this, 'Backup', { ...common, retentionDays: env.backup.retentionDays });
      this.restoreTest = new RestoreTest(this, 'RestoreTest', common);
      if (env.backup.pointInTimeRecovery) {
        this.pointInTimeRecovery = new PointInTimeRecovery(this, 'PointInTimeRecovery', {
          ...common,
          fullRetentionDays: env.backup.retentionDays,
          incrementalRetentionDays: Math.min(7, env.backup.retentionDays),
          apiServer: props.apiServer,
        });
      }
    }

    this.capacity = assertCapacity(env, collectSizings(this), this.connectionChecks(), this.retentionChecks());
    // Every connection is declared by now: fail here, before synth, if they exceed PostgreSQL's memory.
    this.postgres.tuning();
  }

  /** Plans capacity again (after a consumer added workloads to this chart) without throwing. */
  public planCapacity(): CapacityPlan {
    return planCapacity(this.environment, collectSizings(this), this.connectionChecks(), this.retentionChecks());
  }

  private retentionChecks(): CapacityCheck[] {
    const es = this.logging?.elasticsearch;
    if (!es) return [];
    const fit = es.retentionFit();
    const gi = (b: number) => `${(b / 2 ** 30).toFixed(1)}Gi`;
    return [{
      name: 'log retention fits its volume',
      passed: fit.fits,
      detail: `${es.retentionDays} days x ${es.dailyLogVolume}/day needs ${gi(fit.needed.bytes)} per node of ${gi(fit.usable.bytes)} under the 85 % watermark (at most ${fit.maxDays} days)`,
    }];
  }

  private connectionChecks() {
    return [{ server: this.postgres.name, budget: this.postgres.connectionBudget(), maxConnections: this.postgres.maxConnections() }];
  }
}
