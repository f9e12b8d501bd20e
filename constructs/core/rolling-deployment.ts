import { k8s } from './k8s';
import { topologySpread } from './pod-spec';
import { Workload } from './workload';
import { lazy } from './lazy';

/** The objects of a rolling Deployment. */
export interface RollingDeployment {
  readonly deployment: k8s.KubeDeployment;
  readonly podDisruptionBudget?: k8s.KubePodDisruptionBudget;
}

/** Options of `rollingDeployment`. */
export interface RollingDeploymentSpec {
  /** Replicas (left out while an autoscaler owns the count). */
  readonly replicas: number;
  /** Extra pods a rollout starts before it stops old ones. */
  readonly maxSurge: number;
  /** The pod spec, rendered late so that later changes (connections, waits) count. */
  readonly podSpec: () => k8s.PodSpec;
  /** Seconds a new pod must be ready before it counts as available. @default - Kubernetes' 0 */
  readonly minReadySeconds?: number;
  /** True once an autoscaler owns the replica count: `replicas` is then left out, so an apply never resets its scale. @default - never */
  readonly autoscaled?: () => boolean;
  /** Pod template annotations, rendered late (e.g. a config checksum). @default - none */
  readonly podAnnotations?: () => Record<string, string>;
}

/**
 * A Deployment that rolls out `maxSurge` extra pods at a time and never drops below `replicas`
 * (maxUnavailable 0: zero downtime, seed 004), spread across nodes, with a PodDisruptionBudget
 * of one pod when replicated.
 */
export function rollingDeployment(w: Workload, o: RollingDeploymentSpec): RollingDeployment {
  const deployment = new k8s.KubeDeployment(w, 'Deployment', {
    metadata: { name: w.name, labels: w.labels },
    spec: {
      replicas: lazy(() => (o.autoscaled?.() ? undefined : o.replicas)),
      revisionHistoryLimit: 10,
      minReadySeconds: o.minReadySeconds,
      progressDeadlineSeconds: 900,
      selector: { matchLabels: w.selector },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: k8s.IntOrString.fromNumber(o.maxSurge), maxUnavailable: k8s.IntOrString.fromNumber(0) } },
      template: {
        metadata: { labels: w.labels, annotations: o.podAnnotations ? lazy(o.podAnnotations) : undefined },
        spec: lazy((): k8s.PodSpec => ({ ...o.podSpec(), topologySpreadConstraints: o.replicas > 1 ? topologySpread(w.selector) : undefined })),
      },
    },
  });
  const podDisruptionBudget = o.replicas > 1
    ? new k8s.KubePodDisruptionBudget(w, 'PodDisruptionBudget', {
      metadata: { name: w.name, labels: w.labels },
      spec: { maxUnavailable: k8s.IntOrString.fromNumber(1), selector: { matchLabels: w.selector } },
    })
    : undefined;
  return { deployment, podDisruptionBudget };
}

/** A PodDisruptionBudget letting one pod of `w` be down at a time (for a set that keeps a majority). */
export function podDisruptionBudgetOfOne(w: Workload): k8s.KubePodDisruptionBudget {
  return new k8s.KubePodDisruptionBudget(w, 'PodDisruptionBudget', {
    metadata: { name: w.name, labels: w.labels },
    spec: { maxUnavailable: k8s.IntOrString.fromNumber(1), selector: { matchLabels: w.selector } },
  });
}
