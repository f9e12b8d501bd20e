import { createHash } from 'crypto';
import { k8s } from '../core/k8s';
import { Construct } from 'constructs';
import { checkNginxOptions, DEFAULT_SECURITY_HEADERS, NginxConfigOptions, renderNginxConf, TlsVersion } from '../../lib/edge/nginx-config';
import { ValidationError } from '../../lib/errors';
import { IMAGE_CATALOG, ImageRef } from '../../lib/images';
import { RESOURCE_PRESETS } from '../../lib/presets';
import { ByteQuantity } from '../../lib/quantity';
import { resources, ResourceSpec, WorkloadSizing } from '../../lib/sizing';
import { checkDnsSubdomain, checkInteger, checkOneOf, checkReplicas } from '../../lib/validate';
import { IAppService } from '../app/app-service';
import { emptyDir, podSecurityContext, restrictedContainer } from '../core/pod-spec';
import { metricsExposure } from '../core/metrics-service';
import { rollingDeployment } from '../core/rolling-deployment';
import { childPath, MetricsEndpoint, Workload } from '../core/workload';
import { ComponentProps, resolveComponent } from '../core/component';

/** Props of `NginxEdge`. */
export interface NginxEdgeProps extends ComponentProps {
  /** The API it proxies to; its metrics port is never exposed. */
  readonly app: IAppService;
  /** Secret of type kubernetes.io/tls holding tls.crt and tls.key (from cert-manager or `kubectl create secret tls`). @default "quality-billing-tls" */
  readonly tlsSecretName?: string;
  /** Pods (at least 2 in production: seed 001 load balancing). @default 2 */
  readonly replicas?: number;
  /** How the Service is exposed. @default "LoadBalancer" (seed 002) */
  readonly serviceType?: 'LoadBalancer' | 'NodePort' | 'ClusterIP';
  /** Pinned nginx-prometheus-exporter image. @default - the catalog's */
  readonly exporterImage?: string;
  /** TLS versions offered. @default ["TLSv1.2", "TLSv1.3"] (seed 000 §8.1) */
  readonly tlsVersions?: readonly TlsVersion[];
  /** A backup upstream `host:port`, used only while the API is out (seed 004). @default - none */
  readonly backupUpstream?: string;
  /** A standby instance of the API, used only while `app` is out (seed 004's API :8001); the edge may reach it. Exclusive with `backupUpstream`. @default - none */
  readonly backupApp?: IAppService;
  /** Pass WebSocket upgrades through to the API (seed 001: API + WebSocket). @default false */
  readonly websocket?: boolean;
  /** Failed attempts that take an upstream out (seed 004). @default 3 */
  readonly maxFails?: number;
  /** Seconds an upstream stays out (seed 004). @default 30 */
  readonly failTimeoutSeconds?: number;
  /** Headers added to every response, over the defaults (HSTS, CSP, X-Content-Type-Options, X-Frame-Options, Referrer-Policy). @default - the defaults */
  readonly securityHeaders?: Readonly<Record<string, string>>;
  /** Largest request body. @default "10Mi" */
  readonly clientMaxBodySize?: string;
  /** Seconds to connect to the API. @default 5 */
  readonly proxyConnectTimeoutSeconds?: number;
  /** Seconds to wait for the API's answer (and, with `websocket`, an idle WebSocket's next frame). @default 60, or 3600 with `websocket` */
  readonly proxyReadTimeoutSeconds?: number;
}

const HTTP_PORT = 8080;
const HTTPS_PORT = 8443;
const STATUS_PORT = 8081;
const EXPORTER_PORT = 9113;
/** UID of the nginx-unprivileged image. */
const NGINX_UID = 101;

/**
 * The nginx TLS edge (seed 000 §8.1, 001, 004): HTTPS on 443 with TLS 1.2/1.3 and modern
 * ciphers from a TLS Secret, HTTP redirected, security headers, X-Forwarded-For/Proto and X-Request-ID, the
 * API as upstream with max_fails/fail_timeout and an optional backup, a stub_status exporter.
 * Non-root on unprivileged ports with a read-only root filesystem; replicated with a PDB and spread.
 */
