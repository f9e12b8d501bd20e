import { execFileSync, spawn, ChildProcess } from 'child_process';
import { debianPackageOf, findTool, installCommand, toolDirs } from './debian-tools';
import { createServer } from 'net';

/**
 * Finds a binary from Debian's packages (see debian-tools.ts for the list and where it looks). The
 * real-tool tests fail (never skip) when it is missing; `npm test` installs the missing packages
 * first when it runs as root, and otherwise stops naming the command that does.
 */
export function debianBinary(name: string): string {
  const found = findTool(name);
  if (found) return found;
  const pkg = debianPackageOf(name);
  const how = pkg ? `it comes with Debian's ${pkg}: ${installCommand([pkg], process.getuid?.() === 0)}` : 'it is not in test/real-tools/debian-tools.ts: add its Debian package there';
  throw new Error(`${name} not found in ${toolDirs().join(', ') || '(no folder)'}; ${how}`);
}

/**
 * A free loopback port for a server a test starts, drawn at random from below Linux's ephemeral
 * range (32768–60999). The kernel's own choice (listen on port 0) comes from that range, which
 * every outgoing connection of every parallel test also draws from, so between our check and the
 * server's bind another process could take it ("Address already in use", seen in CI); below it,
 * only another test's pick can collide, and the random draw makes that rare.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    const free = await new Promise<boolean>(resolve => {
      const s = createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (free) return port;
    if (attempt >= 50) throw new Error('no free loopback port between 20000 and 32000');
  }
}

/** Runs a command as `user` when we are root (PostgreSQL refuses to run as root), else as ourselves. */
export function asUser(user: string, command: string, args: string[]): [string, string[]] {
  if (process.getuid && process.getuid() === 0) return ['runuser', ['-u', user, '--', command, ...args]];
  return [command, args];
}

export function run(command: string, args: string[], options: { env?: NodeJS.ProcessEnv } = {}): string {
  return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } });
}

/** Starts a server and resolves once `ready()` succeeds; rejects with its output if it exits first. */
export async function startServer(command: string, args: string[], ready: () => boolean, timeoutMs = 30000): Promise<ChildProcess> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', d => { output += d; });
  child.stderr?.on('data', d => { output += d; });
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (child.exitCode !== null) throw new Error(`${command} exited with ${child.exitCode}:\n${output}`);
    try { if (ready()) return child; } catch { /* not yet */ }
    await new Promise(r => setTimeout(r, 200));
  }
  child.kill('SIGKILL');
  throw new Error(`${command} did not become ready in ${timeoutMs} ms:\n${output}`);
}

/** Stops a server and waits for it to exit. */
export async function stop(child: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGINT'): Promise<void> {
  if (!child || child.exitCode !== null) return;
  await new Promise<void>(resolve => {
    const t = setTimeout(() => { child.kill('SIGKILL'); resolve(); }, 15000);
    child.once('exit', () => { clearTimeout(t); resolve(); });
    child.kill(signal);
  });
}
