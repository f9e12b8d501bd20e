import { parse } from 'yaml';
import { AppService } from '../../../constructs/app/app-service';
import { Alertmanager } from '../../../constructs/monitoring/alertmanager';
import { Monitoring } from '../../../constructs/monitoring/monitoring';
import { Prometheus } from '../../../constructs/monitoring/prometheus';
import { Postgres } from '../../../constructs/data/postgres';
import { Redis } from '../../../constructs/data/redis';
import { ENVIRONMENTS } from '../../../lib/environments';
import { SecretKeyRef } from '../../../lib/secrets';
import { envOf, expectValidationError, find, podSpec, synth, synthStack, testChart } from '../../helpers';

const receivers = {
  slackChannel: '#alerts', slackWebhookSecret: SecretKeyRef.of('am', 'slack'), emailTo: 'ops@example.com', emailFrom: 'am@example.com',
  smtpSmarthost: 'smtp.example.com:587', smtpUsername: 'am', smtpPasswordSecret: SecretKeyRef.of('am', 'smtp'),
};

function build() {
  const chart = testChart();
  const postgres = new Postgres(chart, 'Postgres');
  const redis = new Redis(chart, 'Redis');
  const api = new AppService(chart, 'Api').connectTo(postgres).connectTo(redis.cache);
  const monitoring = new Monitoring(chart, 'Monitoring', { receivers, celeryBroker: redis.broker }).monitor(api, postgres, redis);
  return { chart, monitoring, objects: synth(chart) };
}

