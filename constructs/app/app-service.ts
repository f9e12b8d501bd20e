import { k8s } from '../core/k8s';
import { Construct, IConstruct } from 'constructs';
import { SEED_DATABASE_POOL_SIZE, uvicornWorkers } from '../../lib/tuning';
import { WorkloadSizing } from '../../lib/sizing';
import { ValidationError } from '../../lib/errors';
import { checkInteger, checkOneOf, checkPort, checkReplicas } from '../../lib/validate';
import { AppWorkload, AppWorkloadProps } from './app-workload';
import { AutoscaleOptions } from '../core/autoscaler';
import { metricsExposure } from '../core/metrics-service';
import { emptyDir, plainEnv } from '../core/pod-spec';
import { MetricsEndpoint, Workload } from '../core/workload';

/** Props of `AppService`. */
export interface AppServiceProps extends AppWorkloadProps {
  /** Object name of the Deployment and Service. @default "api" */
  readonly name?: string;
  /** Pods (seed 000 §4.2 runs 3). @default 3 */
  readonly replicas?: number;
  /** HTTP port uvicorn listens on (seed 000 §2.5). @default 8000 */
  readonly port?: number;
  /** Port of the Prometheus metrics endpoint (seed 000 §2.2 PROMETHEUS_PORT). @default 9090 */
  readonly metricsPort?: number;
  /** uvicorn worker processes per pod. @default - from the CPU and memory limits, at most the seed's 4 */
  readonly workers?: number;
  /** SQLAlchemy pool per worker process (DATABASE_POOL_SIZE, seed 000 §2.2). Overflow is set to 0 so the budget is exact. @default 20 */
  readonly databasePoolSize?: number;
  /** ASGI application uvicorn serves. @default "main:app" */
  readonly asgiApp?: string;
  /**
   * The server command, for an image that is not served by uvicorn; `[]` runs the image's own
   * entrypoint. It must listen on `port` and serve `/health` and `/ready`; `workers` is then the
   * processes per pod it runs (WEB_CONCURRENCY), for the connection budget.
   * @default - uvicorn serving `asgiApp`
   */
  readonly command?: readonly string[];
  /** How the Service is exposed: LoadBalancer opens the HTTP port to any address (seed 002). @default "ClusterIP" */
  readonly serviceType?: 'ClusterIP' | 'LoadBalancer' | 'NodePort';
  /** Port of the Service's HTTP port (seed 002: 80 in front of 8000). @default - `port` */
  readonly servicePort?: number;
}

/** An HTTP application an edge or an Ingress routes to (`AppService`). */
export interface IAppService extends IConstruct {
  /** Name of its Service. */
  readonly name: string;
  /** Labels of its objects, which an Ingress in front of it carries too. */
  readonly labels: Record<string, string>;
  /** Port the server listens on in the pod. */
  readonly port: number;
  /** Port of the Service clients connect to. */
  readonly servicePort: number;
  /** Its metrics endpoint, never exposed through the edge. */
  readonly metrics: MetricsEndpoint;
  /** Lets `peer` reach its pods on `ports` (an ingress controller's namespace). */
  allowIngressFrom(peer: k8s.NetworkPolicyPeer, ports: readonly number[]): void;
  /** Allows traffic from `client` to it on `port`, in both workloads' policies. */
  acceptTrafficFrom(client: Workload, port: number): void;
}

/**
 * The FastAPI application under uvicorn: a Deployment that rolls out without ever dropping
 * below its replica count, a Service, a PodDisruptionBudget and topology spread when
 * replicated, `/health` liveness and `/ready` readiness probes (seed 000 §4.2).
 */
export class AppService extends AppWorkload implements IAppService {
  public readonly deployment: k8s.KubeDeployment;
  public readonly service: k8s.KubeService;
  /** The ClusterIP Service Prometheus scrapes through, when `service` is a LoadBalancer or NodePort. */
  public readonly metricsService?: k8s.KubeService;
  public readonly podDisruptionBudget?: k8s.KubePodDisruptionBudget;
  public readonly replicas: number;
  /** Port the server listens on in the pod. */
  public readonly port: number;
  /** Port of the Service that clients (the edge, the Ingress) connect to. */
  public readonly servicePort: number;
  public readonly metricsPort: number;
  public readonly workers: number;
  public readonly databasePoolSize: number;
  /** Where Prometheus scrapes the app. */
  public readonly metrics: MetricsEndpoint;
  /** Extra pods a rolling update starts before it stops old ones. */
  public readonly maxSurge = 1;

