import { k8s } from './k8s';
import { ImageRef } from '../../lib/images';
import { restrictedSecurityContext } from '../../lib/security';
import { ResourceSpec } from '../../lib/sizing';
import { SecretKeyRef } from '../../lib/secrets';

/**
 * Shared pieces of pod templates. Every container of this library is built through
 * `restrictedContainer`, so the restricted profile, requests/limits and pinned images are
 * applied in one place (DESIGN.md §6).
 */

/** Kubernetes resource requirements from a ResourceSpec. */
export function resourceRequirements(spec: ResourceSpec): k8s.ResourceRequirements {
  return {
    requests: { cpu: k8s.Quantity.fromString(spec.cpuRequest.toString()), memory: k8s.Quantity.fromString(spec.memoryRequest.toString()) },
    limits: { cpu: k8s.Quantity.fromString(spec.cpuLimit.toString()), memory: k8s.Quantity.fromString(spec.memoryLimit.toString()) },
  };
}

/** The restricted container security context for `uid`. */
export function containerSecurityContext(uid: number, readOnlyRootFilesystem = true): k8s.SecurityContext {
  const r = restrictedSecurityContext(uid, { readOnlyRootFilesystem });
  return {
    runAsNonRoot: r.runAsNonRoot,
    runAsUser: r.runAsUser,
    runAsGroup: r.runAsGroup,
    allowPrivilegeEscalation: r.allowPrivilegeEscalation,
    privileged: r.privileged,
    readOnlyRootFilesystem: r.readOnlyRootFilesystem,
    capabilities: { drop: [...r.capabilitiesDrop] },
    seccompProfile: { type: r.seccompProfile },
  };
}

/** The restricted pod security context; `fsGroup` makes mounted volumes writable by the pod's user. */
export function podSecurityContext(uid: number): k8s.PodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: uid,
    fsGroup: uid,
    fsGroupChangePolicy: 'OnRootMismatch',
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** What a container of this library is made of. */
export interface ContainerOptions {
  /** Container name. */
  readonly name: string;
  /** Pinned image. */
  readonly image: ImageRef;
  /** Requests and limits. */
  readonly resources: ResourceSpec;
  /** User (and group) the container runs as. */
  readonly uid: number;
  /** Entrypoint override. @default - the image's */
  readonly command?: string[];
  /** Arguments. @default - the image's */
  readonly args?: string[];
  /** Environment. @default - none */
  readonly env?: k8s.EnvVar[];
  /** Named container ports. @default - none */
  readonly ports?: k8s.ContainerPort[];
  /** Volume mounts. @default - none */
  readonly volumeMounts?: k8s.VolumeMount[];
  /** Liveness probe. @default - none */
  readonly livenessProbe?: k8s.Probe;
  /** Readiness probe. @default - none */
  readonly readinessProbe?: k8s.Probe;
  /** Startup probe. @default - none */
  readonly startupProbe?: k8s.Probe;
  /** Lifecycle hooks (preStop). @default - none */
  readonly lifecycle?: k8s.Lifecycle;
  /** Some images write to their root filesystem; they say so here. @default false */
  readonly writableRootFilesystem?: boolean;
}

/** A container with the restricted security context, explicit resources and a pinned image. */
export function restrictedContainer(o: ContainerOptions): k8s.Container {
  return {
    name: o.name,
    image: o.image.toString(),
    // A pinned tag or digest never changes, so the node's cached copy is the right one.
    imagePullPolicy: 'IfNotPresent',
    command: o.command,
    args: o.args,
    env: o.env,
    ports: o.ports,
    volumeMounts: o.volumeMounts,
    resources: resourceRequirements(o.resources),
    securityContext: containerSecurityContext(o.uid, !o.writableRootFilesystem),
    livenessProbe: o.livenessProbe,
    readinessProbe: o.readinessProbe,
    startupProbe: o.startupProbe,
    lifecycle: o.lifecycle,
    terminationMessagePolicy: 'FallbackToLogsOnError',
  };
}

