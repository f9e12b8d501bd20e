import { stringify } from '../yaml-text';
import { AlertGroupSpec, AlertRuleSpec } from './alert-rules';

/** Where the Prometheus service account's credentials are mounted. */
const SA = '/var/run/secrets/kubernetes.io/serviceaccount';

/** A component Prometheus scrapes: the Service that fronts it and the name of its metrics port. */
export interface ScrapeTarget {
  /** Service name; also the `job` label. */
  readonly service: string;
  /** Value of the `component` label on its series (and of ComponentDown). */
  readonly component: string;
  /** Name of the Service port that serves metrics. @default "metrics" */
  readonly portName?: string;
  /** HTTP path of the metrics. @default "/metrics" */
  readonly path?: string;
  /** Keep the series' own `job` and `instance` (a Pushgateway). @default false */
  readonly honorLabels?: boolean;
}

/** Settings of prometheus.yml. */
export interface PrometheusConfigOptions {
  /** The namespace of the monitored system: discovery and series are limited to it. */
  readonly namespace: string;
  /** Seconds between scrapes (seed 000 §6.1: 15 s). */
  readonly scrapeIntervalSeconds: number;
  /** The components scraped, found by endpoint discovery. */
  readonly targets: readonly ScrapeTarget[];
  /** `host:port` of Alertmanager. @default - no alerting section */
  readonly alertmanager?: string;
  /** Scrape the kubelets (cAdvisor and volume stats) on their port 10250, for CPU, memory and disk alerts. */
  readonly scrapeKubelets: boolean;
  /** Verify the kubelets' serving certificates against the cluster CA (see `PrometheusProps`). @default false */
  readonly verifyKubeletCertificates?: boolean;
  /** Folder the rule files are mounted in. */
  readonly rulesDir: string;
}

/**
 * Renders prometheus.yml. Each target is found through Kubernetes endpoint discovery limited to
 * the namespace and kept by Service name and port name, so a scaled Deployment's new pods are
 * scraped without a config change, and nothing outside the declared components is.
 */
export function renderPrometheusConfig(o: PrometheusConfigOptions): string {
  const interval = `${o.scrapeIntervalSeconds}s`;
  const scrapeConfigs: object[] = o.targets.map(t => ({
    job_name: t.service,
    metrics_path: t.path ?? '/metrics',
    honor_labels: t.honorLabels ? true : undefined,
    kubernetes_sd_configs: [{ role: 'endpoints', namespaces: { names: [o.namespace] } }],
    relabel_configs: [
      { source_labels: ['__meta_kubernetes_service_name', '__meta_kubernetes_endpoint_port_name'], regex: `${escapeRegex(t.service)};${escapeRegex(t.portName ?? 'metrics')}`, action: 'keep' },
      { target_label: 'namespace', replacement: o.namespace },
      { target_label: 'component', replacement: t.component },
      { source_labels: ['__meta_kubernetes_pod_name'], target_label: 'pod' },
    ],
  }));
  if (o.scrapeKubelets) {
    for (const [job, path] of [['kubelet-cadvisor', '/metrics/cadvisor'], ['kubelet', '/metrics']] as const) {
      scrapeConfigs.push({
        job_name: job,
        // Straight to each kubelet: node discovery's address is the node's InternalIP and the
        // kubelet's port (10250). The kubelet authorizes /metrics and /metrics/cadvisor as
        // nodes/metrics; going through the API server's node proxy would need nodes/proxy, whose
        // GET can run commands in any container (kubernetes/kubernetes#83465). kube-prometheus-stack
        // scrapes the kubelets the same way, and like it skips the certificate check by default:
        // kubelets serve self-signed certificates unless serving certificates are bootstrapped.
        scheme: 'https',
        metrics_path: path,
        kubernetes_sd_configs: [{ role: 'node' }],
        tls_config: o.verifyKubeletCertificates ? { ca_file: `${SA}/ca.crt` } : { ca_file: `${SA}/ca.crt`, insecure_skip_verify: true },
        authorization: { credentials_file: `${SA}/token` },
        relabel_configs: [
          { source_labels: ['__meta_kubernetes_node_name'], target_label: 'node' },
        ],
        // Only this system's series are kept; the rest of the cluster is someone else's.
        metric_relabel_configs: [{ source_labels: ['namespace'], regex: escapeRegex(o.namespace), action: 'keep' }],
      });
    }
  }
  return stringify({
    global: { scrape_interval: interval, evaluation_interval: interval, scrape_timeout: `${Math.min(10, o.scrapeIntervalSeconds)}s` },
    rule_files: [`${o.rulesDir}/*.yml`],
    alerting: o.alertmanager ? { alertmanagers: [{ static_configs: [{ targets: [o.alertmanager] }] }] } : undefined,
    scrape_configs: scrapeConfigs,
  }, { lineWidth: 0 });
}

/** The rule as Prometheus reads it; without annotations for `promtool test rules` (see renderRuleTests). */
export function ruleObject(r: AlertRuleSpec, options: { annotations?: boolean } = {}): object {
  return {
    alert: r.alert,
    expr: r.expr,
    for: r.for,
    labels: { severity: r.severity, component: r.component },
    annotations: options.annotations === false ? undefined : { summary: r.summary, description: r.description, runbook_url: r.runbook },
  };
}

/** Renders the rule file: one rule group per alert. */
export function renderRules(groups: readonly AlertGroupSpec[], options: { annotations?: boolean } = {}): string {
  return stringify({ groups: groups.map(g => ({ name: g.alert, rules: g.rules.map(r => ruleObject(r, options)) })) }, { lineWidth: 0 });
}

/**
 * Renders a `promtool test rules` file for the groups: each case checks which severities fire at
 * its evaluation time, so a threshold, a `for:` or a label that drifts fails the suite. promtool
 * compares annotations too, and ours quote `$value`: point it at the rules rendered with
 * `annotations: false`, which differ from the deployed ones in nothing else.
 */
export function renderRuleTests(groups: readonly AlertGroupSpec[], ruleFile: string): string {
  return stringify({
    rule_files: [ruleFile],
    evaluation_interval: '1m',
    tests: groups.flatMap(g => g.cases.map(c => ({
      name: `${g.alert}: ${c.name}`,
      interval: c.interval ?? '1m',
      input_series: c.series.map(s => ({ series: s.series, values: s.values })),
      alert_rule_test: [{
        eval_time: c.evalTime,
        alertname: g.alert,
        exp_alerts: c.firing.map(severity => ({ exp_labels: { ...g.testLabels, severity } })),
      }],
    }))),
  }, { lineWidth: 0 });
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
