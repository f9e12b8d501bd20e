import { k8s } from '../core/k8s';
import { Construct } from 'constructs';
import { ValidationError } from '../../lib/errors';
import { WorkloadSizing } from '../../lib/sizing';
import { celeryConcurrency } from '../../lib/tuning';
import { checkInteger, checkReplicas } from '../../lib/validate';
import { AppWorkload, AppWorkloadProps } from './app-workload';
import { AutoscaleOptions } from '../core/autoscaler';
import { execProbe, plainEnv } from '../core/pod-spec';

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
   * Seconds a pod gets after SIGTERM: Celery's warm shutdown stops taking tasks and finishes the
   * running ones, so this must exceed the longest task. @default 600
   */
  readonly shutdownGracePeriodSeconds?: number;
  /** SQLAlchemy pool per child process (DATABASE_POOL_SIZE); a task holds one session at a time. @default 2 */
  readonly databasePoolSize?: number;
  /** Children are replaced after this many tasks, which bounds a leaking task's memory. @default 1000 */
  readonly maxTasksPerChild?: number;
}

/**
 * Celery workers for one or more queues. SIGTERM triggers Celery's warm shutdown and the grace
 * period lets running tasks finish. Liveness asks the worker itself (`celery inspect ping`),
 * readiness asks whether it consumes its queues (`celery inspect active_queues`).
 */
export class CeleryWorker extends AppWorkload {
  public readonly deployment: k8s.KubeDeployment;
  public readonly podDisruptionBudget?: k8s.KubePodDisruptionBudget;
  public readonly queues: readonly string[];
  public readonly replicas: number;
  public readonly concurrency: number;
  public readonly databasePoolSize: number;
  public readonly maxSurge = 1;

  constructor(scope: Construct, id: string, props: CeleryWorkerProps = {}) {
    const queues = props.queues ?? CELERY_QUEUES;
    const defaultName = queues.length === 1 ? `celery-${queues[0].replace(/_/g, '-')}` : 'celery-worker';
    super(scope, id, { name: props.name ?? defaultName, component: 'worker' }, 'celeryWorker', props);
    const path = this.node.path;
    if (queues.length === 0 || queues.some(q => !/^[A-Za-z0-9_.-]+$/.test(q)) || new Set(queues).size !== queues.length) {
      throw new ValidationError(path, 'queues', queues, 'one or more distinct queue names of letters, digits, "_", "." or "-"');
    }
    this.queues = queues;
    this.replicas = checkReplicas(path, 'replicas', props.replicas ?? 1);
    this.concurrency = props.concurrency !== undefined
      ? checkInteger(path, 'concurrency', props.concurrency, 1, 256)
      : celeryConcurrency(this.resources.cpuLimit, this.resources.memoryLimit);
    this.databasePoolSize = this.checkPoolSize(props.databasePoolSize ?? 2);
    const grace = checkInteger(path, 'shutdownGracePeriodSeconds', props.shutdownGracePeriodSeconds ?? 600, 30, 86400);
    const maxTasksPerChild = checkInteger(path, 'maxTasksPerChild', props.maxTasksPerChild ?? 1000, 1);
    const celeryApp = props.celeryApp ?? 'quality_billing';
    this.addEnv(plainEnv('DATABASE_POOL_SIZE', this.databasePoolSize), plainEnv('DATABASE_MAX_OVERFLOW', 0));

    // `celery@$HOSTNAME` is the worker's default node name; the shell expands HOSTNAME in the pod.
    const inspect = (cmd: string, timeout: number) => ['sh', '-c', `exec celery -A ${celeryApp} inspect ${cmd} --destination "celery@$HOSTNAME" --timeout ${timeout}`];
    const main = this.appContainer({
      name: 'worker',
      command: ['celery', '-A', celeryApp, 'worker', '--loglevel', this.logLevel, '--queues', queues.join(','),
        '--concurrency', String(this.concurrency), '--max-tasks-per-child', String(maxTasksPerChild), '-O', 'fair', '--without-gossip'],
      livenessProbe: execProbe(inspect('ping', 10), { initialDelaySeconds: 60, periodSeconds: 60, timeoutSeconds: 30, failureThreshold: 3 }),
      readinessProbe: execProbe(inspect('active_queues', 10), { initialDelaySeconds: 20, periodSeconds: 30, timeoutSeconds: 30, failureThreshold: 3 }),
    });

    const { deployment, podDisruptionBudget } = this.rollingDeployment(main, { replicas: this.replicas, maxSurge: this.maxSurge, terminationGracePeriodSeconds: grace });
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
    this.attachAutoscaler(this.replicas, o);
    return this;
  }

  public sizings(): WorkloadSizing[] {
    return [this.podSizing('Deployment', this.replicas)];
  }
}
