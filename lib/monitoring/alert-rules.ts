import { ValidationError } from '../errors';
import { WAL_ARCHIVE_METRICS } from './postgres-exporter-queries';

/**
 * The alert rules of the quality-billing system, as data. Each rule carries the test cases that
 * prove it (fed to `promtool test rules`): input series in promtool's expanding notation, the
 * time to evaluate at and which severities must be firing then — including the cases just below
 * the threshold and shorter than `for:`, where a weaker twin or nothing at all fires.
 *
 * Sources: seed 000 §6.2 (p95 > 1 s, 5xx > 10/min, Celery failures > 5/min, pool > 80 %),
 * seed 001 (target down, CPU / memory / disk pressure, high error rate), seed 003's SLOs as
 * warnings (CPU < 70 %, memory < 80 %, p95 < 500 ms, error rate < 0.1 %), and backups, volumes
 * and restarts.
 */

export type Severity = 'warning' | 'critical';

/** One promtool input series: `metric{labels}` and its values, e.g. `0+60x30` (one sample a minute). */
export interface TestSeries {
  readonly series: string;
  readonly values: string;
}

/** One promtool case: with these series, at `evalTime`, exactly `firing` severities fire. */
export interface AlertTestCase {
  readonly name: string;
  readonly series: readonly TestSeries[];
  readonly evalTime: string;
  readonly firing: readonly Severity[];
  /** Time between two input samples. @default "1m" */
  readonly interval?: string;
}

/** One alert rule: a severity twin shares the alert name with a stricter threshold. */
export interface AlertRuleSpec {
  readonly alert: string;
  readonly severity: Severity;
  readonly expr: string;
  readonly for: string;
  /** The component the alert is about (a `component` label), for inhibition by ComponentDown. */
  readonly component: string;
  readonly summary: string;
  readonly description: string;
  readonly runbook: string;
}

/** Rules that share an alert name (severity twins) and the cases that test them together. */
export interface AlertGroupSpec {
  readonly alert: string;
  readonly rules: readonly AlertRuleSpec[];
  readonly cases: readonly AlertTestCase[];
  /** Labels every firing alert of the group carries in the tests (besides alertname and severity). */
  readonly testLabels: Readonly<Record<string, string>>;
}

/** The alerts that read PostgreSQL's or its clients' pool metrics. */
const POSTGRES_ALERTS = ['PostgresConnectionsHigh', 'DatabasePoolExhausted'];

/** Settings the rules depend on. */
export interface AlertRuleOptions {
  /** The namespace of the monitored system; every rule is limited to it. */
  readonly namespace: string;
  /** Base URL of the runbooks. @default - the README's alert section */
  readonly runbookBaseUrl?: string;
  /** The system runs Celery workers: include the Celery alerts. @default true */
  readonly celery?: boolean;
  /** The system runs on PostgreSQL: include its connection and pool alerts. @default true */
  readonly postgres?: boolean;
}

