import { ValidationError } from './errors';

/**
 * A container image reference pinned to a version: `repository:tag` or `repository@sha256:...`.
 * `latest` and untagged references are refused, because they make two synths of the same
 * commit deploy different code.
 */
export class ImageRef {
  /** Parses and checks an image reference; `path`/`field` name the prop in errors. */
  public static parse(ref: string, path = 'ImageRef', field = 'image'): ImageRef {
    const allowed = 'a pinned image "repository:tag" or "repository@sha256:<64 hex>", never "latest" or untagged';
    if (typeof ref !== 'string' || ref.trim() !== ref || ref.length === 0) throw new ValidationError(path, field, ref, allowed);
    const at = ref.indexOf('@');
    if (at >= 0) {
      const repository = ref.slice(0, at);
      const digest = ref.slice(at + 1);
      if (!REPOSITORY.test(repository) || !/^sha256:[a-f0-9]{64}$/.test(digest)) throw new ValidationError(path, field, ref, allowed);
      return new ImageRef(repository, undefined, digest);
    }
    // The tag is what follows the last ':' after the last '/', so a registry port is not a tag.
    const slash = ref.lastIndexOf('/');
    const colon = ref.lastIndexOf(':');
    if (colon <= slash) throw new ValidationError(path, field, ref, allowed);
    const repository = ref.slice(0, colon);
    const tag = ref.slice(colon + 1);
    if (!REPOSITORY.test(repository) || !TAG.test(tag) || tag.toLowerCase() === 'latest') throw new ValidationError(path, field, ref, allowed);
    return new ImageRef(repository, tag, undefined);
  }

  private constructor(
    public readonly repository: string,
    public readonly tag: string | undefined,
    public readonly digest: string | undefined,
  ) {}

  /** The version label value: the tag, or the first 12 hex digits of the digest. */
  public get version(): string {
    return this.tag ?? this.digest!.slice('sha256:'.length, 'sha256:'.length + 12);
  }

  /** The reference as Kubernetes takes it. */
  public toString(): string {
    return this.digest ? `${this.repository}@${this.digest}` : `${this.repository}:${this.tag}`;
  }
}

const REPOSITORY = /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$|^[a-z0-9.-]+(?::[0-9]+)?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)+$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/**
 * The pinned images every construct defaults to (seed 000 §1.2: Python 3.11+, PostgreSQL 14+,
 * Redis 7+). One place to bump a version; the snapshot tests show every object it changes.
 */
export const IMAGE_CATALOG = {
  /** Base the application image is built from (seed 002's Dockerfile: python:3.11-slim). */
  pythonBase: ImageRef.parse('python:3.11.11-slim-bookworm'),
  /** Placeholder for the application image; pass your own `appImage` (a tag or, better, a digest). */
  app: ImageRef.parse('quality-billing:1.0.0'),
  postgres: ImageRef.parse('postgres:14.15-bookworm'),
  /**
   * The postgres image plus pgBackRest, for WAL archiving and point-in-time recovery, and Patroni
   * 3.0.2, which runs the members of a server with standbys; built from
   * images/postgres-pgbackrest/Dockerfile (the Pulumi program builds and pushes it). Like `app`,
   * a name you build, not one pulled from a public registry. Not Spilo: Spilo archives with WAL-G
   * and configures itself from its own environment variables, where our archiving is pgBackRest
   * and our configuration is generated (lib/patroni-config.ts) and tested as synthesized.
   */
  postgresPgbackrest: ImageRef.parse('quality-billing/postgres-pgbackrest:14.15-2.54-patroni3.0.2'),
  /** AWS CLI for the backup uploads; 2.22 still sends plain SigV4 uploads that S3-compatible servers accept. */
  awsCli: ImageRef.parse('amazon/aws-cli:2.22.35'),
  /** kubectl, to run pgBackRest inside the database pod (distroless: no shell). */
  kubectl: ImageRef.parse('registry.k8s.io/kubectl:v1.28.15'),
  postgresExporter: ImageRef.parse('prometheuscommunity/postgres-exporter:v0.16.0'),
  /**
   * PgBouncer between the applications and PostgreSQL (Alpine, runs as uid 70, `pgbouncer` on the
   * PATH, a shell to write the auth_file). The real-tool test runs Debian's 1.18 with the same
   * pgbouncer.ini; only settings both versions know are rendered.
   */
  pgbouncer: ImageRef.parse('edoburu/pgbouncer:v1.24.1-p0'),
  pgbouncerExporter: ImageRef.parse('prometheuscommunity/pgbouncer-exporter:v0.10.0'),
  redis: ImageRef.parse('redis:7.4.1-bookworm'),
  redisExporter: ImageRef.parse('oliver006/redis_exporter:v1.66.0'),
  prometheus: ImageRef.parse('prom/prometheus:v2.53.3'),
  alertmanager: ImageRef.parse('prom/alertmanager:v0.27.0'),
  grafana: ImageRef.parse('grafana/grafana:10.4.14'),
  kubeStateMetrics: ImageRef.parse('registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.13.0'),
  celeryExporter: ImageRef.parse('danihodovic/celery-exporter:0.10.14'),
  /** nginx built to run as an unprivileged user (uid 101) on unprivileged ports (seed 000 §1.2: nginx 1.24+). */
  nginx: ImageRef.parse('nginxinc/nginx-unprivileged:1.26.2-alpine'),
  nginxExporter: ImageRef.parse('nginx/nginx-prometheus-exporter:1.3.0'),
  /** Seed 003 runs ELK 7.16.2; 7.17 is the maintained end of the same 7.x line (log4j fixes included). */
  elasticsearch: ImageRef.parse('docker.elastic.co/elasticsearch/elasticsearch:7.17.25'),
  /**
   * Elasticsearch plus the repository-s3 plugin (not bundled before 8.0), for the log archive to
   * object storage (LogSnapshots); built from images/elasticsearch-s3/Dockerfile on `elasticsearch`.
   * Like `app`, a name you build and push, not one pulled from a public registry.
   */
  elasticsearchS3: ImageRef.parse('quality-billing/elasticsearch-s3:7.17.25'),
  kibana: ImageRef.parse('docker.elastic.co/kibana/kibana:7.17.25'),
  filebeat: ImageRef.parse('docker.elastic.co/beats/filebeat:7.17.25'),
  curl: ImageRef.parse('curlimages/curl:8.11.1'),
  // Object storage (seed 004) and its client, released together.
  minio: ImageRef.parse('minio/minio:RELEASE.2025-04-22T22-12-26Z'),
  minioClient: ImageRef.parse('minio/mc:RELEASE.2025-04-16T18-13-26Z'),
  // MongoDB 5 (seed 003) and its exporter.
  mongo: ImageRef.parse('mongo:5.0.30'),
  mongoExporter: ImageRef.parse('percona/mongodb_exporter:0.40.0'),
  // Seed 003: Pushgateway, Jaeger tracing, Consul discovery.
  pushgateway: ImageRef.parse('prom/pushgateway:v1.10.0'),
  jaegerAllInOne: ImageRef.parse('jaegertracing/all-in-one:1.62.0'),
  jaegerCollector: ImageRef.parse('jaegertracing/jaeger-collector:1.62.0'),
  jaegerQuery: ImageRef.parse('jaegertracing/jaeger-query:1.62.0'),
  jaegerIndexCleaner: ImageRef.parse('jaegertracing/jaeger-es-index-cleaner:1.62.0'),
  consul: ImageRef.parse('hashicorp/consul:1.20.1'),
} as const;
