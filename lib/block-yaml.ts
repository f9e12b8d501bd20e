type Position = 'key' | 'value' | 'item';

/** A document the fast path does not cover (the emitter then writes it). */
class Unsupported extends Error {}

/**
 * An emitter whose block layout a `BlockYamlWriter` reproduces: `emit` writes a whole value as
 * the emitter does; the writer asks it for each distinct scalar's style only.
 */
export interface BlockYamlEmitter {
  /** The value as the emitter writes it (a document, with its final newline). */
  readonly emit: (value: unknown) => string;
  /**
   * What the emitter does with an undefined member of a map: leave it out (yaml), or nothing the
   * fast path knows (js-yaml throws: the emitter then writes the document and says so itself).
   */
  readonly undefinedMember: 'omit' | 'unsupported';
  /**
   * The emitter writes an object met twice in one document as an anchor and aliases (yaml's
   * `aliasDuplicateObjects`): such a document is left to it.
   */
  readonly aliasesRepeats: boolean;
}

/**
 * Writes documents byte for byte as a block-style emitter (js-yaml with `lineWidth: -1, noRefs`,
 * yaml with `lineWidth: 0`) writes them, several times faster: emitters style each scalar by
 * testing it against their schema's regular expressions, every time, and a manifest or a rule file
 * repeats the same labels, names and expressions hundreds of times. Here the emitter still decides
 * every scalar's style — once per distinct scalar and position, by writing it in that position —
 * and the maps and sequences around them are laid out as both lay them out (2-space indent,
 * sequences indented under their key, `{}`/`[]` for empty ones). A document with something else
 * (a keep-chomped block scalar, whose `...` depends on where it ends; a non-JSON value; an object
 * met twice where the emitter would alias it) is written by the emitter itself. Only for emitters
 * that never fold lines: a folded line's breaks depend on its column.
 */
export class BlockYamlWriter {
  /** Documents the emitter wrote itself (for the tests). */
  public fallbacks = 0;
  private readonly styled: Record<Position, Map<unknown, string>> = { key: new Map(), value: new Map(), item: new Map() };

  constructor(private readonly emitter: BlockYamlEmitter) {}

  /** One document, as the emitter writes it. */
  public document(doc: unknown): string {
    this.prestyle([doc]);
    return this.writeDocument(doc);
  }

  /** Several documents as a multi-document YAML file (`---` between them), each as `document` writes it. */
  public documents(docs: readonly unknown[]): string {
    this.prestyle(docs);
    return docs.map(d => this.writeDocument(d)).join('---\n');
  }

  private writeDocument(doc: unknown): string {
    if (doc === null || typeof doc !== 'object' || Array.isArray(doc) || Object.keys(doc).length === 0) return this.emitter.emit(doc);
    try {
      if (this.emitter.aliasesRepeats) checkNoRepeats(doc, new Set());
      const out: string[] = [];
      this.writeMap(doc as Record<string, unknown>, 0, out, '');
      // Every member left out: the emitter writes `{}`.
      if (out.length === 0) throw new Unsupported();
      return `${out.join('\n')}\n`;
    } catch (e) {
      if (e instanceof Unsupported) { this.fallbacks++; return this.emitter.emit(doc); }
      throw e;
    }
  }

  /**
   * Styles every scalar of `docs` not styled yet with one emitter call per position (a map of them
   * under generated keys, a sequence of them), instead of one call each: the emitter's fixed cost
   * per call is most of what a lone scalar costs. Each is then read back from its own entry;
   * anything unexpected leaves it to `scalar`, which asks the emitter for it alone.
   */
  private prestyle(docs: readonly unknown[]): void {
    const styled = this.styled;
    const pending: Record<Position, Set<unknown>> = { key: new Set(), value: new Set(), item: new Set() };
    const visit = (v: unknown, position: 'value' | 'item'): void => {
      if (v === null || typeof v !== 'object') {
        if (v !== undefined && !(typeof v === 'string' && v.length >= 6 && PLAIN.test(v)) && !styled[position].has(v) && !Object.is(v, -0)) pending[position].add(v);
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
    const emit = this.emitter.emit;
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
      return [emit(map), Object.keys(map)];
    }, /^(?=[^ ])/);
    batch('value', [...pending.value], vs => [emit(Object.fromEntries(vs.map((v, i) => [`k${i}`, v]))), vs], /^k\d+: /);
    batch('item', [...pending.item], vs => [emit(vs), vs], /^- /);
  }

