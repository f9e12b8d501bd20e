import { k8s } from '../core/k8s';
import { Construct } from 'constructs';
import { IMAGE_CATALOG } from '../../lib/images';
import { EXPORTER_UID } from '../../lib/security';
import { ResourceSpec, WorkloadSizing } from '../../lib/sizing';
import { Elasticsearch } from '../logging/elasticsearch';
import { plainEnv, podSecurityContext, restrictedContainer, scheduledJobSpec, secretEnv } from '../core/pod-spec';
import { Workload } from '../core/workload';

/** Props of `JaegerIndexCleaner`. */
export interface JaegerIndexCleanerProps {
  /** Object name of the CronJob and its NetworkPolicy. */
  readonly name: string;
  /** The Elasticsearch that holds the span indices. */
  readonly elasticsearch: Elasticsearch;
  /** Days span indices are kept. */
  readonly retentionDays: number;
  /** Requests and limits of the cleaner container. */
  readonly resources: ResourceSpec;
}

/**
 * Jaeger's daily span-index cleaner (its own `jaeger-es-index-cleaner`): a CronJob deleting span
 * indices older than the retention. Its pods carry their own labels, so no Service or policy of
 * the query selects them, and its own NetworkPolicy lets them reach Elasticsearch only.
 */
export class JaegerIndexCleaner extends Workload {
  /** Requests and limits of the cleaner container. */
  public readonly resources: ResourceSpec;

  constructor(scope: Construct, id: string, props: JaegerIndexCleanerProps) {
    super(scope, id, { name: props.name, component: 'tracing-index-cleaner', version: IMAGE_CATALOG.jaegerIndexCleaner.version });
    this.resources = props.resources;
    const es = props.elasticsearch;
    new k8s.KubeCronJob(this, 'CronJob', {
      metadata: { name: this.name, labels: this.labels },
      spec: scheduledJobSpec({
        schedule: '30 0 * * *', timeZone: 'UTC', backoffLimit: 2, activeDeadlineSeconds: 3600,
        template: {
          metadata: { labels: this.labels },
          spec: {
            restartPolicy: 'Never', automountServiceAccountToken: false, enableServiceLinks: false, securityContext: podSecurityContext(EXPORTER_UID),
            containers: [restrictedContainer({
              name: 'cleaner', image: IMAGE_CATALOG.jaegerIndexCleaner, uid: EXPORTER_UID, resources: this.resources,
              args: [String(props.retentionDays), es.url],
              env: [plainEnv('ES_USERNAME', 'elastic'), secretEnv('ES_PASSWORD', es.passwordSecret)],
            })],
          },
        },
      }),
    });
    this.allowEgressTo(es.peerFor(this), [es.port]);
    es.allowIngressFrom(this.peerFor(es), [es.port]);
  }

  public sizings(): WorkloadSizing[] {
    return [{ name: this.name, kind: 'CronJob', replicas: 1, containers: [this.resources] }];
  }
}
