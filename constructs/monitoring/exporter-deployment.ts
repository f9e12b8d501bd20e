import { k8s } from '../core/k8s';
import { ContainerOptions, podSecurityContext, restrictedContainer } from '../core/pod-spec';
import { Workload } from '../core/workload';

/** A one-replica Deployment for a stateless exporter (kube-state-metrics, celery-exporter, the Pushgateway). */
export function exporterDeployment(w: Workload, container: ContainerOptions, o: { serviceAccountName?: string; metricsPort: number; volumes?: k8s.Volume[] }): { deployment: k8s.KubeDeployment; service: k8s.KubeService } {
  const deployment = new k8s.KubeDeployment(w, 'Deployment', {
    metadata: { name: w.name, labels: w.labels },
    spec: {
      replicas: 1,
      revisionHistoryLimit: 5,
      selector: { matchLabels: w.selector },
      template: {
        metadata: { labels: w.labels },
        spec: {
          serviceAccountName: o.serviceAccountName,
          automountServiceAccountToken: o.serviceAccountName !== undefined,
          enableServiceLinks: false,
          securityContext: podSecurityContext(container.uid),
          containers: [restrictedContainer(container)],
          volumes: o.volumes,
        },
      },
    },
  });
  const service = new k8s.KubeService(w, 'Service', {
    metadata: { name: w.name, labels: w.labels },
    spec: { selector: w.selector, ports: [{ name: 'metrics', port: o.metricsPort, targetPort: k8s.IntOrString.fromString('metrics') }] },
  });
  return { deployment, service };
}
