import { k8s } from './k8s';
import { MetricsEndpoint, Workload } from './workload';

/** Options of `metricsExposure`. */
export interface MetricsExposureOptions {
  /** The type of the workload's own Service. */
  readonly serviceType: 'ClusterIP' | 'LoadBalancer' | 'NodePort';
  /** Container port named "metrics" that serves the metrics. */
  readonly port: number;
  /** HTTP path of the metrics. @default "/metrics" */
  readonly path?: string;
}

/** Where a workload's metrics are served: the endpoint Prometheus keeps, and the port its own Service carries. */
export interface MetricsExposure {
  /** The endpoint to hand to monitoring (`serviceName` is the Service that carries the metrics port). */
  readonly metrics: MetricsEndpoint;
  /** The ports to add to the workload's own Service: the metrics port when that Service is ClusterIP, none otherwise. */
  readonly servicePorts: k8s.ServicePort[];
  /** The ClusterIP Service `<name>-metrics`, when the workload's own Service is public. */
  readonly service?: k8s.KubeService;
}

/**
 * Puts a workload's metrics port where only the cluster reaches it. A LoadBalancer or NodePort
 * Service forwards every port it lists from outside the cluster, so its metrics port goes on a
 * ClusterIP Service `<name>-metrics` of its own instead; monitoring finds it there either way
 * (endpoint discovery keeps the Service and port by name; a ServiceMonitor selects the workload's
 * labels and the port name, which only that Service has).
 */
export function metricsExposure(w: Workload, o: MetricsExposureOptions): MetricsExposure {
  const port: k8s.ServicePort = { name: 'metrics', port: o.port, targetPort: k8s.IntOrString.fromString('metrics') };
  const path = o.path ?? '/metrics';
  if (o.serviceType === 'ClusterIP') {
    return { metrics: { serviceName: w.name, portName: 'metrics', port: o.port, path }, servicePorts: [port] };
  }
  const service = new k8s.KubeService(w, 'MetricsService', {
    metadata: { name: `${w.name}-metrics`, labels: w.labels },
    spec: { selector: w.selector, ports: [port] },
  });
  return { metrics: { serviceName: `${w.name}-metrics`, portName: 'metrics', port: o.port, path }, servicePorts: [], service };
}
