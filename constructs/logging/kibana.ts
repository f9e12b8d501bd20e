import { k8s } from '../core/k8s';
import { Construct } from 'constructs';
import { IMAGE_CATALOG, ImageRef } from '../../lib/images';
import { READY_AFTER_JOB_ANNOTATION } from '../../lib/k8s-objects';
import { SecretKeyRef } from '../../lib/secrets';
import { ResourceSpec, WorkloadSizing } from '../../lib/sizing';
import { emptyDir, plainEnv, podSecurityContext, restrictedContainer, secretEnv } from '../core/pod-spec';
import { rollingDeployment } from '../core/rolling-deployment';
import { childPath, Workload } from '../core/workload';
import { Elasticsearch } from './elasticsearch';
import { ComponentProps, resolveComponent } from '../core/component';

/** Props of `Kibana`. */
export interface KibanaProps extends ComponentProps {
  /** The cluster Kibana reads and writes its saved objects to. */
  readonly elasticsearch: Elasticsearch;
  /** Password of the built-in `kibana_system` user (the setup Job sets it). @default - key "kibana-password" of Secret "elasticsearch-credentials" */
  readonly passwordSecret?: SecretKeyRef;
}

/** Port Kibana serves on (seed 003). */
export const KIBANA_PORT = 5601;
const KIBANA_UID = 1000;

/** Kibana on 5601, logging in to Elasticsearch as `kibana_system`; the index pattern is provisioned by the setup Job. */
export class Kibana extends Workload {
  public readonly deployment: k8s.KubeDeployment;
  public readonly service: k8s.KubeService;
  public readonly resources: ResourceSpec;
  public readonly port = KIBANA_PORT;
  public readonly passwordSecret: SecretKeyRef;

  constructor(scope: Construct, id: string, props: KibanaProps) {
    const image = ImageRef.parse(props.image ?? IMAGE_CATALOG.kibana.toString(), childPath(scope, id), 'image');
    super(scope, id, { name: props.name ?? 'kibana', component: 'logging-ui', version: image.version });
    const path = this.node.path;
    this.resources = resolveComponent(path, props, 'kibana').resources;
    this.passwordSecret = props.passwordSecret ?? SecretKeyRef.of('elasticsearch-credentials', 'kibana-password', path);
    const es = props.elasticsearch;
    es.acceptTrafficFrom(this, es.port);
    const http = k8s.IntOrString.fromString('http');
    const kibana = restrictedContainer({
      name: 'kibana',
      image,
      uid: KIBANA_UID,
      resources: this.resources,
      env: [
        plainEnv('ELASTICSEARCH_HOSTS', es.url),
        plainEnv('ELASTICSEARCH_USERNAME', 'kibana_system'),
        secretEnv('ELASTICSEARCH_PASSWORD', this.passwordSecret),
        plainEnv('SERVER_NAME', this.name),
        plainEnv('TELEMETRY_ENABLED', 'false'),
        plainEnv('NEWSFEED_ENABLED', 'false'),
      ],
      ports: [{ name: 'http', containerPort: KIBANA_PORT }],
      volumeMounts: [{ name: 'data', mountPath: '/usr/share/kibana/data' }, { name: 'tmp', mountPath: '/tmp' }],
      // Kibana takes a minute or two to start its plugins.
      startupProbe: { httpGet: { path: '/api/status', port: http }, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 30 },
      livenessProbe: { tcpSocket: { port: http }, periodSeconds: 20, timeoutSeconds: 5, failureThreshold: 3 },
      readinessProbe: { httpGet: { path: '/api/status', port: http }, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 },
    });
    ({ deployment: this.deployment } = rollingDeployment(this, {
      replicas: 1,
      maxSurge: 1,
      podSpec: () => ({
        automountServiceAccountToken: false,
        enableServiceLinks: false,
        securityContext: podSecurityContext(KIBANA_UID),
        containers: [kibana],
        volumes: [emptyDir('data', '256Mi'), emptyDir('tmp', '256Mi')],
      }),
    }));
    this.service = new k8s.KubeService(this, 'Service', {
      metadata: { name: this.name, labels: this.labels },
      spec: { selector: this.selector, ports: [{ name: 'http', port: KIBANA_PORT, targetPort: http }] },
    });
  }

  /**
   * Declares that Kibana's pods become ready only after `job` has run (it sets the `kibana_system`
   * password Kibana logs in with), so a deployment plan never makes that Job wait for Kibana.
   */
  public readyAfter(job: k8s.KubeJob): void {
    this.deployment.metadata.addAnnotation(READY_AFTER_JOB_ANNOTATION, job.name);
  }

  public sizings(): WorkloadSizing[] {
    return [{ name: this.name, kind: 'Deployment', replicas: 1, containers: [this.resources] }];
  }
}
