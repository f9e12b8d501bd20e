import { ApiObject, Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { assertCapacity, CapacityCheck, CapacityPlan, ConnectionCheckInput, planCapacity } from '../lib/capacity';
import { ValidationError } from '../lib/errors';
import { defineEnvironment, EnvironmentSpec } from '../lib/environments';
import { checkMaintenanceWindow, checkScheduleInWindow, CheckedMaintenanceWindow, MaintenanceWindow } from '../lib/maintenance-window';
import { PanelSpec } from '../lib/monitoring/dashboards';
import { S3Location } from '../lib/backup/s3';
import { SecretKeyRef } from '../lib/secrets';
import { ApiServerAddress, checkDnsLabel, checkOneOf } from '../lib/validate';
import { SECRETS_MODES, SecretsMode } from '../lib/external-secrets';
import { ExternalSecrets, ExternalSecretsOptions } from '../constructs/core/external-secrets';
import { AppSettings, AppWorkload } from '../constructs/app/app-workload';
import { AppService, IAppService } from '../constructs/app/app-service';
import { AutoscaleOptions } from '../constructs/core/autoscaler';
import { AppIngress } from '../constructs/edge/app-ingress';
import { NginxEdge } from '../constructs/edge/nginx-edge';
import { TlsCertificate } from '../constructs/edge/tls-certificate';
import { LogArchiveOptions, Logging } from '../constructs/logging/logging';
import { AlertReceivers } from '../constructs/monitoring/alertmanager';
import { Monitoring, MonitoringAlerts, MonitoringMode, PrometheusOperatorOptions } from '../constructs/monitoring/monitoring';
import { IMonitorable } from '../constructs/monitoring/prometheus';
import { IRedisDatabase } from '../constructs/data/redis-database';
import { RestrictedNamespace } from '../constructs/core/restricted-namespace';
import { childPath, collectSizings, cronJobRuns, ObjectJson, objectJsonOnce } from '../constructs/core/workload';
import { validateAtSynth } from '../constructs/core/validation';

/** Props every system stack takes: the environment and what differs between installations. */
export interface SystemStackProps {
  /** The environment to size and configure for (`ENVIRONMENTS.prod`, or one made with `defineEnvironment`). */
  readonly environment: EnvironmentSpec;
  /** Namespace everything is deployed to. @default - the system's name ("quality-billing", "qcat", …) */
  readonly namespace?: string;
  /** Pinned image of every application of the system (see `appImages` for one each). @default - the system definition's `appImage` (quality-billing: the catalog's pinned app image), else the placeholder "<system>:1.0.0" (merchant-analysis: "merchant-analysis/<service>:1.0.0" each) */
  readonly appImage?: string;
  /**
   * Pinned image of each application, by its name in `SystemChart.applications` ("app" for the
   * systems with one application; merchant-analysis's gateway and four services by name). An
   * application not named here runs `appImage`.
   * @default - `appImage` for every application
   */
  readonly appImages?: Readonly<Record<string, string>>;
  /** APP_SECRET_KEY. @default - Secret "app-secrets", key "secret-key" */
  readonly appSecretKey?: SecretKeyRef;
  /** Namespace of the ingress controller allowed to reach the API's HTTP port (edge "ingress"). @default "ingress-nginx" */
  readonly ingressControllerNamespace?: string;
  /** Host name the API is served on (Ingress rule, certificate). @default "api.<system>.invalid" (a placeholder) */
  readonly host?: string;
  /** TLS Secret (tls.crt/tls.key) of the edge or Ingress. @default "<system>-tls" */
  readonly tlsSecretName?: string;
  /** Have cert-manager issue and renew the TLS Secret from this issuer. @default - the Secret is created by hand */
  readonly certManager?: { readonly issuerName: string; readonly issuerKind?: 'ClusterIssuer' | 'Issuer' };
  /** Where the Kubernetes API server listens, for pods that wait for the migration Job and for Prometheus. @default - any address on 443 and 6443 */
  readonly apiServer?: ApiServerAddress;
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
   * @default - bucket "<system>-backups" in us-east-1 (AWS S3), prefix "<environment>/postgres", keys "access-key-id" and "secret-access-key" of Secret "backup-s3-credentials"
   */
  readonly backupStorage?: Partial<S3Location>;
  /**
   * StorageClass of the volumes pods on several nodes mount at once (ReadWriteMany: finance-ai's
   * model files): one offering shared file storage (EFS, Filestore, Azure Files, NFS, CephFS). Block
   * storage (EBS, GCE PD, Azure Disk) offers ReadWriteOnce only, and the readers stay Pending.
   * @default - the cluster's default StorageClass, which must then offer ReadWriteMany
   */
  readonly sharedStorageClass?: string;
  /** PostgreSQL image. @default - the catalog's postgres, or postgres-pgbackrest when the system has point-in-time recovery */
  readonly postgresImage?: string;
  /** The maintenance window of this installation, in the environment's time zone. @default - the system's (`SystemDefinition.maintenanceWindow`) */
  readonly maintenanceWindow?: MaintenanceWindow;
  /**
   * Where the Secrets the chart reads come from: "kubernetes" — Secrets made out of band (`kubectl
   * create secret`, or the Pulumi program from secret config); "external-secrets" — one ExternalSecret
   * per Secret, filled by the External Secrets Operator from `externalSecrets.storeName`.
   * @default "kubernetes"
   */
  readonly secrets?: SecretsMode;
  /** The store and remote keys of "external-secrets" mode (required there, refused otherwise). @default - none */
  readonly externalSecrets?: ExternalSecretsOptions;
  /**
   * Deploy this installation as the standby site of a primary in another cluster (seed 002: a
   * standby site that takes over in under 5 minutes): PostgreSQL is restored from the primary's
   * pgBackRest repository and replays its WAL archive read-only; the applications, Celery
   * workers and beat run 0 replicas (KEDA paused, HPAs inactive), the migration Job and every
   * CronJob are suspended, until `promoted`. PostgreSQL systems with point-in-time recovery only.
   * Runbook: `npm run promote` (README, "Standby site and promotion").
   * @default - a primary site
   */
  readonly standbySite?: StandbySite;
}

/** Where a standby site's primary is, and whether the site has been promoted (`SystemStackProps.standbySite`). */
export interface StandbySite {
  /** The Kubernetes cluster this standby site runs in (a DNS label, e.g. "prod-shanghai-b"). */
  readonly cluster: string;
  /** The cluster the primary runs in; must differ from `cluster` unless `allowSameCluster`. */
  readonly primaryCluster: string;
  /** Allow `cluster` equal to `primaryCluster` (a rehearsal in one cluster: the standby is lost with its primary). @default false */
  readonly allowSameCluster?: boolean;
  /**
   * The primary's backup storage: its pgBackRest repository is `<prefix>/pgbackrest` there.
   * @default - the system's default backup storage of the environment (bucket "<system>-backups", prefix "<environment>/postgres"), where a primary stack without `backupStorage` writes
   */
  readonly primaryBackupStorage?: Partial<S3Location>;
  /** The primary's pgBackRest stanza. @default - the PostgreSQL server's name ("<system>-postgres"), the primary's default */
  readonly primaryStanza?: string;
  /**
   * The site has been promoted (`npm run promote`): the applications run their replicas, KEDA
   * and the CronJobs resume. PostgreSQL's objects are the same as in standby mode, so applying
   * this restarts no database pod (the promoted server ignores restore_command).
   * @default false
   */
  readonly promoted?: boolean;
}

/** The application of a system with one (`SystemDefinition.applications`' default). */
export const DEFAULT_APPLICATION = 'app';

/** What distinguishes one seed system from another, for `SystemStack`. */
export interface SystemDefinition {
  /** DNS-1123 label: the object-name prefix, the default namespace and the `part-of` label. */
  readonly name: string;
  /** Human name, for the dashboard title. */
  readonly title: string;
  /** PostgreSQL database and its owner. */
  readonly database: string;
  /** Where clients read DATABASE_URL. @default - key "url" of Secret "db-credentials" */
  readonly databaseUrlSecret?: SecretKeyRef;
  /** Backups of the system, over the environment's: retention and point-in-time recovery. @default - the environment's */
  readonly backup?: { readonly retentionDays?: number; readonly pointInTimeRecovery?: boolean };
  /** The edge every environment of the system uses, when the system depends on it. @default - the environment's */
  readonly edge?: EnvironmentSpec['edge'];
  /** The application image until the stack is given one. @default - the placeholder "<name>:1.0.0" */
  readonly appImage?: string;
  /** The applications that each run an image of their own (keys of `appImages`). @default ["app"] */
  readonly applications?: readonly string[];
  /** Changes the system makes to each environment (its hardware tier, replicas). @default - none */
  readonly environment?: (env: EnvironmentSpec) => Partial<EnvironmentSpec>;
  /**
   * The weekly maintenance window, read in the environment's time zone (seed 003: Sunday
   * 02:00–04:00): maintenance CronJobs must run inside it, backup CronJobs start at its hours, and
   * Alertmanager mutes alerts that are not critical during it.
   * @default - none
   */
  readonly maintenanceWindow?: MaintenanceWindow;
}

/** The default backup location of a system's environment (the Pulumi program creates the quality-billing bucket). */
export function systemBackupStorage(environmentName: string, system: string): S3Location {
  return {
    bucket: `${system}-backups`,
    prefix: `${environmentName}/postgres`,
    region: 'us-east-1',
    accessKeyId: SecretKeyRef.of('backup-s3-credentials', 'access-key-id'),
    secretAccessKey: SecretKeyRef.of('backup-s3-credentials', 'secret-access-key'),
  };
}

/** Placeholder receivers of a system: `.invalid` can never resolve, so nothing is sent until they are set. */
export function placeholderReceivers(system: string): AlertReceivers {
  return {
    slackChannel: `#${system}-alerts`,
    slackWebhookSecret: SecretKeyRef.of('alertmanager-credentials', 'slack-webhook-url'),
    emailTo: `oncall@${system}.invalid`,
    emailFrom: `alertmanager@${system}.invalid`,
    smtpSmarthost: `smtp.${system}.invalid:587`,
    smtpUsername: 'alertmanager',
    smtpPasswordSecret: SecretKeyRef.of('alertmanager-credentials', 'smtp-password'),
  };
}

/** The call that sets up each part a stack must have before it is read. */
const PART_SETUP = {
  monitoring: 'the Monitoring that addMonitoring() creates',
} as const;

/** Options of `SystemStack.addEdge`. */
export interface EdgeOptions {
  /** Pass WebSocket upgrades through, with long read timeouts. @default false */
  readonly websocket?: boolean;
  /** A standby API the nginx edge fails over to. @default - none */
  readonly backupApp?: IAppService;
}

/** One path of a system's backups, for the architecture diagram: a workload writing to the bucket, or reading from it. */
export interface BackupFlow {
  /** The workload (or server) at the other end. */
  readonly workload: string;
  /** What travels ("pg_dump daily"). */
  readonly label: string;
  /** "to-storage" for a backup, "from-storage" for a restore test. */
  readonly direction: 'to-storage' | 'from-storage';
}

/**
 * What every seed system's chart shares, whatever its data stores: the environment (with the
 * system's overrides), a restricted namespace with default-deny networking, the edge, monitoring
 * with the system's dashboard, log shipping, and the capacity check, which runs when the chart is
 * synthesized (a cdk8s validation), so workloads added after construction count.
 * `SystemStack` adds PostgreSQL, Redis and their backups; a system with other data stores (MongoDB)
 * builds on this directly.
 */
export abstract class SystemChart extends Chart {
  public readonly environment: EnvironmentSpec;
  /** The system this stack deploys. */
  public readonly system: SystemDefinition;
  public readonly restrictedNamespace: RestrictedNamespace;
  /** The weekly maintenance window, when the system has one. */
  public readonly maintenanceWindow?: CheckedMaintenanceWindow;
  /** Where the chart's Secrets come from. */
  public readonly secretsMode: SecretsMode;
  /** The ExternalSecrets, in "external-secrets" mode. */
  public readonly externalSecrets?: ExternalSecrets;
  /** Settings every application workload of the system shares (each also takes the environment's `tier`). */
  protected readonly settings: AppSettings;
  /** Prefix of every object name. */
  protected readonly prefix: string;
  protected readonly stackProps: SystemStackProps;
  private readonly chartParts: { entry?: IAppService; monitoring?: Monitoring; edge?: NginxEdge; ingress?: AppIngress; logging?: Logging; capacity?: CapacityPlan } = {};
  /** What parts added before `addMonitoring` ask of the monitoring (their alerts). */
  private readonly monitoringRequests: Array<(m: Monitoring) => void> = [];

  protected constructor(scope: Construct, id: string, props: SystemStackProps, system: SystemDefinition) {
    const given = defineEnvironment(props.environment, props.environment);
    const env = defineEnvironment({ ...given, ...system.environment?.(given), ...(system.edge ? { edge: system.edge } : {}) }, given);
    const namespace = checkDnsLabel(childPath(scope, id), 'namespace', props.namespace ?? system.name);
    super(scope, id, { namespace, labels: { 'app.kubernetes.io/instance': system.name, 'app.kubernetes.io/part-of': system.name } });
    this.environment = env;
    this.system = system;
    this.stackProps = props;
    this.prefix = system.name;
    this.restrictedNamespace = new RestrictedNamespace(this, 'Namespace', { name: namespace });
    if (props.standbySite && !this.usesPostgres()) {
      throw new ValidationError(this.node.path, 'standbySite', props.standbySite.cluster, 'left out: a standby site replays a PostgreSQL WAL archive, and this system has no PostgreSQL');
    }
    this.secretsMode = checkOneOf(this.node.path, 'secrets', props.secrets ?? 'kubernetes', SECRETS_MODES);
    if (this.secretsMode === 'external-secrets') {
      if (!props.externalSecrets) throw new ValidationError(this.node.path, 'externalSecrets', undefined, 'the store the ExternalSecrets read ({ storeName, storeKind?, remoteKeys? }) when secrets is "external-secrets"');
      this.externalSecrets = new ExternalSecrets(this, 'ExternalSecrets', { ...props.externalSecrets, system: system.name, environment: env.name });
    } else if (props.externalSecrets) {
      throw new ValidationError(this.node.path, 'secrets', this.secretsMode, '"external-secrets" when externalSecrets is given (or leave externalSecrets unset)');
    }
    // At synth (App.synth, Chart.toJson), before anything is written: every workload counts,
    // including those a subclass or a consumer adds after this constructor.
    const window = props.maintenanceWindow ?? system.maintenanceWindow;
    this.maintenanceWindow = window && checkMaintenanceWindow(this.node.path, 'maintenanceWindow', window);
    // Both checks read every CronJob's JSON: resolved once for the two.
    validateAtSynth(this, () => { const json = objectJsonOnce(); this.checkMaintenanceSchedules(json); this.checkCapacity(json); });
    for (const application of Object.keys(props.appImages ?? {})) {
      if (!this.applications.includes(application)) {
        throw new ValidationError(this.node.path, 'appImages key', application, `one of ${this.applications.map(a => `"${a}"`).join(', ')}`);
      }
    }
    this.settings = {
      image: this.applicationImage(DEFAULT_APPLICATION),
      appEnv: env.name === 'prod' ? 'production' : env.name,
      logLevel: env.logLevel,
      secretKey: props.appSecretKey,
    };
  }

  /** The applications of the system, each with an image of its own (`appImages` keys). */
  public get applications(): readonly string[] {
    return this.system.applications ?? [DEFAULT_APPLICATION];
  }

  /** The application the edge serves (the system's entry point), once the stack added its edge. */
  public get entry(): IAppService | undefined {
    return this.chartParts.entry;
  }

  /**
   * The image `application` runs: its `appImages` entry, else `appImage`, else `placeholder`
   * (the system's own per-application default), else the system's placeholder image.
   */
  public applicationImage(application: string, placeholder?: string): string {
    const props = this.stackProps;
    return props.appImages?.[application] ?? props.appImage ?? placeholder ?? this.system.appImage ?? `${this.system.name}:1.0.0`;
  }

  /** Names of the Deployments that run the system's applications (API, workers, beat), which the service drill restarts. */
  public appDeployments(): string[] {
    return this.node.findAll().filter((c): c is AppWorkload & { deployment: { name: string } } => c instanceof AppWorkload && 'deployment' in c).map(c => c.deployment.name);
  }

  /** The HTTP applications whose `/health` the service drill asks after the restart. */
  public appServices(): AppService[] {
    return this.node.findAll().filter((c): c is AppService => c instanceof AppService);
  }

  /** Where drill records go in the backup bucket (`<prefix>/drills/<kind>/`); undefined where the environment has no backups. @default - none */
  public drillRecordStorage(): S3Location | undefined {
    return undefined;
  }

  /**
   * The schedule of a quarterly drill `minute` minutes after its start, in the environment's time
   * zone: with a maintenance window, its opening on its weekday in each quarter's first month (the
   * day-of-month field stays "*", so cron's OR of day-of-month and day-of-week cannot widen it);
   * without one, 05:00 on the 2nd of each quarter's first month.
   */
  protected quarterlyDrillSchedule(minute: number): string {
    const window = this.maintenanceWindow;
    return window
      ? `${(window.startMinute + minute) % 60} ${Math.floor((window.startMinute + minute) / 60)} * 1,4,7,10 ${window.day}`
      : `${(5 * 60 + minute) % 60} ${Math.floor((5 * 60 + minute) / 60)} 2 1,4,7,10 *`;
  }

  /** Monitoring (Prometheus, Alertmanager, Grafana, or the operator's objects), once `addMonitoring` ran. */
  public get monitoring(): Monitoring {
    return this.required('monitoring');
  }

  /** The nginx edge, when the environment's edge is "nginx". */
  public get edge(): NginxEdge | undefined {
    return this.chartParts.edge;
  }

  /** The Ingress, when the environment's edge is "ingress". */
  public get ingress(): AppIngress | undefined {
    return this.chartParts.ingress;
  }

  /** Elasticsearch, Kibana and Filebeat, when the environment ships logs. */
  public get logging(): Logging | undefined {
    return this.chartParts.logging;
  }

  /** The capacity plan that passed: the last synth's, or checked now (throws the CapacityError when it does not pass). */
  public get capacity(): CapacityPlan {
    return this.chartParts.capacity ?? this.checkCapacity();
  }

  /** The bucket the system's backups go to (`s3://bucket/prefix`), when it has backups. */
  public backupDestination(): string | undefined {
    return undefined;
  }

  /** The paths between the system's workloads and its backup bucket. */
  public backupFlows(): BackupFlow[] {
    return [];
  }

  /** Plans capacity again (after a consumer added workloads to this chart) without throwing. */
  public planCapacity(): CapacityPlan {
    return planCapacity(this.environment, collectSizings(this), this.connectionChecks(), this.retentionChecks());
  }

  /** Scales `workload` on CPU from `replicas` up to the environment's autoscale factor, when it has one. */
  protected autoscaleByEnvironment(workload: { autoscale(o: AutoscaleOptions): unknown }, replicas: number): void {
    const factor = this.environment.autoscaleFactor;
    if (factor > 1) workload.autoscale({ maxReplicas: Math.ceil(replicas * factor) });
  }

  /** Puts the environment's edge in front of `app`: the nginx TLS edge, or an Ingress for ingress-nginx. */
  protected addEdge(app: IAppService, o: EdgeOptions = {}): void {
    const props = this.stackProps;
    const env = this.environment;
    const host = props.host ?? `api.${this.system.name}.invalid`;
    const tlsSecretName = props.tlsSecretName ?? `${this.prefix}-tls`;
    this.chartParts.entry = app;
    if (props.certManager) new TlsCertificate(this, 'Certificate', { secretName: tlsSecretName, dnsNames: [host], ...props.certManager });
    if (env.edge === 'nginx') {
      this.chartParts.edge = new NginxEdge(this, 'Edge', {
        name: `${this.prefix}-edge`, app, replicas: env.edgeReplicas, tier: env.tier, tlsSecretName, websocket: o.websocket, backupApp: o.backupApp,
      });
    } else {
      if (o.backupApp) throw new ValidationError(this.node.path, 'edge', env.edge, '"nginx": only the nginx edge fails over to a backup API');
      this.chartParts.ingress = new AppIngress(this, 'Ingress', {
        app, host, tlsSecretName, controllerNamespace: props.ingressControllerNamespace, proxyReadTimeoutSeconds: o.websocket ? 3600 : undefined,
      });
    }
  }

  /** Monitoring of `targets`, the system's data stores and the edge, with the system's dashboard. */
  protected addMonitoring(targets: readonly IMonitorable[], o: { readonly celeryBroker?: IRedisDatabase; readonly dashboardPanels?: readonly PanelSpec[]; readonly alerts?: MonitoringAlerts } = {}): Monitoring {
    const props = this.stackProps;
    const monitoring = new Monitoring(this, 'Monitoring', {
      namePrefix: this.prefix,
      mode: props.monitoringMode,
      operator: props.prometheusOperator,
      tier: this.environment.tier,
      receivers: { ...placeholderReceivers(this.system.name), ...props.alerting },
      celeryBroker: o.celeryBroker,
      apiServer: props.apiServer,
      dashboard: { uid: `${this.prefix}-overview`, title: `${this.system.title} — system overview`, extraPanels: o.dashboardPanels },
      alerts: o.alerts,
      postgres: this.usesPostgres(),
      maintenanceWindow: this.maintenanceWindow && { window: this.maintenanceWindow, timeZone: this.environment.timeZone },
    }).monitor(...targets, ...this.dataStores());
    if (this.chartParts.edge) monitoring.monitor(this.chartParts.edge);
    this.chartParts.monitoring = monitoring;
    for (const request of this.monitoringRequests.splice(0)) request(monitoring);
    return monitoring;
  }

  /** Applies `request` to the monitoring: now when `addMonitoring` ran, else as soon as it runs. */
  protected withMonitoring(request: (m: Monitoring) => void): void {
    if (this.chartParts.monitoring) request(this.chartParts.monitoring);
    else this.monitoringRequests.push(request);
  }

  /**
   * Elasticsearch, Kibana and Filebeat for the namespace, when the environment ships logs; with
   * `o.archive` and an environment that has backups, the log indices are also archived as
   * snapshots to `<environment>/elasticsearch` of the backup bucket, kept as long as the system's backups.
   */
  protected addLogging(o: { readonly archive?: boolean } = {}): void {
    const env = this.environment;
    if (!env.logging) return;
    const backup = env.backup === false ? undefined : { ...env.backup, ...this.system.backup };
    let snapshots: LogArchiveOptions | undefined;
    if (o.archive && backup) {
      const storage = { ...systemBackupStorage(env.name, this.system.name), ...this.stackProps.backupStorage };
      const base = storage.prefix.replace(/\/postgres$/, '');
      // A standby site writes a repository of its own (as its pgBackRest does): Elastic allows one
      // writing cluster per repository, and the standby's SLM retention would delete the primary's snapshots.
      const site = this.stackProps.standbySite;
      snapshots = { storage: { ...storage, prefix: site ? `${base}/elasticsearch-${site.cluster}` : `${base}/elasticsearch` }, retentionDays: backup.retentionDays };
    }
    this.chartParts.logging = new Logging(this, 'Logging', {
      namePrefix: this.prefix,
      tier: env.tier,
      sourceNamespace: this.namespace!,
      clusterNodes: env.nodes,
      elasticsearch: { retentionDays: env.logRetentionDays, dailyLogVolume: env.dailyLogVolume },
      snapshots,
    });
  }

  /**
   * With a maintenance window: every maintenance CronJob (component "…maintenance") and drill
   * (component "drill") runs inside it and every backup CronJob (component "backup") starts at its hours; otherwise a
   * ValidationError names the CronJob, its schedule and the window.
   */
  private checkMaintenanceSchedules(objectJson: ObjectJson): void {
    const window = this.maintenanceWindow;
    if (!window) return;
    for (const object of this.node.findAll()) {
      if (!(object instanceof ApiObject) || object.kind !== 'CronJob') continue;
      const json = objectJson(object);
      const component: string = json.metadata?.labels?.['app.kubernetes.io/component'] ?? '';
      // A drill disturbs service (a switchover pauses writes, a restart rolls the pods): the window's maintenance rule.
      const purpose = component === 'backup' ? 'backup' : component.endsWith('maintenance') || component === 'drill' ? 'maintenance' : undefined;
      if (purpose) checkScheduleInWindow(object.node.path, window, this.environment.timeZone, purpose, cronJobRuns(json.spec));
    }
  }

  /** Checks capacity and keeps the plan; throws the CapacityError with the report when the environment cannot hold the system. */
  private checkCapacity(json?: ObjectJson): CapacityPlan {
    this.chartParts.capacity = assertCapacity(this.environment, collectSizings(this, json), this.connectionChecks(), this.retentionChecks());
    return this.chartParts.capacity;
  }

  /** The data stores monitoring scrapes besides the applications. */
  protected dataStores(): IMonitorable[] {
    return [];
  }

  /** Whether the system runs on PostgreSQL (its alerts and panels are included). */
  protected usesPostgres(): boolean {
    return false;
  }

  /** Connection budgets the capacity check holds against their servers. */
  protected connectionChecks(): ConnectionCheckInput[] {
    return [];
  }

  private required<K extends keyof typeof PART_SETUP>(part: K): NonNullable<SystemChart['chartParts'][K]> {
    const value = this.chartParts[part];
    if (!value) throw new ValidationError(this.node.path, part, 'not set up', `${PART_SETUP[part]}, called by the stack's constructor before stack.${part} is read`);
    return value as NonNullable<SystemChart['chartParts'][K]>;
  }

  private retentionChecks(): CapacityCheck[] {
    const es = this.chartParts.logging?.elasticsearch;
    if (!es) return [];
    const fit = es.retentionFit();
    const gi = (b: number) => `${(b / 2 ** 30).toFixed(1)}Gi`;
    return [{
      name: 'log retention fits its volume',
      passed: fit.fits,
      detail: `${es.retentionDays} days x ${es.dailyLogVolume}/day needs ${gi(fit.needed.bytes)} per node of ${gi(fit.usable.bytes)} under the 85 % watermark (at most ${fit.maxDays} days)`,
    }];
  }
}
