import { spawnSync } from 'child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { DEBIAN_TOOLS, debianPackageOf, findTool, installCommand, missingTools } from './debian-tools';
import { ensureTools } from './ensure-tools';
import { debianBinary } from './tools';

const ROOT = join(__dirname, '..', '..');
const PACKAGES = Object.keys(DEBIAN_TOOLS);
const BINARIES = Object.values(DEBIAN_TOOLS).flat();

describe('the one list of Debian tools', () => {
  it('is what .ci/run installs', () => {
    const line = readFileSync(join(ROOT, '.ci', 'run'), 'utf8').match(/^packages=\(([^)]*)\)$/m);
    expect(line).not.toBeNull();
    expect(line![1].trim().split(/\s+/)).toEqual(PACKAGES);
  });

  it('is the README\'s tool table, package by package with its binaries', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const table = readme.slice(readme.indexOf('<!-- debian-tools -->'), readme.indexOf('<!-- /debian-tools -->'));
    const rows = table.split('\n').filter(l => /^\| `/.test(l)).map(l => l.split('|').map(c => c.trim()).filter(Boolean));
    const listed = Object.fromEntries(rows.map(([pkg, bins]) => [pkg.replace(/`/g, ''), bins.split(',').map(b => b.trim().replace(/`/g, ''))]));
    expect(listed).toEqual(DEBIAN_TOOLS);
  });

  it('names every binary the real-tool tests look up', () => {
    const used = new Set<string>();
    for (const f of readdirSync(__dirname).filter(x => x.endsWith('.test.ts'))) {
      for (const m of readFileSync(join(__dirname, f), 'utf8').matchAll(/debianBinary\('([^']+)'\)/g)) used.add(m[1]);
    }
    expect(used.size).toBeGreaterThan(5);
    expect([...used].filter(b => !BINARIES.includes(b))).toEqual([]);
  });
});

describe('the missing-tool error', () => {
  const empty = mkdtempSync(join(tmpdir(), 'qb-no-tools-'));
  const saved = process.env.QBI_TOOLS_PATH;
  beforeAll(() => { process.env.QBI_TOOLS_PATH = empty; });
  afterAll(() => { if (saved === undefined) delete process.env.QBI_TOOLS_PATH; else process.env.QBI_TOOLS_PATH = saved; rmSync(empty, { recursive: true, force: true }); });

  it.each([['nginx', 'nginx'], ['redis-cli', 'redis-tools'], ['promtool', 'prometheus'], ['amtool', 'prometheus-alertmanager'], ['aws', 'awscli'], ['initdb', 'postgresql'], ['rsvg-convert', 'librsvg2-bin'], ['celery/__init__.py', 'python3-celery']])(
    'names %s\'s own package, %s, and the command that installs it', (binary, pkg) => {
      expect(debianPackageOf(binary)).toBe(pkg);
      expect(() => debianBinary(binary)).toThrow(`${binary} not found in ${empty}; it comes with Debian's ${pkg}: `);
      expect(() => debianBinary(binary)).toThrow(`apt-get install -y --no-install-recommends ${pkg}`);
    });

  it('finds nothing in an empty QBI_TOOLS_PATH: every package is missing', () => {
    expect(missingTools().map(m => m.package)).toEqual(PACKAGES);
    expect(findTool('nginx')).toBeUndefined();
  });
});

