import { BlockYamlWriter } from './block-yaml';
import { yaml } from './yaml-package';

const yamlStringify = yaml.stringify;

const rendered = new Map<string, string>();

/**
 * Unfolded documents (`lineWidth: 0`: prometheus.yml, the rule files, alertmanager.yml, the
 * exporter queries, two thirds of the text rendered) laid out by `BlockYamlWriter`, which asks
 * yaml only for each distinct scalar's style: yaml builds a node tree and styles every scalar of
 * every document, and the rule files of five systems repeat the same expressions and labels.
 */
const unfolded = new BlockYamlWriter({ emit: v => yamlStringify(v, { lineWidth: 0 }), undefinedMember: 'omit', aliasesRepeats: true });

/**
 * yaml's `stringify`, byte for byte, remembered by value: the configuration files a synth renders
 * (prometheus.yml, alert rules, alertmanager.yml, Grafana provisioning, Filebeat, Elasticsearch)
 * repeat across environments and systems — 95 renders of 35 distinct documents for all five
 * systems. The key is the value's JSON, which is all yaml writes of these plain objects (an
 * undefined member is left out by both).
 */
export function stringify(value: unknown, options?: { readonly lineWidth?: number }): string {
  const key = JSON.stringify([value, options ?? null]);
  let text = rendered.get(key);
  if (text === undefined) {
    text = options?.lineWidth === 0 && Object.keys(options).length === 1 ? unfolded.document(value) : yamlStringify(value, options);
    rendered.set(key, text);
  }
  return text;
}

/** Documents yaml wrote itself rather than the fast layout (for the tests). */
export function unfoldedFallbacks(): number {
  return unfolded.fallbacks;
}
