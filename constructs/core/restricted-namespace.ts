import { ApiObject, JsonPatch } from 'cdk8s';
import { k8s } from './k8s';
import { Construct } from 'constructs';
import { checkDnsLabel } from '../../lib/validate';

/** Props of `RestrictedNamespace`. */
export interface RestrictedNamespaceProps {
  /** Namespace name. */
  readonly name: string;
  /** Labels on the Namespace besides the Pod Security ones. @default - none */
  readonly labels?: Readonly<Record<string, string>>;
  /** Labels of the cluster DNS pods in kube-system, which every pod may reach on port 53. @default {"k8s-app": "kube-dns"} (CoreDNS and kube-dns both carry it) */
  readonly dnsPodLabels?: Readonly<Record<string, string>>;
  /**
   * The Pod Security level admission enforces. "privileged" exists for the one documented
   * exception, the log shipper's namespace (it reads node log files through hostPath); audit and
   * warn stay at restricted there, so every other deviation still shows. @default "restricted"
   */
  readonly enforce?: 'restricted' | 'privileged';
}

/**
 * A namespace that enforces Pod Security Standards "restricted" at admission and denies all
 * traffic by default: each workload's own NetworkPolicy then allows exactly the connections
 * declared on it, and every pod may resolve names through the cluster DNS (DESIGN.md §6).
 */
export class RestrictedNamespace extends Construct {
  public readonly namespace: k8s.KubeNamespace;
  public readonly defaultDeny: k8s.KubeNetworkPolicy;
  public readonly allowDns: k8s.KubeNetworkPolicy;
  public readonly name: string;

  constructor(scope: Construct, id: string, props: RestrictedNamespaceProps) {
    super(scope, id);
    this.name = checkDnsLabel(this.node.path, 'name', props.name);
    this.namespace = new k8s.KubeNamespace(this, 'Namespace', {
      metadata: {
        name: this.name,
        labels: {
          ...props.labels,
          'pod-security.kubernetes.io/enforce': props.enforce ?? 'restricted',
          'pod-security.kubernetes.io/enforce-version': 'v1.28',
          'pod-security.kubernetes.io/audit': 'restricted',
          'pod-security.kubernetes.io/warn': 'restricted',
        },
      },
    });
    // The chart stamps its namespace on every object; a Namespace is cluster-scoped and must not carry one.
    ApiObject.of(this.namespace).addJsonPatch(JsonPatch.remove('/metadata/namespace'));
    this.defaultDeny = new k8s.KubeNetworkPolicy(this, 'DefaultDeny', {
      metadata: { name: 'default-deny', namespace: this.name },
      spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
    });
    this.allowDns = new k8s.KubeNetworkPolicy(this, 'AllowDns', {
      metadata: { name: 'allow-dns', namespace: this.name },
      spec: {
        podSelector: {},
        policyTypes: ['Egress'],
        egress: [{
          to: [{
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
            podSelector: { matchLabels: { ...(props.dnsPodLabels ?? { 'k8s-app': 'kube-dns' }) } },
          }],
          ports: [{ protocol: 'UDP', port: k8s.IntOrString.fromNumber(53) }, { protocol: 'TCP', port: k8s.IntOrString.fromNumber(53) }],
        }],
      },
    });
  }
}
