import { execFileSync } from 'child_process';
import { join } from 'path';

const ROOT = join(__dirname, '..', '..');

/**
 * The modules a fresh Node process holds under node_modules/@pulumi after requiring `entry` from
 * the TypeScript sources (transpiled on load, no type-check). A child process: jest's own module
 * registry would hide what Node's require.cache holds.
 */
function pulumiModulesLoadedBy(entry: string): string[] {
  const hook = `
    const ts = require('typescript'); const fs = require('fs');
    require.extensions['.ts'] = (m, file) => m._compile(ts.transpileModule(fs.readFileSync(file, 'utf8'),
      { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true }, fileName: file }).outputText, file);
    require(${JSON.stringify(join(ROOT, entry))});
    console.log(JSON.stringify(Object.keys(require.cache).filter(p => /[\\\\/]node_modules[\\\\/]@pulumi[\\\\/]/.test(p))));`;
  return JSON.parse(execFileSync('node', ['-e', hook], { cwd: ROOT, encoding: 'utf8' }));
}

describe('the Pulumi layer stays out of the library entry point', () => {
  it('require of index.ts loads no @pulumi module', () => {
    expect(pulumiModulesLoadedBy('index.ts')).toEqual([]);
  });

  it('require of pulumi/index.ts does (so the check above can see one)', () => {
    expect(pulumiModulesLoadedBy('pulumi/index.ts')).toEqual(expect.arrayContaining([expect.stringMatching(/@pulumi[\\/]pulumi[\\/]/)]));
  });
});
