import { stringify } from '../yaml-text';
import { LOG_INDEX, LOG_INDEX_PREFIX } from './elasticsearch';

/** Settings of filebeat.yml. */
export interface FilebeatConfigOptions {
  /** Namespace whose container logs are shipped: only its files are read. */
  readonly namespace: string;
  /** `http://host:port` of Elasticsearch. */
  readonly elasticsearchUrl: string;
}

/** The id of the input reading a namespace's container logs: stable, so its registry entries stay its own. */
export function filebeatInputId(namespace: string): string {
  return `${namespace}-container-logs`;
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
    // filestream, GA since 7.14, in place of the container input (a preset of the log input,
    // deprecated in 7.16). filestream keys each file's offset in the registry by its input's `id`
    // ("All filestream inputs require an ID … Never change the ID of an input, or you will end up
    // with duplicate events": Filebeat reference, filestream input), so the id is fixed by the
    // namespace alone. Container logs are symlinks, which filestream follows only when told to.
    'filebeat.inputs': [{
      type: 'filestream',
      id: filebeatInputId(o.namespace),
      paths: [`/var/log/containers/*_${o.namespace}_*.log`],
      'prospector.scanner.symlinks': true,
      parsers: [{ container: { stream: 'all', format: 'auto' } }],
      // A new pod's log is picked up within 10 s; a file idle for a day is dropped from the registry.
      'prospector.scanner.check_interval': '10s',
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
