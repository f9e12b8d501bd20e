import { spawn } from 'child_process';
import { join } from 'path';

/*
 * `npm run typecheck` as one of the suite's files: jest only transpiles (ts-jest, isolatedModules),
 * and running the type check here lets it share the machine with the other files instead of
 * running alone before them. It checks everything tsconfig.json includes: sources and tests.
 */
const ROOT = join(__dirname, '..');

it('the sources and tests type-check (tsc -p tsconfig.json --noEmit)', async () => {
  const tsc = require.resolve('typescript/bin/tsc');
  const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.json'), '--noEmit', '--pretty', 'false'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', d => { out += d; });
    child.stderr.on('data', d => { out += d; });
    child.on('error', reject);
    child.on('close', c => resolve({ code: c, output: out }));
  });
  // The compiler's own diagnostics are the failure message. (A generous timeout: on a loaded
  // machine tsc has taken minutes, against about 20 s alone.)
  expect(output).toBe('');
  expect(code).toBe(0);
}, 600000);
