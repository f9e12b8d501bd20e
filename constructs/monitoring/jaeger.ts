import { k8s } from '../core/k8s';
import { Construct } from 'constructs';
import { ValidationError } from '../../lib/errors';
import { IMAGE_CATALOG } from '../../lib/images';
import { RESOURCE_PRESETS } from '../../lib/presets';
import { EXPORTER_UID } from '../../lib/security';
import { resources, ResourceSpec, WorkloadSizing } from '../../lib/sizing';
import { tier as lookupTier, TierName } from '../../lib/tiers';
import { checkInteger, checkOneOf, checkReplicas } from '../../lib/validate';
import { IConnectable, IConnectionClient } from '../core/connections';
import { Elasticsearch } from '../logging/elasticsearch';
import { JaegerIndexCleaner } from './jaeger-index-cleaner';
import { emptyDir, plainEnv, podSecurityContext, restrictedContainer, secretEnv } from '../core/pod-spec';
import { rollingDeployment } from '../core/rolling-deployment';
import { MetricsEndpoint, Workload } from '../core/workload';

/** Props of `Jaeger`. */
export interface JaegerProps {
  /** Base object name. @default "jaeger" */
  readonly name?: string;
  /** "all-in-one" keeps traces in memory (development); "production" runs collectors and a query service on Elasticsearch. @default "all-in-one" */
  readonly mode?: 'all-in-one' | 'production';
  /** The Elasticsearch spans are stored in (production; the logging issue's cluster). @default - none: required in mode "production" */
  readonly elasticsearch?: Elasticsearch;
  /** Collector pods (production). @default 2 */
  readonly collectorReplicas?: number;
  /** Days span indices are kept (production: a daily index cleaner). @default 7 */
  readonly retentionDays?: number;
  /** Traces the in-memory store keeps (all-in-one). @default 50000 */
  readonly maxTraces?: number;
  /** Tier whose presets apply. @default "recommended" */
  readonly tier?: TierName;
}

/** OTLP gRPC and HTTP, the query UI/API, the admin port (health and metrics). */
const OTLP_GRPC = 4317;
const OTLP_HTTP = 4318;
const QUERY_PORT = 16686;
const ADMIN_PORT = 14269;
const QUERY_ADMIN_PORT = 16687;

/**
 * Jaeger tracing (seed 003). Services connect with `connectTo(jaeger)` and receive the standard
 * OpenTelemetry variables (OTEL_EXPORTER_OTLP_ENDPOINT, …, OTEL_SERVICE_NAME): they export OTLP
 * to the collector, which replaces the seed's UDP agent (JAEGER_AGENT_HOST/PORT, deprecated by
 * Jaeger). "all-in-one" is one pod with an in-memory store for development; "production" runs
 * replicated collectors writing to Elasticsearch, a query service for the UI, and a daily
 * CronJob deleting span indices older than the retention.
 */
export class Jaeger extends Workload implements IConnectable {
  public readonly mode: 'all-in-one' | 'production';
  public readonly collectorService: k8s.KubeService;
  public readonly resources: ResourceSpec;
  public readonly replicas: number;
  /** The OTLP gRPC endpoint services export to. */
  public readonly otlpEndpoint: string;
  /** Admin port metrics of the collector (or the all-in-one pod). */
  public readonly metrics: MetricsEndpoint;
  /** The query service (UI on 16686), production mode. */
  public readonly query?: JaegerQuery;

  constructor(scope: Construct, id: string, props: JaegerProps = {}) {
    const mode = checkOneOf(`${scope.node.path}/${id}`, 'mode', props.mode ?? 'all-in-one', ['all-in-one', 'production'] as const);
    const image = mode === 'all-in-one' ? IMAGE_CATALOG.jaegerAllInOne : IMAGE_CATALOG.jaegerCollector;
    const base = props.name ?? 'jaeger';
    super(scope, id, { name: mode === 'all-in-one' ? base : `${base}-collector`, component: 'tracing', version: image.version });
    const path = this.node.path;
    this.mode = mode;
    const t = lookupTier(props.tier ?? 'recommended', path).name;
    this.resources = resources(RESOURCE_PRESETS[t].jaeger, path, 'resources');
    this.replicas = mode === 'all-in-one' ? 1 : checkReplicas(path, 'collectorReplicas', props.collectorReplicas ?? 2);
    this.otlpEndpoint = `http://${this.name}:${OTLP_GRPC}`;
    this.metrics = { serviceName: this.name, portName: 'admin', port: ADMIN_PORT, path: '/metrics' };
    const es = props.elasticsearch;
    if (mode === 'production' && !es) throw new ValidationError(path, 'elasticsearch', undefined, 'the Elasticsearch spans are stored in, for mode "production"');
    if (mode === 'all-in-one' && es) throw new ValidationError(path, 'elasticsearch', es.node.path, 'left out in mode "all-in-one" (traces are kept in memory)');
    const maxTraces = checkInteger(path, 'maxTraces', props.maxTraces ?? 50000, 1000, 10_000_000);

    const storageEnv = es
      ? [plainEnv('SPAN_STORAGE_TYPE', 'elasticsearch'), plainEnv('ES_SERVER_URLS', es.url), plainEnv('ES_USERNAME', 'elastic'), secretEnv('ES_PASSWORD', es.passwordSecret)]
      : [plainEnv('SPAN_STORAGE_TYPE', 'memory'), plainEnv('MEMORY_MAX_TRACES', maxTraces)];
    const admin = k8s.IntOrString.fromString('admin');
    const ports: k8s.ContainerPort[] = [
      { name: 'otlp-grpc', containerPort: OTLP_GRPC }, { name: 'otlp-http', containerPort: OTLP_HTTP }, { name: 'admin', containerPort: ADMIN_PORT },
      ...(mode === 'all-in-one' ? [{ name: 'query', containerPort: QUERY_PORT }] : []),
    ];
    const main = restrictedContainer({
      name: mode === 'all-in-one' ? 'jaeger' : 'collector', image, uid: EXPORTER_UID, resources: this.resources,
      env: [...storageEnv, plainEnv('COLLECTOR_OTLP_ENABLED', 'true')],
      ports,
      volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
      ...adminProbes(admin),
    });
    rollingDeployment(this, {
      replicas: this.replicas, maxSurge: 1,
      podSpec: () => ({ automountServiceAccountToken: false, enableServiceLinks: false, securityContext: podSecurityContext(EXPORTER_UID), containers: [main], volumes: [emptyDir('tmp', '64Mi')] }),
    });
    this.collectorService = new k8s.KubeService(this, 'Service', {
      metadata: { name: this.name, labels: this.labels },
      spec: { selector: this.selector, ports: ports.map(p => ({ name: p.name, port: p.containerPort, targetPort: k8s.IntOrString.fromString(p.name!) })) },
    });

    if (es) {
      this.allowEgressTo(es.peerFor(this), [es.port]);
      es.allowIngressFrom(this.peerFor(es), [es.port]);
      this.query = new JaegerQuery(this, 'Query', { name: `${base}-query`, tier: t, elasticsearch: es, storageEnv, retentionDays: checkInteger(path, 'retentionDays', props.retentionDays ?? 7, 1, 365) });
    }
  }