  /** The scalar as the emitter writes it in that position; a block scalar's lines are indented by 2. */
  private scalar(position: Position, v: unknown): string {
    if (typeof v === 'string' && v.length >= 6 && PLAIN.test(v)) return v;
    const memo = this.styled[position];
    let s = memo.get(v);
    if (s !== undefined && !Object.is(v, -0)) return s;
    if (v !== null && typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') throw new Unsupported();
    if (position === 'key') {
      s = this.emitter.emit({ [v as string]: null });
      if (!s.endsWith(': null\n')) throw new Unsupported();
      s = s.slice(0, -': null\n'.length);
      if (s.includes('\n') || s.startsWith('? ')) throw new Unsupported();
    } else {
      const prefix = position === 'value' ? 'k: ' : '- ';
      s = this.emitter.emit(position === 'value' ? { k: v } : [v]);
      if (!s.startsWith(prefix)) throw new Unsupported();
      s = s.slice(prefix.length, -1);
      // Keep chomping (|+) ends the document with "...": the emitter writes those documents.
      if (/^[|>]\d?\+/.test(s)) throw new Unsupported();
    }
    // A Map keeps -0 and 0 under one key; emitters write them differently.
    if (!Object.is(v, -0)) memo.set(v, s);
    return s;
  }

  /** The scalar at `column` (of its key or its dash): block scalar lines move right with it. */
  private inline(position: 'value' | 'item', v: unknown, column: number): string {
    const s = this.scalar(position, v);
    if (column === 0 || !s.includes('\n')) return s;
    const pad = ' '.repeat(column);
    return s.split('\n').map((line, i) => (i === 0 || line === '' ? line : pad + line)).join('\n');
  }

  private writeMap(map: Record<string, unknown>, column: number, out: string[], first: string): void {
    const pad = ' '.repeat(column);
    let lead = first;
    for (const k of Object.keys(map)) {
      const v = map[k];
      if (v === undefined) {
        if (this.emitter.undefinedMember === 'omit') continue;
        throw new Unsupported();
      }
      const key = `${lead}${this.scalar('key', k)}:`;
      lead = pad;
      if (isScalar(v)) out.push(`${key} ${this.inline('value', v, column)}`);
      else if (Array.isArray(v)) {
        if (v.length === 0) out.push(`${key} []`);
        else { out.push(key); this.writeSeq(v, column + 2, out, ' '.repeat(column + 2)); }
      } else if (isEmptyMap(v as object, this.emitter.undefinedMember)) out.push(`${key} {}`);
      else { out.push(key); this.writeMap(v as Record<string, unknown>, column + 2, out, ' '.repeat(column + 2)); }
    }
  }

  private writeSeq(seq: readonly unknown[], column: number, out: string[], first: string): void {
    const pad = ' '.repeat(column);
    let lead = first;
    for (const v of seq) {
      const dash = `${lead}- `;
      lead = pad;
      if (v === undefined) throw new Unsupported();
      if (isScalar(v)) out.push(`${dash}${this.inline('item', v, column)}`);
      else if (Array.isArray(v)) {
        if (v.length === 0) out.push(`${dash}[]`);
        else this.writeSeq(v, column + 2, out, dash);
      } else if (isEmptyMap(v as object, this.emitter.undefinedMember)) out.push(`${dash}{}`);
      else this.writeMap(v as Record<string, unknown>, column + 2, out, dash);
    }
  }
}

/**
 * Strings both emitters write plain in any position, decided without them: a letter first, then
 * only letters, digits and "_./-", so no indicator, no comment, no number or date; six characters
 * or more, past every YAML 1.1 word (yes, no, on, off, y, n, true, false, null).
 */
const PLAIN = /^[A-Za-z][A-Za-z0-9_./-]*$/;

function isScalar(v: unknown): boolean {
  return v === null || typeof v !== 'object';
}

/** A map with no member, or (for an emitter that omits them) only undefined ones. */
function isEmptyMap(v: object, undefinedMember: BlockYamlEmitter['undefinedMember']): boolean {
  const keys = Object.keys(v);
  if (keys.length === 0) return true;
  if (undefinedMember === 'omit' && keys.every(k => (v as Record<string, unknown>)[k] === undefined)) throw new Unsupported();
  return false;
}

/** Throws Unsupported when an object or array occurs twice in the document. */
function checkNoRepeats(v: unknown, seen: Set<object>): void {
  if (v === null || typeof v !== 'object') return;
  if (seen.has(v)) throw new Unsupported();
  seen.add(v);
  for (const x of Array.isArray(v) ? v : Object.values(v)) checkNoRepeats(x, seen);
}

