import { stringify } from '../yaml-text';
import { LOG_INDEX, LOG_INDEX_PREFIX } from './elasticsearch';

/** Settings of filebeat.yml. */
export interface FilebeatConfigOptions {
  /** Namespace whose container logs are shipped: only its files are read. */
  readonly namespace: string;
  /** `http://host:port` of Elasticsearch. */
  readonly elasticsearchUrl: string;
}

/**
 * Renders filebeat.yml: the container logs of one namespace (kubelet names them
 * `<pod>_<namespace>_<container>-<id>.log`), Kubernetes metadata from the API limited to that
 * namespace, the app's JSON lines (seed 000 §7.1) decoded to top-level fields, shipped to the
 * seed's daily index with credentials from the environment. Filebeat's own ILM and template
 * setup are off: the setup Job installs ours.
 */
export function renderFilebeatYml(o: FilebeatConfigOptions): string {
  return stringify({
    'filebeat.inputs': [{
      type: 'container',
      paths: [`/var/log/containers/*_${o.namespace}_*.log`],
      // A new pod's log is picked up within 10 s; a file idle for a day is dropped from the registry.
      scan_frequency: '10s',
      clean_inactive: '25h',
      ignore_older: '24h',
    }],
    processors: [
      {
        add_kubernetes_metadata: {
          host: '${NODE_NAME}',
          namespace: o.namespace,
          matchers: [{ logs_path: { logs_path: '/var/log/containers/' } }],
          add_resource_metadata: { node: { enabled: false }, namespace: { enabled: false } },
        },
      },
      { decode_json_fields: { fields: ['message'], target: '', overwrite_keys: true, add_error_key: true, max_depth: 2 } },
      { drop_fields: { fields: ['agent.ephemeral_id', 'ecs.version', 'input.type'], ignore_missing: true } },
    ],
    'output.elasticsearch': {
      hosts: [o.elasticsearchUrl],
      username: '${ELASTICSEARCH_USERNAME}',
      password: '${ELASTICSEARCH_PASSWORD}',
      index: LOG_INDEX,
    },
    'setup.ilm.enabled': false,
    'setup.template.enabled': false,
    'setup.template.name': LOG_INDEX_PREFIX,
    'setup.template.pattern': `${LOG_INDEX_PREFIX}-*`,
    'logging.level': 'info',
    'logging.to_stderr': true,
    'http.enabled': true,
    'http.host': '127.0.0.1',
    'http.port': 5066,
  });
}
