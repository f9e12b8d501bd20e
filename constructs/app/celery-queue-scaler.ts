import { ApiObject } from 'cdk8s';
import type { ScaledObject, TriggerAuthentication } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { Construct } from 'constructs';
import { ValidationError } from '../../lib/errors';
import { kedaDesiredReplicas, QueueScaling } from '../../lib/keda-scaling';
import { checkDnsLabel, checkInteger } from '../../lib/validate';
import type { RedisDatabase } from '../data/redis-database';
import { Workload } from '../core/workload';

/** How a Celery worker Deployment scales with its queues. */
export interface QueueAutoscaleOptions {
  /** The broker database the worker consumes (`redis.broker`): the trigger reads its lists. */
  readonly broker: RedisDatabase;
  /** Fewest pods (`minReplicaCount`). @default - the worker's replicas */
  readonly minReplicas?: number;
  /** Most pods (`maxReplicaCount`); the capacity planner checks they fit. */
  readonly maxReplicas: number;
  /** Queued tasks per pod KEDA aims for (the trigger's `listLength`). @default - the worker's concurrency */
  readonly tasksPerReplica?: number;
  /** Seconds between KEDA's reads of the queues. @default 30 */
  readonly pollingIntervalSeconds?: number;
  /**
   * The HPA's scale-down stabilization window (the ScaledObject's
   * `advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.stabilizationWindowSeconds`): the HPA
   * removes a pod only when every recommendation of this window allows it. At least the pods'
   * grace period: a queue empties as soon as the workers have taken its tasks, long before they
   * finish them, and a pod should not be removed on that while it can still be draining.
   * @default - the grace period plus 60 s, at least the HPA's own 300
   */
  readonly scaleDownStabilizationSeconds?: number;
  /** Namespace the KEDA operator runs in; Redis lets it in. @default "keda" */
  readonly kedaNamespace?: string;
  /** Labels of the KEDA operator's pods (KEDA's Helm chart). @default {"app": "keda-operator"} */
  readonly kedaOperatorLabels?: Readonly<Record<string, string>>;
}

/** Props of `CeleryQueueScaler`. */
export interface CeleryQueueScalerProps extends QueueAutoscaleOptions {
  /** The Deployment's workload. */
  readonly worker: Workload;
  /** The queues its pods consume; one trigger each. */
  readonly queues: readonly string[];
  /** The pods' `terminationGracePeriodSeconds`. */
  readonly terminationGracePeriodSeconds: number;
  /** Fewest pods when `minReplicas` is left out. */
  readonly defaultMinReplicas: number;
  /** `listLength` when `tasksPerReplica` is left out. */
  readonly defaultTasksPerReplica: number;
}

/**
 * A KEDA ScaledObject that scales a Celery worker Deployment on the length of its queues (one
 * `redis` trigger per queue: Celery's Redis transport keeps a queue's tasks in a list named after
 * the queue, in the broker's database), with a TriggerAuthentication that reads the Redis password
 * from its Secret. KEDA creates and owns the HPA; nothing else may scale the Deployment.
 * Tasks sent with a priority of 3 or more sit in kombu's priority lists ("<queue>\x06\x16<step>"),
 * which the trigger does not count: the seed separates priorities by queue instead.
 * Both objects are validated against KEDA's CRD schemas (@kubernetes-models/keda).
 */
export class CeleryQueueScaler extends Construct {
  public readonly scaledObject: ApiObject;
  public readonly triggerAuthentication: ApiObject;
  /** Bounds and target, for `expectedReplicas`. */
  public readonly scaling: QueueScaling;
  /** The HPA's scale-down stabilization window, seconds. */
  public readonly scaleDownStabilizationSeconds: number;
  public readonly pollingIntervalSeconds: number;

