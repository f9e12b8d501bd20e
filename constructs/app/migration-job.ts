import { createHash } from 'crypto';
import { k8s } from '../core/k8s';
import { Construct } from 'constructs';
import { ValidationError } from '../../lib/errors';
import { ImageRef } from '../../lib/images';
import { APP_UID } from '../../lib/security';
import { ResourceSpec, WorkloadSizing } from '../../lib/sizing';
import { WAIT_FOR_JOB_PY } from '../../lib/wait-for-job';
import { ApiServerAddress, checkApiServer, checkInteger } from '../../lib/validate';
import { AppWorkload, AppWorkloadProps } from './app-workload';
import { plainEnv, restrictedContainer } from '../core/pod-spec';
import { IWaitable, WaitBinding } from '../core/waitable';
import { Workload } from '../core/workload';
import { lazy } from '../core/lazy';

/** Props of `MigrationJob`. */
export interface MigrationJobProps extends AppWorkloadProps {
  /** Base object name; the Job's name adds a hash of its pod spec. @default "migrate" */
  readonly name?: string;
  /** Commands run in order, each in its own container (seed 000 §2.4). @default - `python manage.py migrate`, then `python manage.py init_data` */
  readonly commands?: readonly (readonly string[])[];
  /** Retries before the Job fails; on a first install they also cover PostgreSQL's start. @default 6 */
  readonly backoffLimit?: number;
  /** Deadline of the whole Job, in seconds. @default 1800 */
  readonly activeDeadlineSeconds?: number;
  /** How long a waiting pod waits before it fails (and is restarted), in seconds. @default 1800 */
  readonly waitTimeoutSeconds?: number;
  /** Where the Kubernetes API server listens, for the waiting pods' NetworkPolicy egress. @default - any address on ports 443 and 6443 */
  readonly apiServer?: ApiServerAddress;
}

/**
 * Runs the database migrations (`python manage.py migrate`, then `init_data`) as a Job before
 * the new version serves. The Job's name carries a hash of its pod spec, so every new image or
 * environment makes a new Job (Jobs are immutable) and re-applying the same version changes
 * nothing. Workloads call `waitFor(migration)`: their pods start with an init container that
 * blocks until this Job has succeeded. `init_data` must be idempotent: it runs on every release.
 */
export class MigrationJob extends AppWorkload implements IWaitable {
  public readonly job: k8s.KubeJob;
  /** The ServiceAccount waiting pods run as: it may read this Job and nothing else. */
  public readonly waiterServiceAccountName: string;
  /** The ConfigMap holding the wait program. */
  public readonly waitScriptConfigMapName: string;
  private readonly commands: readonly (readonly string[])[];
  private readonly waitTimeoutSeconds: number;
  private readonly apiServer: ApiServerAddress;
  private readonly waiters: Workload[] = [];
  private readonly poolSize = 2;

