import { k8s } from '../core/k8s';
import { Construct } from 'constructs';
import { IMAGE_CATALOG, ImageRef } from '../../lib/images';
import { ResourceSpec, WorkloadSizing } from '../../lib/sizing';
import { EXPORTER_UID } from '../../lib/security';
import { checkPort } from '../../lib/validate';
import { ComponentProps, resolveComponent } from '../core/component';
import { IConnectable, IConnectionClient } from '../core/connections';
import { emptyDir, plainEnv } from '../core/pod-spec';
import { childPath, MetricsEndpoint, Workload } from '../core/workload';
import { exporterDeployment } from './exporter-deployment';

/** Props of `Pushgateway`. */
export interface PushgatewayProps extends ComponentProps {
  /** Port clients push to and Prometheus scrapes (seed 003). @default 9091 */
  readonly port?: number;
}

/**
 * The Prometheus Pushgateway (seed 003: `PROMETHEUS_PUSHGATEWAY=http://pushgateway:9091`), where
 * batch jobs push the metrics of runs too short to be scraped. Prometheus scrapes it with
 * `honor_labels`, so the pushed `job` and `instance` are kept. Pushed series live in memory and
 * are persisted to an emptyDir every 5 minutes: a replaced pod starts empty until the next push.
 */
export class Pushgateway extends Workload implements IConnectable {
  public readonly deployment: k8s.KubeDeployment;
  public readonly service: k8s.KubeService;
  public readonly resources: ResourceSpec;
  public readonly port: number;
  public readonly metrics: MetricsEndpoint;
  /** The URL clients push to. */
  public readonly url: string;

  constructor(scope: Construct, id: string, props: PushgatewayProps = {}) {
    const image = ImageRef.parse(props.image ?? IMAGE_CATALOG.pushgateway.toString(), childPath(scope, id), 'image');
    super(scope, id, { name: props.name ?? 'pushgateway', component: 'pushgateway', version: image.version });
    const path = this.node.path;
    this.resources = resolveComponent(path, props, 'pushgateway').resources;
    this.port = checkPort(path, 'port', props.port ?? 9091);
    this.url = `http://${this.name}:${this.port}`;
    this.metrics = { serviceName: this.name, portName: 'metrics', port: this.port, path: '/metrics', honorLabels: true };
    const http = k8s.IntOrString.fromString('metrics');
    ({ deployment: this.deployment, service: this.service } = exporterDeployment(this, {
      name: 'pushgateway', image, uid: EXPORTER_UID, resources: this.resources,
      args: [`--web.listen-address=:${this.port}`, '--persistence.file=/data/pushgateway.db', '--persistence.interval=5m'],
      ports: [{ name: 'metrics', containerPort: this.port }],
      volumeMounts: [{ name: 'data', mountPath: '/data' }],
      livenessProbe: { httpGet: { path: '/-/healthy', port: http }, periodSeconds: 15, timeoutSeconds: 3, failureThreshold: 4 },
      readinessProbe: { httpGet: { path: '/-/ready', port: http }, periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 3 },
    }, { metricsPort: this.port, volumes: [emptyDir('data', '256Mi')] }));
  }

  /** Gives the client PROMETHEUS_PUSHGATEWAY and opens the port to it. */
  public bind(client: IConnectionClient): void {
    client.addEnv(plainEnv('PROMETHEUS_PUSHGATEWAY', this.url));
    this.acceptTrafficFrom(client.workload, this.port);
  }

  public sizings(): WorkloadSizing[] {
    return [{ name: this.name, kind: 'Deployment', replicas: 1, containers: [this.resources] }];
  }
}