/** The alert groups for a namespace. */
export function alertGroups(o: AlertRuleOptions): AlertGroupSpec[] {
  const ns = o.namespace;
  const sel = (extra = '') => `{namespace="${ns}"${extra ? `, ${extra}` : ''}}`;
  const runbook = (name: string) => `${o.runbookBaseUrl ?? 'https://github.com/quality-billing/quality-billing-infra/blob/main/README.md'}#${name.toLowerCase()}`;
  const rule = (r: Omit<AlertRuleSpec, 'runbook'>): AlertRuleSpec => ({ ...r, runbook: runbook(r.alert) });
  const nsl = `namespace="${ns}"`;
  const pod = `${nsl}, pod="p-1", container="c"`;

  const groups: AlertGroupSpec[] = [
    {
      alert: 'ApiLatencyHigh',
      testLabels: { namespace: ns, component: 'api' },
      rules: [
        rule({ alert: 'ApiLatencyHigh', severity: 'warning', for: '10m', component: 'api',
          expr: `histogram_quantile(0.95, sum by (namespace, le) (rate(http_request_duration_seconds_bucket${sel()}[5m]))) > 0.5`,
          summary: 'API p95 latency above the 500 ms SLO', description: 'p95 of http_request_duration_seconds is {{ $value | humanizeDuration }} (SLO < 500 ms, seed 003).' }),
        rule({ alert: 'ApiLatencyHigh', severity: 'critical', for: '5m', component: 'api',
          expr: `histogram_quantile(0.95, sum by (namespace, le) (rate(http_request_duration_seconds_bucket${sel()}[5m]))) > 1`,
          summary: 'API p95 latency above 1 s', description: 'p95 of http_request_duration_seconds is {{ $value | humanizeDuration }} (threshold 1 s, seed 000 §6.2).' }),
      ],
      cases: [
        // 100 requests a minute, 94 of them under 1 s: p95 = 1 + (95 - 94) / 6 x 1.5 = 1.25 s, just above 1 s.
        { name: 'just above 1 s', evalTime: '20m', firing: ['warning', 'critical'], series: histogram(nsl, { 0.5: 0, 1: 94, 2.5: 100 }) },
        // Half under 0.5 s, the rest under 1 s: p95 = 0.95 s, just below 1 s.
        { name: 'just below 1 s', evalTime: '20m', firing: ['warning'], series: histogram(nsl, { 0.5: 50, 1: 100, 2.5: 100 }) },
        // 96 % under 0.5 s: p95 = 0.49 s, just below the SLO.
        { name: 'just below 500 ms', evalTime: '20m', firing: [], series: histogram(nsl, { 0.5: 96, 1: 100, 2.5: 100 }) },
        // Slow, but for less time than `for`.
        { name: 'slow for 4 minutes', evalTime: '4m', firing: [], series: histogram(nsl, { 0.5: 0, 1: 0, 2.5: 100 }) },
      ],
    },
    {
      alert: 'Api5xxPerMinute',
      testLabels: { namespace: ns, component: 'api' },
      rules: [
        rule({ alert: 'Api5xxPerMinute', severity: 'critical', for: '2m', component: 'api',
          expr: `sum by (namespace) (rate(http_requests_total${sel('status=~"5.."')}[5m])) * 60 > 10`,
          summary: 'More than 10 server errors a minute', description: '{{ $value | printf "%.1f" }} 5xx responses a minute (threshold 10, seed 000 §6.2).' }),
      ],
      cases: [
        { name: '12 a minute', evalTime: '10m', firing: ['critical'], series: [{ series: `http_requests_total{${nsl}, status="500"}`, values: '0+12x20' }] },
        { name: '9 a minute', evalTime: '10m', firing: [], series: [{ series: `http_requests_total{${nsl}, status="500"}`, values: '0+9x20' }] },
        { name: '12 a minute for 1 minute', evalTime: '1m', firing: [], series: [{ series: `http_requests_total{${nsl}, status="500"}`, values: '0+12x20' }] },
      ],
    },
    {
      alert: 'ApiErrorRateHigh',
      testLabels: { namespace: ns, component: 'api' },
      rules: [
        rule({ alert: 'ApiErrorRateHigh', severity: 'warning', for: '10m', component: 'api',
          expr: `sum by (namespace) (rate(http_requests_total${sel('status=~"5.."')}[5m])) / sum by (namespace) (rate(http_requests_total${sel()}[5m])) > 0.001`,
          summary: 'API error rate above the 0.1 % SLO', description: '{{ $value | humanizePercentage }} of requests fail (SLO < 0.1 %, seed 003).' }),
        rule({ alert: 'ApiErrorRateHigh', severity: 'critical', for: '5m', component: 'api',
          expr: `sum by (namespace) (rate(http_requests_total${sel('status=~"5.."')}[5m])) / sum by (namespace) (rate(http_requests_total${sel()}[5m])) > 0.05`,
          summary: 'API error rate above 5 %', description: '{{ $value | humanizePercentage }} of requests fail (seed 001: high error rate).' }),
      ],
      cases: [
        { name: '10 % errors', evalTime: '20m', firing: ['warning', 'critical'], series: errorRate(nsl, 100, 10) },
        { name: '4 % errors', evalTime: '20m', firing: ['warning'], series: errorRate(nsl, 1000, 40) },
        { name: '0.09 % errors', evalTime: '20m', firing: [], series: errorRate(nsl, 10000, 9) },
        { name: '10 % errors for 4 minutes', evalTime: '4m', firing: [], series: errorRate(nsl, 100, 10) },
      ],
    },
    {
      alert: 'CeleryTaskFailures',
      testLabels: { namespace: ns, component: 'worker' },
      rules: [
        rule({ alert: 'CeleryTaskFailures', severity: 'warning', for: '5m', component: 'worker',
          expr: `sum by (namespace) (rate(celery_task_failed_total${sel()}[5m])) * 60 > 5`,
          summary: 'More than 5 Celery task failures a minute', description: '{{ $value | printf "%.1f" }} failed tasks a minute (threshold 5, seed 000 §6.2).' }),
      ],
      cases: [
        { name: '6 a minute', evalTime: '15m', firing: ['warning'], series: [{ series: `celery_task_failed_total{${nsl}, name="billing.run"}`, values: '0+6x30' }] },
        { name: '4 a minute', evalTime: '15m', firing: [], series: [{ series: `celery_task_failed_total{${nsl}, name="billing.run"}`, values: '0+4x30' }] },
        { name: '6 a minute for 4 minutes', evalTime: '4m', firing: [], series: [{ series: `celery_task_failed_total{${nsl}, name="billing.run"}`, values: '0+6x30' }] },
      ],
    },
    {
      alert: 'DatabasePoolExhausted',
      testLabels: { namespace: ns, component: 'api', pod: 'p-1' },
      rules: [
        rule({ alert: 'DatabasePoolExhausted', severity: 'warning', for: '5m', component: 'api',
          expr: `max by (namespace, pod) (db_connection_pool_checked_out${sel()} / db_connection_pool_size${sel()}) > 0.8`,
          summary: 'Database connection pool more than 80 % in use', description: '{{ $labels.pod }} uses {{ $value | humanizePercentage }} of its pool (threshold 80 %, seed 000 §6.2).' }),
        rule({ alert: 'DatabasePoolExhausted', severity: 'critical', for: '5m', component: 'api',
          expr: `max by (namespace, pod) (db_connection_pool_checked_out${sel()} / db_connection_pool_size${sel()}) > 0.95`,
          summary: 'Database connection pool nearly exhausted', description: '{{ $labels.pod }} uses {{ $value | humanizePercentage }} of its pool.' }),
      ],
      cases: [
        { name: '100 %', evalTime: '10m', firing: ['warning', 'critical'], series: gauges(`${nsl}, pod="p-1"`, 'db_connection_pool_checked_out', 20, 'db_connection_pool_size', 20) },
        { name: '90 %', evalTime: '10m', firing: ['warning'], series: gauges(`${nsl}, pod="p-1"`, 'db_connection_pool_checked_out', 18, 'db_connection_pool_size', 20) },
        { name: '75 %', evalTime: '10m', firing: [], series: gauges(`${nsl}, pod="p-1"`, 'db_connection_pool_checked_out', 15, 'db_connection_pool_size', 20) },
        { name: '100 % for 4 minutes', evalTime: '4m', firing: [], series: gauges(`${nsl}, pod="p-1"`, 'db_connection_pool_checked_out', 20, 'db_connection_pool_size', 20) },
      ],
    },
    {
      alert: 'PostgresConnectionsHigh',
      testLabels: { namespace: ns, component: 'database' },
      rules: [
        rule({ alert: 'PostgresConnectionsHigh', severity: 'warning', for: '5m', component: 'database',
          expr: `sum by (namespace) (pg_stat_activity_count${sel()}) / max by (namespace) (pg_settings_max_connections${sel()}) > 0.8`,
          summary: 'PostgreSQL above 80 % of max_connections', description: '{{ $value | humanizePercentage }} of max_connections in use.' }),
        rule({ alert: 'PostgresConnectionsHigh', severity: 'critical', for: '5m', component: 'database',
          expr: `sum by (namespace) (pg_stat_activity_count${sel()}) / max by (namespace) (pg_settings_max_connections${sel()}) > 0.95`,
          summary: 'PostgreSQL nearly out of connections', description: '{{ $value | humanizePercentage }} of max_connections in use: new clients will be refused.' }),
      ],
      cases: [
        { name: '97 %', evalTime: '10m', firing: ['warning', 'critical'], series: gauges(nsl, 'pg_stat_activity_count', 97, 'pg_settings_max_connections', 100) },
        { name: '90 %', evalTime: '10m', firing: ['warning'], series: gauges(nsl, 'pg_stat_activity_count', 90, 'pg_settings_max_connections', 100) },
        { name: '79 %', evalTime: '10m', firing: [], series: gauges(nsl, 'pg_stat_activity_count', 79, 'pg_settings_max_connections', 100) },
      ],
    },
    {
      alert: 'ComponentDown',
      testLabels: { namespace: ns, component: 'database', job: 'quality-billing-postgres', instance: '10.0.0.1:9187' },
      rules: [
        rule({ alert: 'ComponentDown', severity: 'critical', for: '2m', component: '{{ $labels.component }}',
          expr: `up${sel()} == 0`,
          summary: '{{ $labels.job }} is down', description: 'Prometheus cannot scrape {{ $labels.instance }} of {{ $labels.job }} (seed 001: service down).' }),
      ],
      cases: [
        { name: 'down', evalTime: '5m', firing: ['critical'], series: [{ series: `up{${nsl}, component="database", job="quality-billing-postgres", instance="10.0.0.1:9187"}`, values: '0x10' }] },
        { name: 'up', evalTime: '5m', firing: [], series: [{ series: `up{${nsl}, component="database", job="quality-billing-postgres", instance="10.0.0.1:9187"}`, values: '1x10' }] },
        { name: 'down for 1 minute', evalTime: '1m', firing: [], series: [{ series: `up{${nsl}, component="database", job="quality-billing-postgres", instance="10.0.0.1:9187"}`, values: '0x10' }] },
      ],
    },
    {
      alert: 'ContainerCpuHigh',
      testLabels: { namespace: ns, pod: 'p-1', container: 'c', component: 'pod' },
      rules: [
        rule({ alert: 'ContainerCpuHigh', severity: 'warning', for: '15m', component: 'pod',
          expr: cpuRatio(sel('container!=""')) + ' > 0.7',
          summary: '{{ $labels.pod }}/{{ $labels.container }} above 70 % of its CPU limit', description: 'CPU use is {{ $value | humanizePercentage }} of the limit (SLO < 70 %, seed 003).' }),
        rule({ alert: 'ContainerCpuHigh', severity: 'critical', for: '15m', component: 'pod',
          expr: cpuRatio(sel('container!=""')) + ' > 0.9',
          summary: '{{ $labels.pod }}/{{ $labels.container }} throttled at its CPU limit', description: 'CPU use is {{ $value | humanizePercentage }} of the limit (seed 001: resource pressure).' }),
      ],
      cases: [
        // 0.95 cores of a 1-core limit.
        { name: '95 %', evalTime: '25m', firing: ['warning', 'critical'], series: cpu(pod, 0.95) },
        { name: '80 %', evalTime: '25m', firing: ['warning'], series: cpu(pod, 0.8) },
        { name: '65 %', evalTime: '25m', firing: [], series: cpu(pod, 0.65) },
        { name: '95 % for 10 minutes', evalTime: '10m', firing: [], series: cpu(pod, 0.95) },
      ],
    },
    {
      alert: 'ContainerMemoryHigh',
      testLabels: { namespace: ns, pod: 'p-1', container: 'c', component: 'pod' },
      rules: [
        rule({ alert: 'ContainerMemoryHigh', severity: 'warning', for: '10m', component: 'pod',
          expr: memRatio(sel('container!=""')) + ' > 0.8',
          summary: '{{ $labels.pod }}/{{ $labels.container }} above 80 % of its memory limit', description: 'Working set is {{ $value | humanizePercentage }} of the limit (SLO < 80 %, seed 003).' }),
        rule({ alert: 'ContainerMemoryHigh', severity: 'critical', for: '5m', component: 'pod',
          expr: memRatio(sel('container!=""')) + ' > 0.9',
          summary: '{{ $labels.pod }}/{{ $labels.container }} close to being OOM-killed', description: 'Working set is {{ $value | humanizePercentage }} of the limit (seed 001: resource pressure).' }),
      ],
      cases: [
        { name: '95 %', evalTime: '15m', firing: ['warning', 'critical'], series: memory(pod, 0.95) },
        { name: '85 %', evalTime: '15m', firing: ['warning'], series: memory(pod, 0.85) },
        { name: '75 %', evalTime: '15m', firing: [], series: memory(pod, 0.75) },
        { name: '95 % for 4 minutes', evalTime: '4m', firing: [], series: memory(pod, 0.95) },
      ],
    },
    {
      alert: 'VolumeAlmostFull',
      testLabels: { namespace: ns, persistentvolumeclaim: 'data-db-0', component: 'storage' },
      rules: [
        rule({ alert: 'VolumeAlmostFull', severity: 'warning', for: '10m', component: 'storage',
          expr: `max by (namespace, persistentvolumeclaim) (kubelet_volume_stats_used_bytes${sel()} / kubelet_volume_stats_capacity_bytes${sel()}) > 0.8`,
          summary: 'Volume {{ $labels.persistentvolumeclaim }} more than 80 % full', description: '{{ $value | humanizePercentage }} used (seed 001: disk pressure).' }),
        rule({ alert: 'VolumeAlmostFull', severity: 'critical', for: '5m', component: 'storage',
          expr: `max by (namespace, persistentvolumeclaim) (kubelet_volume_stats_used_bytes${sel()} / kubelet_volume_stats_capacity_bytes${sel()}) > 0.9`,
          summary: 'Volume {{ $labels.persistentvolumeclaim }} more than 90 % full', description: '{{ $value | humanizePercentage }} used: writes will fail when it is full.' }),
      ],
      cases: [
        { name: '95 %', evalTime: '15m', firing: ['warning', 'critical'], series: gauges(`${nsl}, persistentvolumeclaim="data-db-0"`, 'kubelet_volume_stats_used_bytes', 95, 'kubelet_volume_stats_capacity_bytes', 100) },
        { name: '85 %', evalTime: '15m', firing: ['warning'], series: gauges(`${nsl}, persistentvolumeclaim="data-db-0"`, 'kubelet_volume_stats_used_bytes', 85, 'kubelet_volume_stats_capacity_bytes', 100) },
        { name: '79 %', evalTime: '15m', firing: [], series: gauges(`${nsl}, persistentvolumeclaim="data-db-0"`, 'kubelet_volume_stats_used_bytes', 79, 'kubelet_volume_stats_capacity_bytes', 100) },
      ],
    },
    {
      alert: 'PodRestarting',
      testLabels: { namespace: ns, pod: 'p-1', container: 'c', component: 'pod' },
      rules: [
        rule({ alert: 'PodRestarting', severity: 'warning', for: '0m', component: 'pod',
          expr: `increase(kube_pod_container_status_restarts_total${sel()}[1h]) > 3`,
          summary: '{{ $labels.pod }}/{{ $labels.container }} restarts repeatedly', description: '{{ $value | printf "%.0f" }} restarts in the last hour.' }),
      ],
      cases: [
        { name: '5 restarts in an hour', evalTime: '60m', firing: ['warning'], series: [{ series: `kube_pod_container_status_restarts_total{${pod}}`, values: '0+1x5 5x60' }] },
        { name: '3 restarts in an hour', evalTime: '60m', firing: [], series: [{ series: `kube_pod_container_status_restarts_total{${pod}}`, values: '0+1x3 3x60' }] },
      ],
    },
    {
      alert: 'BackupMissing',
      testLabels: { namespace: ns, cronjob: 'quality-billing-postgres-backup', component: 'backup' },
      rules: [
        rule({ alert: 'BackupMissing', severity: 'critical', for: '0m', component: 'backup',
          expr: `time() - max by (namespace, cronjob) (kube_cronjob_status_last_successful_time${sel('cronjob=~".*backup.*", cronjob!~".*config-backup"')}) > 26 * 3600`,
          summary: 'No successful backup in 26 hours', description: '{{ $labels.cronjob }} last succeeded {{ $value | humanizeDuration }} ago (daily at 02:00, seed 001).' }),
      ],
      cases: [
        // Last success at t=0; 27 hours later it is missing, 25 hours later it is not yet.
        { name: '27 h since the last success', evalTime: '27h', interval: '1h', firing: ['critical'], series: [{ series: `kube_cronjob_status_last_successful_time{${nsl}, cronjob="quality-billing-postgres-backup"}`, values: '0x30' }] },
        { name: '25 h since the last success', evalTime: '25h', interval: '1h', firing: [], series: [{ series: `kube_cronjob_status_last_successful_time{${nsl}, cronjob="quality-billing-postgres-backup"}`, values: '0x30' }] },
        // The weekly configuration export is ConfigBackupMissing's, not this daily rule's.
        { name: 'a weekly config backup 27 h old', evalTime: '27h', interval: '1h', firing: [], series: [{ series: `kube_cronjob_status_last_successful_time{${nsl}, cronjob="qcat-config-backup"}`, values: '0x30' }] },
      ],
    },
    {
      alert: 'ConfigBackupMissing',
      testLabels: { namespace: ns, cronjob: 'qcat-config-backup', component: 'backup' },
      rules: [
        rule({ alert: 'ConfigBackupMissing', severity: 'warning', for: '0m', component: 'backup',
          expr: `time() - max by (namespace, cronjob) (kube_cronjob_status_last_successful_time${sel('cronjob=~".*config-backup"')}) > 8 * 86400`,
          summary: 'No successful configuration backup in 8 days', description: '{{ $labels.cronjob }} last succeeded {{ $value | humanizeDuration }} ago (weekly, seed 001).' }),
      ],
      cases: [
        // As RestoreTestMissing: the success time lies before the test's clock starts.
        { name: '8 days and 3 hours since the last success', evalTime: '1h', firing: ['warning'], series: [{ series: `kube_cronjob_status_last_successful_time{${nsl}, cronjob="qcat-config-backup"}`, values: '-698400x60' }] },
        { name: '7 days and 23 hours since the last success', evalTime: '1h', firing: [], series: [{ series: `kube_cronjob_status_last_successful_time{${nsl}, cronjob="qcat-config-backup"}`, values: '-684000x60' }] },
      ],
    },
    {
      alert: 'RestoreTestFailed',
      testLabels: { namespace: ns, cronjob: 'quality-billing-postgres-restore-test', component: 'backup' },
      rules: [
        // The last scheduled run has not succeeded 7 h later (its deadline is 6 h): it failed.
        rule({ alert: 'RestoreTestFailed', severity: 'critical', for: '7h', component: 'backup',
          expr: `(max by (namespace, cronjob) (kube_cronjob_status_last_schedule_time${sel('cronjob=~".*restore-test.*"')}) > max by (namespace, cronjob) (kube_cronjob_status_last_successful_time${sel('cronjob=~".*restore-test.*"')})) or (max by (namespace, cronjob) (kube_cronjob_status_last_schedule_time${sel('cronjob=~".*restore-test.*"')}) unless on (namespace, cronjob) kube_cronjob_status_last_successful_time)`,
          summary: 'The monthly restore test failed', description: 'The latest run of {{ $labels.cronjob }} did not restore the latest backup: the backups may not be restorable. Read the failed Job\'s logs (kubectl logs job/<name> -c restore).' }),
      ],
      cases: [
        { name: 'scheduled after the last success, 8 h ago', evalTime: '8h', firing: ['critical'], series: [
          { series: `kube_cronjob_status_last_schedule_time{${nsl}, cronjob="quality-billing-postgres-restore-test"}`, values: '100x600' },
          { series: `kube_cronjob_status_last_successful_time{${nsl}, cronjob="quality-billing-postgres-restore-test"}`, values: '50x600' }] },
        { name: 'never succeeded, 8 h after its run', evalTime: '8h', firing: ['critical'], series: [
          { series: `kube_cronjob_status_last_schedule_time{${nsl}, cronjob="quality-billing-postgres-restore-test"}`, values: '100x600' }] },
        { name: 'succeeded after its run', evalTime: '8h', firing: [], series: [
          { series: `kube_cronjob_status_last_schedule_time{${nsl}, cronjob="quality-billing-postgres-restore-test"}`, values: '100x600' },
          { series: `kube_cronjob_status_last_successful_time{${nsl}, cronjob="quality-billing-postgres-restore-test"}`, values: '200x600' }] },
        { name: 'still running (2 h)', evalTime: '2h', firing: [], series: [
          { series: `kube_cronjob_status_last_schedule_time{${nsl}, cronjob="quality-billing-postgres-restore-test"}`, values: '100x600' },
          { series: `kube_cronjob_status_last_successful_time{${nsl}, cronjob="quality-billing-postgres-restore-test"}`, values: '50x600' }] },
      ],
    },
    {
      alert: 'RestoreTestMissing',
      testLabels: { namespace: ns, cronjob: 'quality-billing-postgres-restore-test', component: 'backup' },
      rules: [
        rule({ alert: 'RestoreTestMissing', severity: 'warning', for: '0m', component: 'backup',
          expr: `time() - max by (namespace, cronjob) (kube_cronjob_status_last_successful_time${sel('cronjob=~".*restore-test.*"')}) > 35 * 86400`,
          summary: 'No successful restore test in 35 days', description: '{{ $labels.cronjob }} last succeeded {{ $value | humanizeDuration }} ago (monthly, seed 001).' }),
      ],
      cases: [
        // The series' value is the success time: negative values put it 35 days before the test's
        // clock starts, so a 1 h evaluation suffices (35 days of 1-minute steps take minutes).
        { name: '35 days and 2 hours since the last success', evalTime: '1h', firing: ['warning'], series: [{ series: `kube_cronjob_status_last_successful_time{${nsl}, cronjob="quality-billing-postgres-restore-test"}`, values: '-3027600x60' }] },
        { name: '34 days and 23 hours since the last success', evalTime: '1h', firing: [], series: [{ series: `kube_cronjob_status_last_successful_time{${nsl}, cronjob="quality-billing-postgres-restore-test"}`, values: '-3016800x60' }] },
      ],
    },
    {
      alert: 'JobFailed',
      testLabels: { namespace: ns, job_name: 'quality-billing-postgres-backup-1', component: 'job' },
      rules: [
        rule({ alert: 'JobFailed', severity: 'warning', for: '0m', component: 'job',
          expr: `kube_job_status_failed${sel()} > 0`,
          summary: 'Job {{ $labels.job_name }} failed', description: 'A migration, backup or maintenance Job failed: read its logs with kubectl logs job/{{ $labels.job_name }}.' }),
      ],
      cases: [
        { name: 'failed', evalTime: '5m', firing: ['warning'], series: [{ series: `kube_job_status_failed{${nsl}, job_name="quality-billing-postgres-backup-1"}`, values: '1x10' }] },
        { name: 'not failed', evalTime: '5m', firing: [], series: [{ series: `kube_job_status_failed{${nsl}, job_name="quality-billing-postgres-backup-1"}`, values: '0x10' }] },
      ],
    },
  ];
  // A rule over series nobody exports could never fire: leave the Celery alert out of systems without Celery.
  return groups
    .filter(g => o.celery !== false || g.testLabels.component !== 'worker')
    .filter(g => o.postgres !== false || !POSTGRES_ALERTS.includes(g.alert));
}