describe('Prometheus', () => {
  it('keeps 200 h of samples and at most 80 % of its volume (seed 001)', () => {
    const { objects } = build();
    const args = podSpec(find(objects, 'StatefulSet', 'prometheus')).containers[0].args;
    expect(args).toContain('--storage.tsdb.retention.time=200h');
    // recommended tier: 50Gi volume, 80 % = 40960 MiB.
    expect(args).toContain(`--storage.tsdb.retention.size=${50 * 1024 * 0.8}MB`);
  });

  it('scrapes every 15 s exactly the components handed to it (seed 000 §6.1)', () => {
    const { objects } = build();
    const config = parse(find(objects, 'ConfigMap', 'prometheus-config').data['prometheus.yml']);
    expect(config.global.scrape_interval).toBe('15s');
    expect(config.scrape_configs.map((s: any) => s.job_name).sort()).toEqual([
      'alertmanager', 'api', 'celery-exporter', 'grafana', 'kube-state-metrics', 'kubelet', 'kubelet-cadvisor', 'postgres', 'prometheus', 'redis',
    ]);
    const api = config.scrape_configs.find((s: any) => s.job_name === 'api');
    expect(api.relabel_configs[0]).toEqual({ source_labels: ['__meta_kubernetes_service_name', '__meta_kubernetes_endpoint_port_name'], regex: 'api;metrics', action: 'keep' });
    expect(api.kubernetes_sd_configs).toEqual([{ role: 'endpoints', namespaces: { names: ['test'] } }]);
  });

  it('keeps, for every job, a port that the named Service really has', () => {
    const { objects } = build();
    const config = parse(find(objects, 'ConfigMap', 'prometheus-config').data['prometheus.yml']);
    for (const job of config.scrape_configs.filter((s: any) => !s.job_name.startsWith('kubelet'))) {
      const [service, port] = job.relabel_configs[0].regex.split(';');
      expect(find(objects, 'Service', service).spec.ports.map((p: any) => p.name)).toContain(port);
    }
  });

  it('opens each target\'s metrics port to Prometheus and nothing else', () => {
    const { objects } = build();
    const ingressFromPrometheus = (name: string) => find(objects, 'NetworkPolicy', name).spec.ingress
      .filter((r: any) => r.from[0].podSelector?.matchLabels?.['app.kubernetes.io/name'] === 'prometheus')
      .flatMap((r: any) => r.ports.map((p: any) => p.port));
    expect(ingressFromPrometheus('api')).toEqual([9090]);
    expect(ingressFromPrometheus('postgres')).toEqual([9187]);
    expect(ingressFromPrometheus('redis')).toEqual([9121]);
  });

  it('may read endpoints, services and pods in its namespace, and only nodes cluster-wide', () => {
    const { objects } = build();
    expect(find(objects, 'Role', 'prometheus').rules).toEqual([{ apiGroups: [''], resources: ['endpoints', 'services', 'pods'], verbs: ['get', 'list', 'watch'] }]);
    const cluster = objects.filter(o => o.kind === 'ClusterRole');
    expect(cluster).toHaveLength(1);
    // Not nodes/proxy: its GET lets the holder run commands in any container on the node (kubernetes/kubernetes#83465).
    expect(cluster[0].rules).toEqual([
      { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: [''], resources: ['nodes/metrics'], verbs: ['get'] },
    ]);
  });

  it('scrapes cAdvisor and the volume stats from each kubelet on 10250 over HTTPS with its token, not through the API server', () => {
    const { objects } = build();
    const config = parse(find(objects, 'ConfigMap', 'prometheus-config').data['prometheus.yml']);
    const sa = '/var/run/secrets/kubernetes.io/serviceaccount';
    for (const [job, path] of [['kubelet-cadvisor', '/metrics/cadvisor'], ['kubelet', '/metrics']]) {
      const sc = config.scrape_configs.find((s: any) => s.job_name === job);
      expect(sc).toMatchObject({
        scheme: 'https', metrics_path: path, kubernetes_sd_configs: [{ role: 'node' }],
        tls_config: { ca_file: `${sa}/ca.crt`, insecure_skip_verify: true }, authorization: { credentials_file: `${sa}/token` },
      });
      // Node discovery's own address is the kubelet's (its InternalIP and daemon port): nothing rewrites it.
      expect(sc.relabel_configs.filter((r: any) => ['__address__', '__metrics_path__'].includes(r.target_label))).toEqual([]);
    }
    const toNodes = find(objects, 'NetworkPolicy', 'prometheus').spec.egress.filter((r: any) => r.ports.some((p: any) => p.port === 10250));
    expect(toNodes).toEqual([{ to: [{ ipBlock: { cidr: '0.0.0.0/0' } }], ports: [{ protocol: 'TCP', port: 10250 }] }]);
  });

  it('skips the kubelet certificate check by default (self-signed serving certificates) and verifies it when asked', () => {
    const tlsOf = (props: object) => {
      const chart = testChart();
      new Prometheus(chart, 'Prometheus', props);
      const config = parse(find(synth(chart), 'ConfigMap', 'prometheus-config').data['prometheus.yml']);
      return config.scrape_configs.filter((s: any) => s.job_name.startsWith('kubelet')).map((s: any) => s.tls_config);
    };
    const ca = '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt';
    expect(tlsOf({})).toEqual([{ ca_file: ca, insecure_skip_verify: true }, { ca_file: ca, insecure_skip_verify: true }]);
    expect(tlsOf({ verifyKubeletCertificates: true })).toEqual([{ ca_file: ca }, { ca_file: ca }]);
  });

  it('reaches the kubelets only in the node CIDR it is given, and refuses one that is not a CIDR', () => {
    const chart = testChart();
    new Prometheus(chart, 'Prometheus', { nodeCidr: '10.128.0.0/20' });
    const egress = find(synth(chart), 'NetworkPolicy', 'prometheus').spec.egress.filter((r: any) => r.ports.some((p: any) => p.port === 10250));
    expect(egress.map((r: any) => r.to)).toEqual([[{ ipBlock: { cidr: '10.128.0.0/20' } }]]);
    expectValidationError(() => new Prometheus(testChart(), 'Prometheus', { nodeCidr: '10.128.0.0' }), { path: 'test/Prometheus', field: 'nodeCidr', value: '10.128.0.0', allowed: /IPv4 CIDR/ });
  });

  it('can be kept inside its namespace entirely, without kubelet metrics', () => {
    const chart = testChart();
    new Prometheus(chart, 'Prometheus', { scrapeKubelets: false });
    const objects = synth(chart);
    expect(objects.filter(o => o.kind.startsWith('Cluster'))).toEqual([]);
    expect(parse(find(objects, 'ConfigMap', 'prometheus-config').data['prometheus.yml']).scrape_configs.map((s: any) => s.job_name)).toEqual(['prometheus']);
  });

  it('loads the seeds\' alerts: p95 > 1 s, 5xx > 10/min, Celery failures > 5/min, pool > 80 %', () => {
    const { objects } = build();
    const rules = parse(find(objects, 'ConfigMap', 'prometheus-rules').data['alerts.yml']).groups.flatMap((g: any) => g.rules);
    const expr = (alert: string, severity: string) => rules.find((r: any) => r.alert === alert && r.labels.severity === severity).expr;
    expect(expr('ApiLatencyHigh', 'critical')).toMatch(/histogram_quantile\(0\.95, .*http_request_duration_seconds_bucket.*\) > 1$/);
    expect(expr('Api5xxPerMinute', 'critical')).toMatch(/http_requests_total\{namespace="test", status=~"5\.\."\}.*\* 60 > 10$/);
    expect(expr('CeleryTaskFailures', 'warning')).toMatch(/celery_task_failed_total.*\* 60 > 5$/);
    expect(expr('DatabasePoolExhausted', 'warning')).toMatch(/> 0\.8$/);
    for (const r of rules) {
      expect(Object.keys(r.annotations).sort()).toEqual(['description', 'runbook_url', 'summary']);
      expect(['warning', 'critical']).toContain(r.labels.severity);
    }
  });

  it('refuses a volume too small to hold 1 GiB of samples', () => {
    expectValidationError(() => new Prometheus(testChart(), 'Prometheus', { storage: '1Gi' }),
      { path: 'test/Prometheus', field: 'storage', value: '1Gi', allowed: /at least 1280Mi/ });
  });
});

