import { k8s } from '../core/k8s';
import { Construct } from 'constructs';
import { ValidationError } from '../../lib/errors';
import { WorkloadSizing } from '../../lib/sizing';
import {
  CELERY_SETTINGS_MODULE, celeryWorkerSettings, CeleryWorkerSettings, checkCeleryQueueName, checkShutdownGracePeriod, DEFAULT_TASK_TIME_LIMIT,
  renderCelerySettingsModule,
} from '../../lib/celery-settings';
import { celeryConcurrency } from '../../lib/tuning';
import { checkInteger, checkReplicas } from '../../lib/validate';
import { AppWorkload, AppWorkloadProps } from './app-workload';
import { CeleryQueueScaler, QueueAutoscaleOptions } from './celery-queue-scaler';
import { AutoscaleOptions } from '../core/autoscaler';
import { execProbe, plainEnv } from '../core/pod-spec';
import { childPath } from '../core/workload';

/** The queues of seed 000 §2.5 (`-Q default,high_priority,low_priority`). */
export const CELERY_QUEUES = ['default', 'high_priority', 'low_priority'] as const;

/** Props of `CeleryWorker`. */
export interface CeleryWorkerProps extends AppWorkloadProps {
  /** Object name of the Deployment. @default - "celery-" and the queue, or "celery-worker" for several queues */
  readonly name?: string;
  /** Queues this worker consumes. @default - all three seed queues */
  readonly queues?: readonly string[];
  /** Pods. @default 1 */
  readonly replicas?: number;
  /** Prefork child processes per pod. @default - two per core of the CPU limit, bounded by memory */
  readonly concurrency?: number;
  /** Celery application module (`celery -A`). @default "quality_billing" */
  readonly celeryApp?: string;
  /**
   * The longest a task may run (Celery's `task_time_limit`, hard: the child is killed after it).
   * The grace period, the visibility timeout and the autoscaler's scale-down window follow from it.
   * @default 540 (the seed names no limit; this keeps the chart's earlier 600 s grace period)
   */
  readonly taskTimeLimitSeconds?: number;
  /**
   * Seconds a pod gets after SIGTERM: Celery's warm shutdown stops taking tasks and finishes the
   * running ones, so this must be at least the task time limit plus 30 s.
   * @default - the task time limit plus 60 s
   */
  readonly shutdownGracePeriodSeconds?: number;
  /**
   * Seconds before kombu's Redis transport delivers an unacknowledged task again; must exceed
   * twice the task time limit (a reserved task waits for a busy child, then runs).
   * @default - kombu's 3600, or twice the time limit plus 30 s when that is longer
   */
  readonly visibilityTimeoutSeconds?: number;
  /** SQLAlchemy pool per child process (DATABASE_POOL_SIZE); a task holds one session at a time. @default 2 */
  readonly databasePoolSize?: number;
  /** Children are replaced after this many tasks, which bounds a leaking task's memory. @default 1000 */
  readonly maxTasksPerChild?: number;
}

/**
 * Celery workers for one or more queues. SIGTERM triggers Celery's warm shutdown and the grace
 * period lets running tasks finish; the generated settings module (a ConfigMap, read through
 * CELERY_CONFIG_MODULE) acknowledges tasks late, requeues a task whose process was killed and
 * keeps the visibility timeout above the longest task (lib/celery-settings.ts). Liveness asks the
 * worker itself (`celery inspect ping`), readiness asks whether it consumes its queues
 * (`celery inspect active_queues`). Scales on CPU (`autoscale`) or on its queues' length
 * (`autoscaleOnQueue`, a KEDA ScaledObject), never both.
 */
export class CeleryWorker extends AppWorkload {
  public readonly deployment: k8s.KubeDeployment;
  public readonly podDisruptionBudget?: k8s.KubePodDisruptionBudget;
  public readonly queues: readonly string[];
  public readonly replicas: number;
  public readonly concurrency: number;
  public readonly databasePoolSize: number;
  public readonly maxSurge = 1;
  /** The settings the worker runs with (time limit, visibility timeout, prefetch). */
  public readonly workerSettings: CeleryWorkerSettings;
  /** The Python module of those settings, as mounted at `/etc/celery/celery_worker_settings.py`. */
  public readonly settingsModule: string;
  public readonly settingsConfigMap: k8s.KubeConfigMap;
  public readonly terminationGracePeriodSeconds: number;
  /** Set by `autoscaleOnQueue`. */
  public queueScaler?: CeleryQueueScaler;
  private cpuAutoscaled = false;

