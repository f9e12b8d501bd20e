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
  memo.set(v, s);
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
