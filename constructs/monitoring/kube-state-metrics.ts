import { Chart } from 'cdk8s';
import { k8s } from '../core/k8s';
import { Construct } from 'constructs';
import { IMAGE_CATALOG, ImageRef } from '../../lib/images';
import { EXPORTER_UID } from '../../lib/security';
import { ResourceSpec, WorkloadSizing } from '../../lib/sizing';
import { childPath, MetricsEndpoint, Workload } from '../core/workload';
import { exporterDeployment } from './exporter-deployment';
import { ComponentProps, resolveComponent } from '../core/component';
import { ApiServerAddress } from '../../lib/validate';

/** Props of `KubeStateMetrics`. */
export interface KubeStateMetricsProps extends ComponentProps {
  /** Where the Kubernetes API server listens. @default - any address on 443 and 6443 */
  readonly apiServer?: ApiServerAddress;
}

/** The resources it reports on: enough for pod health, restarts, limits, Jobs and CronJobs. */
const RESOURCES = ['pods', 'jobs', 'cronjobs', 'deployments', 'statefulsets', 'persistentvolumeclaims'];

/**
 * kube-state-metrics limited to this namespace (`--namespaces`), so a namespaced Role suffices:
 * the Job/CronJob, restart and resource-limit series the alerts need.
 */
export class KubeStateMetrics extends Workload {
  public readonly deployment: k8s.KubeDeployment;
  public readonly service: k8s.KubeService;
  public readonly resources: ResourceSpec;
  public readonly metrics: MetricsEndpoint;

  constructor(scope: Construct, id: string, props: KubeStateMetricsProps = {}) {
    const image = ImageRef.parse(props.image ?? IMAGE_CATALOG.kubeStateMetrics.toString(), childPath(scope, id), 'image');
    super(scope, id, { name: props.name ?? 'kube-state-metrics', component: 'kube-state-metrics', version: image.version });
    const path = this.node.path;
    this.resources = resolveComponent(path, props, 'kubeStateMetrics').resources;
    this.metrics = { serviceName: this.name, portName: 'metrics', port: 8080, path: '/metrics' };
    this.allowEgressToApiServer(props.apiServer);

    new k8s.KubeServiceAccount(this, 'ServiceAccount', { metadata: { name: this.name, labels: this.labels }, automountServiceAccountToken: false });
    new k8s.KubeRole(this, 'Role', {
      metadata: { name: this.name, labels: this.labels },
      rules: [
        { apiGroups: [''], resources: ['pods', 'persistentvolumeclaims'], verbs: ['list', 'watch'] },
        { apiGroups: ['apps'], resources: ['deployments', 'statefulsets'], verbs: ['list', 'watch'] },
        { apiGroups: ['batch'], resources: ['jobs', 'cronjobs'], verbs: ['list', 'watch'] },
      ],
    });
    new k8s.KubeRoleBinding(this, 'RoleBinding', {
      metadata: { name: this.name, labels: this.labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: this.name },
      subjects: [{ kind: 'ServiceAccount', name: this.name }],
    });
    const http = k8s.IntOrString.fromString('metrics');
    ({ deployment: this.deployment, service: this.service } = exporterDeployment(this, {
      name: 'kube-state-metrics',
      image,
      uid: EXPORTER_UID,
      resources: this.resources,
      args: [
        `--namespaces=${Chart.of(this).namespace ?? 'default'}`,
        `--resources=${RESOURCES.join(',')}`,
        '--port=8080',
        '--telemetry-port=8081',
      ],
      ports: [{ name: 'metrics', containerPort: 8080 }, { name: 'telemetry', containerPort: 8081 }],
      livenessProbe: { httpGet: { path: '/livez', port: http }, periodSeconds: 15, timeoutSeconds: 5, failureThreshold: 4 },
      readinessProbe: { httpGet: { path: '/readyz', port: k8s.IntOrString.fromString('telemetry') }, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 },
    }, { serviceAccountName: this.name, metricsPort: 8080 }));
  }

  public sizings(): WorkloadSizing[] {
    return [{ name: this.name, kind: 'Deployment', replicas: 1, containers: [this.resources] }];
  }
}
