import { ApiObject, Chart, JsonPatch } from 'cdk8s';
import { k8s } from '../core/k8s';
import { Construct } from 'constructs';
import { ValidationError } from '../../lib/errors';
import { IMAGE_CATALOG, ImageRef } from '../../lib/images';
import { AlertGroupSpec } from '../../lib/monitoring/alert-rules';
import { renderPrometheusConfig, renderRules, ScrapeTarget } from '../../lib/monitoring/prometheus-config';
import { ByteQuantity } from '../../lib/quantity';
import { EXPORTER_UID } from '../../lib/security';
import { ResourceSpec, WorkloadSizing } from '../../lib/sizing';
import { ANY_ADDRESS, ApiServerAddress, checkCidr, checkInteger } from '../../lib/validate';
import { emptyDir, restrictedContainer } from '../core/pod-spec';
import { statefulServer } from '../core/stateful-server';
import { childPath, MetricsEndpoint, Workload } from '../core/workload';
import { PersistentComponentProps, resolveComponent, resolveStorage } from '../core/component';
import { lazy } from '../core/lazy';

/** A workload Prometheus can scrape: it names the Service and port of its metrics. */
export interface IMonitorable extends Workload {
  readonly metrics: MetricsEndpoint;
}

/** Props of `Prometheus`. */
export interface PrometheusProps extends PersistentComponentProps {
  /** Hours of samples kept (seed 001: 200 h). @default 200 */
  readonly retentionHours?: number;
  /** Seconds between scrapes (seed 000 §6.1: 15 s). @default 15 */
  readonly scrapeIntervalSeconds?: number;
  /**
   * Scrape the kubelets' cAdvisor and volume metrics on their port 10250, for the CPU, memory and
   * volume alerts. Needs a ClusterRole to list nodes and read `nodes/metrics`. @default true
   */
  readonly scrapeKubelets?: boolean;
  /**
   * IPv4 CIDR of the nodes' addresses, where Prometheus may reach the kubelets on 10250. Node
   * addresses are cluster-specific, as the API server's are: set your nodes' subnet.
   * @default "0.0.0.0/0" - any address, on port 10250 only
   */
  readonly nodeCidr?: string;
  /**
   * Verify the kubelets' serving certificates against the cluster CA. Kubelets serve a
   * self-signed certificate unless the cluster bootstraps serving certificates
   * (`serverTLSBootstrap`, off in kubeadm by default), so kube-prometheus-stack skips the check;
   * turn it on where the kubelets' certificates are signed by the cluster CA.
   * @default false
   */
  readonly verifyKubeletCertificates?: boolean;
  /** Where the Kubernetes API server listens, for discovery. @default - any address on 443 and 6443 */
  readonly apiServer?: ApiServerAddress;
}

/** Port Prometheus serves on (seed 001). */
export const PROMETHEUS_PORT = 9090;

/** The kubelet's authenticated HTTPS port. */
const KUBELET_PORT = 10250;

/**
 * Prometheus on 9090 with a 15 s scrape interval, 200 h retention and a size bound of 80 % of its
 * volume so the disk never fills. Targets are the components handed to `monitor()`, found by
 * endpoint discovery in this namespace only; its Role may read endpoints, services and pods here
 * and nothing else (plus nodes and their metrics, cluster-wide, when kubelets are scraped).
 */
export class Prometheus extends Workload {
  public readonly statefulSet: k8s.KubeStatefulSet;
  public readonly service: k8s.KubeService;
  public readonly resources: ResourceSpec;
  public readonly storage: ByteQuantity;
  public readonly retentionHours: number;
  /** The size bound passed to `--storage.tsdb.retention.size`, in MiB. */
  public readonly retentionSizeMiB: number;
  public readonly port = PROMETHEUS_PORT;
  public readonly serviceAccountName: string;
  /** Its own metrics. */
  public readonly metrics: MetricsEndpoint;
  private readonly targets: ScrapeTarget[] = [];
  private readonly alertGroupList: AlertGroupSpec[] = [];
  private alertmanagerAddress?: string;

