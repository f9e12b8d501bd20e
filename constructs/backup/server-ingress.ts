import { k8s } from '../core/k8s';
import { Workload } from '../core/workload';

/**
 * A NetworkPolicy of `client`'s own that lets it reach `server`'s pods on `port`. A Job emitted on
 * demand (`npm run restore`) is applied after the server's policy was, and applied alone: the
 * ingress rule it needs cannot be added to the deployed policy, so it carries one of its own.
 */
export function serverIngressPolicy(client: Workload, server: Workload, port: number): k8s.KubeNetworkPolicy {
  return new k8s.KubeNetworkPolicy(client, 'ServerIngress', {
    metadata: { name: `${client.name}-to-${server.name}`.slice(0, 63).replace(/-+$/, ''), labels: client.labels, namespace: server.explicitNamespace },
    spec: {
      podSelector: { matchLabels: server.selector },
      policyTypes: ['Ingress'],
      ingress: [{ from: [client.peerFor(server)], ports: [{ protocol: 'TCP', port: k8s.IntOrString.fromNumber(port) }] }],
    },
  });
}