  constructor(scope: Construct, id: string, props: CeleryWorkerProps = {}) {
    const queues = props.queues ?? CELERY_QUEUES;
    // Checked before the name derived from them is.
    if (queues.length === 0 || new Set(queues).size !== queues.length) {
      throw new ValidationError(childPath(scope, id), 'queues', queues, 'one or more distinct queue names');
    }
    queues.forEach((q, i) => checkCeleryQueueName(childPath(scope, id), `queues[${i}]`, q));
    const defaultName = queues.length === 1 ? `celery-${queues[0].replace(/_/g, '-')}` : 'celery-worker';
    super(scope, id, { name: props.name ?? defaultName, component: 'worker' }, 'celeryWorker', props);
    const path = this.node.path;
    this.queues = queues;
    this.replicas = checkReplicas(path, 'replicas', props.replicas ?? 1);
    this.concurrency = props.concurrency !== undefined
      ? checkInteger(path, 'concurrency', props.concurrency, 1, 256)
      : celeryConcurrency(this.resources.cpuLimit, this.resources.memoryLimit);
    this.databasePoolSize = this.checkPoolSize(props.databasePoolSize ?? 2);
    this.workerSettings = celeryWorkerSettings(path, { taskTimeLimitSeconds: props.taskTimeLimitSeconds ?? DEFAULT_TASK_TIME_LIMIT, visibilityTimeoutSeconds: props.visibilityTimeoutSeconds });
    const grace = checkShutdownGracePeriod(path, props.shutdownGracePeriodSeconds, this.workerSettings.taskTimeLimitSeconds);
    this.terminationGracePeriodSeconds = grace;
    this.settingsModule = renderCelerySettingsModule(this.workerSettings);
    this.settingsConfigMap = new k8s.KubeConfigMap(this, 'Settings', {
      metadata: { name: `${this.name}-settings`, labels: this.labels },
      data: { [`${CELERY_SETTINGS_MODULE}.py`]: this.settingsModule },
    });
    const maxTasksPerChild = checkInteger(path, 'maxTasksPerChild', props.maxTasksPerChild ?? 1000, 1);
    const celeryApp = props.celeryApp ?? 'quality_billing';
    this.addEnv(plainEnv('DATABASE_POOL_SIZE', this.databasePoolSize), plainEnv('DATABASE_MAX_OVERFLOW', 0));
    // Celery's loader imports CELERY_CONFIG_MODULE when the app sets no configuration source of
    // its own; the probes' `celery inspect` runs read the same module from the same environment.
    this.addEnv(plainEnv('CELERY_CONFIG_MODULE', CELERY_SETTINGS_MODULE), plainEnv('PYTHONPATH', SETTINGS_DIR));

    // `celery@$HOSTNAME` is the worker's default node name; the shell expands HOSTNAME in the pod.
    const inspect = (cmd: string, timeout: number) => ['sh', '-c', `exec celery -A ${celeryApp} inspect ${cmd} --destination "celery@$HOSTNAME" --timeout ${timeout}`];
    const main = this.appContainer({
      name: 'worker',
      command: ['celery', '-A', celeryApp, 'worker', '--loglevel', this.logLevel, '--queues', queues.join(','),
        '--concurrency', String(this.concurrency), '--max-tasks-per-child', String(maxTasksPerChild), '-O', 'fair', '--without-gossip'],
      livenessProbe: execProbe(inspect('ping', 10), { initialDelaySeconds: 60, periodSeconds: 60, timeoutSeconds: 30, failureThreshold: 3 }),
      readinessProbe: execProbe(inspect('active_queues', 10), { initialDelaySeconds: 20, periodSeconds: 30, timeoutSeconds: 30, failureThreshold: 3 }),
      volumeMounts: [{ name: 'celery-settings', mountPath: SETTINGS_DIR, readOnly: true }],
    });

    const { deployment, podDisruptionBudget } = this.rollingDeployment(main, {
      replicas: this.replicas, maxSurge: this.maxSurge, terminationGracePeriodSeconds: grace,
      volumes: [{ name: 'celery-settings', configMap: { name: this.settingsConfigMap.name } }],
    });
    this.deployment = deployment;
    this.podDisruptionBudget = podDisruptionBudget;
  }

  /** Pods during a rollout x prefork children x pool size. */
  public maxDatabaseConnections(): number {
    return ((this.maxReplicas ?? this.replicas) + this.maxSurge) * this.concurrency * this.databasePoolSize;
  }

  public describeDatabaseConnections(): string {
    return `${this.name} (${this.maxReplicas ?? this.replicas}+${this.maxSurge} surge) pods x${this.concurrency} children x${this.databasePoolSize} pool`;
  }

  /** Scales this Deployment on CPU (seed 003: < 70 %) from its replicas up to `o.maxReplicas`. */
  public autoscale(o: AutoscaleOptions): this {
    if (this.queueScaler) throw this.twoAutoscalers('autoscale', 'a CPU HorizontalPodAutoscaler');
    this.attachAutoscaler(this.replicas, o);
    this.cpuAutoscaled = true;
    return this;
  }

  /**
   * Scales this Deployment on the length of its queues with a KEDA ScaledObject, from
   * `o.minReplicas` (default: its replicas) to `o.maxReplicas`. KEDA owns the HPA it creates, so
   * the Deployment must have no other one (`autoscale`).
   */
  public autoscaleOnQueue(o: QueueAutoscaleOptions): this {
    if (this.cpuAutoscaled) throw this.twoAutoscalers('autoscaleOnQueue', 'a KEDA ScaledObject');
    if (this.queueScaler) throw new ValidationError(this.node.path, 'autoscaleOnQueue', o.maxReplicas, 'one ScaledObject per worker');
    this.queueScaler = new CeleryQueueScaler(this, 'QueueScaler', {
      ...o, worker: this, queues: this.queues, terminationGracePeriodSeconds: this.terminationGracePeriodSeconds,
      defaultMinReplicas: this.replicas, defaultTasksPerReplica: this.concurrency,
    });
    this.ownReplicaCount(this.queueScaler.scaling.maxReplicas);
    return this;
  }

  private twoAutoscalers(field: string, adding: string): ValidationError {
    return new ValidationError(this.node.path, field, adding,
      'one autoscaler per worker: a KEDA ScaledObject creates and owns the Deployment\'s HPA, and a second HPA on the same Deployment would fight it (choose autoscaling "cpu" or "queue")');
  }

  public sizings(): WorkloadSizing[] {
    return [this.podSizing('Deployment', this.queueScaler?.scaling.minReplicas ?? this.replicas)];
  }
}

/** Where the settings module is mounted (and put on PYTHONPATH). */
const SETTINGS_DIR = '/etc/celery';
