import { k8s } from '../core/k8s';
import { Construct } from 'constructs';
import { ValidationError } from '../../lib/errors';
import { IMAGE_CATALOG, ImageRef } from '../../lib/images';
import { ComponentName, RESOURCE_PRESETS } from '../../lib/presets';
import { SecretKeyRef } from '../../lib/secrets';
import { APP_UID } from '../../lib/security';
import { ResourceQuantities, resources, ResourceSpec, WorkloadSizing } from '../../lib/sizing';
import { tier as lookupTier, TierName } from '../../lib/tiers';
import { checkInteger, checkOneOf } from '../../lib/validate';
import type { AppConfig } from './app-config';
import { IConnectable, IConnectionClient } from '../core/connections';
import { emptyDir, plainEnv, podSecurityContext, restrictedContainer, secretEnv } from '../core/pod-spec';
import { RollingDeployment, rollingDeployment } from '../core/rolling-deployment';
import { attachAutoscaler, AutoscaleOptions } from '../core/autoscaler';
import { childPath, Workload, WorkloadIdentity } from '../core/workload';
import { IWaitable, WaitBinding } from '../core/waitable';
import { lazy } from '../core/lazy';

/** What every process of the application shares: image, environment name, logging, secret key. */
export interface AppSettings {
  /** Pinned application image (`repo:tag` or `repo@sha256:…`). @default - the catalog's placeholder "quality-billing:1.0.0" */
  readonly image?: string;
  /** Value of APP_ENV. @default "production" */
  readonly appEnv?: string;
  /** Value of LOG_LEVEL (seed 000 §2.2). @default "INFO" */
  readonly logLevel?: 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR';
  /** APP_SECRET_KEY. @default - key "secret-key" of Secret "app-secrets" */
  readonly secretKey?: SecretKeyRef;
  /**
   * Hardware tier whose resource presets apply.
   * @deprecated Use the workload's own `tier` prop, spelled as on every other construct; this one is read when that is left out.
   * @default - the workload's `tier`
   */
  readonly tier?: TierName;
  /** Further plain environment variables for every process; names that look secret are refused. @default - none */
  readonly extraEnv?: Readonly<Record<string, string>>;
  /** Further environment variables read from Secrets. @default - none */
  readonly extraSecretEnv?: Readonly<Record<string, SecretKeyRef>>;
  /**
   * Environment variables read from a ConfigMap (`AppConfig`): variable name → key. A variable
   * named here (APP_ENV, LOG_LEVEL, LOG_FORMAT, …) replaces the inline value; the pods roll when
   * the ConfigMap's data changes.
   * @default - none
   */
  readonly config?: { readonly configMap: AppConfig; readonly env: Readonly<Record<string, string>> };
  /**
   * The app's database driver prepares statements on the server (asyncpg with its statement cache
   * on, psycopg 3 with prepare_threshold): a transaction-pooling PgBouncer then refuses it at synth.
   * The seed's `postgresql://` URL is psycopg2 under SQLAlchemy, which never does.
   * @default false
   */
  readonly serverSidePreparedStatements?: boolean;
}

/** Props every app workload takes. */
export interface AppWorkloadProps {
  /** Hardware tier whose resource presets apply (as `tier` of every other construct). @default "recommended" */
  readonly tier?: TierName;
  /** Settings shared by the API, the workers, beat and the migration job. @default - all defaults */
  readonly settings?: AppSettings;
  /** Requests and limits of the main container. @default - the tier's preset */
  readonly resources?: ResourceQuantities;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const SECRET_LOOKING = /PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIAL/i;

/**
 * Base of the constructs that run the application image (API, Celery worker, Celery beat,
 * migration job): the shared environment, connections, and waiting for migrations.
 */
export abstract class AppWorkload extends Workload implements IConnectionClient {
  public readonly image: ImageRef;
  public readonly tier: TierName;
  /** Requests and limits of the main container. */
  public readonly resources: ResourceSpec;
  /** Resources of the wait-for-migration init container. */
  public readonly waitResources: ResourceSpec;
  protected readonly settings: AppSettings;
  /** LOG_LEVEL, also passed to Celery's `--loglevel`. */
  protected readonly logLevel: 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR';
  private readonly envVars: k8s.EnvVar[] = [];
  private wait?: { readonly target: IWaitable; readonly binding: WaitBinding };
  /** Set by `autoscale()`. */
  protected maxReplicasValue?: number;
  /** Extra pods its rolling update starts (a release rolls every application workload at once). */
  private rolloutSurge?: number;

