import { dump, DumpOptions } from 'js-yaml';

/** How manifests are written: js-yaml's defaults, no line folding, no anchors. */
const OPTIONS: DumpOptions = { lineWidth: -1, noRefs: true };

type Position = 'key' | 'value' | 'item';

/** A document the fast path does not cover (js-yaml then writes it). */
class Unsupported extends Error {}

/**
 * One Kubernetes object as a YAML document, byte for byte what js-yaml's `dump(doc, { lineWidth:
 * -1, noRefs: true })` writes, about three times faster: js-yaml styles each scalar by testing it
 * against its schema's regular expressions, every time, and a manifest repeats the same labels,
 * names and ports hundreds of times. Here js-yaml still decides every scalar's style — once per
 * distinct scalar and position, by writing it alone in that position — and the maps and sequences
 * around them are laid out as js-yaml lays them out (2-space indent, sequences indented under
 * their key, `{}`/`[]` for empty ones). A document with something else (a keep-chomped block
 * scalar, whose `...` depends on where it ends; a non-JSON value) is written by js-yaml itself.
 * test/stacks/manifest-yaml.test.ts compares both on every shipped manifest.
 */
export function manifestDocument(doc: unknown): string {
  prestyle([doc]);
  return writeDocument(doc);
}

/** Several objects as a multi-document YAML file, as `manifestDocument` writes each. */
export function manifestDocuments(docs: readonly unknown[]): string {
  prestyle(docs);
  return docs.map(writeDocument).join('---\n');
}

function writeDocument(doc: unknown): string {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc) || Object.keys(doc).length === 0) return dump(doc, OPTIONS);
  try {
    const out: string[] = [];
    writeMap(doc as Record<string, unknown>, 0, out, '');
    return `${out.join('\n')}\n`;
  } catch (e) {
    if (e instanceof Unsupported) { fallbacks++; return dump(doc, OPTIONS); }
    throw e;
  }
}

/** Documents js-yaml wrote itself (for the test). */
export let fallbacks = 0;

const styled: Record<Position, Map<unknown, string>> = { key: new Map(), value: new Map(), item: new Map() };

/**
 * Strings js-yaml writes plain in any position, decided without it: a letter first, then only
 * letters, digits and "_./-", so no indicator, no comment, no number or date; six characters or
 * more, past every YAML 1.1 word (yes, no, on, off, y, n, true, false, null).
 */
const PLAIN = /^[A-Za-z][A-Za-z0-9_./-]*$/;

/**
 * Styles every scalar of `docs` not styled yet with one js-yaml call per position (a map of them
 * under generated keys, a sequence of them), instead of one call each: js-yaml's fixed cost per
 * call is most of what a lone scalar costs. Each is then read back from its own entry; anything
 * unexpected leaves it to `scalar`, which asks js-yaml for it alone.
 */
