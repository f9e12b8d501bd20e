import { stringify } from '../yaml-text';
import { ValidationError } from '../errors';
import { ByteQuantity } from '../quantity';

/** Index name pattern of seed 000 §7.2: one index a day. */
export const LOG_INDEX_PREFIX = 'quality-billing';
/** The index Filebeat writes (seed 000 §7.2 verbatim). */
export const LOG_INDEX = `${LOG_INDEX_PREFIX}-%{+yyyy.MM.dd}`;

/** The largest heap that keeps compressed object pointers (Elastic's guidance: below ~32 GB). */
export const MAX_HEAP = ByteQuantity.gibibytes(31);
/** The smallest container memory we run Elasticsearch in: a 512 MiB heap plus as much for Lucene. */
export const MIN_ELASTICSEARCH_MEMORY = ByteQuantity.gibibytes(1);

/**
 * Elasticsearch heap: half the container memory (the other half is the filesystem cache Lucene
 * lives on), never above 31 GiB. Throws when the memory is below 1 GiB or the heap would pass 31 GiB.
 */
export function elasticsearchHeap(memoryLimit: ByteQuantity, path = 'Elasticsearch'): ByteQuantity {
  if (memoryLimit.bytes < MIN_ELASTICSEARCH_MEMORY.bytes) {
    throw new ValidationError(path, 'resources.memoryLimit', memoryLimit.toString(), `at least ${MIN_ELASTICSEARCH_MEMORY} for Elasticsearch (half of it heap)`);
  }
  const heapMiB = Math.floor(memoryLimit.mebibytes / 2);
  if (heapMiB > MAX_HEAP.mebibytes) {
    throw new ValidationError(path, 'resources.memoryLimit', memoryLimit.toString(),
      `at most ${MAX_HEAP.times(2)} (the heap, half of it, must stay at or below 31Gi to keep compressed pointers); run more nodes instead`);
  }
  return ByteQuantity.mebibytes(heapMiB);
}

/** Disk a day of logs takes in Elasticsearch beyond its raw size (inverted index, doc values). */
export const INDEX_OVERHEAD = 1.15;
/** Elasticsearch stops allocating shards to a node past its 85 % low disk watermark. */
export const DISK_LOW_WATERMARK = 0.85;

/** How much of the volume a retention takes, and whether it fits under the low watermark. */
export interface RetentionFit {
  readonly needed: ByteQuantity;
  readonly usable: ByteQuantity;
  readonly fits: boolean;
  /** The longest retention that fits, in days. */
  readonly maxDays: number;
}

/**
 * Whether `days` of daily indices fit the data volume of each node: days x daily volume x
 * (1 + replicas) x index overhead, spread over the nodes, under the 85 % watermark.
 */
export function retentionFit(days: number, dailyVolume: ByteQuantity, volume: ByteQuantity, nodes: number, replicas: number): RetentionFit {
  const perDay = (dailyVolume.bytes * (1 + replicas) * INDEX_OVERHEAD) / nodes;
  const usable = Math.floor(volume.bytes * DISK_LOW_WATERMARK);
  const needed = Math.ceil(perDay * days);
  return { needed: ByteQuantity.parse(String(Math.max(1, needed))), usable: ByteQuantity.parse(String(usable)), fits: needed <= usable, maxDays: Math.floor(usable / perDay) };
}

/** Settings of elasticsearch.yml. */
export interface ElasticsearchConfigOptions {
  readonly clusterName: string;
  /** Pod names of the master-eligible nodes; one means single-node discovery. */
  readonly nodeNames: readonly string[];
  /** Headless Service the nodes find each other through. */
  readonly serviceName: string;
  /** Folder with the transport certificates (multi-node only). */
  readonly transportCertsDir?: string;
  /**
   * The "default" S3 client of the snapshot repository (repository-s3's client settings; its keys
   * are secure settings, in the keystore, never here). @default - no S3 client settings
   */
  readonly s3Client?: { readonly endpoint: string; readonly pathStyle: boolean };
}

/**
 * Renders elasticsearch.yml: security on, mmap off (so no privileged sysctl init container is
 * needed for vm.max_map_count), single-node discovery for one node, transport TLS for more.
 */
export function renderElasticsearchYml(o: ElasticsearchConfigOptions): string {
  const multi = o.nodeNames.length > 1;
  return stringify({
    'cluster.name': o.clusterName,
    'network.host': '0.0.0.0',
    'node.store.allow_mmap': false,
    'xpack.security.enabled': true,
    'xpack.security.http.ssl.enabled': false,
    ...(multi
      ? {
        'discovery.seed_hosts': [o.serviceName],
        'cluster.initial_master_nodes': [...o.nodeNames],
        'xpack.security.transport.ssl.enabled': true,
        'xpack.security.transport.ssl.verification_mode': 'certificate',
        'xpack.security.transport.ssl.key': `${o.transportCertsDir}/tls.key`,
        'xpack.security.transport.ssl.certificate': `${o.transportCertsDir}/tls.crt`,
        'xpack.security.transport.ssl.certificate_authorities': [`${o.transportCertsDir}/ca.crt`],
      }
      : { 'discovery.type': 'single-node' }),
    'xpack.monitoring.collection.enabled': false,
    'ingest.geoip.downloader.enabled': false,
    ...(o.s3Client
      ? {
        's3.client.default.endpoint': o.s3Client.endpoint,
        's3.client.default.protocol': 'https',
        // Deprecated in 7.x (it warns when set), but the only way to S3-compatible storage that has no virtual hosts.
        ...(o.s3Client.pathStyle ? { 's3.client.default.path_style_access': true } : {}),
      }
      : {}),
  });
}

/** The index lifecycle policy: delete each daily index `days` after it was created. */
export function lifecyclePolicy(days: number): object {
  return { policy: { phases: { hot: { min_age: '0ms', actions: {} }, delete: { min_age: `${days}d`, actions: { delete: {} } } } } };
}

/** The index template for the daily indices: one shard, the lifecycle policy, replicas by cluster size. */
export function indexTemplate(replicas: number): object {
  return {
    index_patterns: [`${LOG_INDEX_PREFIX}-*`],
    template: {
      settings: { number_of_shards: 1, number_of_replicas: replicas, 'index.lifecycle.name': LOG_INDEX_PREFIX, 'index.refresh_interval': '10s' },
      mappings: {
        properties: {
          '@timestamp': { type: 'date' },
          timestamp: { type: 'date' },
          level: { type: 'keyword' },
          request_id: { type: 'keyword' },
          method: { type: 'keyword' },
          path: { type: 'keyword' },
          status: { type: 'integer' },
          duration_ms: { type: 'float' },
          message: { type: 'text' },
        },
      },
    },
    priority: 200,
  };
}
