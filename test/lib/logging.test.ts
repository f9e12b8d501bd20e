import { parse } from 'yaml';
import { elasticsearchHeap, indexTemplate, lifecyclePolicy, LOG_INDEX, renderElasticsearchYml, retentionFit } from '../../lib/logging/elasticsearch';
import { renderFilebeatYml } from '../../lib/logging/filebeat';
import { ByteQuantity } from '../../lib/quantity';
import { expectValidationError } from '../helpers';

const b = ByteQuantity.parse;

describe('Elasticsearch heap', () => {
  it.each([['1Gi', 512], ['2Gi', 1024], ['4Gi', 2048], ['62Gi', 31 * 1024]])('is half of a %s memory limit: %i MiB', (m, mib) => {
    expect(elasticsearchHeap(b(m)).mebibytes).toBe(mib);
  });

  it('refuses memory whose half would pass 31 GiB', () => {
    expectValidationError(() => elasticsearchHeap(b('64Gi'), 'X'), { path: 'X', field: 'resources.memoryLimit', value: '64Gi', allowed: /at or below 31Gi/ });
  });

  it('refuses memory too small for Elasticsearch', () => {
    expectValidationError(() => elasticsearchHeap(b('768Mi'), 'X'), { path: 'X', field: 'resources.memoryLimit', value: '768Mi', allowed: /at least 1Gi/ });
  });
});

describe('log retention against the volume', () => {
  // days x daily x (1 + replicas) x 1.15 / nodes <= 0.85 x volume
  it.each([
    [14, '2Gi', '150Gi', 1, 0, true, Math.floor((150 * 0.85) / (2 * 1.15))],
    [60, '2Gi', '150Gi', 1, 0, false, Math.floor((150 * 0.85) / (2 * 1.15))],
    [30, '3Gi', '100Gi', 3, 1, true, Math.floor((100 * 0.85) / ((3 * 2 * 1.15) / 3))],
  ] as const)('%i days of %s on %s x%i nodes (replicas %i): fits %s, at most %i days', (days, daily, volume, nodes, replicas, fits, maxDays) => {
    const fit = retentionFit(days, b(daily), b(volume), nodes, replicas);
    expect(fit.fits).toBe(fits);
    expect(fit.maxDays).toBe(maxDays);
  });
});

describe('generated configuration files', () => {
  it('filebeat.yml parses, reads only the namespace\'s containers and writes the seed\'s daily index', () => {
    const yml = parse(renderFilebeatYml({ namespace: 'quality-billing', elasticsearchUrl: 'http://es:9200' }));
    expect(yml['output.elasticsearch'].index).toBe('quality-billing-%{+yyyy.MM.dd}');
    expect(LOG_INDEX).toBe('quality-billing-%{+yyyy.MM.dd}');
    expect(yml['filebeat.inputs'][0].paths).toEqual(['/var/log/containers/*_quality-billing_*.log']);
    // filestream keys its registry entries by input id: one fixed id per namespace, so a restarted
    // Filebeat (or a re-rendered config) finds its offsets; the container parser, through symlinks.
    expect(yml['filebeat.inputs']).toEqual([expect.objectContaining({
      type: 'filestream', id: 'quality-billing-container-logs', 'prospector.scanner.symlinks': true, parsers: [{ container: { stream: 'all', format: 'auto' } }],
    })]);
    const again = parse(renderFilebeatYml({ namespace: 'quality-billing', elasticsearchUrl: 'http://other:9200' }));
    expect(again['filebeat.inputs'][0].id).toBe(yml['filebeat.inputs'][0].id);
    expect(parse(renderFilebeatYml({ namespace: 'qcat', elasticsearchUrl: 'http://es:9200' }))['filebeat.inputs'][0].id).toBe('qcat-container-logs');
    expect(yml['output.elasticsearch'].password).toBe('${ELASTICSEARCH_PASSWORD}');
    const decode = yml.processors.find((p: any) => p.decode_json_fields).decode_json_fields;
    expect(decode).toMatchObject({ fields: ['message'], target: '' });
    expect(yml.processors.find((p: any) => p.add_kubernetes_metadata).add_kubernetes_metadata.namespace).toBe('quality-billing');
  });

  it('elasticsearch.yml parses, turns mmap off and security on, single-node for one node', () => {
    const one = parse(renderElasticsearchYml({ clusterName: 'es', nodeNames: ['es-0'], serviceName: 'es-nodes' }));
    expect(one).toMatchObject({ 'node.store.allow_mmap': false, 'xpack.security.enabled': true, 'discovery.type': 'single-node' });
    const three = parse(renderElasticsearchYml({ clusterName: 'es', nodeNames: ['es-0', 'es-1', 'es-2'], serviceName: 'es-nodes', transportCertsDir: '/certs' }));
    expect(three['cluster.initial_master_nodes']).toEqual(['es-0', 'es-1', 'es-2']);
    expect(three['xpack.security.transport.ssl.enabled']).toBe(true);
    expect(three['discovery.type']).toBeUndefined();
  });

  it('deletes daily indices after the retention and applies the policy through the template', () => {
    expect(lifecyclePolicy(14)).toEqual({ policy: { phases: { hot: { min_age: '0ms', actions: {} }, delete: { min_age: '14d', actions: { delete: {} } } } } });
    const t = indexTemplate(0) as any;
    expect(t.index_patterns).toEqual(['quality-billing-*']);
    expect(t.template.settings['index.lifecycle.name']).toBe('quality-billing');
  });
});
