import { existsSync, readdirSync, readFileSync, statSync } from 'fs';
import { dirname, join, relative, resolve } from 'path';
import * as ts from 'typescript';

// The import graph of the library's own source, read with the TypeScript compiler's scanner:
// every `import`, `import type`, `export … from` and `require()` of a relative path counts, since
// a type-only cycle still ties two files together for a reader and for declaration emit.
const ROOT = resolve(__dirname, '..');
const SOURCE_ROOTS = ['index.ts', 'lib', 'constructs', 'stacks', 'pulumi', 'bin'];

function sourceFiles(path: string): string[] {
  const full = join(ROOT, path);
  if (statSync(full).isFile()) return full.endsWith('.ts') && !full.endsWith('.d.ts') ? [full] : [];
  return readdirSync(full).flatMap(name => sourceFiles(join(path, name)));
}

/** The project file a relative specifier names, or undefined for a package. */
function resolveImport(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  const base = resolve(dirname(from), specifier);
  for (const candidate of [`${base}.ts`, join(base, 'index.ts')]) if (existsSync(candidate)) return candidate;
  throw new Error(`${relative(ROOT, from)} imports ${specifier}, which names no source file`);
}

/** file → the project files it imports. */
function importGraph(files: readonly string[]): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    const targets = info.importedFiles.map(i => resolveImport(file, i.fileName)).filter((t): t is string => t !== undefined);
    graph.set(file, [...new Set(targets)]);
  }
  return graph;
}

/** The strongly connected components of more than one file, or of a file importing itself (Tarjan). */
function importCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let index = 0;
  const indices = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string): void => {
    indices.set(v, index); low.set(v, index); index++;
    stack.push(v); onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!indices.has(w)) { visit(w); low.set(v, Math.min(low.get(v)!, low.get(w)!)); } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, indices.get(w)!));
    }
    if (low.get(v) === indices.get(v)) {
      const component: string[] = [];
      let w: string;
      do { w = stack.pop()!; onStack.delete(w); component.push(w); } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!indices.has(v)) visit(v);
  return cycles;
}

describe('the import graph', () => {
  const files = SOURCE_ROOTS.flatMap(sourceFiles);
  const graph = importGraph(files);

  it('reads the whole source tree', () => {
    expect(files.length).toBeGreaterThan(100);
    const appWorkload = join(ROOT, 'constructs/app/app-workload.ts');
    expect(graph.get(appWorkload)).toContain(join(ROOT, 'constructs/core/workload.ts'));
  });

  it('finds a cycle when there is one, type-only imports included', () => {
    const a = '/x/a.ts', b = '/x/b.ts', c = '/x/c.ts';
    expect(importCycles(new Map([[a, [b]], [b, [c]], [c, [a]]]))).toEqual([[a, b, c]]);
    expect(importCycles(new Map([[a, [b]], [b, []], [c, [a]]]))).toEqual([]);
    const info = ts.preProcessFile("import type { X } from './x';\nexport * from './y';\n", true, true);
    expect(info.importedFiles.map(i => i.fileName)).toEqual(['./x', './y']);
  });

  it('has no import cycle anywhere in the library', () => {
    const cycles = importCycles(graph).map(c => c.map(f => relative(ROOT, f)));
    expect(cycles).toEqual([]);
  });

  it('imports only downwards: lib ← constructs ← stacks ← pulumi ← bin', () => {
    const layer = (f: string) => ['lib', 'constructs', 'stacks', 'pulumi', 'bin'].indexOf(relative(ROOT, f).split('/')[0]);
    const upward = [...graph].flatMap(([from, targets]) => targets
      .filter(to => layer(from) >= 0 && layer(to) > layer(from))
      .map(to => `${relative(ROOT, from)} → ${relative(ROOT, to)}`));
    expect(upward).toEqual([]);
  });

  it('keeps lib/ free of cdk8s and Pulumi, and constructs/ and stacks/ free of Pulumi (packages, not only relative imports)', () => {
    const forbidden: Record<string, RegExp> = {
      lib: /^(cdk8s|cdk8s-plus-28|constructs|@pulumi)($|\/)/,
      constructs: /^@pulumi\//,
      stacks: /^@pulumi\//,
    };
    const packagesOf = (file: string) => ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles.map(i => i.fileName).filter(n => !n.startsWith('.'));
    const offending = (within: (f: string) => boolean) => files.filter(within).flatMap(f => packagesOf(f)
      .filter(p => forbidden[relative(ROOT, f).split('/')[0]]?.test(p))
      .map(p => `${relative(ROOT, f)} imports ${p}`));
    expect(offending(() => true)).toEqual([]);
    // The check sees packages: the Pulumi layer does import @pulumi, and would be reported under lib's rule.
    expect(files.filter(f => relative(ROOT, f).startsWith('pulumi/')).flatMap(packagesOf)).toContain('@pulumi/pulumi');
    expect(forbidden.lib.test('cdk8s') && forbidden.lib.test('@pulumi/kubernetes') && !forbidden.lib.test('yaml')).toBe(true);
  });

  /** The files other than `except` that import package `name` or one of its modules. */
  const importersOf = (name: string, except: string) => files.filter(f => relative(ROOT, f) !== except)
    .filter(f => ts.preProcessFile(readFileSync(f, 'utf8'), true, true).importedFiles.some(i => i.fileName === name || i.fileName.startsWith(`${name}/`)))
    .map(f => relative(ROOT, f));

  it('loads cdk8s-plus-28 only through constructs/core/k8s.ts (its index also loads 28 L2 modules nothing here uses)', () => {
    expect(importersOf('cdk8s-plus-28', 'constructs/core/k8s.ts')).toEqual([]);
    expect(readFileSync(join(ROOT, 'constructs/core/k8s.ts'), 'utf8')).toContain("export * as k8s from 'cdk8s-plus-28/lib/imports/k8s';");
  });

  it('loads yaml only through lib/yaml-package.ts (which reuses cdk8s\'s copy: a second copy is 74 more modules to load)', () => {
    expect(importersOf('yaml', 'lib/yaml-package.ts')).toEqual([]);
  });
});