  constructor(scope: Construct, id: string, props: MigrationJobProps = {}) {
    super(scope, id, { name: props.name ?? 'migrate', component: 'migration' }, 'migration', props);
    const path = this.node.path;
    this.commands = props.commands ?? [['python', 'manage.py', 'migrate'], ['python', 'manage.py', 'init_data']];
    if (this.commands.length === 0 || this.commands.some(c => c.length === 0)) {
      throw new ValidationError(path, 'commands', this.commands, 'at least one non-empty command');
    }
    const backoffLimit = checkInteger(path, 'backoffLimit', props.backoffLimit ?? 6, 0, 20);
    const activeDeadlineSeconds = checkInteger(path, 'activeDeadlineSeconds', props.activeDeadlineSeconds ?? 1800, 60);
    this.waitTimeoutSeconds = checkInteger(path, 'waitTimeoutSeconds', props.waitTimeoutSeconds ?? 1800, 60);
    this.apiServer = checkApiServer(path, props.apiServer);
    this.addEnv(plainEnv('DATABASE_POOL_SIZE', this.poolSize), plainEnv('DATABASE_MAX_OVERFLOW', 0));
    this.waiterServiceAccountName = `${this.name}-waiter`;
    this.waitScriptConfigMapName = `${this.name}-wait-script`;

    const containers = () => this.commands.map((command, i) => this.appContainer({ name: i === this.commands.length - 1 ? 'main' : `step-${i + 1}`, command: [...command] }));
    this.job = new k8s.KubeJob(this, 'Job', {
      metadata: { name: lazy(() => this.jobName()), labels: this.labels },
      spec: {
        backoffLimit,
        activeDeadlineSeconds,
        template: {
          metadata: { labels: this.labels },
          spec: lazy((): k8s.PodSpec => {
            const all = containers();
            const spec = this.podSpec(all[all.length - 1], { terminationGracePeriodSeconds: 60 });
            // Earlier steps run as init containers, so each starts only after the one before succeeded.
            return { ...spec, restartPolicy: 'Never', initContainers: all.length > 1 ? all.slice(0, -1) : undefined };
          }),
        },
      },
    });

    // The wait program is shipped once as a ConfigMap rather than inlined in every waiting pod.
    new k8s.KubeConfigMap(this, 'WaitScript', {
      metadata: { name: this.waitScriptConfigMapName, labels: this.labels },
      data: { 'wait_for_job.py': WAIT_FOR_JOB_PY },
    });
    new k8s.KubeServiceAccount(this, 'WaiterServiceAccount', {
      metadata: { name: this.waiterServiceAccountName, labels: this.labels },
      automountServiceAccountToken: false,
    });
    new k8s.KubeRole(this, 'WaiterRole', {
      metadata: { name: this.waiterServiceAccountName, labels: this.labels },
      rules: [{ apiGroups: ['batch'], resources: ['jobs'], verbs: ['get'], resourceNames: lazy(() => [this.jobName()]) }],
    });
    new k8s.KubeRoleBinding(this, 'WaiterRoleBinding', {
      metadata: { name: this.waiterServiceAccountName, labels: this.labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: this.waiterServiceAccountName },
      subjects: [{ kind: 'ServiceAccount', name: this.waiterServiceAccountName }],
    });
  }

  /** `<name>-<hash of image, commands and environment>`: a new Job for every change, the same Job for none. */
  public jobName(): string {
    const digest = createHash('sha256').update(JSON.stringify({ image: this.image.toString(), commands: this.commands, env: this.env })).digest('hex');
    return `${this.name}-${digest.slice(0, 10)}`;
  }

  /** Called by `AppWorkload.waitFor`: lets the waiter read the Job through the API, and hands it the wait container. */
  public bindWaiter(waiter: Workload): WaitBinding {
    this.waiters.push(waiter);
    waiter.allowEgressToApiServer(this.apiServer);
    return {
      serviceAccountName: this.waiterServiceAccountName,
      volumes: [{ name: 'wait-for-migration', configMap: { name: this.waitScriptConfigMapName } }],
      initContainer: (image, resources) => this.waitContainer(image, resources),
    };
  }

  /** The init container that blocks a waiter until this Job has succeeded; it mounts the wait script's volume. */
  private waitContainer(image: ImageRef, resources: ResourceSpec): k8s.Container {
    return restrictedContainer({
      name: 'wait-for-migration',
      image,
      uid: APP_UID,
      resources,
      command: ['python', '/opt/wait-for-migration/wait_for_job.py'],
      env: [plainEnv('JOB_NAME', this.jobName()), plainEnv('WAIT_TIMEOUT_SECONDS', this.waitTimeoutSeconds)],
      volumeMounts: [{ name: 'wait-for-migration', mountPath: '/opt/wait-for-migration', readOnly: true }],
    });
  }

  public maxDatabaseConnections(): number {
    return this.poolSize;
  }

  public describeDatabaseConnections(): string {
    return `${this.name} job x1 pod x${this.poolSize} pool`;
  }

  public sizings(): WorkloadSizing[] {
    return [this.podSizing('Job', 1)];
  }
}
