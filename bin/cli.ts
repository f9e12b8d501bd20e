import { parseArgs, ParseArgsConfig } from 'util';

/** The values parsed for options `O`. */
export type FlagValues<O extends FlagOptions> = ReturnType<typeof parseArgs<{ args: string[]; options: O; strict: true; allowPositionals: false }>>['values'];

/** The options of one command, as `util.parseArgs` takes them. */
export type FlagOptions = NonNullable<ParseArgsConfig['options']>;

/**
 * Parses a command's flags strictly. An unknown or misspelled flag, a missing value or a stray
 * argument prints one line naming it and what is allowed (and the closest flag, for a typo) on
 * stderr and returns undefined: the caller exits 1. Shared by synth, capacity, bench and rehearse.
 */
export function parseFlags<O extends FlagOptions>(command: string, argv: readonly string[], options: O): FlagValues<O> | undefined {
  try {
    return parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values;
  } catch (e) {
    console.error(usageLine(command, options, e instanceof Error ? e.message : String(e)));
    return undefined;
  }
}

/** The one line for a parse error: what was wrong, and the flags the command takes. */
export function usageLine(command: string, options: FlagOptions, message: string): string {
  const allowed = Object.entries(options).map(([name, o]) => `--${name}${o.type === 'string' ? ' VALUE' : ''}`).join(', ');
  const flag = /'(-{1,2}[^' ]+)/.exec(message)?.[1];
  const name = flag?.replace(/^-+/, '');
  if (flag && name && /Unknown option/.test(message)) {
    const near = Object.keys(options).filter(o => editDistance(o, name) <= 2).sort((a, b) => editDistance(a, name) - editDistance(b, name))[0];
    return `${command}: unknown flag ${flag}${near ? ` (did you mean --${near}?)` : ''}; allowed: ${allowed}`;
  }
  if (/Unexpected argument/.test(message)) return `${command}: unexpected argument ${/'([^']*)'/.exec(message)?.[1] ?? ''}; allowed: ${allowed}`;
  // A string flag without its value, or a value given to a boolean flag: Node's own wording.
  return `${command}: ${message.split('\n')[0]}; allowed: ${allowed}`;
}

/** Levenshtein distance, for "did you mean". */
function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length];
}
