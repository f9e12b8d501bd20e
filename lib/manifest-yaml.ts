import { dump, DumpOptions } from 'js-yaml';
import { BlockYamlWriter } from './block-yaml';

/** How manifests are written: js-yaml's defaults, no line folding, no anchors. */
const OPTIONS: DumpOptions = { lineWidth: -1, noRefs: true };

const manifests = new BlockYamlWriter({ emit: v => dump(v, OPTIONS), undefinedMember: 'unsupported', aliasesRepeats: false });

/**
 * One Kubernetes object as a YAML document, byte for byte what js-yaml's `dump(doc, { lineWidth:
 * -1, noRefs: true })` writes, about three times faster (see `BlockYamlWriter`).
 * test/stacks/manifest-yaml.test.ts compares both on every shipped manifest.
 */
export function manifestDocument(doc: unknown): string {
  return manifests.document(doc);
}

/** Several objects as a multi-document YAML file, as `manifestDocument` writes each. */
export function manifestDocuments(docs: readonly unknown[]): string {
  return manifests.documents(docs);
}

/** Documents js-yaml wrote itself (for the test). */
export function manifestFallbacks(): number {
  return manifests.fallbacks;
}