/** An environment variable read from a Secret key. */
export function secretEnv(name: string, ref: SecretKeyRef): k8s.EnvVar {
  return { name, valueFrom: { secretKeyRef: { name: ref.secretName, key: ref.key } } };
}

/** A plain environment variable. */
export function plainEnv(name: string, value: string | number | boolean): k8s.EnvVar {
  return { name, value: String(value) };
}

/** An emptyDir volume with a size limit, so a runaway writer is evicted before it fills the node. */
export function emptyDir(name: string, sizeLimit: string, medium?: 'Memory'): k8s.Volume {
  return { name, emptyDir: { sizeLimit: k8s.Quantity.fromString(sizeLimit), medium } };
}

/** An exec probe. */
export function execProbe(command: string[], o: { initialDelaySeconds?: number; periodSeconds: number; timeoutSeconds: number; failureThreshold: number }): k8s.Probe {
  return { exec: { command }, ...o };
}

/** Topology spread for replicated workloads: at most one replica more on any node, preferably across zones. */
export function topologySpread(selector: Record<string, string>): k8s.TopologySpreadConstraint[] {
  return [
    {
      maxSkew: 1,
      topologyKey: 'kubernetes.io/hostname',
      whenUnsatisfiable: 'DoNotSchedule',
      // Honor: a tainted (unreachable) node does not count as an empty domain, so the pods of a
      // lost node can be rescheduled onto the survivors (otherwise skew blocks them).
      nodeTaintsPolicy: 'Honor',
      labelSelector: { matchLabels: selector },
    },
    {
      maxSkew: 1,
      topologyKey: 'topology.kubernetes.io/zone',
      whenUnsatisfiable: 'ScheduleAnyway',
      labelSelector: { matchLabels: selector },
    },
  ];
}

/** What differs between the library's CronJobs. */
export interface ScheduledJobOptions {
  /** A checked cron schedule. */
  readonly schedule: string;
  /** IANA time zone of the schedule. */
  readonly timeZone: string;
  /** Retries of a failed run. */
  readonly backoffLimit: number;
  /** Deadline of one run, in seconds. */
  readonly activeDeadlineSeconds: number;
  /** The pod each run starts. */
  readonly template: k8s.PodTemplateSpec;
  /** Seconds after which a finished run's Job and pod are deleted. @default - kept until the history limits remove them */
  readonly ttlSecondsAfterFinished?: number;
}

/**
 * The CronJob spec every scheduled job here shares: never two runs at once; a run missed by
 * more than an hour (cluster down at 02:00) is skipped, not started at noon; failed Jobs are
 * kept, so kube-state-metrics reports them and their logs can be read.
 */
export function scheduledJobSpec(o: ScheduledJobOptions): k8s.CronJobSpec {
  return {
    schedule: o.schedule,
    timeZone: o.timeZone,
    concurrencyPolicy: 'Forbid',
    startingDeadlineSeconds: 3600,
    successfulJobsHistoryLimit: 3,
    failedJobsHistoryLimit: 3,
    jobTemplate: { spec: { backoffLimit: o.backoffLimit, activeDeadlineSeconds: o.activeDeadlineSeconds, ttlSecondsAfterFinished: o.ttlSecondsAfterFinished, template: o.template } },
  };
}

/**
 * The pod spec of a run-to-completion pod (a Job's or CronJob's): never restarted in place (the
 * Job's backoff retries it), no service-account token, no service links, non-root as `uid`.
 */
export function runOncePodSpec(uid: number, spec: Omit<k8s.PodSpec, 'restartPolicy' | 'securityContext'>): k8s.PodSpec {
  return {
    restartPolicy: 'Never',
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    securityContext: podSecurityContext(uid),
    ...spec,
  };
}

/** Required anti-affinity on the node: no two pods of `selector` on one node. */
export function onePerNode(selector: Record<string, string>): k8s.Affinity {
  return { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: selector } }] } };
}
