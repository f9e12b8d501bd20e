import { k8s } from '../core/k8s';
import { Construct } from 'constructs';
import { DEFAULT_SECURITY_HEADERS } from '../../lib/edge/nginx-config';
import { ValidationError } from '../../lib/errors';
import { ByteQuantity } from '../../lib/quantity';
import { checkDnsLabel, checkDnsSubdomain, checkInteger } from '../../lib/validate';
import { IAppService } from '../app/app-service';

/** Props of `AppIngress`. */
export interface AppIngressProps {
  /** The API the Ingress routes to (its HTTP port only). */
  readonly app: IAppService;
  /** Host name the API is served on. */
  readonly host: string;
  /** TLS Secret (tls.crt/tls.key) for the host. @default "quality-billing-tls" */
  readonly tlsSecretName?: string;
  /** IngressClass. @default "nginx" */
  readonly ingressClassName?: string;
  /** Namespace of the ingress controller, allowed to reach the API. @default "ingress-nginx" */
  readonly controllerNamespace?: string;
  /** Largest request body. @default "10Mi" */
  readonly clientMaxBodySize?: string;
  /** Seconds to wait for the API's answer. @default 60 */
  readonly proxyReadTimeoutSeconds?: number;
  /** Response headers over the defaults (HSTS, CSP, …). @default - the defaults */
  readonly securityHeaders?: Readonly<Record<string, string>>;
}

/**
 * The API behind an ingress-nginx Ingress instead of our own edge: TLS from a Secret, HTTPS
 * forced, body size and timeouts as annotations. ingress-nginx sets response headers per Ingress
 * only through a configuration snippet, which the controller must allow
 * (`allow-snippet-annotations: "true"`; from 1.12 also `annotations-risk-level: Critical`);
 * without it, set the same headers in the controller's ConfigMap (README).
 */
export class AppIngress extends Construct {
  public readonly ingress: k8s.KubeIngress;

  constructor(scope: Construct, id: string, props: AppIngressProps) {
    super(scope, id);
    const path = this.node.path;
    const host = checkDnsSubdomain(path, 'host', props.host);
    const tlsSecretName = checkDnsSubdomain(path, 'tlsSecretName', props.tlsSecretName ?? 'quality-billing-tls');
    const controllerNamespace = checkDnsLabel(path, 'controllerNamespace', props.controllerNamespace ?? 'ingress-nginx');
    const body = ByteQuantity.parse(props.clientMaxBodySize ?? '10Mi', path, 'clientMaxBodySize');
    const timeout = checkInteger(path, 'proxyReadTimeoutSeconds', props.proxyReadTimeoutSeconds ?? 60, 1, 3600);
    const headers = { ...DEFAULT_SECURITY_HEADERS, ...props.securityHeaders };
    for (const [name, value] of Object.entries(headers)) {
      if (!/^[A-Za-z0-9-]{1,64}$/.test(name) || !/^[\x20-\x21\x23-\x5b\x5d-\x7e]{1,2048}$/.test(value)) {
        throw new ValidationError(path, `securityHeaders.${name}`, value, 'a header name of letters, digits and "-" and a printable ASCII value without \'"\' or \'\\\'');
      }
    }
    const app = props.app;
    this.ingress = new k8s.KubeIngress(this, 'Ingress', {
      metadata: {
        name: app.name,
        labels: app.labels,
        annotations: {
          'nginx.ingress.kubernetes.io/ssl-redirect': 'true',
          'nginx.ingress.kubernetes.io/force-ssl-redirect': 'true',
          'nginx.ingress.kubernetes.io/proxy-body-size': `${Math.ceil(body.bytes / 1024)}k`,
          'nginx.ingress.kubernetes.io/proxy-connect-timeout': '5',
          'nginx.ingress.kubernetes.io/proxy-read-timeout': String(timeout),
          'nginx.ingress.kubernetes.io/proxy-send-timeout': String(timeout),
          'nginx.ingress.kubernetes.io/proxy-next-upstream': 'error timeout http_502 http_503 http_504',
          'nginx.ingress.kubernetes.io/proxy-next-upstream-tries': '2',
          'nginx.ingress.kubernetes.io/configuration-snippet': Object.entries(headers).map(([k, v]) => `more_set_headers "${k}: ${v}";`).join('\n'),
        },
      },
      spec: {
        ingressClassName: props.ingressClassName ?? 'nginx',
        tls: [{ hosts: [host], secretName: tlsSecretName }],
        rules: [{
          host,
          http: {
            paths: [
              // The app's metrics stay inside: only its HTTP port is routed.
              { path: '/', pathType: 'Prefix', backend: { service: { name: app.name, port: { name: 'http' } } } },
            ],
          },
        }],
      },
    });
    app.allowIngressFrom({ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': controllerNamespace } } }, [app.port]);
  }
}