  constructor(scope: Construct, id: string, props: CeleryQueueScalerProps) {
    super(scope, id);
    const path = this.node.path;
    const w = props.worker;
    const broker = props.broker;
    if (!broker.broker) throw new ValidationError(path, 'autoscaleOnQueue.broker', `database ${broker.connection.db} (${broker.envVar})`, 'the Celery broker database (redis.broker)');
    const minReplicas = checkInteger(path, 'autoscaleOnQueue.minReplicas', props.minReplicas ?? props.defaultMinReplicas, 1, 1000);
    const maxReplicas = checkInteger(path, 'autoscaleOnQueue.maxReplicas', props.maxReplicas, 1, 1000);
    if (minReplicas > maxReplicas) {
      throw new ValidationError(path, 'autoscaleOnQueue.minReplicas', minReplicas, `at most maxReplicas (${maxReplicas})`);
    }
    const listLength = checkInteger(path, 'autoscaleOnQueue.tasksPerReplica', props.tasksPerReplica ?? props.defaultTasksPerReplica, 1, 100000);
    this.pollingIntervalSeconds = checkInteger(path, 'autoscaleOnQueue.pollingIntervalSeconds', props.pollingIntervalSeconds ?? 30, 1, 3600);
    const grace = props.terminationGracePeriodSeconds;
    // KEDA's cooldownPeriod "only applies after a trigger occurs; when scaling to 0" (KEDA docs,
    // ScaledObject specification): from 1 to N the HPA KEDA creates decides, with its own
    // behavior. minReplicas is at least 1 here, so the wait before scaling down is the HPA's
    // stabilization window; Kubernetes accepts 0..3600 s (HPAScalingRules).
    this.scaleDownStabilizationSeconds = checkInteger(path, 'autoscaleOnQueue.scaleDownStabilizationSeconds',
      props.scaleDownStabilizationSeconds ?? Math.min(3600, Math.max(300, grace + 60)), 0, 3600);
    if (this.scaleDownStabilizationSeconds < grace) {
      throw new ValidationError(path, 'autoscaleOnQueue.scaleDownStabilizationSeconds', this.scaleDownStabilizationSeconds,
        `at least the pods' terminationGracePeriodSeconds (${grace}) and at most 3600 (the HPA's limit)`);
    }
    const kedaNamespace = checkDnsLabel(path, 'autoscaleOnQueue.kedaNamespace', props.kedaNamespace ?? 'keda');
    this.scaling = { minReplicas, maxReplicas, listLength };

    // KEDA's operator connects from its own namespace: a Service name alone would resolve there.
    const c = broker.connection;
    const server = broker.redis;
    const address = server instanceof Workload ? `${c.host}.${server.namespace}.svc:${c.port}` : `${c.host}:${c.port}`;
    if (server instanceof Workload) {
      server.allowIngressFrom({
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': kedaNamespace } },
        podSelector: { matchLabels: { ...(props.kedaOperatorLabels ?? { app: 'keda-operator' }) } },
      }, [c.port]);
    }

    // The two models' own modules: the group's index also loads ScaledJob's 200 kB validator.
    /* eslint-disable @typescript-eslint/no-require-imports */
    const models = {
      ...require('@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject') as { ScaledObject: typeof ScaledObject },
      ...require('@kubernetes-models/keda/keda.sh/v1alpha1/TriggerAuthentication') as { TriggerAuthentication: typeof TriggerAuthentication },
    };
    /* eslint-enable @typescript-eslint/no-require-imports */
    const authName = `${w.name}-redis`;
    // keda.sh/docs/2.10/scalers/redis-lists, "Authentication Parameters": `password` from a Secret.
    const auth = new models.TriggerAuthentication({
      metadata: { name: authName, labels: w.labels },
      spec: { secretTargetRef: [{ parameter: 'password', name: c.passwordSecret.secretName, key: c.passwordSecret.key }] },
    });
    const scaled = new models.ScaledObject({
      metadata: { name: w.name, labels: w.labels },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: w.name },
        minReplicaCount: minReplicas,
        maxReplicaCount: maxReplicas,
        pollingInterval: this.pollingIntervalSeconds,
        advanced: { horizontalPodAutoscalerConfig: { behavior: { scaleDown: { stabilizationWindowSeconds: this.scaleDownStabilizationSeconds } } } },
        triggers: props.queues.map(queue => ({
          type: 'redis',
          name: `queue-${queue.toLowerCase().replace(/[^a-z0-9-]/g, '-')}`,
          metricType: 'AverageValue',
          authenticationRef: { name: authName },
          metadata: { address, databaseIndex: String(c.db), listName: queue, listLength: String(listLength), enableTLS: 'false' },
        })),
      },
    });
    this.triggerAuthentication = this.emit('TriggerAuthentication', auth);
    this.scaledObject = this.emit('ScaledObject', scaled);
  }

  /** The replicas KEDA settles on for these queue lengths (lib/keda-scaling.ts). */
  public expectedReplicas(queueLengths: readonly number[]): number {
    return kedaDesiredReplicas(this.scaling, queueLengths);
  }

  private emit(id: string, model: ScaledObject | TriggerAuthentication): ApiObject {
    try {
      model.validate();
    } catch (e) {
      throw new ValidationError(this.node.path, `${model.kind} ${model.metadata?.name}`, (e as Error).message, 'an object valid against the KEDA CRD schema');
    }
    const { apiVersion, kind, metadata, spec } = model.toJSON() as unknown as { apiVersion: string; kind: string; metadata: Record<string, unknown>; spec: unknown };
    return new ApiObject(this, id, { apiVersion, kind, metadata, spec });
  }
}
