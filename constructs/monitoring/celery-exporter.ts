import { k8s } from '../core/k8s';
import { Construct } from 'constructs';
import { IMAGE_CATALOG, ImageRef } from '../../lib/images';
import { EXPORTER_UID } from '../../lib/security';
import { ResourceSpec, WorkloadSizing } from '../../lib/sizing';
import { IConnectionClient } from '../core/connections';
import { plainEnv } from '../core/pod-spec';
import { IRedisDatabase } from '../data/redis-database';
import { childPath, MetricsEndpoint, Workload } from '../core/workload';
import { exporterDeployment } from './exporter-deployment';
import { ComponentProps, resolveComponent } from '../core/component';

/** Props of `CeleryExporter`. */
export interface CeleryExporterProps extends ComponentProps {
  /** The broker database the workers consume (`redis.broker`). */
  readonly broker: IRedisDatabase;
}

const PORT = 9808;

/**
 * celery-exporter: task failures, successes and queue lengths (seed 000 §6.2
 * celery_task_failed_total) read from the broker's events. The workers must send task events
 * (`worker_send_task_events = True`, `task_send_sent_event = True` in the Celery config).
 */
export class CeleryExporter extends Workload implements IConnectionClient {
  public readonly deployment: k8s.KubeDeployment;
  public readonly service: k8s.KubeService;
  public readonly resources: ResourceSpec;
  public readonly metrics: MetricsEndpoint;
  private readonly env: k8s.EnvVar[] = [];

  constructor(scope: Construct, id: string, props: CeleryExporterProps) {
    const image = ImageRef.parse(props.image ?? IMAGE_CATALOG.celeryExporter.toString(), childPath(scope, id), 'image');
    super(scope, id, { name: props.name ?? 'celery-exporter', component: 'worker-metrics', version: image.version });
    const path = this.node.path;
    this.resources = resolveComponent(path, props, 'celeryExporter').resources;
    this.metrics = { serviceName: this.name, portName: 'metrics', port: PORT, path: '/metrics' };
    props.broker.bind(this);
    // The exporter reads CE_BROKER_URL; Kubernetes expands the variable the broker binding set.
    this.addEnv(plainEnv('CE_BROKER_URL', `$(${props.broker.envVar})`), plainEnv('CE_PORT', PORT));
    const http = k8s.IntOrString.fromString('metrics');
    ({ deployment: this.deployment, service: this.service } = exporterDeployment(this, {
      name: 'celery-exporter',
      image,
      uid: EXPORTER_UID,
      resources: this.resources,
      env: this.env,
      ports: [{ name: 'metrics', containerPort: PORT }],
      livenessProbe: { tcpSocket: { port: http }, periodSeconds: 30, timeoutSeconds: 5, failureThreshold: 3 },
      readinessProbe: { httpGet: { path: '/health', port: http }, periodSeconds: 15, timeoutSeconds: 5, failureThreshold: 3 },
    }, { metricsPort: PORT }));
  }

  public get workload(): Workload {
    return this;
  }

  public addEnv(...vars: k8s.EnvVar[]): void {
    for (const v of vars) if (!this.env.some(e => e.name === v.name)) this.env.push(v);
  }

  public maxDatabaseConnections(): number {
    return 0;
  }

  public describeDatabaseConnections(): string {
    return `${this.name} (no database)`;
  }

  public sizings(): WorkloadSizing[] {
    return [{ name: this.name, kind: 'Deployment', replicas: 1, containers: [this.resources] }];
  }
}
