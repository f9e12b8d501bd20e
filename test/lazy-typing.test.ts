import { readdirSync, readFileSync, statSync } from 'fs';
import { join, resolve } from 'path';
import * as ts from 'typescript';

// Values produced at synth go through constructs/core/lazy.ts's typed `lazy`, never through
// `Lazy.any(...) as unknown as X`, which would let a misspelled or mistyped field compile.
const ROOT = resolve(__dirname, '..');
const files = (dir: string): string[] => readdirSync(join(ROOT, dir)).flatMap(n => {
  const p = join(dir, n);
  return statSync(join(ROOT, p)).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
});

describe('values produced at synth', () => {
  it('are made only by the typed lazy() helper', () => {
    const offenders = ['lib', 'constructs', 'stacks', 'pulumi', 'bin'].flatMap(files)
      .filter(f => f !== join('constructs', 'core', 'lazy.ts'))
      .filter(f => /\bLazy\.(any|string|number|list)\(/.test(readFileSync(join(ROOT, f), 'utf8')));
    expect(offenders).toEqual([]);
  });

  it('fail to compile when a producer returns a misspelled field or the wrong type', () => {
    const probe = join(ROOT, 'constructs', 'core', '__lazy_probe__.ts');
    const source = [
      "import { k8s } from 'cdk8s-plus-28';",
      "import { lazy } from './lazy';",
      "export const fine: k8s.JobSpec = { template: { spec: lazy((): k8s.PodSpec => ({ containers: [], restartPolicy: 'Never' })) } };",
      "export const typo: k8s.JobSpec = { template: { spec: lazy((): k8s.PodSpec => ({ containers: [], restartPolicyy: 'Never' })) } };",
      "export const wrong: k8s.JobSpec = { template: { spec: lazy(() => 'not a pod spec') } };",
    ].join('\n');
    const options: ts.CompilerOptions = { strict: true, noEmit: true, skipLibCheck: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, moduleResolution: ts.ModuleResolutionKind.Node10, types: [] };
    const host = ts.createCompilerHost(options);
    const getSourceFile = host.getSourceFile.bind(host);
    const fileExists = host.fileExists.bind(host);
    host.getSourceFile = (f, lang, ...rest) => (resolve(f) === probe ? ts.createSourceFile(f, source, lang) : getSourceFile(f, lang, ...rest));
    host.fileExists = f => resolve(f) === probe || fileExists(f);
    const program = ts.createProgram([probe], options, host);
    const errors = ts.getPreEmitDiagnostics(program, program.getSourceFile(probe))
      .map(d => `${d.file ? d.file.getLineAndCharacterOfPosition(d.start!).line + 1 : 0}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`);
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatch(/^4: .*'restartPolicyy' does not exist/);
    expect(errors[1]).toMatch(/^5: .*string.* is not assignable to type 'PodSpec'/);
  });
});
