import { k8s } from '../core/k8s';
import { Construct } from 'constructs';
import { stringify } from '../../lib/yaml-text';
import { IMAGE_CATALOG, ImageRef } from '../../lib/images';
import { dashboardJson, PanelSpec } from '../../lib/monitoring/dashboards';
import { ByteQuantity } from '../../lib/quantity';
import { SecretKeyRef } from '../../lib/secrets';
import { ResourceSpec, WorkloadSizing } from '../../lib/sizing';
import { emptyDir, plainEnv, restrictedContainer, secretEnv } from '../core/pod-spec';
import { statefulServer } from '../core/stateful-server';
import { childPath, MetricsEndpoint, Workload } from '../core/workload';
import { Prometheus } from './prometheus';
import { PersistentComponentProps, resolveComponent, resolveStorage } from '../core/component';

/** A dashboard provisioned from a file. */
export interface DashboardSpec {
  readonly uid: string;
  readonly title: string;
  readonly panels: readonly PanelSpec[];
}

/** Props of `Grafana`. */
export interface GrafanaProps extends PersistentComponentProps {
  /** The Prometheus every dashboard queries. */
  readonly prometheus: Prometheus;
  /** Dashboards provisioned from files. @default - none */
  readonly dashboards?: readonly DashboardSpec[];
  /** The admin password. @default - key "admin-password" of Secret "grafana-credentials" */
  readonly adminPasswordSecret?: SecretKeyRef;
}

/** Port Grafana serves on (seed 001). */
export const GRAFANA_PORT = 3000;
/** UID of the grafana image's user. */
const GRAFANA_UID = 472;

/**
 * Grafana on 3000 with Prometheus provisioned as its datasource and dashboards provisioned from
 * files (read-only in the UI, so the repository stays the source of truth); admin password from a
 * Secret reference; persistent storage; no phoning home.
 */
export class Grafana extends Workload {
  public readonly statefulSet: k8s.KubeStatefulSet;
  public readonly service: k8s.KubeService;
  public readonly resources: ResourceSpec;
  public readonly storage: ByteQuantity;
  public readonly port = GRAFANA_PORT;
  public readonly metrics: MetricsEndpoint;
  /** The provisioned dashboards, as Grafana reads them. */
  public readonly dashboards: Readonly<Record<string, object>>;

  constructor(scope: Construct, id: string, props: GrafanaProps) {
    const image = ImageRef.parse(props.image ?? IMAGE_CATALOG.grafana.toString(), childPath(scope, id), 'image');
    super(scope, id, { name: props.name ?? 'grafana', component: 'dashboards', version: image.version });
    const path = this.node.path;
    const { tier: t, resources: mainResources } = resolveComponent(path, props, 'grafana');
    this.resources = mainResources;
    this.storage = resolveStorage(path, props, t, 'grafana');
    this.metrics = { serviceName: this.name, portName: 'http', port: GRAFANA_PORT, path: '/metrics' };
    const prometheus = props.prometheus;
    this.dashboards = Object.fromEntries((props.dashboards ?? []).map(d => [`${d.uid}.json`, dashboardJson(d.uid, d.title, d.panels)]));

    const datasources = stringify({
      apiVersion: 1,
      datasources: [{ name: 'Prometheus', uid: 'prometheus', type: 'prometheus', access: 'proxy', url: `http://${prometheus.name}:${prometheus.port}`, isDefault: true, editable: false, jsonData: { timeInterval: '15s' } }],
    });
    const providers = stringify({
      apiVersion: 1,
      providers: [{ name: 'quality-billing', folder: 'Quality Billing', type: 'file', disableDeletion: true, allowUiUpdates: false, options: { path: '/etc/grafana/dashboards' } }],
    });
    const provisioning = new k8s.KubeConfigMap(this, 'Provisioning', {
      metadata: { name: `${this.name}-provisioning`, labels: this.labels },
      data: { 'datasources.yaml': datasources, 'dashboards.yaml': providers },
    });
    const dashboardFiles = Object.fromEntries(Object.entries(this.dashboards).map(([f, d]) => [f, JSON.stringify(d, null, 2)]));
    const dashboards = new k8s.KubeConfigMap(this, 'Dashboards', {
      metadata: { name: `${this.name}-dashboards`, labels: this.labels },
      data: dashboardFiles,
    });
    prometheus.allowIngressFrom(this.peer, [prometheus.port]);
    this.allowEgressTo(prometheus.peer, [prometheus.port]);

    const http = k8s.IntOrString.fromString('http');
    const server = restrictedContainer({
      name: 'grafana',
      image,
      uid: GRAFANA_UID,
      resources: this.resources,
      env: [
        plainEnv('GF_SECURITY_ADMIN_USER', 'admin'),
        secretEnv('GF_SECURITY_ADMIN_PASSWORD', props.adminPasswordSecret ?? SecretKeyRef.of('grafana-credentials', 'admin-password', path)),
        plainEnv('GF_PATHS_PROVISIONING', '/etc/grafana/provisioning'),
        // The image's default also logs to /var/log/grafana, which the read-only root filesystem refuses.
        plainEnv('GF_LOG_MODE', 'console'),
        plainEnv('GF_USERS_ALLOW_SIGN_UP', 'false'),
        plainEnv('GF_AUTH_ANONYMOUS_ENABLED', 'false'),
        plainEnv('GF_ANALYTICS_REPORTING_ENABLED', 'false'),
        plainEnv('GF_ANALYTICS_CHECK_FOR_UPDATES', 'false'),
        plainEnv('GF_ANALYTICS_CHECK_FOR_PLUGIN_UPDATES', 'false'),
      ],
      ports: [{ name: 'http', containerPort: GRAFANA_PORT }],
      volumeMounts: [
        { name: 'data', mountPath: '/var/lib/grafana' },
        { name: 'provisioning', mountPath: '/etc/grafana/provisioning/datasources/datasources.yaml', subPath: 'datasources.yaml', readOnly: true },
        { name: 'provisioning', mountPath: '/etc/grafana/provisioning/dashboards/dashboards.yaml', subPath: 'dashboards.yaml', readOnly: true },
        { name: 'dashboards', mountPath: '/etc/grafana/dashboards', readOnly: true },
        { name: 'tmp', mountPath: '/tmp' },
      ],
      livenessProbe: { tcpSocket: { port: http }, initialDelaySeconds: 30, periodSeconds: 15, timeoutSeconds: 5, failureThreshold: 4 },
      readinessProbe: { httpGet: { path: '/api/health', port: http }, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 },
    });
    ({ service: this.service, statefulSet: this.statefulSet } = statefulServer(this, {
      server,
      port: { name: 'http', number: GRAFANA_PORT },
      uid: GRAFANA_UID,
      storage: this.storage,
      storageClassName: props.storageClassName,
      volumes: [
        { name: 'provisioning', configMap: { name: provisioning.name } },
        { name: 'dashboards', configMap: { name: dashboards.name } },
        emptyDir('tmp', '64Mi'),
      ],
      terminationGracePeriodSeconds: 30,
      config: () => datasources + providers + JSON.stringify(dashboardFiles),
    }));
  }

  public sizings(): WorkloadSizing[] {
    return [{ name: this.name, kind: 'StatefulSet', replicas: 1, containers: [this.resources], storagePerReplica: this.storage }];
  }
}
