/**
 * The rules the delivery rehearsal plays by: the await conditions and default timeouts of
 * @pulumi/kubernetes 4.x as its own docs state them, the Kubernetes limits that apply, and the
 * durations we assume where no document fixes one. Every figure the rehearsal prints follows from
 * these constants and the synthesized objects; change an assumption here and the estimate moves.
 */

/** Seconds. */
export type Seconds = number;

/* ---------------------------------------------------------------------------------------------
 * @pulumi/kubernetes 4.x await rules (node_modules/@pulumi/kubernetes, the class comments).
 * ------------------------------------------------------------------------------------------- */

/** How the provider decides that a created object is ready, per kind, and how long it waits. */
export interface AwaitRule {
  /** The doc sentence(s) the rule encodes. */
  readonly source: string;
  /** What is awaited, in the words the rehearsal's chains use. */
  readonly awaits: string;
  /** The provider's default timeout. */
  readonly timeout: Seconds;
}

/** Await rules by kind; kinds not listed are ready once created (the provider does not wait for them). */
export const AWAIT_RULES: Readonly<Record<string, AwaitRule>> = {
  // core/v1/service.d.ts: "2. Related Endpoint objects are created. Each time we get an update,
  // wait 10 seconds for any stragglers. 3. There are no "not ready" endpoints -- unless the Service
  // is an "empty headless" Service [1], a Service with '.spec.type: ExternalName', or a Service
  // without a selector. 4. External IP address is allocated (if Service has '.spec.type:
  // LoadBalancer'). If the Service has not reached a Ready state after 10 minutes, it will time out".
  // Which Services skip the endpoints wait is the provider's code, not that text: since 3.30.0
  // (#2475, "Skip wait for Pods on headless Service") provider/pkg/await/service.go reads
  // "if sia.isExternalNameService() || sia.isHeadlessService() || sia.isWithoutSelector() {
  // return false }" in shouldWaitForPods, with isHeadlessService "clusterIP == None" — every
  // headless Service, selector or not; the "empty headless" wording predates #2475.
  // Since 4.17.0 (pulumi-kubernetes #3142, commit 3fb297628e5b; CHANGELOG "Services with selectors
  // targeting 0 Pods will no longer hang indefinitely (#605)") service.go succeeds on "serviceReady &&
  // endpointsSettled && !endpointsPending": the Endpoints unchanged for 10 s (SERVICE_STRAGGLER_WAIT)
  // and no subset listing notReadyAddresses. A Service selecting no pod is ready after the settle
  // wait; it still waits while a selected pod has an IP (placed and started) and is not ready.
  Service: { source: 'core/v1/service.d.ts; pulumi-kubernetes #3142', awaits: 'no not-ready endpoints', timeout: 600 },
  // apps/v1/deployment.d.ts: "2. There exists a ReplicaSet whose revision is equal to the current
  // revision of the Deployment. 3. The Deployment's '.status.conditions' has a status of type
  // 'Available' whose 'status' member is set to 'True'." … "after 10 minutes, it will time out".
  Deployment: { source: 'apps/v1/deployment.d.ts', awaits: 'available replicas of its new ReplicaSet', timeout: 600 },
  // apps/v1/statefulSet.d.ts: "1. The value of 'spec.replicas' matches '.status.replicas',
  // '.status.currentReplicas', and '.status.readyReplicas'. 2. The value of '.status.updateRevision'
  // matches '.status.currentRevision'." … "after 10 minutes, it will time out".
  StatefulSet: { source: 'apps/v1/statefulSet.d.ts', awaits: 'ready replicas at its update revision', timeout: 600 },
  // batch/v1/job.d.ts: "2. The Job's '.status.conditions' has a status of type 'Complete', and a
  // 'status' set to 'True'. 3. … 'Failed', with a 'status' set to 'True'. If this condition is set,
  // we should fail the Job immediately." … "after 10 minutes, it will time out".
  Job: { source: 'batch/v1/job.d.ts', awaits: 'Complete', timeout: 600 },
  // networking/v1/ingress.d.ts: "2. Endpoint objects exist with matching names for each Ingress
  // path (except when Service type is ExternalName). 3. Ingress entry exists for
  // '.status.loadBalancer.ingress'." … "after 10 minutes, it will time out".
  Ingress: { source: 'networking/v1/ingress.d.ts', awaits: 'endpoints and an address', timeout: 600 },
  // The class comment of core/v1/persistentVolumeClaim.d.ts states no await; the provider's await
  // logic waits for Bound, and since pulumi-kubernetes #3130 (4.16) a claim whose StorageClass binds
  // WaitForFirstConsumer is ready once Pending; its timeout is 5 minutes (pulumi-kubernetes #895).
  // The rehearsal takes the await at its worst, Bound (CLAIM_BINDING).
  PersistentVolumeClaim: { source: 'pulumi-kubernetes #3130, #895, #4179', awaits: 'Bound', timeout: 300 },
  // apps/v1/daemonSet.d.ts states no await; pulumi-kubernetes #2953 (4.11) added one: every
  // scheduled pod updated and ready (kstatus), with the workloads' 10-minute default.
  DaemonSet: { source: 'pulumi-kubernetes #2953', awaits: 'ready pods on every node', timeout: 600 },
};