  constructor(scope: Construct, id: string, props: AppServiceProps = {}) {
    super(scope, id, { name: props.name ?? 'api', component: 'api' }, 'app', props);
    const path = this.node.path;
    this.replicas = checkReplicas(path, 'replicas', props.replicas ?? 3);
    this.port = checkPort(path, 'port', props.port ?? 8000);
    this.servicePort = checkPort(path, 'servicePort', props.servicePort ?? this.port);
    this.metricsPort = checkPort(path, 'metricsPort', props.metricsPort ?? 9090);
    if (this.metricsPort === this.port) throw new ValidationError(path, 'metricsPort', this.metricsPort, `a port other than the HTTP port ${this.port}`);
    const serviceType = checkOneOf(path, 'serviceType', props.serviceType ?? 'ClusterIP', ['ClusterIP', 'LoadBalancer', 'NodePort'] as const);
    if (props.command !== undefined && props.asgiApp !== undefined) throw new ValidationError(path, 'asgiApp', props.asgiApp, 'left out when command is given (uvicorn is not run)');
    this.workers = props.workers !== undefined
      ? checkInteger(path, 'workers', props.workers, 1, 64)
      : uvicornWorkers(this.resources.cpuLimit, this.resources.memoryLimit);
    this.databasePoolSize = this.checkPoolSize(props.databasePoolSize ?? SEED_DATABASE_POOL_SIZE);
    const asgiApp = props.asgiApp ?? 'main:app';

    this.addEnv(
      plainEnv('DATABASE_POOL_SIZE', this.databasePoolSize),
      plainEnv('DATABASE_MAX_OVERFLOW', 0),
      plainEnv('PROMETHEUS_ENABLED', 'true'),
      plainEnv('PROMETHEUS_PORT', this.metricsPort),
      // prometheus_client's multiprocess mode: each uvicorn worker writes its samples here.
      plainEnv('PROMETHEUS_MULTIPROC_DIR', '/var/run/prometheus'),
      plainEnv('WEB_CONCURRENCY', this.workers),
    );

    const main = this.appContainer({
      name: 'api',
      command: props.command === undefined
        ? ['uvicorn', asgiApp, '--host', '0.0.0.0', '--port', String(this.port), '--workers', String(this.workers), '--timeout-graceful-shutdown', '20', '--no-server-header']
        : props.command.length > 0 ? [...props.command] : undefined,
      ports: [{ name: 'http', containerPort: this.port }, { name: 'metrics', containerPort: this.metricsPort }],
      volumeMounts: [{ name: 'prometheus', mountPath: '/var/run/prometheus' }],
      livenessProbe: { httpGet: { path: '/health', port: k8s.IntOrString.fromString('http') }, initialDelaySeconds: 30, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 },
      readinessProbe: { httpGet: { path: '/ready', port: k8s.IntOrString.fromString('http') }, initialDelaySeconds: 5, periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 3 },
      // Endpoints are removed asynchronously: keep serving for a few seconds after SIGTERM is due.
      lifecycle: { preStop: { exec: { command: ['sleep', '5'] } } },
    });

    const { deployment, podDisruptionBudget } = this.rollingDeployment(main, {
      replicas: this.replicas, maxSurge: this.maxSurge, minReadySeconds: 5,
      terminationGracePeriodSeconds: 45, volumes: [emptyDir('prometheus', '64Mi')],
    });
    this.deployment = deployment;
    this.podDisruptionBudget = podDisruptionBudget;
    // A load balancer hands over connections from anywhere: the HTTP port (only) is open to all.
    if (serviceType !== 'ClusterIP') this.allowIngressFrom({ ipBlock: { cidr: '0.0.0.0/0' } }, [this.port]);

    // Only the HTTP port goes on a LoadBalancer or NodePort Service; the metrics port stays in the cluster.
    const exposure = metricsExposure(this, { serviceType, port: this.metricsPort });
    this.metrics = exposure.metrics;
    this.metricsService = exposure.service;
    this.service = new k8s.KubeService(this, 'Service', {
      metadata: { name: this.name, labels: this.labels },
      spec: {
        type: serviceType === 'ClusterIP' ? undefined : serviceType,
        // Keep the client's address and make no second hop through another node.
        externalTrafficPolicy: serviceType === 'ClusterIP' ? undefined : 'Local',
        selector: this.selector,
        ports: [
          { name: 'http', port: this.servicePort, targetPort: k8s.IntOrString.fromString('http') },
          ...exposure.servicePorts,
        ],
      },
    });
  }

  /** Pods during a rollout x uvicorn workers x pool size. */
  public maxDatabaseConnections(): number {
    return ((this.maxReplicas ?? this.replicas) + this.maxSurge) * this.workers * this.databasePoolSize;
  }

  public describeDatabaseConnections(): string {
    return `${this.name} (${this.maxReplicas ?? this.replicas}+${this.maxSurge} surge) pods x${this.workers} workers x${this.databasePoolSize} pool`;
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