describe('npm test\'s tool check (ensure-tools)', () => {
  const missingAll = () => undefined;
  it('stops, naming the missing binaries and the one install command, when not root', () => {
    const lines: string[] = [];
    const ran: string[][] = [];
    expect(ensureTools({ find: missingAll, root: false, aptGet: '/usr/bin/apt-get', run: (c, a) => { ran.push([c, ...a]); return 0; }, log: l => lines.push(l) })).toBe(1);
    expect(ran).toEqual([]);
    expect(lines).toEqual([`npm test: the real-tool tests need ${BINARIES.join(', ')}, not found; install them with: ${installCommand(PACKAGES, false)}`]);
    expect(installCommand(['nginx'], false)).toBe('sudo apt-get update && sudo apt-get install -y --no-install-recommends nginx');
  });

  it('stops as root when there is no apt-get', () => {
    const lines: string[] = [];
    expect(ensureTools({ find: missingAll, root: true, aptGet: undefined, log: l => lines.push(l) })).toBe(1);
    expect(lines[0]).toContain('install them with: apt-get update && apt-get install -y --no-install-recommends postgresql');
  });

  it('as root installs exactly the packages whose binaries are missing, then checks again', () => {
    const installed = new Set(BINARIES.filter(b => !['nginx', 'amtool'].includes(b)));
    const ran: string[][] = [];
    const run = (c: string, a: readonly string[]) => {
      ran.push([c, ...a]);
      if (a[0] === 'install') for (const pkg of a.slice(3)) DEBIAN_TOOLS[pkg].forEach(b => installed.add(b));
      return 0;
    };
    expect(ensureTools({ find: b => (installed.has(b) ? `/usr/bin/${b}` : undefined), root: true, aptGet: '/usr/bin/apt-get', run, log: () => undefined })).toBe(0);
    expect(ran).toEqual([['/usr/bin/apt-get', 'update'], ['/usr/bin/apt-get', 'install', '-y', '--no-install-recommends', 'prometheus-alertmanager', 'nginx']]);
  });

  it('fails when apt-get fails or the binaries are still missing afterwards', () => {
    expect(ensureTools({ find: missingAll, root: true, aptGet: '/x/apt-get', run: () => 100, log: () => undefined })).toBe(1);
    expect(ensureTools({ find: missingAll, root: true, aptGet: '/x/apt-get', run: () => 0, log: () => undefined })).toBe(1);
  });

  it('does nothing when every tool is there', () => {
    const ran: string[][] = [];
    expect(ensureTools({ find: b => `/usr/bin/${b}`, root: true, aptGet: '/usr/bin/apt-get', run: (c, a) => { ran.push([c, ...a]); return 0; } })).toBe(0);
    expect(ran).toEqual([]);
  });
});

/*
 * The real command, as `npm test` runs it first, on a machine that looks bare: QBI_TOOLS_PATH
 * points at an empty folder. As a user without root it stops before any test; as root it runs
 * apt-get (here a stub on PATH that records its arguments and "installs" the binaries into that
 * folder) with exactly the list's packages.
 */
describe('npm test\'s first step on a bare machine', () => {
  let work: string;
  beforeEach(() => { work = mkdtempSync(join(tmpdir(), 'qb-bare-')); chmodSync(work, 0o755); });
  afterEach(() => rmSync(work, { recursive: true, force: true }));
  const pretest = () => JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts.pretest.split(' ') as string[];
  const runCheck = (env: NodeJS.ProcessEnv, user?: number) => {
    const [command, ...args] = pretest();
    expect(command).toBe('node');
    return spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env }, ...(user !== undefined ? { uid: user, gid: user } : {}) });
  };

  it('stops without root, naming the missing binaries and the install command', () => {
    const tools = join(work, 'tools');
    mkdirSync(tools);
    // When the tests run as root, the check runs as nobody to be the user without root.
    const r = runCheck({ QBI_TOOLS_PATH: tools }, process.getuid?.() === 0 ? 65534 : undefined);
    expect(r.stderr.trim()).toBe(`npm test: the real-tool tests need ${BINARIES.join(', ')}, not found; install them with: ${installCommand(PACKAGES, false)}`);
    expect(r.status).toBe(1);
  });

  it('as root installs exactly the list\'s packages with apt-get, then passes (without root never calls it)', () => {
    const tools = join(work, 'tools');
    const bin = join(work, 'bin');
    mkdirSync(tools);
    mkdirSync(bin);
    const log = join(work, 'apt-get.log');
    writeFileSync(join(bin, 'apt-get'), `#!/bin/sh\necho "$*" >> ${log}\n[ "$1" = install ] && for b in ${BINARIES.join(' ')}; do mkdir -p "$(dirname ${tools}/$b)"; touch ${tools}/$b; done\nexit 0\n`, { mode: 0o755 });
    const r = runCheck({ QBI_TOOLS_PATH: tools, PATH: `${bin}:${process.env.PATH}` });
    // .ci/run and this machine run as root; a developer without root gets the message instead.
    if (process.getuid?.() === 0) {
      expect(r.stderr).toContain(`npm test: installing ${PACKAGES.join(' ')} for the real-tool tests`);
      expect(readFileSync(log, 'utf8')).toBe(`update\ninstall -y --no-install-recommends ${PACKAGES.join(' ')}\n`);
      expect(r.status).toBe(0);
    } else {
      expect(existsSync(log)).toBe(false);
      expect(r.status).toBe(1);
    }
  });
});
