import { stringify as yamlStringify } from 'yaml';

const rendered = new Map<string, string>();

/**
 * yaml's `stringify`, remembered by value: the configuration files a synth renders (prometheus.yml,
 * alert rules, alertmanager.yml, Grafana provisioning, Filebeat, Elasticsearch) repeat across
 * environments and systems — 95 renders of 35 distinct documents for all five systems — and
 * rendering is a tenth of a synth. The key is the value's JSON, which is all yaml writes of these
 * plain objects (an undefined member is left out by both).
 */
export function stringify(value: unknown, options?: { readonly lineWidth?: number }): string {
  const key = JSON.stringify([value, options ?? null]);
  let text = rendered.get(key);
  if (text === undefined) {
    text = yamlStringify(value, options);
    rendered.set(key, text);
  }
  return text;
}