/** The defaults of the WAL archiving alerts' thresholds, and why. */
export const WAL_ARCHIVE_ALERT_DEFAULTS = {
  /**
   * No successful archive for 10 minutes while WAL is written: with archive_timeout at 60 s a
   * segment closes at least once a minute under writes, so 10 minutes is ten missed segments,
   * well past pgBackRest's ~38 s of retries for one.
   */
  maxArchiveAgeSeconds: 600,
  /** More than 8 segments (128 MiB of WAL, not yet in the repository) waiting: archiving falls behind. */
  backlogWarningSegments: 8,
  /** More than 64 segments (1 GiB, half of max_wal_size): pg_wal cannot recycle them and fills its volume. */
  backlogCriticalSegments: 64,
} as const;

/** Settings of the WAL archiving alerts (systems with point-in-time recovery). */
export interface WalArchiveAlertOptions {
  /** The namespace of the monitored system; every rule is limited to it. */
  readonly namespace: string;
  /** Base URL of the runbooks. @default - the README's alert section */
  readonly runbookBaseUrl?: string;
  /** The server's archive_timeout: the longest a quiet server keeps a segment before archiving it. */
  readonly archiveTimeoutSeconds: number;
  /** Alert when no segment was archived for longer than this while WAL is written; at least archive_timeout. @default 600 */
  readonly maxArchiveAgeSeconds?: number;
  /** Names the construct whose settings these are, in errors. @default "WalArchiveAlerts" */
  readonly path?: string;
}