/**
 * An object annotated `pulumi.com/waitFor: condition=Ready` (the ExternalSecrets): since
 * pulumi-kubernetes 4.18 the provider awaits that condition on any kind ("we've given the
 * `pulumi.com/waitFor` annotation a value …": Pulumi's "improved Kubernetes await logic", pulumi/docs
 * #12454; pulumi-kubernetes #3318 names the External Secrets Operator's objects as a use). The
 * operator sets an ExternalSecret's Ready condition True ("SecretSynced") once it has written the
 * target Secret (external-secrets.io, ExternalSecret status conditions). Timeout: assumed the
 * provider's 10-minute default of the other awaited kinds.
 */
export const WAIT_FOR_READY_RULE: AwaitRule = { source: 'pulumi.com/waitFor: condition=Ready (pulumi-kubernetes 4.18+)', awaits: 'condition Ready (its Secret written)', timeout: 600 };

/**
 * Whether the provider skips the object's await: "pulumi.com/skipAwait" set to "true" (pulumi-kubernetes
 * docs, "Resource annotations": the provider does not wait for the resource to become ready).
 */
export function skipsAwait(o: { readonly metadata: { readonly annotations?: Readonly<Record<string, string>> } }): boolean {
  return o.metadata.annotations?.['pulumi.com/skipAwait'] === 'true';
}

/** The await rule the provider applies to an object: none under skipAwait, else its kind's, else the one its `pulumi.com/waitFor` annotation asks for. */
export function awaitRule(o: { readonly kind: string; readonly metadata: { readonly annotations?: Readonly<Record<string, string>> } }): AwaitRule | undefined {
  if (skipsAwait(o)) return undefined;
  return AWAIT_RULES[o.kind] ?? (o.metadata.annotations?.['pulumi.com/waitFor'] === 'condition=Ready' ? WAIT_FOR_READY_RULE : undefined);
}

/** core/v1/service.d.ts: "Each time we get an update, wait 10 seconds for any stragglers." */
export const SERVICE_STRAGGLER_WAIT: Seconds = 10;

/* ---------------------------------------------------------------------------------------------
 * Kubernetes limits (kubernetes.io/docs/concepts/workloads/controllers/job/).
 * ------------------------------------------------------------------------------------------- */

