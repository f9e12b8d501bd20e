import { existsSync, readFileSync } from 'fs';
import { join } from 'path';

// Issue 21: every seed's backup, restore, maintenance and drill item has a row naming its construct and test.
describe('README Seeds table', () => {
  const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');
  const table = readme.slice(readme.indexOf('## Seeds\n'), readme.indexOf('\n## Monitoring'));
  const rows = table.split('\n').filter(l => /^\| \d{3}/.test(l));

  it('has a row for every seed, 000 to 004', () => {
    for (const seed of ['000', '001', '002', '003', '004']) expect(rows.some(r => r.includes(seed))).toBe(true);
  });

  it('points every row that is built at a test file that exists', () => {
    const missing: string[] = [];
    for (const row of rows) {
      const tests = [...row.matchAll(/`(test\/[^`]+\.ts)`/g)].map(m => m[1]);
      if (!/not built|not ours/.test(row) && !tests.length) missing.push(`no test: ${row.slice(0, 80)}`);
      for (const t of tests) if (!existsSync(join(__dirname, '..', t))) missing.push(`${t} (in: ${row.slice(0, 60)})`);
    }
    expect(missing).toEqual([]);
  });
});
