import { ValidationError } from './errors';

/**
 * What KEDA does with a ScaledObject of `redis` (list length) triggers, modelled from its docs
 * because no KEDA runs here.
 *
 * - keda.sh/docs/2.10/scalers/redis-lists: the trigger reads LLEN of `listName` in database
 *   `databaseIndex`; `listLength` is the "average target value to trigger scaling actions".
 * - keda.sh/docs/2.10/concepts/scaling-deployments: KEDA feeds the value to the HPA it creates
 *   (`keda-hpa-<name>`) as an external metric of type AverageValue (the trigger's default
 *   `metricType`), bounded by `minReplicaCount` and `maxReplicaCount`.
 * - kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale ("Algorithm details"):
 *   desiredReplicas = ceil(currentReplicas × currentMetricValue / desiredMetricValue); for an
 *   AverageValue metric the current value is the total over currentReplicas, so this is
 *   ceil(total / target): ceil(queue length / listLength). With several metrics the HPA takes
 *   the largest proposal (a maximum, not a sum).
 *
 * Left out: the HPA's 10 % tolerance around the current count and its scale-down stabilization
 * window (which delay a change, not where it settles), and KEDA's activation (it applies between 0
 * and 1 replica, and the minimum here is at least 1).
 */

/** The bounds and target of one ScaledObject. */
export interface QueueScaling {
  /** `minReplicaCount`. */
  readonly minReplicas: number;
  /** `maxReplicaCount`. */
  readonly maxReplicas: number;
  /** The trigger's `listLength`: queued tasks per replica. */
  readonly listLength: number;
}

/**
 * The replicas KEDA's HPA settles on for the given queue lengths (one trigger per queue):
 * max over queues of ceil(length / listLength), bounded by min and max.
 */
export function kedaDesiredReplicas(scaling: QueueScaling, queueLengths: readonly number[]): number {
  for (const n of queueLengths) {
    if (!Number.isInteger(n) || n < 0) throw new ValidationError('QueueScaling', 'queueLength', n, 'an integer >= 0');
  }
  const proposals = queueLengths.map(n => Math.ceil(n / scaling.listLength));
  return Math.min(scaling.maxReplicas, Math.max(scaling.minReplicas, ...proposals));
}