/**
 * Checks an archive-age threshold against archive_timeout: a quiet server that writes a little
 * archives only every archive_timeout, so a shorter threshold would fire while all is well.
 */
export function checkArchiveAgeThreshold(path: string, field: string, maxArchiveAgeSeconds: number, archiveTimeoutSeconds: number): number {
  if (typeof maxArchiveAgeSeconds !== 'number' || !Number.isInteger(maxArchiveAgeSeconds) || maxArchiveAgeSeconds < archiveTimeoutSeconds) {
    throw new ValidationError(path, field, maxArchiveAgeSeconds, `whole seconds no shorter than archive_timeout (${archiveTimeoutSeconds} s): a quiet server archives only that often`);
  }
  return maxArchiveAgeSeconds;
}

/**
 * The WAL archiving alerts (issue 18 §3), for a server that archives WAL: failures that keep
 * coming, no successful archive for too long while WAL is written, and the `.ready` backlog.
 * With pgBackRest an unreachable repository makes archive-push block and retry, and
 * `failed_count` may stay 0 through the outage: the age and backlog alerts fire anyway.
 */
export function walArchiveAlertGroups(o: WalArchiveAlertOptions): AlertGroupSpec[] {
  const ns = o.namespace;
  const path = o.path ?? 'WalArchiveAlerts';
  const maxAge = checkArchiveAgeThreshold(path, 'maxArchiveAgeSeconds', o.maxArchiveAgeSeconds ?? WAL_ARCHIVE_ALERT_DEFAULTS.maxArchiveAgeSeconds, o.archiveTimeoutSeconds);
  const { backlogWarningSegments: warnSegments, backlogCriticalSegments: critSegments } = WAL_ARCHIVE_ALERT_DEFAULTS;
  const m = WAL_ARCHIVE_METRICS;
  const sel = `{namespace="${ns}"}`;
  const runbook = (name: string) => `${o.runbookBaseUrl ?? 'https://github.com/quality-billing/quality-billing-infra/blob/main/README.md'}#${name.toLowerCase()}`;
  const rule = (r: Omit<AlertRuleSpec, 'runbook'>): AlertRuleSpec => ({ ...r, runbook: runbook(r.alert) });
  const labels = `namespace="${ns}", pod="p-0"`;
  const testLabels = { namespace: ns, pod: 'p-0', component: 'database' };
  const series = (metric: string, values: string): TestSeries => ({ series: `${metric}{${labels}}`, values });
  const backlog = `max by (namespace, pod) (${m.readySegments}${sel})`;
  const archiveAge = `max by (namespace, pod) (${m.lastArchiveAge}${sel})`;
  // Before the first archive last_archive_age is NaN, and NaN > N is false: a server whose
  // repository was unreachable from the start would never fire. archived_count is 0 then; it must
  // be 0 now and already have been 0 the threshold ago (the counter only gets back to 0 by a
  // reset), so a server that just started, or whose statistics were just reset, has as long to
  // archive its first segment as a running one has between two, and `for:` comes on top.
  const neverArchived = `(max by (namespace, pod) (${m.archived}${sel}) == 0 and on (namespace, pod) max by (namespace, pod) (${m.archived}${sel} offset ${maxAge}s) == 0)`;
  // promtool's series notation has no `NaNx40`: the 41 samples are written out.
  const nan41 = Array(41).fill('NaN').join(' ');
  return [
    {
      alert: 'WalArchiveFailing',
      testLabels,
      rules: [
        // A failure in every 5-minute window for 10 minutes: failures that keep coming, not one blip.
        rule({ alert: 'WalArchiveFailing', severity: 'warning', for: '10m', component: 'database',
          expr: `sum by (namespace, pod) (rate(${m.failed}${sel}[5m])) > 0`,
          summary: 'WAL archiving keeps failing', description: 'archive_command failed {{ $value | humanize }} times a second over 5 minutes, for 10 minutes: the WAL repository is unreachable or refuses the segments; read the postgres container\'s log.' }),
      ],
      cases: [
        { name: 'a failure a minute for 20 minutes', evalTime: '20m', firing: ['warning'], series: [series(m.failed, '0+1x30')] },
        { name: 'one failure, then none', evalTime: '20m', firing: [], series: [series(m.failed, '0x5 1x25')] },
        { name: 'failing for 8 minutes', evalTime: '8m', firing: [], series: [series(m.failed, '0+1x30')] },
      ],
    },
    {
      alert: 'WalArchiveStale',
      testLabels,
      rules: [
        rule({ alert: 'WalArchiveStale', severity: 'critical', for: '5m', component: 'database',
          expr: `(${archiveAge} > ${maxAge} or ${neverArchived}) and on (namespace, pod) sum by (namespace, pod) (increase(${m.writtenBytes}${sel}[${maxAge}s])) > 0`,
          summary: `No WAL archived for more than ${maxAge / 60} minutes while WAL is written`, description: `{{ if eq $value 0.0 }}No segment has been archived since the server started (or its statistics were reset), ${maxAge} s and more ago{{ else }}The last segment was archived {{ $value | humanizeDuration }} ago{{ end }} (threshold ${maxAge} s, archive_timeout ${o.archiveTimeoutSeconds} s): point-in-time recovery falls behind and a lost volume loses that much data.` }),
      ],
      cases: [
        { name: `no archive for 20 minutes while writing`, evalTime: '20m', firing: ['critical'], series: [series(m.lastArchiveAge, '0+60x40'), series(m.writtenBytes, '0+1000000x40')] },
        { name: `archived ${maxAge - 10} s ago while writing`, evalTime: '20m', firing: [], series: [series(m.lastArchiveAge, `${maxAge - 10}x40`), series(m.writtenBytes, '0+1000000x40')] },
        { name: 'no archive for 20 minutes, no WAL written', evalTime: '20m', firing: [], series: [series(m.lastArchiveAge, '0+60x40'), series(m.writtenBytes, '5000000x40')] },
        { name: `past ${maxAge} s for less than 5 minutes`, evalTime: `${Math.floor(maxAge / 60) + 4}m`, firing: [], series: [series(m.lastArchiveAge, '0+60x40'), series(m.writtenBytes, '0+1000000x40')] },
        // Before the first archive the age is NaN (and NaN > N is false): archived_count == 0 says it.
        // The reset cases: archived 50 segments, then the statistics reset (a crash) at 10m.
        { name: 'never archived, 20 minutes of writing', evalTime: '20m', firing: ['critical'], series: [series(m.lastArchiveAge, nan41), series(m.archived, '0x40'), series(m.writtenBytes, '0+1000000x40')] },
        { name: 'never archived, no WAL written', evalTime: '20m', firing: [], series: [series(m.lastArchiveAge, nan41), series(m.archived, '0x40'), series(m.writtenBytes, '5000000x40')] },
        { name: `never archived, writing since a start ${Math.floor(maxAge / 60) + 4} minutes ago`, evalTime: `${Math.floor(maxAge / 60) + 4}m`, firing: [], series: [series(m.lastArchiveAge, nan41), series(m.archived, '0x40'), series(m.writtenBytes, '0+1000000x40')] },
        { name: `statistics reset ${Math.floor(maxAge / 60) + 4} minutes ago, writing`, evalTime: `${Math.floor(maxAge / 60) + 14}m`, firing: [], series: [series(m.lastArchiveAge, `${'30 '.repeat(10)}${nan41.split(' ').slice(10).join(' ')}`), series(m.archived, '50x9 0x30'), series(m.writtenBytes, '0+1000000x40')] },
        { name: `statistics reset ${Math.floor(maxAge / 60) + 6} minutes ago, writing`, evalTime: `${Math.floor(maxAge / 60) + 16}m`, firing: ['critical'], series: [series(m.lastArchiveAge, `${'30 '.repeat(10)}${nan41.split(' ').slice(10).join(' ')}`), series(m.archived, '50x9 0x30'), series(m.writtenBytes, '0+1000000x40')] },
      ],
    },
    {
      alert: 'WalArchiveBacklog',
      testLabels,
      rules: [
        rule({ alert: 'WalArchiveBacklog', severity: 'warning', for: '10m', component: 'database',
          expr: `${backlog} > ${warnSegments}`,
          summary: `More than ${warnSegments} WAL segments wait to be archived`, description: `{{ $value }} segments (16 MiB each) are not in the repository yet (threshold ${warnSegments}): archiving is stuck or falls behind the writes.` }),
        rule({ alert: 'WalArchiveBacklog', severity: 'critical', for: '5m', component: 'database',
          expr: `${backlog} > ${critSegments}`,
          summary: `More than ${critSegments} WAL segments wait to be archived`, description: `{{ $value }} segments wait (threshold ${critSegments}, 1 GiB): pg_wal keeps them until they are archived and fills its volume.` }),
      ],
      cases: [
        { name: `${critSegments + 1} segments`, evalTime: '15m', firing: ['warning', 'critical'], series: [series(m.readySegments, `${critSegments + 1}x30`)] },
        { name: `${warnSegments + 1} segments`, evalTime: '15m', firing: ['warning'], series: [series(m.readySegments, `${warnSegments + 1}x30`)] },
        { name: `${warnSegments} segments`, evalTime: '15m', firing: [], series: [series(m.readySegments, `${warnSegments}x30`)] },
        { name: `${critSegments + 1} segments for 4 minutes`, evalTime: '4m', firing: [], series: [series(m.readySegments, `${critSegments + 1}x30`)] },
      ],
    },
  ];
}