/** "Failed Pods associated with the Job are recreated by the Job controller with an exponential back-off delay (10s, 20s, 40s ...) capped at six minutes." */
export const JOB_BACKOFF_BASE: Seconds = 10;
/** The cap of that back-off. */
export const JOB_BACKOFF_CAP: Seconds = 360;
/**
 * A Job with `spec.suspend: true` (kubernetes.io/docs/concepts/workloads/controllers/job/, "Suspending a
 * Job"): "the Job controller ... will not create Pods" until it is resumed; its condition is
 * Suspended, never Complete. So the provider's await (Complete) times out unless the Job carries
 * `pulumi.com/skipAwait`. A suspended CronJob creates no Jobs (the rehearsal runs no CronJob at all).
 */
export const SUSPENDED_JOB = 'no pods until resumed';
/** Job `backoffLimit` when the spec has none ("The back-off limit is set by default to 6"). */
export const DEFAULT_BACKOFF_LIMIT = 6;

/** The Job controller's delay before retry `failures` (1-based). */
export function jobBackoff(failures: number): Seconds {
  return Math.min(JOB_BACKOFF_BASE * 2 ** (failures - 1), JOB_BACKOFF_CAP);
}

/* ---------------------------------------------------------------------------------------------
 * Assumed durations: no document fixes them; they are what the critical-path estimate adds up.
 * ------------------------------------------------------------------------------------------- */

/** One create or update call of the Pulumi engine or of `kubectl apply`, per object. */
export const API_CALL: Seconds = 1;
/** Between two `kubectl apply --server-side -f dist/<system>/<env>/` runs while objects still fail (a namespace not yet there). */
export const KUBECTL_RETRY_INTERVAL: Seconds = 10;
/** A controller turning a workload into pods, and the scheduler placing one. */
export const CONTROLLER_REACTION: Seconds = 1;
/**
 * How a claim of the chart binds: the storage class binds WaitForFirstConsumer (the default classes
 * of EKS, GKE and AKS do), so the volume is provisioned, and the claim Bound, only once a pod that
 * mounts it is placed. The provider's await is taken at its worst: Bound, as before #3130 (4.16),
 * when it cannot read the StorageClass's bind mode, and on every update until #4181 (#4179) — so
 * a claim the chart creates on its own carries `pulumi.com/skipAwait` (a StatefulSet's
 * volumeClaimTemplates are never awaited: the StatefulSet creates those claims).
 */
export const CLAIM_BINDING = 'WaitForFirstConsumer';
/** Dynamic provisioning of a volume for a claim (WaitForFirstConsumer: starts when the pod is placed). */
export const VOLUME_PROVISIONING: Seconds = 20;
/** Pulling an image (cold node) and starting a container. */
export const CONTAINER_START: Seconds = 15;
/** An init container that does not wait for anything (copying a file, fixing permissions). */
export const INIT_CONTAINER_RUN: Seconds = 5;
/** lib/wait-for-job.ts polls the Job every POLL_SECONDS (default 5). */
export const WAIT_FOR_JOB_POLL: Seconds = 5;
/** A migration Job's run once its database is reachable (`migrate`, then `init_data`). */
export const MIGRATION_JOB_RUN: Seconds = 120;
/** Any other Job's run once its server is reachable (log setup, MinIO bootstrap, replica-set init). */
export const SETUP_JOB_RUN: Seconds = 30;
/** How long a Job's attempt tries to reach a server that is not ready before it exits non-zero. */
export const CONNECT_TIMEOUT: Seconds = 30;
/** A cloud load balancer getting its address after the LoadBalancer Service is created. */
export const LOAD_BALANCER_PROVISIONING: Seconds = 90;
/**
 * The External Secrets Operator writing an ExternalSecret's target Secret after the ExternalSecret is
 * created: it watches ExternalSecrets and reconciles a new one at once; the read from the secret
 * manager is the assumed part.
 */
export const EXTERNAL_SECRET_SYNC: Seconds = 5;
/** The ingress controller writing the Ingress's address. */
export const INGRESS_ADDRESS: Seconds = 30;
/** When the rehearsal stops watching a path that has not settled (kubectl retries forever). */
export const SETTLE_HORIZON: Seconds = 4 * 3600;