describe('Alertmanager', () => {
  it('reads the Slack webhook and SMTP password from mounted Secret files, never from the config', () => {
    const { objects } = build();
    const data = find(objects, 'ConfigMap', 'alertmanager-config').data;
    const config = parse(data['alertmanager.yml']);
    expect(config.global.slack_api_url_file).toBe('/etc/alertmanager/secrets/slack/slack');
    expect(config.global.smtp_auth_password_file).toBe('/etc/alertmanager/secrets/smtp/smtp');
    expect(config.global.slack_api_url).toBeUndefined();
    expect(config.global.smtp_auth_password).toBeUndefined();
    const volumes = podSpec(find(objects, 'StatefulSet', 'alertmanager')).volumes;
    expect(volumes.filter((v: any) => v.secret).map((v: any) => [v.secret.secretName, v.secret.items[0].key])).toEqual([['am', 'slack'], ['am', 'smtp']]);
  });

  it('groups by alertname, severity and namespace and inhibits warning twins and symptoms of a down component', () => {
    const { objects } = build();
    const config = parse(find(objects, 'ConfigMap', 'alertmanager-config').data['alertmanager.yml']);
    expect(config.route.group_by).toEqual(['alertname', 'severity', 'namespace']);
    expect(config.inhibit_rules).toEqual([
      { source_matchers: ['severity="critical"'], target_matchers: ['severity="warning"'], equal: ['alertname', 'namespace'] },
      { source_matchers: ['alertname="ComponentDown"'], target_matchers: ['alertname!="ComponentDown"'], equal: ['namespace', 'component'] },
    ]);
  });

  it.each([
    ['slackChannel', 'alerts channel', /Slack channel/],
    ['emailTo', 'ops', /e-mail address/],
    ['smtpSmarthost', 'smtp.example.com', /host:port/],
  ] as const)('refuses a bad %s', (field, value, allowed) => {
    expectValidationError(() => new Alertmanager(testChart(), 'Am', { receivers: { ...receivers, [field]: value } }),
      { path: 'test/Am', field: `receivers.${field}`, value, allowed });
  });
});