/** The defaults of the PgBouncer alerts' thresholds, and why. */
export const PGBOUNCER_ALERT_DEFAULTS = {
  /** Clients waiting for a server connection for 5 minutes: the pools are too small for the load, or PostgreSQL is slow. */
  waitingForMinutes: 5,
  /** A client waited this long (seconds) for a server connection: requests stall visibly (seed 000 §6.2's 1 s API target, ten times over). */
  maxWaitCriticalSeconds: 10,
} as const;

/** Settings of the PgBouncer alerts (systems with a connection pooler). */
export interface PgBouncerAlertOptions {
  /** The namespace of the monitored system; every rule is limited to it. */
  readonly namespace: string;
  /** Base URL of the runbooks. @default - the README's alert section */
  readonly runbookBaseUrl?: string;
}

/**
 * The PgBouncer alerts (issue 18 §2), on pgbouncer_exporter's series: clients waiting for a
 * server connection (`SHOW POOLS` cl_waiting, maxwait), and the exporter losing PgBouncer.
 */
export function pgbouncerAlertGroups(o: PgBouncerAlertOptions): AlertGroupSpec[] {
  const ns = o.namespace;
  const sel = `{namespace="${ns}"}`;
  const runbook = (name: string) => `${o.runbookBaseUrl ?? 'https://github.com/quality-billing/quality-billing-infra/blob/main/README.md'}#${name.toLowerCase()}`;
  const rule = (r: Omit<AlertRuleSpec, 'runbook'>): AlertRuleSpec => ({ ...r, runbook: runbook(r.alert) });
  const labels = `namespace="${ns}", pod="b-1", database="db", user="u"`;
  const testLabels = { namespace: ns, pod: 'b-1', component: 'database-pooler' };
  const series = (metric: string, values: string): TestSeries => ({ series: `${metric}{${labels}}`, values });
  const { waitingForMinutes: waitFor, maxWaitCriticalSeconds: maxWait } = PGBOUNCER_ALERT_DEFAULTS;
  const waiting = `sum by (namespace, pod) (pgbouncer_pools_client_waiting_connections${sel})`;
  const longestWait = `max by (namespace, pod) (pgbouncer_pools_client_maxwait_seconds${sel})`;
  return [
    {
      alert: 'PgBouncerClientsWaiting',
      testLabels,
      rules: [
        rule({ alert: 'PgBouncerClientsWaiting', severity: 'warning', for: `${waitFor}m`, component: 'database-pooler',
          expr: `${waiting} > 0`,
          summary: 'Clients wait for a PostgreSQL connection in PgBouncer', description: `{{ $value }} clients have waited for a server connection for ${waitFor} minutes: the pools (default_pool_size) are too small for the load, or transactions are slow; see the connection budget in npm run capacity.` }),
        rule({ alert: 'PgBouncerClientsWaiting', severity: 'critical', for: '2m', component: 'database-pooler',
          expr: `${longestWait} > ${maxWait}`,
          summary: `A client waited more than ${maxWait} s for a PostgreSQL connection`, description: `The longest wait is {{ $value | humanizeDuration }} (threshold ${maxWait} s): requests stall, and clients are cut off at query_wait_timeout.` }),
      ],
      cases: [
        { name: 'clients waiting for 10 minutes, 2 s at most', evalTime: '10m', firing: ['warning'], series: [series('pgbouncer_pools_client_waiting_connections', '3x20'), series('pgbouncer_pools_client_maxwait_seconds', '2x20')] },
        { name: 'clients waiting 30 s for 5 minutes', evalTime: '10m', firing: ['warning', 'critical'], series: [series('pgbouncer_pools_client_waiting_connections', '3x20'), series('pgbouncer_pools_client_maxwait_seconds', '30x20')] },
        { name: `clients waiting for ${waitFor - 1} minutes`, evalTime: `${waitFor - 1}m`, firing: [], series: [series('pgbouncer_pools_client_waiting_connections', '3x20'), series('pgbouncer_pools_client_maxwait_seconds', '2x20')] },
        { name: 'nobody waiting', evalTime: '10m', firing: [], series: [series('pgbouncer_pools_client_waiting_connections', '0x20'), series('pgbouncer_pools_client_maxwait_seconds', '0x20')] },
        { name: `waits of ${maxWait} s`, evalTime: '10m', firing: [], series: [series('pgbouncer_pools_client_waiting_connections', '0x20'), series('pgbouncer_pools_client_maxwait_seconds', `${maxWait}x20`)] },
      ],
    },
    {
      alert: 'PgBouncerDown',
      testLabels: { namespace: ns, pod: 'b-1', component: 'database-pooler' },
      rules: [
        rule({ alert: 'PgBouncerDown', severity: 'critical', for: '2m', component: 'database-pooler',
          expr: `max by (namespace, pod) (pgbouncer_up${sel}) == 0`,
          summary: 'The exporter cannot reach PgBouncer', description: 'pgbouncer_exporter in {{ $labels.pod }} gets no answer from PgBouncer\'s admin console for 2 minutes: PgBouncer is down or refuses the exporter\'s login (stats_users).' }),
      ],
      cases: [
        { name: 'down for 5 minutes', evalTime: '5m', firing: ['critical'], series: [{ series: `pgbouncer_up{namespace="${ns}", pod="b-1"}`, values: '0x10' }] },
        { name: 'down for 1 minute', evalTime: '5m', firing: [], series: [{ series: `pgbouncer_up{namespace="${ns}", pod="b-1"}`, values: '1x3 0x7' }] },
        { name: 'up', evalTime: '5m', firing: [], series: [{ series: `pgbouncer_up{namespace="${ns}", pod="b-1"}`, values: '1x10' }] },
      ],
    },
  ];
}

