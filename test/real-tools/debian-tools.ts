import { existsSync, readdirSync } from 'fs';
import { join } from 'path';

/**
 * The Debian packages the real-tool tests need and, for each, the binaries the tests (or the
 * scripts they run) call. A package of Python modules without a binary (python3-celery,
 * python3-redis) names its module's `__init__.py`, looked up like a binary in Debian's
 * dist-packages folder; the tests import it with Debian's /usr/bin/python3. The one list: `npm
 * test`'s tool check (ensure-tools.ts), the lookup below, .ci/run and the README's tool table all
 * name exactly these (debian-tools.test.ts).
 */
export const DEBIAN_TOOLS: Readonly<Record<string, readonly string[]>> = {
  // Debian keeps the server binaries in /usr/lib/postgresql/<version>/bin; psql, pg_dump and
  // pg_restore are postgresql-client-common's wrappers in /usr/bin.
  postgresql: ['postgres', 'initdb', 'pg_ctl', 'psql', 'pg_dump', 'pg_restore', 'pgbench'],
  'redis-server': ['redis-server'],
  'redis-tools': ['redis-cli'],
  python3: ['python3'],
  prometheus: ['promtool'],
  'prometheus-alertmanager': ['prometheus-alertmanager', 'amtool'],
  nginx: ['nginx'],
  openssl: ['openssl'],
  curl: ['curl'],
  pgbackrest: ['pgbackrest'],
  awscli: ['aws'],
  'librsvg2-bin': ['rsvg-convert'],
  pgbouncer: ['pgbouncer'],
  // Celery 5.2 and redis-py for Debian's python3 (the worker, producer and redis client of celery.test.ts).
  'python3-celery': ['celery/__init__.py'],
  'python3-redis': ['redis/__init__.py'],
  // PostgreSQL failover (postgres-ha.test.ts): Patroni 3.0, with Debian's etcd as its DCS on loopback.
  patroni: ['patroni'],
  'etcd-server': ['etcd'],
};

/** The Debian package that provides `binary`, or undefined for a binary not in the list. */
export function debianPackageOf(binary: string): string | undefined {
  return Object.keys(DEBIAN_TOOLS).find(pkg => DEBIAN_TOOLS[pkg].includes(binary));
}

/**
 * Where the tools are looked for: the folders in QBI_TOOLS_PATH (colon-separated) when it is set
 * — pointing it at an empty folder shows what a bare machine sees — else where Debian installs
 * them, PostgreSQL's versioned folder (newest first) included.
 */
export function toolDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  if (env.QBI_TOOLS_PATH !== undefined) return env.QBI_TOOLS_PATH.split(':').filter(Boolean);
  const dirs = ['/usr/bin', '/usr/sbin', '/usr/local/bin', '/bin', '/sbin', '/usr/lib/python3/dist-packages'];
  if (existsSync('/usr/lib/postgresql')) {
    for (const v of readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a))) dirs.push(`/usr/lib/postgresql/${v}/bin`);
  }
  return dirs;
}

/** The path of `binary` in toolDirs(), or undefined. */
export function findTool(binary: string, dirs: readonly string[] = toolDirs()): string | undefined {
  return dirs.map(d => join(d, binary)).find(p => existsSync(p));
}

/** The packages with at least one binary missing, and those binaries. */
export function missingTools(find: (binary: string) => string | undefined = findTool): Array<{ package: string; binaries: string[] }> {
  return Object.entries(DEBIAN_TOOLS)
    .map(([pkg, binaries]) => ({ package: pkg, binaries: binaries.filter(b => !find(b)) }))
    .filter(m => m.binaries.length > 0);
}

/** The one command that installs `packages` (with sudo unless we are root). */
export function installCommand(packages: readonly string[], root: boolean): string {
  const sudo = root ? '' : 'sudo ';
  return `${sudo}apt-get update && ${sudo}apt-get install -y --no-install-recommends ${packages.join(' ')}`;
}