describe('Grafana', () => {
  it('provisions Prometheus as its datasource and the overview dashboard, with the admin password from a Secret', () => {
    const { objects } = build();
    const ds = parse(find(objects, 'ConfigMap', 'grafana-provisioning').data['datasources.yaml']);
    expect(ds.datasources[0]).toMatchObject({ type: 'prometheus', url: 'http://prometheus:9090', isDefault: true });
    const dashboards = find(objects, 'ConfigMap', 'grafana-dashboards').data;
    const overview = JSON.parse(dashboards['quality-billing-overview.json']);
    expect(overview.panels.map((p: any) => p.title)).toEqual(expect.arrayContaining([
      'Request rate', 'p95 latency', '5xx a minute', 'Celery queue length', 'Celery task failures a minute',
      'PostgreSQL connections', 'Connection pool use', 'Redis memory', 'Pod CPU (cores)', 'Pod memory',
    ]));
    const grafana = podSpec(find(objects, 'StatefulSet', 'grafana')).containers[0];
    expect(grafana.ports[0].containerPort).toBe(3000);
    expect(envOf(grafana).GF_SECURITY_ADMIN_PASSWORD).toBe('secret:grafana-credentials/admin-password');
    expect(find(objects, 'StatefulSet', 'grafana').spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe('2Gi');
  });
});

describe('kube-state-metrics', () => {
  it('watches only its namespace, so a namespaced Role suffices', () => {
    const { objects } = build();
    expect(podSpec(find(objects, 'Deployment', 'kube-state-metrics')).containers[0].args).toContain('--namespaces=test');
    expect(find(objects, 'Role', 'kube-state-metrics').rules.every((r: any) => r.verbs.join() === 'list,watch')).toBe(true);
  });
});

describe('QualityBillingStack monitoring', () => {
  it.each(Object.values(ENVIRONMENTS).map(e => [e.name, e] as const))('%s runs Prometheus, Alertmanager and Grafana sized by its tier', (_n, env) => {
    const { stack, objects } = synthStack(env);
    for (const name of ['prometheus', 'alertmanager', 'grafana']) expect(find(objects, 'StatefulSet', `quality-billing-${name}`)).toBeDefined();
    const rows = stack.capacity.rows.map(r => r.workload.name);
    expect(rows).toEqual(expect.arrayContaining(['quality-billing-prometheus', 'quality-billing-alertmanager', 'quality-billing-grafana', 'quality-billing-kube-state-metrics', 'quality-billing-celery-exporter']));
    const prometheus = podSpec(find(objects, 'StatefulSet', 'quality-billing-prometheus')).containers[0];
    expect(prometheus.resources.requests.memory).toBe(env.tier === 'minimum' ? '512Mi' : '2Gi');
  });
});

describe('prometheus-operator mode', () => {
  const { objects } = (() => {
    const { App } = require('cdk8s');
    const { QualityBillingStack } = require('../../../stacks/quality-billing-stack');
    const stack = new QualityBillingStack(new App(), 'quality-billing', { environment: ENVIRONMENTS.prod, monitoringMode: 'prometheus-operator', prometheusOperator: { namespace: 'observability' } });
    return { objects: synth(stack) };
  })();

  it('runs no Prometheus, Alertmanager or Grafana of its own and no cluster-wide role', () => {
    expect(objects.filter(o => o.kind === 'StatefulSet').map(o => o.metadata.name).sort()).toEqual(['quality-billing-elasticsearch', 'quality-billing-postgres', 'quality-billing-redis']);
    expect(objects.filter(o => o.kind.startsWith('Cluster'))).toEqual([]);
  });

  it('emits a ServiceMonitor per component, selected by kube-prometheus-stack\'s release label', () => {
    const monitors = objects.filter(o => o.kind === 'ServiceMonitor');
    // PostgreSQL in prod has members (Patroni): every member's exporter is scraped through the headless Service.
    expect(monitors.map(m => m.metadata.name).sort()).toEqual(['quality-billing-api', 'quality-billing-celery-exporter', 'quality-billing-edge-metrics', 'quality-billing-pgbouncer', 'quality-billing-postgres-members', 'quality-billing-redis']);
    for (const m of monitors) {
      expect(m.metadata.labels).toMatchObject({ release: 'kube-prometheus-stack' });
      const service = find(objects, 'Service', m.metadata.name);
      expect(service.spec.ports.map((p: any) => p.name)).toContain(m.spec.endpoints[0].port);
      for (const [k, v] of Object.entries(m.spec.selector.matchLabels)) expect(service.metadata.labels?.[k]).toBe(v);
    }
  });

  it('emits the same alert rules as a PrometheusRule and the dashboard for Grafana\'s sidecar', () => {
    const rules = objects.filter(o => o.kind === 'PrometheusRule');
    expect(rules.map(r => r.metadata.name)).toEqual(['quality-billing-alerts', 'quality-billing-alerts-pgbouncer', 'quality-billing-alerts-wal-archiving']);
    const standalone = parse(find(synthStack(ENVIRONMENTS.prod).objects, 'ConfigMap', 'quality-billing-prometheus-rules').data['alerts.yml']);
    expect(rules.flatMap(r => r.spec.groups)).toEqual(standalone.groups);
    expect(rules[1].spec.groups.map((g: any) => g.name)).toEqual(['PgBouncerClientsWaiting', 'PgBouncerDown']);
    expect(rules[2].spec.groups.map((g: any) => g.name)).toEqual(['WalArchiveFailing', 'WalArchiveStale', 'WalArchiveBacklog']);
    const dashboard = objects.find(o => o.kind === 'ConfigMap' && o.metadata.labels?.grafana_dashboard === '1')!;
    expect(Object.keys(dashboard.data)).toEqual(['quality-billing-overview.json']);
  });

  it('opens the metrics ports to the operator\'s Prometheus pods in their namespace', () => {
    const from = find(objects, 'NetworkPolicy', 'quality-billing-postgres').spec.ingress.find((r: any) => r.from[0].namespaceSelector);
    expect(from).toEqual({
      from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'observability' } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } } }],
      ports: [{ protocol: 'TCP', port: 9187 }],
    });
  });
});