export class NginxEdge extends Workload {
  public readonly deployment: k8s.KubeDeployment;
  public readonly podDisruptionBudget?: k8s.KubePodDisruptionBudget;
  public readonly service: k8s.KubeService;
  /** The ClusterIP Service Prometheus scrapes the exporter through, when `service` is public. */
  public readonly metricsService?: k8s.KubeService;
  public readonly configMap: k8s.KubeConfigMap;
  public readonly resources: ResourceSpec;
  public readonly exporterResources: ResourceSpec;
  public readonly replicas: number;
  public readonly metrics: MetricsEndpoint;
  /** The rendered nginx.conf. */
  public readonly config: string;
  public readonly maxSurge = 1;

  constructor(scope: Construct, id: string, props: NginxEdgeProps) {
    const image = ImageRef.parse(props.image ?? IMAGE_CATALOG.nginx.toString(), childPath(scope, id), 'image');
    super(scope, id, { name: props.name ?? 'edge', component: 'edge', version: image.version });
    const path = this.node.path;
    const { tier: t, resources: mainResources } = resolveComponent(path, props, 'edge');
    const exporterImage = ImageRef.parse(props.exporterImage ?? IMAGE_CATALOG.nginxExporter.toString(), path, 'exporterImage');
    this.resources = mainResources;
    this.exporterResources = resources(RESOURCE_PRESETS[t].edgeExporter, path, 'exporterResources');
    this.replicas = checkReplicas(path, 'replicas', props.replicas ?? 2);
    const serviceType = checkOneOf(path, 'serviceType', props.serviceType ?? 'LoadBalancer', ['LoadBalancer', 'NodePort', 'ClusterIP'] as const);
    const tlsSecretName = checkDnsSubdomain(path, 'tlsSecretName', props.tlsSecretName ?? 'quality-billing-tls');
    const maxFails = checkInteger(path, 'maxFails', props.maxFails ?? 3, 1, 100);
    const failTimeoutSeconds = checkInteger(path, 'failTimeoutSeconds', props.failTimeoutSeconds ?? 30, 1, 3600);
    const app = props.app;
    if (props.backupApp && props.backupUpstream) throw new ValidationError(path, 'backupUpstream', props.backupUpstream, 'left out when backupApp is given (one backup upstream)');
    const backupUpstream = props.backupApp ? `${props.backupApp.name}:${props.backupApp.servicePort}` : props.backupUpstream;
    const websocket = props.websocket ?? false;

    const options: NginxConfigOptions = checkNginxOptions(path, {
      httpPort: HTTP_PORT,
      httpsPort: HTTPS_PORT,
      statusPort: STATUS_PORT,
      tlsVersions: props.tlsVersions ?? ['TLSv1.2', 'TLSv1.3'],
      tlsDir: '/etc/nginx/tls',
      upstream: { address: `${app.name}:${app.servicePort}`, maxFails, failTimeoutSeconds },
      backupUpstream: backupUpstream ? { address: backupUpstream, maxFails, failTimeoutSeconds } : undefined,
      securityHeaders: { ...DEFAULT_SECURITY_HEADERS, ...props.securityHeaders },
      clientMaxBodySize: ByteQuantity.parse(props.clientMaxBodySize ?? '10Mi', path, 'clientMaxBodySize'),
      proxyConnectTimeoutSeconds: checkInteger(path, 'proxyConnectTimeoutSeconds', props.proxyConnectTimeoutSeconds ?? 5, 1, 300),
      proxyReadTimeoutSeconds: checkInteger(path, 'proxyReadTimeoutSeconds', props.proxyReadTimeoutSeconds ?? (websocket ? 3600 : 60), 1, 86400),
      blockedPaths: [...new Set([app.metrics.path, ...props.backupApp ? [props.backupApp.metrics.path] : []])],
      websocket,
    });
    if (options.backupUpstream && options.backupUpstream.address === options.upstream.address) {
      throw new ValidationError(path, props.backupApp ? 'backupApp' : 'backupUpstream', props.backupApp ? props.backupApp.node.path : props.backupUpstream, 'an upstream other than the API itself');
    }
    this.config = renderNginxConf(options);
    this.configMap = new k8s.KubeConfigMap(this, 'Config', {
      metadata: { name: `${this.name}-config`, labels: this.labels },
      data: { 'nginx.conf': this.config },
    });

    // Anyone may reach the edge; only the edge reaches the API from here on (issue 8).
    this.allowIngressFrom({ ipBlock: { cidr: '0.0.0.0/0' } }, [HTTP_PORT, HTTPS_PORT]);
    this.allowIngressFrom({ namespaceSelector: {} }, [HTTP_PORT, HTTPS_PORT]);
    app.acceptTrafficFrom(this, app.port);
    props.backupApp?.acceptTrafficFrom(this, props.backupApp.port);

    const status = k8s.IntOrString.fromString('status');
    const nginx = restrictedContainer({
      name: 'nginx',
      image,
      uid: NGINX_UID,
      resources: this.resources,
      command: ['nginx', '-c', '/etc/nginx/config/nginx.conf', '-g', 'daemon off;'],
      ports: [{ name: 'http', containerPort: HTTP_PORT }, { name: 'https', containerPort: HTTPS_PORT }, { name: 'status', containerPort: STATUS_PORT }],
      volumeMounts: [
        { name: 'config', mountPath: '/etc/nginx/config', readOnly: true },
        { name: 'tls', mountPath: '/etc/nginx/tls', readOnly: true },
        { name: 'tmp', mountPath: '/tmp' },
      ],
      livenessProbe: { httpGet: { path: '/healthz', port: status }, periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 3 },
      readinessProbe: { tcpSocket: { port: k8s.IntOrString.fromString('https') }, periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 2 },
      // Let the load balancer drop this pod before nginx stops accepting connections.
      lifecycle: { preStop: { exec: { command: ['sleep', '5'] } } },
    });
    const exporter = restrictedContainer({
      name: 'exporter',
      image: exporterImage,
      uid: NGINX_UID,
      resources: this.exporterResources,
      args: [`--nginx.scrape-uri=http://127.0.0.1:${STATUS_PORT}/stub_status`, `--web.listen-address=:${EXPORTER_PORT}`],
      ports: [{ name: 'metrics', containerPort: EXPORTER_PORT }],
      livenessProbe: { tcpSocket: { port: k8s.IntOrString.fromString('metrics') }, periodSeconds: 30, timeoutSeconds: 5, failureThreshold: 3 },
      readinessProbe: { httpGet: { path: '/metrics', port: k8s.IntOrString.fromString('metrics') }, periodSeconds: 30, timeoutSeconds: 5, failureThreshold: 3 },
    });
    ({ deployment: this.deployment, podDisruptionBudget: this.podDisruptionBudget } = rollingDeployment(this, {
      replicas: this.replicas,
      maxSurge: this.maxSurge,
      minReadySeconds: 5,
      podAnnotations: () => ({ 'quality-billing.io/config-checksum': createHash('sha256').update(this.config).digest('hex') }),
      podSpec: () => ({
        automountServiceAccountToken: false,
        enableServiceLinks: false,
        securityContext: podSecurityContext(NGINX_UID),
        terminationGracePeriodSeconds: 30,
        containers: [nginx, exporter],
        volumes: [
          { name: 'config', configMap: { name: this.configMap.name } },
          { name: 'tls', secret: { secretName: tlsSecretName, defaultMode: 0o440 } },
          emptyDir('tmp', '256Mi'),
        ],
      }),
    }));
    // Only the public ports go on a LoadBalancer or NodePort Service; the exporter's stays in the cluster.
    const exposure = metricsExposure(this, { serviceType, port: EXPORTER_PORT });
    this.metrics = exposure.metrics;
    this.metricsService = exposure.service;
    this.service = new k8s.KubeService(this, 'Service', {
      metadata: { name: this.name, labels: this.labels },
      spec: {
        type: serviceType,
        // Keep the client's address in X-Forwarded-For and spread nothing through a second hop.
        externalTrafficPolicy: serviceType === 'ClusterIP' ? undefined : 'Local',
        selector: this.selector,
        ports: [
          { name: 'http', port: 80, targetPort: k8s.IntOrString.fromString('http') },
          { name: 'https', port: 443, targetPort: k8s.IntOrString.fromString('https') },
          ...exposure.servicePorts,
        ],
      },
    });
  }

  public sizings(): WorkloadSizing[] {
    return [{ name: this.name, kind: 'Deployment', replicas: this.replicas, containers: [this.resources, this.exporterResources] }];
  }
}