/** One scheduled drill DrillOverdue watches. */
export interface DrillAlertTarget {
  /** The drill's CronJob name. */
  readonly cronJob: string;
  /** Seconds without a successful run after which it is overdue (its longest gap between runs plus slack). */
  readonly overdueAfterSeconds: number;
}

/** Settings of the drill alerts. */
export interface DrillAlertOptions {
  /** The namespace of the monitored system; every rule is limited to it. */
  readonly namespace: string;
  /** The scheduled drills. */
  readonly drills: readonly DrillAlertTarget[];
  /** Base URL of the runbooks. @default - the README's alert section */
  readonly runbookBaseUrl?: string;
}

/** Seconds a drill may be late beyond its longest gap and deadlines: one day, so a retried run does not page. */
export const DRILL_OVERDUE_SLACK_SECONDS = 86400;

/**
 * DrillOverdue (issue 21 §5): a scheduled drill whose CronJob has not succeeded for longer than its
 * period plus slack (kube-state-metrics' `kube_cronjob_status_last_successful_time`), or, never
 * having succeeded, was created longer ago than that (`kube_cronjob_created`) — a drill that fails
 * every quarter, or never runs, is overdue however often it is scheduled. One rule: a selection per
 * threshold, each over the drills that share it, joined by `or`. Its test cases put the times before the test's clock starts
 * (negative values), as RestoreTestMissing's do.
 */