describe('WAL archiving you can see (issue 18 §3)', () => {
  const alertNames = (objects: any[], system: string) => parse(find(objects, 'ConfigMap', `${system}-prometheus-rules`).data['alerts.yml']).groups.map((g: any) => g.name);
  const exporter = (objects: any[], system: string) => podSpec(find(objects, 'StatefulSet', `${system}-postgres`)).containers.find((c: any) => c.name === 'exporter');

  it.each(['staging', 'prod'] as const)('%s: the exporter runs the backlog query from the server\'s ConfigMap, and the three archive alerts are loaded', env => {
    const { objects } = synthStack(ENVIRONMENTS[env]);
    const e = exporter(objects, 'quality-billing');
    expect(envOf(e).PG_EXPORTER_EXTEND_QUERY_PATH).toBe('/etc/postgres-exporter/exporter-queries.yaml');
    expect(e.volumeMounts).toEqual([{ name: 'config', mountPath: '/etc/postgres-exporter', readOnly: true }]);
    const queries = parse(find(objects, 'ConfigMap', 'quality-billing-postgres-files').data['exporter-queries.yaml']);
    expect(queries.pg_wal_archive.query).toContain('pg_ls_archive_statusdir()');
    expect(queries.pg_wal_archive.metrics.map((m: any) => Object.keys(m)[0])).toEqual(['ready_segments', 'written_bytes']);
    expect(alertNames(objects, 'quality-billing')).toEqual(expect.arrayContaining(['WalArchiveFailing', 'WalArchiveStale', 'WalArchiveBacklog']));
    const rules = parse(find(objects, 'ConfigMap', 'quality-billing-prometheus-rules').data['alerts.yml']).groups.flatMap((g: any) => g.rules);
    expect(rules.find((r: any) => r.alert === 'WalArchiveStale').expr).toContain('pg_stat_archiver_last_archive_age{namespace="quality-billing"}) > 600 or (max by (namespace, pod) (pg_stat_archiver_archived_count{namespace="quality-billing"}) == 0 and on (namespace, pod) max by (namespace, pod) (pg_stat_archiver_archived_count{namespace="quality-billing"} offset 600s) == 0)) and on');
  });

  it('dev (no WAL archiving) has neither the query nor the alerts; a system without point-in-time recovery neither', () => {
    const dev = synthStack(ENVIRONMENTS.dev).objects;
    expect(envOf(exporter(dev, 'quality-billing')).PG_EXPORTER_EXTEND_QUERY_PATH).toBeUndefined();
    expect(exporter(dev, 'quality-billing').volumeMounts).toBeUndefined();
    expect(find(dev, 'ConfigMap', 'quality-billing-postgres-config').data['exporter-queries.yaml']).toBeUndefined();
    expect(alertNames(dev, 'quality-billing').filter((n: string) => n.startsWith('WalArchive'))).toEqual([]);
    const { synthChart } = require('../../helpers');
    const bookkeeping = synthChart('ai-bookkeeping', ENVIRONMENTS.prod).objects;
    expect(alertNames(bookkeeping, 'ai-bookkeeping').filter((n: string) => n.startsWith('WalArchive'))).toEqual([]);
  });

  it('an archive-age threshold shorter than archive_timeout is a ValidationError naming the field, the value and archive_timeout', () => {
    const { PointInTimeRecovery } = require('../../../constructs/backup/point-in-time-recovery');
    const chart = testChart();
    const postgres = new Postgres(chart, 'Postgres');
    const backupStorage = { bucket: 'qb-backups', prefix: 'test/postgres', region: 'eu-west-1', accessKeyId: SecretKeyRef.of('s3', 'id'), secretAccessKey: SecretKeyRef.of('s3', 'secret') };
    expectValidationError(() => new PointInTimeRecovery(chart, 'Pitr', { postgres, backupStorage, archiveAgeAlertSeconds: 59 }),
      { path: /Pitr$/, field: 'archiveAgeAlertSeconds', value: 59, allowed: /no shorter than archive_timeout \(60 s\)/ });
    // The default 600 s under a longer archive_timeout.
    expectValidationError(() => new PointInTimeRecovery(chart, 'Pitr2', { postgres, backupStorage, archiveTimeoutSeconds: 900 }),
      { path: /Pitr2$/, field: 'archiveAgeAlertSeconds', value: 600, allowed: /no shorter than archive_timeout \(900 s\)/ });
    // Equal is allowed, and the alert reads the threshold given.
    const pitr = new PointInTimeRecovery(chart, 'Pitr3', { postgres, backupStorage, archiveAgeAlertSeconds: 60 });
    const monitoring = new Monitoring(chart, 'Monitoring', { receivers }).monitor(postgres).alertOnWalArchiving(pitr);
    expect(monitoring.alertGroups.find(g => g.alert === 'WalArchiveStale')!.rules[0].expr).toMatch(/_last_archive_age\{namespace="test"\}\) > 60 or .*_archived_count\{namespace="test"\}\) == 0 .* offset 60s\) == 0\)\) and .*\[60s\]\)\) > 0$/);
    expectValidationError(() => monitoring.alertOnWalArchiving(pitr), { field: 'alertOnWalArchiving', value: 'WalArchiveFailing', allowed: /once/ });
  });
});