function prestyle(docs: readonly unknown[]): void {
  const pending: Record<Position, Set<unknown>> = { key: new Set(), value: new Set(), item: new Set() };
  const visit = (v: unknown, position: 'value' | 'item'): void => {
    if (v === null || typeof v !== 'object') {
      if (!(typeof v === 'string' && v.length >= 6 && PLAIN.test(v)) && !styled[position].has(v) && !Object.is(v, -0)) pending[position].add(v);
    } else if (Array.isArray(v)) {
      for (const x of v) visit(x, 'item');
    } else {
      for (const k of Object.keys(v)) {
        if (!(k.length >= 6 && PLAIN.test(k)) && !styled.key.has(k)) pending.key.add(k);
        visit((v as Record<string, unknown>)[k], 'value');
      }
    }
  };
  for (const d of docs) visit(d, 'value');
  const batch = (position: Position, pendingValues: unknown[], render: (vs: unknown[]) => [string, unknown[]], entry: RegExp) => {
    if (pendingValues.length < 2 || pendingValues.some(v => v !== null && typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean')) return;
    const [text, values] = render(pendingValues);
    const lines = text.replace(/\n$/, '').split('\n');
    const parts: string[] = [];
    for (const line of lines) {
      if (entry.test(line)) parts.push(line.replace(entry, ''));
      else if (parts.length > 0) parts[parts.length - 1] += `\n${line}`;
      else return;
    }
    if (parts.length !== values.length) return;
    values.forEach((v, i) => {
      const s = parts[i];
      if (position === 'key' ? !s.endsWith(': null') || s.includes('\n') || s.startsWith('? ') : /^[|>]\d?\+/.test(s)) return;
      styled[position].set(v, position === 'key' ? s.slice(0, -': null'.length) : s);
    });
  };
  // Keys as keys of one map (whose values are null), values as values of one map under keys that
  // are plain and unique (k0, k1, …), items as items of one sequence: the position each sits in.
  // A map lists integer-like keys first: the keys are read back in the map's own order.
  batch('key', [...pending.key], ks => {
    const map = Object.fromEntries(ks.map(k => [k, null]));
    return [dump(map, OPTIONS), Object.keys(map)];
  }, /^(?=[^ ])/);
  batch('value', [...pending.value], vs => [dump(Object.fromEntries(vs.map((v, i) => [`k${i}`, v])), OPTIONS), vs], /^k\d+: /);
  batch('item', [...pending.item], vs => [dump(vs, OPTIONS), vs], /^- /);
}

/** The scalar as js-yaml writes it in that position; a block scalar's lines are indented by 2. */
function scalar(position: Position, v: unknown): string {
  if (typeof v === 'string' && v.length >= 6 && PLAIN.test(v)) return v;
  const memo = styled[position];
  let s = memo.get(v);
  if (s !== undefined && !Object.is(v, -0)) return s;
  if (v !== null && typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') throw new Unsupported();
  if (position === 'key') {
    s = dump({ [v as string]: null }, OPTIONS);
    if (!s.endsWith(': null\n')) throw new Unsupported();
    s = s.slice(0, -': null\n'.length);
    if (s.includes('\n') || s.startsWith('? ')) throw new Unsupported();
  } else {
    const prefix = position === 'value' ? 'k: ' : '- ';
    s = dump(position === 'value' ? { k: v } : [v], OPTIONS);
    if (!s.startsWith(prefix)) throw new Unsupported();
    s = s.slice(prefix.length, -1);
    // Keep chomping (|+) ends the document with "...": js-yaml writes those documents.
    if (/^[|>]\d?\+/.test(s)) throw new Unsupported();
  }
  // A Map keeps -0 and 0 under one key; js-yaml writes them differently.
  if (!Object.is(v, -0)) memo.set(v, s);
  return s;
}

/** The scalar at `column` (of its key or its dash): block scalar lines move right with it. */
function inline(position: 'value' | 'item', v: unknown, column: number): string {
  const s = scalar(position, v);
  if (column === 0 || !s.includes('\n')) return s;
  const pad = ' '.repeat(column);
  return s.split('\n').map((line, i) => (i === 0 || line === '' ? line : pad + line)).join('\n');
}

function isScalar(v: unknown): boolean {
  return v === null || typeof v !== 'object';
}

function writeMap(map: Record<string, unknown>, column: number, out: string[], first: string): void {
  const pad = ' '.repeat(column);
  let lead = first;
  for (const k of Object.keys(map)) {
    const v = map[k];
    if (v === undefined) throw new Unsupported();
    const key = `${lead}${scalar('key', k)}:`;
    lead = pad;
    if (isScalar(v)) out.push(`${key} ${inline('value', v, column)}`);
    else if (Array.isArray(v)) {
      if (v.length === 0) out.push(`${key} []`);
      else { out.push(key); writeSeq(v, column + 2, out, ' '.repeat(column + 2)); }
    } else if (Object.keys(v as object).length === 0) out.push(`${key} {}`);
    else { out.push(key); writeMap(v as Record<string, unknown>, column + 2, out, ' '.repeat(column + 2)); }
  }
}

function writeSeq(seq: readonly unknown[], column: number, out: string[], first: string): void {
  const pad = ' '.repeat(column);
  let lead = first;
  for (const v of seq) {
    const dash = `${lead}- `;
    lead = pad;
    if (v === undefined) throw new Unsupported();
    if (isScalar(v)) out.push(`${dash}${inline('item', v, column)}`);
    else if (Array.isArray(v)) {
      if (v.length === 0) out.push(`${dash}[]`);
      else writeSeq(v, column + 2, out, dash);
    } else if (Object.keys(v as object).length === 0) out.push(`${dash}{}`);
    else writeMap(v as Record<string, unknown>, column + 2, out, dash);
  }
}
