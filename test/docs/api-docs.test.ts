import { join } from 'path';
import * as ts from 'typescript';

/*
 * DESIGN §3: every exported construct, function and prop has a doc line, and every optional prop
 * of a Props/Args interface says its `@default`. Read from the package entry's exports with the
 * TypeScript compiler, so a new export without docs fails here.
 */
const ROOT = join(__dirname, '..', '..');
// TypeDoc (its own process, its own TypeScript program) starts first and runs while this file
// builds the compiler's program below: the two take about as long, and there are two cores.
const typedoc = new Promise<{ status: number | null; output: string }>(resolve => {
  const { spawn } = require('child_process') as typeof import('child_process');
  const child = spawn(join(ROOT, 'node_modules', '.bin', 'typedoc'), ['--emit', 'none'], { cwd: ROOT });
  let output = '';
  child.stdout.on('data', d => { output += d; });
  child.stderr.on('data', d => { output += d; });
  child.on('close', status => resolve({ status, output }));
});
// The package's two entry points: the constructs (index.ts) and the Pulumi layer (pulumi/index.ts).
const ENTRIES = [join(ROOT, 'index.ts'), join(ROOT, 'pulumi', 'index.ts')];
const program = ts.createProgram(ENTRIES, { strict: true, target: ts.ScriptTarget.ES2020, module: ts.ModuleKind.CommonJS, esModuleInterop: true, skipLibCheck: true });
const checker = program.getTypeChecker();
const exported = ENTRIES.flatMap(file => checker.getExportsOfModule(checker.getSymbolAtLocation(program.getSourceFile(file)!)!))
  .map(s => (s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s));

const hasDoc = (s: ts.Symbol) => ts.displayPartsToString(s.getDocumentationComment(checker)).trim().length > 0;
const tags = (s: ts.Symbol) => s.getJsDocTags(checker).map(t => t.name);
const ownFile = (s: ts.Symbol) => (s.declarations ?? []).some(d => !d.getSourceFile().fileName.includes('node_modules'));

describe('API documentation', () => {
  it('reads the package entry\'s exports (so the checks below are not vacuous)', () => {
    const names = exported.map(s => s.name);
    expect(names).toEqual(expect.arrayContaining(['Postgres', 'PostgresProps', 'QualityBillingStack', 'Cdk8sChart', 'PostgresBackupProps']));
    expect(names.length).toBeGreaterThan(150);
  });

  it('has a doc comment on every exported class, function, interface and constant', () => {
    const missing = exported.filter(ownFile)
      .filter(s => s.flags & (ts.SymbolFlags.Class | ts.SymbolFlags.Function | ts.SymbolFlags.Interface | ts.SymbolFlags.Variable))
      .filter(s => !hasDoc(s)).map(s => s.name).sort();
    expect(missing).toEqual([]);
  });

  it('documents every prop of every Props/Args/Options interface, with @default on the optional ones', () => {
    const problems: string[] = [];
    for (const s of exported.filter(ownFile).filter(x => x.flags & ts.SymbolFlags.Interface && /(Props|Args|Options)$/.test(x.name))) {
      const type = checker.getDeclaredTypeOfSymbol(s);
      for (const p of checker.getPropertiesOfType(type)) {
        if (!ownFile(p)) continue;
        const optional = (p.flags & ts.SymbolFlags.Optional) !== 0;
        if (!hasDoc(p)) problems.push(`${s.name}.${p.name}: no doc line`);
        else if (optional && !tags(p).includes('default')) problems.push(`${s.name}.${p.name}: optional without @default`);
      }
    }
    expect(problems).toEqual([]);
  });
});

describe('TypeDoc', () => {
  it('validates the API reference with no warning (every export documented, no broken link)', async () => {
    const r = await typedoc;
    expect(r.output).not.toMatch(/\[warning\]|\[error\]/);
    expect(r.status).toBe(0);
  }, 180000);
});
