import { spawnSync } from 'child_process';
import { existsSync } from 'fs';
import { delimiter, join } from 'path';
import { installCommand, missingTools } from './debian-tools';

/** What `ensureTools` may use: replaced in tests. */
export interface EnsureToolsOptions {
  /** Finds a binary, undefined when missing. @default findTool (QBI_TOOLS_PATH or Debian's folders) */
  readonly find?: (binary: string) => string | undefined;
  /** Whether we run as root. @default the process's uid is 0 */
  readonly root?: boolean;
  /** apt-get's path, undefined when there is none. @default apt-get on PATH */
  readonly aptGet?: string;
  /** Runs a command with inherited output, returns its exit code. @default spawnSync */
  readonly run?: (command: string, args: readonly string[]) => number;
  /** Prints a line. @default console.error */
  readonly log?: (line: string) => void;
}

function onPath(binary: string): string | undefined {
  return (process.env.PATH ?? '').split(delimiter).filter(Boolean).map(d => join(d, binary)).find(p => existsSync(p));
}

function spawnInherit(command: string, args: readonly string[]): number {
  const r = spawnSync(command, args, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  return r.status ?? 1;
}

/**
 * `npm test`'s first step: the real-tool tests need Debian's tools (debian-tools.ts). When some
 * are missing, as root with apt-get it installs exactly the packages that provide them; otherwise
 * it names the missing binaries and the one command that installs them. Returns the exit code.
 */
export function ensureTools(o: EnsureToolsOptions = {}): number {
  const find = o.find;
  const log = o.log ?? ((line: string) => console.error(line));
  const missing = find ? missingTools(find) : missingTools();
  if (missing.length === 0) return 0;
  const packages = missing.map(m => m.package);
  const binaries = missing.flatMap(m => m.binaries).join(', ');
  const root = o.root ?? process.getuid?.() === 0;
  const aptGet = 'aptGet' in o ? o.aptGet : onPath('apt-get');
  if (!root || !aptGet) {
    log(`npm test: the real-tool tests need ${binaries}, not found; install them with: ${installCommand(packages, root)}`);
    return 1;
  }
  log(`npm test: installing ${packages.join(' ')} for the real-tool tests (missing ${binaries})`);
  const run = o.run ?? spawnInherit;
  if (run(aptGet, ['update']) !== 0 || run(aptGet, ['install', '-y', '--no-install-recommends', ...packages]) !== 0) {
    log(`npm test: apt-get failed; install the tools with: ${installCommand(packages, root)}`);
    return 1;
  }
  const still = (find ? missingTools(find) : missingTools()).flatMap(m => m.binaries);
  if (still.length > 0) {
    log(`npm test: still missing after apt-get install: ${still.join(', ')}`);
    return 1;
  }
  return 0;
}

if (require.main === module) process.exit(ensureTools());
