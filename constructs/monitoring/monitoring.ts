import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { alertGroups } from '../../lib/monitoring/alert-rules';
import { overviewPanels } from '../../lib/monitoring/dashboards';
import { SecretKeyRef } from '../../lib/secrets';
import { TierName } from '../../lib/tiers';
import { RedisDatabase } from '../redis';
import { Alertmanager, AlertReceivers } from './alertmanager';
import { CeleryExporter } from './celery-exporter';
import { Grafana } from './grafana';
import { KubeStateMetrics } from './kube-state-metrics';
import { IMonitorable, Prometheus, PrometheusProps } from './prometheus';

/** Props of `Monitoring`. */
export interface MonitoringProps {
  /** Where alerts go. */
  readonly receivers: AlertReceivers;
  /** Prefix of every object name. @default - none */
  readonly namePrefix?: string;
  /** Hardware tier whose presets apply. @default "recommended" */
  readonly tier?: TierName;
  /** The Celery broker, for the Celery exporter. @default - no Celery exporter */
  readonly celeryBroker?: RedisDatabase;
  /** Grafana's admin password. @default - key "admin-password" of Secret "grafana-credentials" */
  readonly grafanaAdminPasswordSecret?: SecretKeyRef;
  /** Further Prometheus settings (retention, storage, kubelet scraping). @default - Prometheus's defaults */
  readonly prometheus?: Omit<PrometheusProps, 'name' | 'tier'>;
  /** Where the Kubernetes API server listens. @default - any address on 443 and 6443 */
  readonly apiServer?: { readonly cidr: string; readonly ports: readonly number[] };
}

/**
 * Prometheus, Alertmanager, Grafana, kube-state-metrics and (with a broker) the Celery exporter,
 * wired together: the seeds' alerts loaded, alerts routed, the overview dashboard provisioned.
 * Components are added with `monitor(...)`, which also opens their metrics port to Prometheus.
 */
export class Monitoring extends Construct {
  public readonly prometheus: Prometheus;
  public readonly alertmanager: Alertmanager;
  public readonly grafana: Grafana;
  public readonly kubeStateMetrics: KubeStateMetrics;
  public readonly celeryExporter?: CeleryExporter;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const name = (n: string) => (props.namePrefix ? `${props.namePrefix}-${n}` : n);
    const namespace = Chart.of(this).namespace ?? 'default';
    this.prometheus = new Prometheus(this, 'Prometheus', { ...props.prometheus, apiServer: props.apiServer ?? props.prometheus?.apiServer, name: name('prometheus'), tier: props.tier });
    this.alertmanager = new Alertmanager(this, 'Alertmanager', { name: name('alertmanager'), tier: props.tier, receivers: props.receivers });
    this.kubeStateMetrics = new KubeStateMetrics(this, 'KubeStateMetrics', { name: name('kube-state-metrics'), tier: props.tier, apiServer: props.apiServer });
    this.grafana = new Grafana(this, 'Grafana', {
      name: name('grafana'),
      tier: props.tier,
      prometheus: this.prometheus,
      adminPasswordSecret: props.grafanaAdminPasswordSecret,
      dashboards: [{ uid: 'quality-billing-overview', title: 'Quality Billing — system overview', panels: overviewPanels(namespace) }],
    });
    this.prometheus.sendAlertsTo(this.alertmanager).addAlertGroups(...alertGroups({ namespace }));
    this.monitor(this.alertmanager, this.kubeStateMetrics, this.grafana);
    if (props.celeryBroker) {
      this.celeryExporter = new CeleryExporter(this, 'CeleryExporter', { name: name('celery-exporter'), tier: props.tier, broker: props.celeryBroker });
      // Its series describe the workers: the worker alerts and ComponentDown use that component.
      this.prometheus.monitor(this.celeryExporter, 'worker');
    }
  }

  /** Scrapes each component's metrics endpoint. */
  public monitor(...targets: IMonitorable[]): this {
    for (const t of targets) this.prometheus.monitor(t);
    return this;
  }
}