export function drillAlertGroups(o: DrillAlertOptions): AlertGroupSpec[] {
  if (o.drills.length === 0) return [];
  const ns = o.namespace;
  const runbook = `${o.runbookBaseUrl ?? 'https://github.com/quality-billing/quality-billing-infra/blob/main/README.md'}#drilloverdue`;
  const byThreshold = new Map<number, string[]>();
  for (const d of o.drills) byThreshold.set(d.overdueAfterSeconds, [...byThreshold.get(d.overdueAfterSeconds) ?? [], d.cronJob]);
  // One rule, the thresholds' selections joined by `or` (each keeps its cronjob label): two rules of
  // the same name and labels are a duplicate to promtool's lint ("Might cause inconsistency").
  const overdue = [...byThreshold].map(([seconds, names]) => {
    const sel = `{namespace="${ns}", cronjob=~"${names.join('|')}"}`;
    return `(time() - max by (namespace, cronjob) (kube_cronjob_status_last_successful_time${sel}) > ${seconds}) or ((time() - max by (namespace, cronjob) (kube_cronjob_created${sel}) > ${seconds}) unless on (namespace, cronjob) kube_cronjob_status_last_successful_time${sel})`;
  });
  const days = [...new Set([...byThreshold.keys()].map(seconds => (seconds / 86400).toFixed(1)))].join(' or ');
  const rules: AlertRuleSpec[] = [{
    alert: 'DrillOverdue', severity: 'warning', for: '0m', component: 'drill', runbook,
    expr: overdue.length === 1 ? overdue[0] : overdue.map(e => `(${e})`).join(' or '),
    summary: 'A scheduled drill is overdue',
    description: `{{ $labels.cronjob }} has not completed a drill for {{ $value | humanizeDuration }} (due every period plus slack: ${days} days; seed 002 asks for a drill every quarter, each with a record). Read the last record under drills/ in the backup bucket and the failed Job's logs.`,
  }];
  const first = o.drills[0];
  const t = first.overdueAfterSeconds;
  const series = (metric: string, secondsAgo: number) => ({ series: `${metric}{namespace="${ns}", cronjob="${first.cronJob}"}`, values: `${-secondsAgo}x60` });
  // Evaluated at 1h: the series' value (a time) lies `secondsAgo` before the clock's start.
  return [{
    alert: 'DrillOverdue',
    testLabels: { namespace: ns, cronjob: first.cronJob, component: 'drill' },
    rules,
    cases: [
      { name: 'last success two hours past its due time', evalTime: '1h', firing: ['warning'], series: [series('kube_cronjob_created', t * 3), series('kube_cronjob_status_last_successful_time', t - 3600 + 7200)] },
      { name: 'last success an hour before its due time', evalTime: '1h', firing: [], series: [series('kube_cronjob_created', t * 3), series('kube_cronjob_status_last_successful_time', t - 7200)] },
      { name: 'never succeeded, created two hours past its due time', evalTime: '1h', firing: ['warning'], series: [series('kube_cronjob_created', t - 3600 + 7200)] },
      { name: 'never succeeded, created an hour before its due time', evalTime: '1h', firing: [], series: [series('kube_cronjob_created', t - 7200)] },
    ],
  }];
}

