import { k8s } from './k8s';
import { ValidationError } from '../../lib/errors';
import { checkInteger } from '../../lib/validate';
import { Workload } from './workload';

/** How a Deployment scales with CPU. */
export interface AutoscaleOptions {
  /** The most pods; the capacity planner checks they still fit the tier. */
  readonly maxReplicas: number;
  /** Average CPU use, as a percentage of requests, the autoscaler holds (seed 003 SLO: CPU < 70 %). @default 70 */
  readonly targetCpuUtilization?: number;
  /** Seconds of lower load before pods are removed, so a dip does not drop capacity. @default 300 */
  readonly scaleDownStabilizationSeconds?: number;
}

/**
 * A HorizontalPodAutoscaler (autoscaling/v2) for a workload's Deployment: from `minReplicas` to
 * `maxReplicas` on CPU, scaling up at once and down by at most one pod a minute after the
 * stabilization window. Needs metrics-server in the cluster.
 */
export function attachAutoscaler(w: Workload, minReplicas: number, o: AutoscaleOptions): k8s.KubeHorizontalPodAutoscalerV2 {
  const path = w.node.path;
  const max = checkInteger(path, 'autoscale.maxReplicas', o.maxReplicas, 1, 1000);
  if (max < minReplicas) throw new ValidationError(path, 'autoscale.maxReplicas', max, `at least the ${minReplicas} replicas it starts with`);
  const target = checkInteger(path, 'autoscale.targetCpuUtilization', o.targetCpuUtilization ?? 70, 10, 100);
  const window = checkInteger(path, 'autoscale.scaleDownStabilizationSeconds', o.scaleDownStabilizationSeconds ?? 300, 0, 3600);
  return new k8s.KubeHorizontalPodAutoscalerV2(w, 'Autoscaler', {
    metadata: { name: w.name, labels: w.labels },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: w.name },
      minReplicas,
      maxReplicas: max,
      metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: target } } }],
      behavior: {
        scaleUp: { stabilizationWindowSeconds: 0, policies: [{ type: 'Pods', value: 2, periodSeconds: 60 }] },
        scaleDown: { stabilizationWindowSeconds: window, policies: [{ type: 'Pods', value: 1, periodSeconds: 60 }] },
      },
    },
  });
}