  /** Gives the client the OpenTelemetry exporter settings and opens the OTLP ports to it. */
  public bind(client: IConnectionClient): void {
    client.addEnv(
      plainEnv('OTEL_EXPORTER_OTLP_ENDPOINT', this.otlpEndpoint),
      plainEnv('OTEL_EXPORTER_OTLP_PROTOCOL', 'grpc'),
      plainEnv('OTEL_TRACES_EXPORTER', 'otlp'),
      plainEnv('OTEL_SERVICE_NAME', client.workload.name),
    );
    this.allowIngressFrom(client.workload.peerFor(this), [OTLP_GRPC, OTLP_HTTP]);
    client.workload.allowEgressTo(this.peerFor(client.workload), [OTLP_GRPC, OTLP_HTTP]);
  }

  public sizings(): WorkloadSizing[] {
    return [{ name: this.name, kind: 'Deployment', replicas: this.replicas, containers: [this.resources] }];
  }
}

/** Jaeger's query service (UI and API on 16686) and the daily span-index cleaner, on Elasticsearch. */
export class JaegerQuery extends Workload {
  public readonly service: k8s.KubeService;
  public readonly resources: ResourceSpec;
  /** The daily CronJob deleting span indices older than the retention. */
  public readonly indexCleaner: JaegerIndexCleaner;

  constructor(scope: Construct, id: string, o: { name: string; tier: TierName; elasticsearch: Elasticsearch; storageEnv: k8s.EnvVar[]; retentionDays: number }) {
    super(scope, id, { name: o.name, component: 'tracing-query', version: IMAGE_CATALOG.jaegerQuery.version });
    this.resources = resources(RESOURCE_PRESETS[o.tier].jaegerQuery, this.node.path, 'resources');
    const es = o.elasticsearch;
    const query = restrictedContainer({
      name: 'query', image: IMAGE_CATALOG.jaegerQuery, uid: EXPORTER_UID, resources: this.resources,
      env: o.storageEnv,
      ports: [{ name: 'query', containerPort: QUERY_PORT }, { name: 'admin', containerPort: QUERY_ADMIN_PORT }],
      volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
      ...adminProbes(k8s.IntOrString.fromString('admin')),
    });
    rollingDeployment(this, {
      replicas: 1, maxSurge: 1,
      podSpec: () => ({ automountServiceAccountToken: false, enableServiceLinks: false, securityContext: podSecurityContext(EXPORTER_UID), containers: [query], volumes: [emptyDir('tmp', '64Mi')] }),
    });
    this.service = new k8s.KubeService(this, 'Service', {
      metadata: { name: this.name, labels: this.labels },
      spec: { selector: this.selector, ports: [{ name: 'query', port: QUERY_PORT, targetPort: k8s.IntOrString.fromString('query') }] },
    });
    // Span indices are daily; the cleaner deletes those older than the retention (Jaeger's own tool).
    this.indexCleaner = new JaegerIndexCleaner(this, 'IndexCleaner', { name: `${this.name}-index-cleaner`, elasticsearch: es, retentionDays: o.retentionDays, resources: this.resources });
    this.allowEgressTo(es.peerFor(this), [es.port]);
    es.allowIngressFrom(this.peerFor(es), [es.port]);
  }

  public sizings(): WorkloadSizing[] {
    return [{ name: this.name, kind: 'Deployment', replicas: 1, containers: [this.resources] }];
  }
}

/**
 * Probes on a Jaeger admin port. Its `/` is the health check, 503 while the service is unavailable
 * (starting, stopping, or its storage failing): that takes the pod out of the Service. `/version`
 * answers whenever the process serves HTTP, so only a hung process is restarted
 * (jaegertracing/jaeger cmd/internal/flags/admin.go and pkg/version/handler.go).
 */
function adminProbes(admin: k8s.IntOrString): Pick<k8s.Container, 'livenessProbe' | 'readinessProbe'> {
  return {
    livenessProbe: { httpGet: { path: '/version', port: admin }, periodSeconds: 15, timeoutSeconds: 3, failureThreshold: 4 },
    readinessProbe: { httpGet: { path: '/', port: admin }, periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 2, initialDelaySeconds: 5 },
  };
}