/** Histogram buckets growing by `perMinute[le]` requests a minute (the +Inf bucket takes the largest). */
function histogram(labels: string, perMinute: Record<number, number>): TestSeries[] {
  const total = Math.max(...Object.values(perMinute));
  const buckets = [...Object.entries(perMinute).map(([le, n]) => [le, n] as const), ['+Inf', total] as const];
  return buckets.map(([le, n]) => ({ series: `http_request_duration_seconds_bucket{${labels}, le="${le}"}`, values: `0+${n}x40` }));
}

/** Requests a minute, `errors` of them 500s. */
function errorRate(labels: string, perMinute: number, errors: number): TestSeries[] {
  return [
    { series: `http_requests_total{${labels}, status="200"}`, values: `0+${perMinute - errors}x40` },
    { series: `http_requests_total{${labels}, status="500"}`, values: `0+${errors}x40` },
  ];
}

/** Two constant gauges (a used/size pair). */
function gauges(labels: string, used: string, usedValue: number, size: string, sizeValue: number): TestSeries[] {
  return [{ series: `${used}{${labels}}`, values: `${usedValue}x30` }, { series: `${size}{${labels}}`, values: `${sizeValue}x30` }];
}

function cpuRatio(sel: string): string {
  return `sum by (namespace, pod, container) (rate(container_cpu_usage_seconds_total${sel}[5m])) / sum by (namespace, pod, container) (kube_pod_container_resource_limits${sel.replace('}', ', resource="cpu"}')})`;
}

function memRatio(sel: string): string {
  return `sum by (namespace, pod, container) (container_memory_working_set_bytes${sel}) / sum by (namespace, pod, container) (kube_pod_container_resource_limits${sel.replace('}', ', resource="memory"}')})`;
}

/** A container using `cores` of a 1-core limit. */
function cpu(labels: string, cores: number): TestSeries[] {
  return [
    { series: `container_cpu_usage_seconds_total{${labels}}`, values: `0+${Math.round(cores * 60)}x40` },
    { series: `kube_pod_container_resource_limits{${labels}, resource="cpu"}`, values: '1x40' },
  ];
}

/** A container using `share` of a 1000-byte memory limit. */
function memory(labels: string, share: number): TestSeries[] {
  return [
    { series: `container_memory_working_set_bytes{${labels}}`, values: `${Math.round(share * 1000)}x30` },
    { series: `kube_pod_container_resource_limits{${labels}, resource="memory"}`, values: '1000x30' },
  ];
}