  constructor(scope: Construct, id: string, props: PrometheusProps = {}) {
    const image = ImageRef.parse(props.image ?? IMAGE_CATALOG.prometheus.toString(), childPath(scope, id), 'image');
    super(scope, id, { name: props.name ?? 'prometheus', component: 'monitoring', version: image.version });
    const path = this.node.path;
    const { tier: t, resources: mainResources } = resolveComponent(path, props, 'prometheus');
    this.resources = mainResources;
    this.storage = resolveStorage(path, props, t, 'prometheus');
    this.retentionHours = checkInteger(path, 'retentionHours', props.retentionHours ?? 200, 2, 24 * 3650);
    const scrapeInterval = checkInteger(path, 'scrapeIntervalSeconds', props.scrapeIntervalSeconds ?? 15, 5, 300);
    const scrapeKubelets = props.scrapeKubelets ?? true;
    // 80 % of the volume: the WAL and compaction need head-room above the retained blocks.
    this.retentionSizeMiB = Math.floor(this.storage.mebibytes * 0.8);
    if (this.retentionSizeMiB < 1024) throw new ValidationError(path, 'storage', this.storage.toString(), 'at least 1280Mi, so that 80 % of it holds 1 GiB of samples');
    this.serviceAccountName = this.name;
    this.metrics = { serviceName: this.name, portName: 'http', port: PROMETHEUS_PORT, path: '/metrics' };
    const namespace = () => Chart.of(this).namespace ?? 'default';

    // Rendered once per distinct input: the ConfigMap and the pod's checksum both ask for them.
    const config = memoize(() => ({
      namespace: namespace(),
      scrapeIntervalSeconds: scrapeInterval,
      targets: [{ service: this.name, component: 'monitoring', portName: this.metrics.portName }, ...this.targets],
      alertmanager: this.alertmanagerAddress,
      scrapeKubelets,
      verifyKubeletCertificates: props.verifyKubeletCertificates ?? false,
      rulesDir: '/etc/prometheus/rules',
    }), renderPrometheusConfig);
    const rules = memoize(() => this.alertGroupList, renderRules);
    const configMap = new k8s.KubeConfigMap(this, 'Config', {
      metadata: { name: `${this.name}-config`, labels: this.labels },
      data: { 'prometheus.yml': lazy(config) },
    });
    const rulesConfigMap = new k8s.KubeConfigMap(this, 'Rules', {
      metadata: { name: `${this.name}-rules`, labels: this.labels },
      data: { 'alerts.yml': lazy(rules) },
    });

    new k8s.KubeServiceAccount(this, 'ServiceAccount', { metadata: { name: this.serviceAccountName, labels: this.labels }, automountServiceAccountToken: false });
    new k8s.KubeRole(this, 'Role', {
      metadata: { name: this.name, labels: this.labels },
      rules: [{ apiGroups: [''], resources: ['endpoints', 'services', 'pods'], verbs: ['get', 'list', 'watch'] }],
    });
    new k8s.KubeRoleBinding(this, 'RoleBinding', {
      metadata: { name: this.name, labels: this.labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: this.name },
      subjects: [{ kind: 'ServiceAccount', name: this.serviceAccountName }],
    });
    if (scrapeKubelets) {
      // Cluster-scoped names carry the namespace so two installs never collide.
      const clusterName = lazy(() => `${namespace()}-${this.name}-kubelets`);
      const role = new k8s.KubeClusterRole(this, 'KubeletReader', {
        metadata: { name: clusterName, labels: this.labels },
        rules: [
          { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch'] },
          // Not nodes/proxy: the kubelet authorizes /metrics and /metrics/cadvisor as nodes/metrics.
          { apiGroups: [''], resources: ['nodes/metrics'], verbs: ['get'] },
        ],
      });
      const binding = new k8s.KubeClusterRoleBinding(this, 'KubeletReaderBinding', {
        metadata: { name: clusterName, labels: this.labels },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterName },
        subjects: [{ kind: 'ServiceAccount', name: this.serviceAccountName, namespace: lazy(namespace) }],
      });
      for (const o of [role, binding]) ApiObject.of(o).addJsonPatch(JsonPatch.remove('/metadata/namespace'));
      this.allowEgressTo({ ipBlock: { cidr: checkCidr(path, 'nodeCidr', props.nodeCidr ?? ANY_ADDRESS) } }, [KUBELET_PORT]);
    }
    this.allowEgressToApiServer(props.apiServer);

    const http = k8s.IntOrString.fromString('http');
    const server = restrictedContainer({
      name: 'prometheus',
      image,
      uid: EXPORTER_UID,
      resources: this.resources,
      args: [
        '--config.file=/etc/prometheus/config/prometheus.yml',
        '--storage.tsdb.path=/prometheus',
        `--storage.tsdb.retention.time=${this.retentionHours}h`,
        `--storage.tsdb.retention.size=${this.retentionSizeMiB}MB`,
        `--web.listen-address=:${PROMETHEUS_PORT}`,
        '--web.console.templates=/etc/prometheus/consoles',
        '--web.console.libraries=/etc/prometheus/console_libraries',
      ],
      ports: [{ name: 'http', containerPort: PROMETHEUS_PORT }],
      volumeMounts: [
        { name: 'data', mountPath: '/prometheus' },
        { name: 'config', mountPath: '/etc/prometheus/config', readOnly: true },
        { name: 'rules', mountPath: '/etc/prometheus/rules', readOnly: true },
        { name: 'tmp', mountPath: '/tmp' },
      ],
      // Replaying a large WAL after a restart takes minutes.
      startupProbe: { httpGet: { path: '/-/ready', port: http }, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 60 },
      livenessProbe: { httpGet: { path: '/-/healthy', port: http }, periodSeconds: 15, timeoutSeconds: 5, failureThreshold: 4 },
      readinessProbe: { httpGet: { path: '/-/ready', port: http }, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 },
    });
    ({ service: this.service, statefulSet: this.statefulSet } = statefulServer(this, {
      server,
      port: { name: 'http', number: PROMETHEUS_PORT },
      uid: EXPORTER_UID,
      serviceAccountName: this.serviceAccountName,
      storage: this.storage,
      storageClassName: props.storageClassName,
      volumes: [
        { name: 'config', configMap: { name: configMap.name } },
        { name: 'rules', configMap: { name: rulesConfigMap.name } },
        emptyDir('tmp', '64Mi'),
      ],
      terminationGracePeriodSeconds: 120,
      config: () => config() + rules(),
    }));
  }

