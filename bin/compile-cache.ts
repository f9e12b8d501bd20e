import { createHash } from 'crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'fs';
import Module from 'module';
import { dirname, join } from 'path';
import { Script } from 'vm';

/*
 * V8's code cache for the CommonJS modules a command loads, imported first by bin/synth.ts and
 * bin/bench-scale.ts. Compiling the modules is a third of a small synth: cdk8s-plus-28's
 * generated Kubernetes classes alone are 2.6 MB of JavaScript. Each module's code is kept in
 * node_modules/.cache/qbi-v8 (the nearest node_modules above this file), one entry per file keyed
 * by its content, written when the process ends, so it holds the functions that run compiled too,
 * not only the top level: v8-compile-cache writes its entries right after compiling, and saves
 * nothing measurable here. Node 22.1+ has this built in (`module.enableCompileCache`), used when
 * present. An unreadable or rejected entry only means compiling as usual; a read-only tree runs
 * uncached. QBI_COMPILE_CACHE=off turns it off; QBI_COMPILE_CACHE=DIR keeps it in DIR.
 */

interface CompilingModule {
  exports: unknown;
  filename: string;
  require(id: string): unknown;
}

const ModuleInternals = Module as unknown as {
  prototype: { _compile(this: CompilingModule, content: string, filename: string, format?: string): unknown };
  wrap(content: string): string;
  _resolveFilename(request: string, parent: CompilingModule, isMain: boolean, options?: { paths?: string[] }): string;
  _resolveLookupPaths(request: string, parent: CompilingModule): string[] | null;
  _extensions: unknown;
  _cache: unknown;
  enableCompileCache?: (dir: string) => unknown;
};

/** The nearest node_modules/.cache above `from`, or undefined. */
function cacheRoot(from: string): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'node_modules'))) return join(dir, 'node_modules', '.cache');
    if (dirname(dir) === dir) return undefined;
  }
}

function install(dir: string): void {
  if (typeof ModuleInternals.enableCompileCache === 'function') {
    ModuleInternals.enableCompileCache(join(dir, 'node'));
    return;
  }
  const version = `${process.versions.v8}-${process.arch}`;
  const pending: Array<{ entry: string; script: Script }> = [];
  const main = require.main;
  const compileUncached = ModuleInternals.prototype._compile;
  ModuleInternals.prototype._compile = function compileCached(this: CompilingModule, content: string, filename: string, format?: string) {
    // An ES module reached by require() (Node ≥ 20.19 resolves packages' "module-sync" exports, e.g.
    // @swc/helpers under the @kubernetes-models packages): Node's own loader, which knows ESM.
    if (format !== undefined && format !== 'commonjs') return compileUncached.call(this, content, filename, format);
    const key = createHash('sha1').update(version).update('\0').update(filename).update('\0').update(content).digest('hex');
    const entry = join(dir, `${key}.bin`);
    let cachedData: Buffer | undefined;
    try { cachedData = readFileSync(entry); } catch { /* not cached yet */ }
    const script = new Script(ModuleInternals.wrap(content), { filename, cachedData });
    if (cachedData === undefined || script.cachedDataRejected) pending.push({ entry, script });
    const wrapper = script.runInThisContext({ displayErrors: true }) as (...args: unknown[]) => unknown;
    // The `require` Node gives a module: resolution from this module, and the same cache.
    const mod = this;
    const moduleRequire = Object.assign((id: string) => mod.require(id), {
      resolve: Object.assign(
        (request: string, options?: { paths?: string[] }) => ModuleInternals._resolveFilename(request, mod, false, options),
        { paths: (request: string) => ModuleInternals._resolveLookupPaths(request, mod) },
      ),
      main,
      extensions: ModuleInternals._extensions,
      cache: ModuleInternals._cache,
    });
    return wrapper.call(mod.exports, mod.exports, moduleRequire, mod, filename, dirname(filename));
  };
  process.once('exit', () => {
    if (pending.length === 0) return;
    try {
      mkdirSync(dir, { recursive: true });
      for (const { entry, script } of pending) {
        const tmp = `${entry}.${process.pid}`;
        writeFileSync(tmp, script.createCachedData());
        renameSync(tmp, entry);
      }
    } catch { /* a read-only tree runs uncached */ }
  });
}

const setting = process.env.QBI_COMPILE_CACHE;
const root = setting === 'off' ? undefined : setting ? setting : cacheRoot(__dirname) && join(cacheRoot(__dirname)!, 'qbi-v8');
if (root) install(root);
