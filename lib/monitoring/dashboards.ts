/**
 * Grafana dashboards as data, provisioned from files. Every panel's query is PromQL over metrics
 * that a scraped component exports (`EXPORTED_METRICS`); the tests parse each with promtool and
 * check each metric name against that list.
 */

import { WAL_ARCHIVE_METRICS } from './postgres-exporter-queries';

/** The metrics each scraped component is known to export, for checking dashboards and alerts. */
export const EXPORTED_METRICS: Readonly<Record<string, readonly string[]>> = {
  // prometheus-fastapi-instrumentator / prometheus_client in the app (seed 000 §6.2).
  api: ['http_requests_total', 'http_request_duration_seconds_bucket', 'http_request_duration_seconds_count', 'db_connection_pool_size', 'db_connection_pool_checked_out'],
  // danihodovic/celery-exporter.
  worker: ['celery_task_failed_total', 'celery_task_succeeded_total', 'celery_task_received_total', 'celery_queue_length', 'celery_worker_up'],
  // prometheus-community/postgres_exporter.
  database: ['pg_up', 'pg_stat_activity_count', 'pg_settings_max_connections', 'pg_database_size_bytes',
    // WAL archiving (lib/monitoring/postgres-exporter-queries.ts): built in, and the custom backlog query.
    ...Object.values(WAL_ARCHIVE_METRICS)],
  // oliver006/redis_exporter.
  cache: ['redis_up', 'redis_memory_used_bytes', 'redis_memory_max_bytes', 'redis_connected_clients', 'redis_db_keys'],
  // kube-state-metrics.
  'kube-state-metrics': ['kube_pod_container_resource_limits', 'kube_pod_container_status_restarts_total', 'kube_job_status_failed', 'kube_cronjob_status_last_successful_time', 'kube_cronjob_status_last_schedule_time', 'kube_cronjob_created', 'kube_deployment_status_replicas_available'],
  // kubelet (cAdvisor and volume stats).
  kubelet: ['container_cpu_usage_seconds_total', 'container_memory_working_set_bytes', 'kubelet_volume_stats_used_bytes', 'kubelet_volume_stats_capacity_bytes'],
  // Prometheus itself.
  prometheus: ['up'],
};

/** One graph panel. */
export interface PanelSpec {
  readonly title: string;
  readonly expr: string;
  readonly unit: string;
  readonly legend: string;
}

/** The "system overview" dashboard of the issue: requests, latency, errors, Celery (unless `celery` is false), PostgreSQL, Redis, pods. */
export function overviewPanels(namespace: string, o: { readonly celery?: boolean; readonly postgres?: boolean } = {}): PanelSpec[] {
  const ns = `namespace="${namespace}"`;
  const panels: PanelSpec[] = [
    { title: 'Request rate', unit: 'reqps', legend: '{{status}}', expr: `sum by (status) (rate(http_requests_total{${ns}}[5m]))` },
    { title: 'p95 latency', unit: 's', legend: 'p95', expr: `histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{${ns}}[5m])))` },
    { title: '5xx a minute', unit: 'short', legend: '5xx', expr: `sum(rate(http_requests_total{${ns}, status=~"5.."}[5m])) * 60` },
    { title: 'Celery queue length', unit: 'short', legend: '{{queue_name}}', expr: `sum by (queue_name) (celery_queue_length{${ns}})` },
    { title: 'Celery task failures a minute', unit: 'short', legend: '{{name}}', expr: `sum by (name) (rate(celery_task_failed_total{${ns}}[5m])) * 60` },
    { title: 'PostgreSQL connections', unit: 'short', legend: '{{state}}', expr: `sum by (state) (pg_stat_activity_count{${ns}})` },
    { title: 'Connection pool use', unit: 'percentunit', legend: '{{pod}}', expr: `max by (pod) (db_connection_pool_checked_out{${ns}} / db_connection_pool_size{${ns}})` },
    { title: 'Redis memory', unit: 'bytes', legend: 'used', expr: `max(redis_memory_used_bytes{${ns}})` },
    { title: 'Pod CPU (cores)', unit: 'short', legend: '{{pod}}', expr: `sum by (pod) (rate(container_cpu_usage_seconds_total{${ns}, container!=""}[5m]))` },
    { title: 'Pod memory', unit: 'bytes', legend: '{{pod}}', expr: `sum by (pod) (container_memory_working_set_bytes{${ns}, container!=""})` },
  ];
  return panels
    .filter(p => o.celery !== false || !p.title.startsWith('Celery'))
    .filter(p => o.postgres !== false || !['PostgreSQL connections', 'Connection pool use'].includes(p.title));
}

/** A Grafana dashboard JSON model (schemaVersion 39) from panels, two to a row. */
export function dashboardJson(uid: string, title: string, panels: readonly PanelSpec[]): object {
  return {
    uid,
    title,
    schemaVersion: 39,
    version: 1,
    editable: false,
    time: { from: 'now-6h', to: 'now' },
    refresh: '30s',
    tags: ['quality-billing'],
    panels: panels.map((p, i) => ({
      id: i + 1,
      type: 'timeseries',
      title: p.title,
      gridPos: { h: 8, w: 12, x: (i % 2) * 12, y: Math.floor(i / 2) * 8 },
      datasource: { type: 'prometheus', uid: 'prometheus' },
      fieldConfig: { defaults: { unit: p.unit }, overrides: [] },
      targets: [{ refId: 'A', expr: p.expr, legendFormat: p.legend, datasource: { type: 'prometheus', uid: 'prometheus' } }],
    })),
  };
}

/** Metric names a PromQL expression reads (identifiers followed by a selector or a range). */
export function metricNames(expr: string): string[] {
  const names = new Set<string>();
  for (const m of expr.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?=\{|\[)/g)) names.add(m[1]);
  return [...names];
}