  protected constructor(scope: Construct, id: string, identity: Omit<WorkloadIdentity, 'version'>, component: ComponentName, props: AppWorkloadProps) {
    const settings = props.settings ?? {};
    const image = ImageRef.parse(settings.image ?? IMAGE_CATALOG.app.toString(), childPath(scope, id), 'settings.image');
    super(scope, id, { ...identity, version: image.version });
    const path = this.node.path;
    this.settings = settings;
    this.image = image;
    if (props.tier !== undefined && settings.tier !== undefined && settings.tier !== props.tier) {
      throw new ValidationError(path, 'settings.tier', settings.tier, `left out (the deprecated spelling of tier), or equal to tier "${props.tier}"`);
    }
    this.tier = lookupTier(props.tier ?? settings.tier ?? 'recommended', path).name;
    this.resources = resources(props.resources ?? RESOURCE_PRESETS[this.tier][component], path, 'resources');
    this.waitResources = resources(RESOURCE_PRESETS[this.tier].waitForMigration, path, 'waitResources');
    const logLevel = checkOneOf(path, 'settings.logLevel', settings.logLevel ?? 'INFO', ['DEBUG', 'INFO', 'WARNING', 'ERROR'] as const);
    this.logLevel = logLevel;
    const config = settings.config;
    for (const name of Object.keys(config?.env ?? {})) {
      if (SECRET_LOOKING.test(name)) throw new ValidationError(path, `settings.config.env.${name}`, name, 'a non-secret variable; credentials come from Secrets (settings.secretKey, settings.extraSecretEnv)');
    }
    const fromConfig = (v: k8s.EnvVar) => (config && v.name in config.env ? config.configMap.envVar(v.name, config.env[v.name]) : v);
    this.addEnv(...[
      plainEnv('APP_ENV', settings.appEnv ?? 'production'),
      plainEnv('APP_DEBUG', 'false'),
      secretEnv('APP_SECRET_KEY', settings.secretKey ?? SecretKeyRef.of('app-secrets', 'secret-key', path)),
      plainEnv('LOG_LEVEL', logLevel),
      plainEnv('LOG_FORMAT', 'json'),
      plainEnv('PYTHONUNBUFFERED', '1'),
    ].map(fromConfig));
    for (const [name, key] of Object.entries(config?.env ?? {})) {
      if (!this.envVars.some(e => e.name === name)) this.addEnv(config!.configMap.envVar(name, key));
    }
    for (const [name, value] of Object.entries(settings.extraEnv ?? {})) {
      // A plain value lands in the manifest: anything that looks like a credential must be a Secret.
      if (SECRET_LOOKING.test(name)) throw new ValidationError(path, `settings.extraEnv.${name}`, '(value withheld)', 'a non-secret variable; pass credentials through settings.extraSecretEnv as a SecretKeyRef');
      this.addEnv(plainEnv(name, value));
    }
    for (const [name, ref] of Object.entries(settings.extraSecretEnv ?? {})) this.addEnv(secretEnv(name, ref));
  }

  public get workload(): Workload {
    return this;
  }

  /** Whether the app's driver prepares statements on the server (`AppSettings.serverSidePreparedStatements`). */
  public get serverSidePreparedStatements(): boolean {
    return this.settings.serverSidePreparedStatements ?? false;
  }

  /** Connects to a database or broker: its env vars, NetworkPolicy rules and budget follow. */
  public connectTo(target: IConnectable): this {
    target.bind(this);
    return this;
  }

  /**
   * Adds environment variables in order. A name added twice keeps its first value if both are
   * equal and is an error otherwise, so two connections can never silently fight over a variable.
   */
  public addEnv(...vars: k8s.EnvVar[]): void {
    for (const v of vars) {
      if (!ENV_NAME.test(v.name)) throw new ValidationError(this.node.path, 'env', v.name, 'an environment variable name ([A-Za-z_][A-Za-z0-9_]*)');
      const existing = this.envVars.find(e => e.name === v.name);
      if (!existing) { this.envVars.push(v); continue; }
      if (JSON.stringify(existing) !== JSON.stringify(v)) {
        throw new ValidationError(this.node.path, `env ${v.name}`, v.value ?? v.valueFrom, `one value; it is already ${JSON.stringify(existing.value ?? existing.valueFrom)}`);
      }
    }
  }

  /** The environment as it will be rendered (a copy). */
  public get env(): readonly k8s.EnvVar[] {
    return [...this.envVars];
  }

  /** Makes every pod of this workload wait until `migration` (a `MigrationJob`) has succeeded before it starts. */
  public waitFor(migration: IWaitable): this {
    if (this.wait) throw new ValidationError(this.node.path, 'waitFor', migration.node.path, 'one migration job per workload');
    this.wait = { target: migration, binding: migration.bindWaiter(this) };
    return this;
  }

  /** The migration job this workload waits for, if any. */
  public get waitsFor(): IWaitable | undefined {
    return this.wait?.target;
  }