  /** Scrapes `target`'s metrics endpoint and opens the NetworkPolicy path to it. */
  public monitor(target: IMonitorable, component = target.labels['app.kubernetes.io/component']): this {
    if (this.targets.some(t => t.service === target.metrics.serviceName)) {
      throw new ValidationError(this.node.path, 'monitor', target.node.path, 'each target monitored once');
    }
    this.targets.push({ service: target.metrics.serviceName, component, portName: target.metrics.portName, path: target.metrics.path, honorLabels: target.metrics.honorLabels });
    target.allowIngressFrom(this.peer, [target.metrics.port]);
    this.allowEgressTo(target.peer, [target.metrics.port]);
    return this;
  }

  /** Adds alert rule groups to the rule file. */
  public addAlertGroups(...groups: AlertGroupSpec[]): this {
    this.alertGroupList.push(...groups);
    return this;
  }

  /** Sends alerts to an Alertmanager and opens the path to it. */
  public sendAlertsTo(alertmanager: Workload & { readonly port: number }): this {
    this.alertmanagerAddress = `${alertmanager.name}:${alertmanager.port}`;
    alertmanager.allowIngressFrom(this.peer, [alertmanager.port]);
    this.allowEgressTo(alertmanager.peer, [alertmanager.port]);
    return this;
  }

  /** The scrape targets declared so far. */
  public get scrapeTargets(): readonly ScrapeTarget[] {
    return [...this.targets];
  }

  /** The alert groups declared so far. */
  public get alertGroups(): readonly AlertGroupSpec[] {
    return [...this.alertGroupList];
  }

  /** The rendered prometheus.yml (for tests and `promtool check config`). */
  public renderConfig(): string {
    return (this.node.findChild('Config') as k8s.KubeConfigMap).toJson().data['prometheus.yml'];
  }

  public sizings(): WorkloadSizing[] {
    return [{ name: this.name, kind: 'StatefulSet', replicas: 1, containers: [this.resources], storagePerReplica: this.storage }];
  }
}

/** Calls `render(input())` again only when the input changed since the last call. */
function memoize<I, O>(input: () => I, render: (i: I) => O): () => O {
  let last: { key: string; value: O } | undefined;
  return () => {
    const i = input();
    const key = JSON.stringify(i);
    if (last?.key !== key) last = { key, value: render(i) };
    return last.value;
  };
}
