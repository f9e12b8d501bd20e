import { App } from 'cdk8s';
import { AppService } from '../../../constructs/app/app-service';
import { AppIngress } from '../../../constructs/edge/app-ingress';
import { NginxEdge } from '../../../constructs/edge/nginx-edge';
import { TlsCertificate } from '../../../constructs/edge/tls-certificate';
import { defineEnvironment, ENVIRONMENTS } from '../../../lib/environments';
import { Monitoring } from '../../../constructs/monitoring/monitoring';
import { PLACEHOLDER_RECEIVERS, QualityBillingStack } from '../../../stacks/quality-billing-stack';
import { expectValidationError, find, podSpec, synth, synthStack, testChart } from '../../helpers';

function edge(props: Partial<ConstructorParameters<typeof NginxEdge>[2]> = {}) {
  const chart = testChart();
  const app = new AppService(chart, 'Api');
  const e = new NginxEdge(chart, 'Edge', { app, ...props });
  return { chart, app, edge: e, objects: synth(chart) };
}

describe('NginxEdge', () => {
  it('renders TLS 1.2/1.3 only, the seed 004 upstream health check and an optional backup', () => {
    const { edge: e } = edge({ backupUpstream: 'api-backup:8001' });
    expect(e.config).toMatch(/ssl_protocols TLSv1\.2 TLSv1\.3;/);
    expect(e.config).toContain('server api:8000 max_fails=3 fail_timeout=30s;');
    expect(e.config).toContain('server api-backup:8001 max_fails=3 fail_timeout=30s backup;');
    expect(e.config).toContain('proxy_next_upstream error timeout http_502 http_503 http_504;');
  });

  it('runs as non-root on unprivileged ports with a read-only root filesystem and the TLS Secret mounted', () => {
    const { objects } = edge({ tlsSecretName: 'api-tls' });
    const spec = podSpec(find(objects, 'Deployment', 'edge'));
    const nginx = spec.containers[0];
    expect(nginx.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 101, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    expect(nginx.ports.map((p: any) => p.containerPort).every((p: number) => p >= 1024)).toBe(true);
    expect(spec.volumes.find((v: any) => v.name === 'tls').secret.secretName).toBe('api-tls');
  });

  it('is exposed as a LoadBalancer on 80/443 by default (seed 002), and never exposes the app\'s metrics', () => {
    const { objects } = edge();
    const svc = find(objects, 'Service', 'edge');
    expect(svc.spec.type).toBe('LoadBalancer');
    expect(svc.spec.ports.map((p: any) => [p.port, p.targetPort])).toEqual([[80, 'http'], [443, 'https']]);
    expect(find(objects, 'ConfigMap', 'edge-config').data['nginx.conf']).toMatch(/location = \/metrics \{\s+return 404;/);
    expect(find(objects, 'ConfigMap', 'edge-config').data['nginx.conf']).not.toContain(':9090');
  });

  it.each(['LoadBalancer', 'NodePort'] as const)('as a %s, serves its exporter to Prometheus through a ClusterIP Service of its own, scraped in both monitoring modes', serviceType => {
    const { chart, edge: e } = edge({ serviceType });
    new Monitoring(chart, 'Monitoring', { receivers: PLACEHOLDER_RECEIVERS }).monitor(e);
    const objects = synth(chart);
    expect(find(objects, 'Service', 'edge').spec.ports.map((p: any) => p.name)).toEqual(['http', 'https']);
    const metrics = find(objects, 'Service', 'edge-metrics');
    expect(metrics.spec.type).toBeUndefined();
    expect(metrics.spec.selector).toEqual(e.selector);
    expect(metrics.spec.ports).toEqual([{ name: 'metrics', port: 9113, targetPort: 'metrics' }]);
    expect(e.metrics).toMatchObject({ serviceName: 'edge-metrics', portName: 'metrics', port: 9113 });
    expect(find(objects, 'ConfigMap', 'prometheus-config').data['prometheus.yml']).toContain('regex: edge-metrics;metrics');
    const operatorChart = testChart();
    const app = new AppService(operatorChart, 'Api');
    const viaOperator = new NginxEdge(operatorChart, 'Edge', { app, serviceType });
    new Monitoring(operatorChart, 'Monitoring', { receivers: PLACEHOLDER_RECEIVERS, mode: 'prometheus-operator' }).monitor(viaOperator);
    const operatorObjects = synth(operatorChart);
    const monitor = find(operatorObjects, 'ServiceMonitor', 'edge-metrics');
    const selected = operatorObjects.filter(o => o.kind === 'Service' && Object.entries(monitor.spec.selector.matchLabels).every(([k, v]) => o.metadata.labels?.[k] === v));
    // The endpoints it scrapes: ports named as the ServiceMonitor's endpoint on the Services it selects.
    const scraped = selected.flatMap(o => o.spec.ports.filter((p: any) => p.name === monitor.spec.endpoints[0].port).map((p: any) => `${o.metadata.name}:${p.port}`));
    expect(scraped).toEqual(['edge-metrics:9113']);
  });

  it('as a ClusterIP Service, keeps its exporter port on that Service', () => {
    const { objects, edge: e } = edge({ serviceType: 'ClusterIP' });
    expect(find(objects, 'Service', 'edge').spec.ports.map((p: any) => p.name)).toEqual(['http', 'https', 'metrics']);
    expect(objects.filter(o => o.kind === 'Service' && o.metadata.name === 'edge-metrics')).toEqual([]);
    expect(e.metrics.serviceName).toBe('edge');
  });

  it('is replicated with a PDB and spread, and restarts when its configuration changes', () => {
    const { objects } = edge({ replicas: 2 });
    const d = find(objects, 'Deployment', 'edge');
    expect(d.spec.replicas).toBe(2);
    expect(find(objects, 'PodDisruptionBudget', 'edge')).toBeDefined();
    expect(d.spec.template.metadata.annotations['quality-billing.io/config-checksum']).toMatch(/^[0-9a-f]{64}$/);
    const other = find(edge({ replicas: 2, clientMaxBodySize: '1Mi' }).objects, 'Deployment', 'edge');
    expect(other.spec.template.metadata.annotations['quality-billing.io/config-checksum']).not.toBe(d.spec.template.metadata.annotations['quality-billing.io/config-checksum']);
  });

  it.each([
    ['an invalid header value', { securityHeaders: { 'X-Test': 'a"b' } }, 'securityHeaders.X-Test', 'a"b', /printable ASCII/],
    ['a header value with a newline', { securityHeaders: { 'X-Test': 'a\nb' } }, 'securityHeaders.X-Test', 'a\nb', /printable ASCII/],
    ['an upstream without a port', { backupUpstream: 'api-backup' }, 'backupUpstream', 'api-backup', /host:port/],
    ['an upstream port out of range', { backupUpstream: 'api-backup:70000' }, 'backupUpstream port', 70000, /1 to 65535/],
    ['TLS 1.0 or 1.1', { tlsVersions: ['TLSv1.1', 'TLSv1.2'] as never }, 'tlsVersions', ['TLSv1.1', 'TLSv1.2'], /1\.0 and 1\.1 are broken/],
    ['an unknown Service type', { serviceType: 'ExternalName' as never }, 'serviceType', 'ExternalName', /"LoadBalancer", "NodePort", "ClusterIP"/],
    ['the API as its own backup', { backupUpstream: 'api:8000' }, 'backupUpstream', 'api:8000', /other than the API/],
  ])('refuses %s', (_n, props, field, value, allowed) => {
    expectValidationError(() => edge(props), { path: 'test/Edge', field, value, allowed });
  });
});

describe('AppIngress and cert-manager', () => {
  it('routes the host to the API\'s HTTP port with TLS, forced HTTPS and the security headers', () => {
    const chart = testChart();
    const app = new AppService(chart, 'Api');
    new AppIngress(chart, 'Ingress', { app, host: 'api.example.com' });
    const ing = find(synth(chart), 'Ingress', 'api');
    expect(ing.spec.tls).toEqual([{ hosts: ['api.example.com'], secretName: 'quality-billing-tls' }]);
    expect(ing.spec.rules[0].http.paths[0].backend.service).toEqual({ name: 'api', port: { name: 'http' } });
    expect(ing.metadata.annotations!['nginx.ingress.kubernetes.io/force-ssl-redirect']).toBe('true');
    expect(ing.metadata.annotations!['nginx.ingress.kubernetes.io/configuration-snippet']).toContain('more_set_headers "Strict-Transport-Security: max-age=63072000; includeSubDomains";');
  });

  it('has cert-manager issue the TLS Secret the edge reads', () => {
    const chart = testChart();
    new TlsCertificate(chart, 'Cert', { secretName: 'quality-billing-tls', dnsNames: ['api.example.com'], issuerName: 'letsencrypt' });
    const cert = synth(chart).find(o => o.kind === 'Certificate')!;
    expect(cert.apiVersion).toBe('cert-manager.io/v1');
    expect(cert.spec).toMatchObject({ secretName: 'quality-billing-tls', dnsNames: ['api.example.com'], issuerRef: { name: 'letsencrypt', kind: 'ClusterIssuer' } });
  });

  it('refuses a certificate without host names', () => {
    expectValidationError(() => new TlsCertificate(testChart(), 'Cert', { secretName: 'x', dnsNames: [], issuerName: 'le' }),
      { path: 'test/Cert', field: 'dnsNames', value: [], allowed: /at least one host name/ });
  });
});

describe('QualityBillingStack edge per environment', () => {
  it('uses the nginx edge in dev and prod and an Ingress in staging', () => {
    expect(synthStack(ENVIRONMENTS.prod).objects.filter(o => o.kind === 'Ingress')).toEqual([]);
    expect(find(synthStack(ENVIRONMENTS.prod).objects, 'Deployment', 'quality-billing-edge').spec.replicas).toBe(2);
    const staging = synthStack(ENVIRONMENTS.staging).objects;
    expect(staging.filter(o => o.kind === 'Ingress')).toHaveLength(1);
    expect(staging.filter(o => o.metadata.name === 'quality-billing-edge')).toEqual([]);
  });

  it('emits a cert-manager Certificate for the host when asked', () => {
    const stack = new QualityBillingStack(new App(), 'qb', { environment: ENVIRONMENTS.prod, host: 'api.example.com', certManager: { issuerName: 'letsencrypt-prod' } });
    const cert = synth(stack).find(o => o.kind === 'Certificate')!;
    expect(cert.spec.dnsNames).toEqual(['api.example.com']);
  });

  it('refuses an autoscale factor below 1', () => {
    expectValidationError(() => defineEnvironment({ name: 'x', autoscaleFactor: 0.5 }), { path: 'Environment "x"', field: 'autoscaleFactor', value: 0.5, allowed: /from 1/ });
  });
});
