import { ApiObject, Chart } from 'cdk8s';
import { k8s } from '../core/k8s';
import type { PrometheusRule, ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { Construct } from 'constructs';
import { ValidationError } from '../../lib/errors';
import { alertGroups, AlertGroupSpec, AlertRuleOptions, DRILL_OVERDUE_SLACK_SECONDS, drillAlertGroups, pgbouncerAlertGroups, walArchiveAlertGroups } from '../../lib/monitoring/alert-rules';
import { longestGapSeconds } from '../../lib/schedule';
import { dashboardJson, overviewPanels, PanelSpec } from '../../lib/monitoring/dashboards';
import { ruleObject } from '../../lib/monitoring/prometheus-config';
import { SecretKeyRef } from '../../lib/secrets';
import { TierName } from '../../lib/tiers';
import { ApiServerAddress, checkDnsLabel, checkOneOf } from '../../lib/validate';
import { IRedisDatabase } from '../data/redis-database';
import { Alertmanager, AlertmanagerProps, AlertReceivers } from './alertmanager';
import { CeleryExporter } from './celery-exporter';
import { Grafana } from './grafana';
import { KubeStateMetrics } from './kube-state-metrics';
import { IMonitorable, Prometheus, PrometheusProps } from './prometheus';

/**
 * `standalone` runs Prometheus, Alertmanager, Grafana and kube-state-metrics in the namespace;
 * `prometheus-operator` emits ServiceMonitors, a PrometheusRule and a dashboard ConfigMap for a
 * cluster that already runs kube-prometheus-stack.
 */
export type MonitoringMode = 'standalone' | 'prometheus-operator';

/** A scheduled drill as `Monitoring.alertOnDrills` reads it: its CronJob's name and spec (`Drill.cronJobSpec`). */
export interface ScheduledDrill {
  /** The CronJob's name. */
  readonly name: string;
  /** The CronJob's spec: schedule, time zone and deadlines. */
  readonly spec: k8s.CronJobSpec;
}

/** Where kube-prometheus-stack runs, for `prometheus-operator` mode. */
export interface PrometheusOperatorOptions {
  /** Namespace of the operator's Prometheus, allowed to scrape the metrics ports. @default "monitoring" */
  readonly namespace?: string;
  /** Labels the operator's Prometheus selects ServiceMonitors and PrometheusRules by. @default {"release": "kube-prometheus-stack"} */
  readonly selectorLabels?: Readonly<Record<string, string>>;
  /** Labels of the operator's Prometheus pods. @default {"app.kubernetes.io/name": "prometheus"} */
  readonly prometheusPodLabels?: Readonly<Record<string, string>>;
  /** Label by which the stack's Grafana sidecar finds dashboard ConfigMaps. @default {"grafana_dashboard": "1"} */
  readonly dashboardLabels?: Readonly<Record<string, string>>;
}

/** Settings of the alert rules a system may change (the namespace and Celery follow from the chart). */
export type MonitoringAlerts = Omit<AlertRuleOptions, 'namespace' | 'celery' | 'postgres'>;

/** Props of `Monitoring`. */
export interface MonitoringProps {
  /** Where alerts go (standalone mode). */
  readonly receivers: AlertReceivers;
  /**
   * The system's maintenance window and its time zone: the standalone Alertmanager mutes alerts
   * that are not critical during it (with the operator, the cluster's Alertmanager is not ours).
   * @default - no window
   */
  readonly maintenanceWindow?: AlertmanagerProps['maintenanceWindow'];
  /** Run our own Prometheus stack, or hand everything to kube-prometheus-stack. @default "standalone" */
  readonly mode?: MonitoringMode;
  /** Settings of `prometheus-operator` mode. @default - kube-prometheus-stack's defaults */
  readonly operator?: PrometheusOperatorOptions;
  /** Prefix of every object name. @default - none */
  readonly namePrefix?: string;
  /** Hardware tier whose presets apply. @default "recommended" */
  readonly tier?: TierName;
  /** The Celery broker, for the Celery exporter. @default - no Celery exporter */
  readonly celeryBroker?: IRedisDatabase;
  /** Grafana's admin password. @default - key "admin-password" of Secret "grafana-credentials" */
  readonly grafanaAdminPasswordSecret?: SecretKeyRef;
  /** Further Prometheus settings (retention, storage, kubelet scraping). @default - Prometheus's defaults */
  readonly prometheus?: Omit<PrometheusProps, 'name' | 'tier'>;
  /** Where the Kubernetes API server listens. @default - any address on 443 and 6443 */
  readonly apiServer?: ApiServerAddress;
  /**
   * The system's overview dashboard: its uid, title and panels of its own (business metrics)
   * after the standard ones (requests, latency, errors, database, cache, pods; Celery with a broker).
   * @default - uid "quality-billing-overview", title "Quality Billing — system overview", no panels of its own
   */
  readonly dashboard?: { readonly uid: string; readonly title: string; readonly extraPanels?: readonly PanelSpec[] };
  /** Alert settings (runbook URL). @default - the seeds' rules */
  readonly alerts?: MonitoringAlerts;
  /** The system runs on PostgreSQL: its alerts and dashboard panels are included. @default true */
  readonly postgres?: boolean;
}

/**
 * The monitoring of a namespace, wired together: the seeds' alerts loaded, alerts routed, the
 * overview dashboard provisioned, each component added with `monitor(...)` — which also opens its
 * metrics port to whichever Prometheus scrapes it.
 */
export class Monitoring extends Construct {
  public readonly mode: MonitoringMode;
  /** Standalone mode only. */
  public readonly prometheus?: Prometheus;
  public readonly alertmanager?: Alertmanager;
  public readonly grafana?: Grafana;
  public readonly kubeStateMetrics?: KubeStateMetrics;
  public readonly celeryExporter?: CeleryExporter;
  private readonly groups: AlertGroupSpec[];
  private readonly runbookBaseUrl?: string;
  private readonly operator: Required<PrometheusOperatorOptions>;
  private readonly name: (n: string) => string;
  private readonly monitored = new Set<string>();

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    this.mode = checkOneOf(this.node.path, 'mode', props.mode ?? 'standalone', ['standalone', 'prometheus-operator'] as const);
    this.name = (n: string) => (props.namePrefix ? `${props.namePrefix}-${n}` : n);
    const namespace = Chart.of(this).namespace ?? 'default';
    this.operator = {
      namespace: checkDnsLabel(this.node.path, 'operator.namespace', props.operator?.namespace ?? 'monitoring'),
      selectorLabels: props.operator?.selectorLabels ?? { release: 'kube-prometheus-stack' },
      prometheusPodLabels: props.operator?.prometheusPodLabels ?? { 'app.kubernetes.io/name': 'prometheus' },
      dashboardLabels: props.operator?.dashboardLabels ?? { grafana_dashboard: '1' },
    };
    const celery = props.celeryBroker !== undefined;
    const postgres = props.postgres ?? true;
    this.groups = alertGroups({ ...props.alerts, namespace, celery, postgres });
    this.runbookBaseUrl = props.alerts?.runbookBaseUrl;
    const dashboard = {
      uid: checkDnsLabel(this.node.path, 'dashboard.uid', props.dashboard?.uid ?? 'quality-billing-overview'),
      title: props.dashboard?.title ?? 'Quality Billing — system overview',
      panels: [...overviewPanels(namespace, { celery, postgres }), ...props.dashboard?.extraPanels ?? []],
    };

    if (this.mode === 'standalone') {
      this.prometheus = new Prometheus(this, 'Prometheus', { ...props.prometheus, apiServer: props.apiServer ?? props.prometheus?.apiServer, name: this.name('prometheus'), tier: props.tier });
      this.alertmanager = new Alertmanager(this, 'Alertmanager', { name: this.name('alertmanager'), tier: props.tier, receivers: props.receivers, maintenanceWindow: props.maintenanceWindow });
      this.kubeStateMetrics = new KubeStateMetrics(this, 'KubeStateMetrics', { name: this.name('kube-state-metrics'), tier: props.tier, apiServer: props.apiServer });
      this.grafana = new Grafana(this, 'Grafana', { name: this.name('grafana'), tier: props.tier, prometheus: this.prometheus, adminPasswordSecret: props.grafanaAdminPasswordSecret, dashboards: [dashboard] });
      this.prometheus.sendAlertsTo(this.alertmanager).addAlertGroups(...this.groups);
      this.monitor(this.alertmanager, this.kubeStateMetrics, this.grafana);
    } else {
      this.operatorObject('PrometheusRule', new (operatorModels().PrometheusRule)({
        metadata: { name: this.name('alerts'), labels: { ...this.operator.selectorLabels } },
        spec: { groups: this.groups.map(g => ({ name: g.alert, rules: g.rules.map(r => ruleObject(r)) as never })) },
      }));
      new k8s.KubeConfigMap(this, 'Dashboard', {
        metadata: { name: this.name('dashboard-overview'), labels: { ...this.operator.dashboardLabels } },
        data: { [`${dashboard.uid}.json`]: JSON.stringify(dashboardJson(dashboard.uid, dashboard.title, dashboard.panels), null, 2) },
      });
    }
    if (props.celeryBroker) {
      this.celeryExporter = new CeleryExporter(this, 'CeleryExporter', { name: this.name('celery-exporter'), tier: props.tier, broker: props.celeryBroker });
      // Its series describe the workers: the worker alerts and ComponentDown use that component.
      this.monitorAs(this.celeryExporter, 'worker');
    }
  }

  /** The alert groups, in either mode. */
  public get alertGroups(): readonly AlertGroupSpec[] {
    return [...this.groups];
  }

  /**
   * Adds the WAL archiving alerts (failures, no archive while WAL is written, the `.ready` backlog)
   * for a server that archives WAL; the server's exporter reports what they read once archiving is
   * enabled (`Postgres.enableWalArchiving`). In prometheus-operator mode they form a PrometheusRule
   * of their own, "<prefix>-alerts-wal-archiving".
   */
  public alertOnWalArchiving(archiving: { readonly archiveTimeoutSeconds: number; readonly archiveAgeAlertSeconds: number }): this {
    return this.addAlertSet('WalArchivingRule', 'alerts-wal-archiving', 'alertOnWalArchiving', 'the WAL archiving alerts', walArchiveAlertGroups({
      namespace: Chart.of(this).namespace ?? 'default', runbookBaseUrl: this.runbookBaseUrl, path: this.node.path,
      archiveTimeoutSeconds: archiving.archiveTimeoutSeconds, maxArchiveAgeSeconds: archiving.archiveAgeAlertSeconds,
    }));
  }

  /**
   * Adds the PgBouncer alerts (clients waiting for a server connection, PgBouncer down) for a
   * system with a connection pooler, whose exporter is monitored. In prometheus-operator mode they
   * form a PrometheusRule of their own, "<prefix>-alerts-pgbouncer".
   */
  public alertOnPooler(): this {
    return this.addAlertSet('PgBouncerRule', 'alerts-pgbouncer', 'alertOnPooler', 'the PgBouncer alerts',
      pgbouncerAlertGroups({ namespace: Chart.of(this).namespace ?? 'default', runbookBaseUrl: this.runbookBaseUrl }));
  }

  /**
   * Adds DrillOverdue for scheduled drills: each CronJob is overdue when it has not succeeded for
   * its longest gap between runs (its schedule over a year) plus its starting and active deadlines
   * plus a day. In prometheus-operator mode they form a PrometheusRule "<prefix>-alerts-drills".
   */
  public alertOnDrills(cronJobs: readonly (k8s.KubeCronJob | ScheduledDrill)[]): this {
    const drills = cronJobs.map(c => {
      // A Drill's spec as built: the synth's checks then resolve its CronJob only once (test/stacks/synth-cost.test.ts).
      const spec = 'spec' in c ? c.spec : c.toJson().spec as k8s.CronJobSpec;
      const deadlines = (spec.startingDeadlineSeconds ?? 0) + (spec.jobTemplate.spec?.activeDeadlineSeconds ?? 0);
      return { cronJob: c.name, overdueAfterSeconds: longestGapSeconds(spec.schedule, spec.timeZone) + deadlines + DRILL_OVERDUE_SLACK_SECONDS };
    });
    return this.addAlertSet('DrillRule', 'alerts-drills', 'alertOnDrills', 'the drill alerts',
      drillAlertGroups({ namespace: Chart.of(this).namespace ?? 'default', runbookBaseUrl: this.runbookBaseUrl, drills }));
  }

  /** Adds a set of alert groups once: to our Prometheus's rules, or as a PrometheusRule `<prefix>-<name>`. */
  private addAlertSet(id: string, name: string, field: string, what: string, groups: AlertGroupSpec[]): this {
    if (groups.some(g => this.groups.some(h => h.alert === g.alert))) throw new ValidationError(this.node.path, field, groups[0].alert, `${what} added once`);
    this.groups.push(...groups);
    if (this.prometheus) {
      this.prometheus.addAlertGroups(...groups);
    } else {
      this.operatorObject(id, new (operatorModels().PrometheusRule)({
        metadata: { name: this.name(name), labels: { ...this.operator.selectorLabels } },
        spec: { groups: groups.map(g => ({ name: g.alert, rules: g.rules.map(r => ruleObject(r)) as never })) },
      }));
    }
    return this;
  }

  /** Scrapes each component's metrics endpoint and opens its metrics port to the scraper. */
  public monitor(...targets: IMonitorable[]): this {
    for (const t of targets) this.monitorAs(t, t.labels['app.kubernetes.io/component']);
    return this;
  }

  private monitorAs(target: IMonitorable, component: string): void {
    if (this.prometheus) {
      this.prometheus.monitor(target, component);
      return;
    }
    if (this.monitored.has(target.metrics.serviceName)) throw new ValidationError(this.node.path, 'monitor', target.node.path, 'each target monitored once');
    this.monitored.add(target.metrics.serviceName);
    const namespace = Chart.of(this).namespace ?? 'default';
    this.operatorObject(`ServiceMonitor-${target.node.id}`, new (operatorModels().ServiceMonitor)({
      metadata: { name: target.metrics.serviceName, labels: { ...this.operator.selectorLabels } },
      spec: {
        selector: { matchLabels: { ...target.selector } },
        namespaceSelector: { matchNames: [namespace] },
        endpoints: [{
          port: target.metrics.portName,
          path: target.metrics.path,
          interval: '15s',
          honorLabels: target.metrics.honorLabels,
          relabelings: [{ targetLabel: 'component', replacement: component }, { targetLabel: 'namespace', replacement: namespace }],
        }],
      },
    }));
    target.allowIngressFrom({
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': this.operator.namespace } },
      podSelector: { matchLabels: { ...this.operator.prometheusPodLabels } },
    }, [target.metrics.port]);
  }

  /** Validates a prometheus-operator model against its CRD schema and adds it to the chart. */
  private operatorObject(id: string, model: ServiceMonitor | PrometheusRule): ApiObject {
    try {
      model.validate();
    } catch (e) {
      throw new ValidationError(this.node.path, `${model.kind} ${model.metadata?.name}`, (e as Error).message, 'an object valid against the prometheus-operator CRD schema');
    }
    const { apiVersion, kind, metadata, ...rest } = model.toJSON() as unknown as { apiVersion: string; kind: string; metadata: Record<string, unknown> };
    return new ApiObject(this, id, { apiVersion, kind, metadata, ...rest });
  }
}

/**
 * The prometheus-operator models, loaded on first use: their schema validators take as long to
 * load as the rest of a synth, and standalone mode never needs them.
 */
function operatorModels(): { ServiceMonitor: typeof ServiceMonitor; PrometheusRule: typeof PrometheusRule } {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1');
}