  public abstract maxDatabaseConnections(): number;
  public abstract describeDatabaseConnections(): string;

  /** Checks a pool size prop. */
  protected checkPoolSize(value: number): number {
    return checkInteger(this.node.path, 'databasePoolSize', value, 1, 500);
  }

  /** The pod spec shared by the app's long-running workloads, rendered late so connections made later count. */
  protected podSpec(main: k8s.Container, extra: { terminationGracePeriodSeconds: number; volumes?: k8s.Volume[] }): k8s.PodSpec {
    const w = this.wait?.binding;
    return {
      securityContext: podSecurityContext(APP_UID),
      serviceAccountName: w?.serviceAccountName,
      // Only pods that wait for a migration read the API; the others get no token at all.
      automountServiceAccountToken: w !== undefined,
      enableServiceLinks: false,
      terminationGracePeriodSeconds: extra.terminationGracePeriodSeconds,
      initContainers: w ? [w.initContainer(this.image, this.waitResources)] : undefined,
      containers: [main],
      volumes: [emptyDir('tmp', '256Mi'), ...(w?.volumes ?? []), ...(extra.volumes ?? [])],
    };
  }

  /** The main container of an app pod; its env is the shared, late-rendered list. */
  protected appContainer(o: Omit<Parameters<typeof restrictedContainer>[0], 'image' | 'uid' | 'resources' | 'env'> & { env?: k8s.EnvVar[] }): k8s.Container {
    const c = restrictedContainer({ ...o, image: this.image, uid: APP_UID, resources: this.resources });
    return { ...c, env: lazy(() => [...this.envVars, ...(o.env ?? [])]), volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }, ...(o.volumeMounts ?? [])] };
  }

  /**
   * A Deployment that rolls out one extra pod at a time and never drops below `replicas`
   * (zero downtime, seed 004), spread across nodes and with a PodDisruptionBudget when replicated.
   */
  protected rollingDeployment(main: k8s.Container, o: RollingDeploymentOptions): RollingDeployment {
    const config = this.settings.config;
    this.rolloutSurge = o.maxSurge;
    return rollingDeployment(this, {
      ...o,
      podAnnotations: config ? () => ({ 'quality-billing.io/config-checksum': config.configMap.checksum }) : undefined,
      autoscaled: () => this.maxReplicasValue !== undefined,
      podSpec: () => this.podSpec(main, { terminationGracePeriodSeconds: o.terminationGracePeriodSeconds, volumes: o.volumes }),
    });
  }

  /** The sizing of this workload's pods: the main container, and the wait container when it waits. */
  protected podSizing(kind: WorkloadSizing['kind'], replicas: number): WorkloadSizing {
    return { name: this.name, kind, replicas, maxReplicas: this.maxReplicasValue, containers: [this.resources], initContainers: this.wait ? [this.waitResources] : [], releaseSurge: this.rolloutSurge };
  }

  /** Scales the Deployment on CPU from `minReplicas` to `o.maxReplicas`; budgets and capacity count the maximum. */
  protected attachAutoscaler(minReplicas: number, o: AutoscaleOptions): k8s.KubeHorizontalPodAutoscalerV2 {
    if (this.maxReplicasValue !== undefined) throw new ValidationError(this.node.path, 'autoscale', o, 'one autoscaler per workload');
    const hpa = attachAutoscaler(this, minReplicas, o);
    this.maxReplicasValue = o.maxReplicas;
    return hpa;
  }

  /**
   * Records that an autoscaler this construct does not render as an HPA (a KEDA ScaledObject, whose
   * operator creates the HPA) owns the replica count up to `maxReplicas`: the manifest leaves
   * `replicas` out, and budgets and capacity count the maximum.
   */
  protected ownReplicaCount(maxReplicas: number): void {
    if (this.maxReplicasValue !== undefined) throw new ValidationError(this.node.path, 'autoscale', maxReplicas, 'one autoscaler per workload');
    this.maxReplicasValue = maxReplicas;
  }

  /** The most pods that run at once, autoscaling included. */
  public get maxReplicas(): number | undefined {
    return this.maxReplicasValue;
  }
}

/** Options of `AppWorkload.rollingDeployment`. */
export interface RollingDeploymentOptions {
  /** Replicas (left out of the manifest while an autoscaler owns the count). */
  readonly replicas: number;
  /** Extra pods a rollout starts before it stops old ones. */
  readonly maxSurge: number;
  /** Time a pod gets to finish its work after SIGTERM. */
  readonly terminationGracePeriodSeconds: number;
  /** Pod volumes besides the shared ones. @default - none */
  readonly volumes?: k8s.Volume[];
  /** Seconds a new pod must be ready before it counts as available. @default - Kubernetes' 0 */
  readonly minReadySeconds?: number;
}
