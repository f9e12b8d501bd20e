'use strict';
/*
 * `node -r ./scripts/ts-register.js bin/X.ts`: runs our TypeScript without type-checking it
 * (`npm test` and `npm run typecheck` do that), so `npm run synth` costs about what the same synth
 * from prebuilt JavaScript does. esbuild transpiles each file on its first load (as ts-jest
 * does, file by file: tsconfig.jest.json's isolatedModules keeps the sources fit for that) and the
 * result is kept in node_modules/.cache/qbi-ts, one entry per source file keyed by its content, so
 * after an edit only the edited files are transpiled again and esbuild is not even started when
 * nothing changed.
 */
const { createHash } = require('crypto');
const { mkdirSync, readFileSync, renameSync, writeFileSync } = require('fs');
const Module = require('module');
const { join } = require('path');

const CACHE = join(__dirname, '..', 'node_modules', '.cache', 'qbi-ts');
// What tsconfig.json's emit depends on: ES2022 classes with define semantics, CommonJS with
// esModuleInterop's default imports.
const OPTIONS = {
  loader: 'ts', format: 'cjs', target: 'es2022', platform: 'node',
  tsconfigRaw: { compilerOptions: { useDefineForClassFields: true, esModuleInterop: true, target: 'ES2022' } },
};
let esbuild;
const ESBUILD_VERSION = require('esbuild/package.json').version;

function transpile(source, filename) {
  esbuild = esbuild || require('esbuild');
  return esbuild.transformSync(source, { ...OPTIONS, sourcefile: filename }).code;
}

Module._extensions['.ts'] = function compileTypeScript(module, filename) {
  const source = readFileSync(filename, 'utf8');
  const key = createHash('sha1').update(ESBUILD_VERSION).update(JSON.stringify(OPTIONS)).update('\0').update(source).digest('hex');
  const entry = join(CACHE, `${createHash('sha1').update(filename).digest('hex')}.js`);
  let code;
  try {
    const cached = readFileSync(entry, 'utf8');
    if (cached.endsWith(`\n//${key}\n`)) code = cached;
  } catch { /* not cached yet */ }
  if (code === undefined) {
    code = `${transpile(source, filename)}\n//${key}\n`;
    try {
      mkdirSync(CACHE, { recursive: true });
      const tmp = `${entry}.${process.pid}`;
      writeFileSync(tmp, code);
      renameSync(tmp, entry);
    } catch { /* a read-only tree runs uncached */ }
  }
  module._compile(code, filename);
};
