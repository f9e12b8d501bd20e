import { ChildProcess, spawnSync } from 'child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { createServer, IncomingMessage, request as httpRequest, Server } from 'http';
import { request as httpsRequest } from 'https';
import { AddressInfo } from 'net';
import { tmpdir } from 'os';
import { join } from 'path';
import { AppService } from '../../constructs/app/app-service';
import { NginxEdge } from '../../constructs/edge/nginx-edge';
import { ENVIRONMENTS } from '../../lib/environments';
import { find, synth, testChart } from '../helpers';
import { SYSTEMS } from '../../stacks/systems';
import { connect as tlsConnect } from 'tls';
import { debianBinary, freePort, run, startServer, stop } from './tools';

// Debian's nginx run with the nginx.conf the edge synthesizes. Only what the pod provides is
// swapped: its ports, the mounted TLS files, /tmp, and the upstream addresses (stubs on loopback).

let work: string;
let cert: string;
let key: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'qb-nginx-'));
  cert = join(work, 'tls.crt');
  key = join(work, 'tls.key');
  run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost']);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Ports { http: number; https: number; status: number }

/** The generated config with the pod's environment swapped for this machine's. */
function localize(conf: string, dir: string, ports: Ports, upstreams: Record<string, string>): string {
  let c = conf
    .replace('listen 8080 default_server;', `listen 127.0.0.1:${ports.http} default_server;`)
    .replace('listen 8443 ssl http2 default_server;', `listen 127.0.0.1:${ports.https} ssl http2 default_server;`)
    .replace('listen 8081;', `listen 127.0.0.1:${ports.status};`)
    .split('/tmp/').join(`${dir}/tmp/`)
    .split('/etc/nginx/tls/').join(`${dir}/tls/`);
  for (const [from, to] of Object.entries(upstreams)) c = c.split(`server ${from} `).join(`server ${to} `);
  return c;
}

function prepare(conf: string, ports: Ports, upstreams: Record<string, string>): string {
  const dir = mkdtempSync(join(work, 'run-'));
  mkdirSync(join(dir, 'tls'));
  mkdirSync(join(dir, 'tmp'));
  // As root, nginx's workers run as nobody: like the pod's emptyDir, /tmp must be writable by them.
  for (const d of [work, dir]) chmodSync(d, 0o755);
  chmodSync(join(dir, 'tmp'), 0o1777);
  writeFileSync(join(dir, 'tls', 'tls.crt'), readFileSync(cert));
  writeFileSync(join(dir, 'tls', 'tls.key'), readFileSync(key));
  writeFileSync(join(dir, 'nginx.conf'), localize(conf, dir, ports, upstreams));
  return join(dir, 'nginx.conf');
}

const NGINX_EDGES = SYSTEMS.flatMap(sys => Object.values(ENVIRONMENTS).map(env => sys.create(env)))
  .filter(stack => stack.edge)
  .map(stack => [`${stack.system.name} ${stack.environment.name}`, stack] as const);

describe.each(NGINX_EDGES)('the %s edge configuration', (_n, stack) => {
  it('passes nginx -t', async () => {
    const conf = stack.edge!.config;
    const ports = { http: await freePort(), https: await freePort(), status: await freePort() };
    const upstreams = Object.fromEntries([...conf.matchAll(/server (\S+:\d+) max_fails/g)].map(m => [m[1], '127.0.0.1:9']));
    expect(Object.keys(upstreams).length).toBeGreaterThan(0);
    const file = prepare(conf, ports, upstreams);
    const r = spawnSync('sh', ['-c', `exec "$0" -t -c "$1" >"$1.out" 2>"$1.log"`, debianBinary('nginx'), file], { encoding: 'utf8' });
    expect(readFileSync(`${file}.log`, 'utf8')).toContain('test is successful');
    expect(r.status).toBe(0);
  });
});

describe('a running edge', () => {
  let nginx: ChildProcess | undefined;
  let backup: Server;
  let ports: Ports;
  const seen: IncomingMessage[] = [];

  beforeAll(async () => {
    // The API's primary address is a closed port: every request must be served by the backup.
    backup = createServer((req, res) => {
      seen.push(req);
      let size = 0;
      req.on('data', d => { size += d.length; });
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ server: 'backup', size, headers: req.headers })));
    });
    await new Promise<void>(r => backup.listen(0, '127.0.0.1', r));
    const chart = testChart();
    const app = new AppService(chart, 'Api');
    new NginxEdge(chart, 'Edge', { app, backupUpstream: 'api-backup:8001', clientMaxBodySize: '64Ki' });
    const conf = find(synth(chart), 'ConfigMap', 'edge-config').data['nginx.conf'];
    ports = { http: await freePort(), https: await freePort(), status: await freePort() };
    const closed = await freePort();
    const file = prepare(conf, ports, { 'api:8000': `127.0.0.1:${closed}`, 'api-backup:8001': `127.0.0.1:${(backup.address() as AddressInfo).port}` });
    // nginx opens /dev/stdout and /dev/stderr, which must be files or pipe (as in a pod), not the socket a test runner gives it.
    nginx = await startServer('sh', ['-c', `exec "$0" -c "$1" -g 'daemon off;' >"$1.out" 2>"$1.log"`, debianBinary('nginx'), file],
      () => spawnSync('curl', ['-sf', `http://127.0.0.1:${ports.status}/healthz`]).status === 0);
  }, 60000);

  afterAll(async () => {
    await stop(nginx, 'SIGQUIT');
    backup.close();
  });

  function https(path: string, options: { method?: string; body?: Buffer; headers?: Record<string, string> } = {}): Promise<{ status: number; headers: Record<string, any>; body: string }> {
    return new Promise((resolve, reject) => {
      const req = httpsRequest({ host: '127.0.0.1', port: ports.https, path, method: options.method ?? 'GET', ca: readFileSync(cert), servername: 'localhost', headers: options.headers }, res => {
        let body = '';
        res.on('data', d => { body += d; });
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      });
      req.on('error', reject);
      req.end(options.body);
    });
  }

  function tls(version: string): { code: number | null; output: string } {
    const r = spawnSync('openssl', ['s_client', '-connect', `127.0.0.1:${ports.https}`, '-servername', 'localhost', version, '-cipher', 'DEFAULT@SECLEVEL=0'], { input: '', encoding: 'utf8', timeout: 10000 });
    return { code: r.status, output: `${r.stdout}${r.stderr}` };
  }

  it.each([['-tls1_2', 'TLSv1.2'], ['-tls1_3', 'TLSv1.3']])('accepts %s', (flag, protocol) => {
    const r = tls(flag);
    expect(r.output).toMatch(new RegExp(`New, ${protocol.replace('.', '\\.')}, Cipher is`));
    expect(r.code).toBe(0);
  });

  it.each([['-tls1_1'], ['-tls1']])('refuses %s with a protocol-version alert from the server', flag => {
    const r = tls(flag);
    expect(r.output).toMatch(/alert protocol version/);
    expect(r.code).not.toBe(0);
  });

  it('redirects plain HTTP to HTTPS', async () => {
    const res = await new Promise<{ status: number; location?: string }>((resolve, reject) => {
      httpRequest({ host: '127.0.0.1', port: ports.http, path: '/api/tickets?x=1', headers: { host: 'api.example.com' } }, r => { r.resume(); resolve({ status: r.statusCode!, location: r.headers.location }); })
        .on('error', reject).end();
    });
    expect(res).toEqual({ status: 301, location: 'https://api.example.com/api/tickets?x=1' });
  });

  it('sends every security header', async () => {
    const res = await https('/api/tickets');
    expect(res.status).toBe(200);
    expect(res.headers['strict-transport-security']).toBe('max-age=63072000; includeSubDomains');
    expect(res.headers['content-security-policy']).toContain("default-src 'none'");
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['referrer-policy']).toBe('strict-origin-when-cross-origin');
    expect(res.headers.server).toBe('nginx');
  });

  it('passes X-Forwarded-* and keeps or makes an X-Request-ID', async () => {
    const kept = await https('/x', { headers: { 'x-request-id': 'req-123' } });
    expect(JSON.parse(kept.body).headers).toMatchObject({ 'x-forwarded-for': '127.0.0.1', 'x-forwarded-proto': 'https', 'x-request-id': 'req-123' });
    expect(kept.headers['x-request-id']).toBe('req-123');
    const made = await https('/x');
    expect(JSON.parse(made.body).headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/);
  });

  it('serves every request from the backup while the primary is down, none failing', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, () => https('/api/tickets')));
    expect(results.map(r => r.status)).toEqual(Array(20).fill(200));
    expect(results.every(r => JSON.parse(r.body).server === 'backup')).toBe(true);
  });

  it('enforces the request body limit', async () => {
    expect((await https('/upload', { method: 'POST', body: Buffer.alloc(60 * 1024) })).status).toBe(200);
    expect((await https('/upload', { method: 'POST', body: Buffer.alloc(70 * 1024) })).status).toBe(413);
  });

  it('never serves the app\'s metrics path', async () => {
    const before = seen.length;
    expect((await https('/metrics')).status).toBe(404);
    expect(seen.length).toBe(before);
  });

  it('answers stub_status for the exporter on its status port', async () => {
    const body = run('curl', ['-sf', `http://127.0.0.1:${ports.status}/stub_status`]);
    expect(body).toMatch(/^Active connections: \d+/);
  });
});

describe('a running WebSocket edge (QCAT)', () => {
  let nginx: ChildProcess | undefined;
  let app: Server;
  let ports: Ports;
  const plainRequests: IncomingMessage[] = [];

  beforeAll(async () => {
    // A stand-in for QCAT: answers plain requests, and upgrades /ws to an echo of raw frames.
    app = createServer((req, res) => { plainRequests.push(req); res.writeHead(200).end('plain'); });
    app.on('upgrade', (req, socket) => {
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: ${req.headers.upgrade}\r\nConnection: Upgrade\r\n\r\n`);
      socket.on('data', d => socket.write(Buffer.concat([Buffer.from('echo:'), d])));
    });
    await new Promise<void>(r => app.listen(0, '127.0.0.1', r));
    const stack = SYSTEMS.find(s => s.name === 'qcat')!.create(ENVIRONMENTS.dev);
    ports = { http: await freePort(), https: await freePort(), status: await freePort() };
    const file = prepare(stack.edge!.config, ports, { 'qcat-api:8082': `127.0.0.1:${(app.address() as AddressInfo).port}` });
    nginx = await startServer('sh', ['-c', `exec "$0" -c "$1" -g 'daemon off;' >"$1.out" 2>"$1.log"`, debianBinary('nginx'), file],
      () => spawnSync('curl', ['-sf', `http://127.0.0.1:${ports.status}/healthz`]).status === 0);
  }, 60000);

  afterAll(async () => {
    await stop(nginx, 'SIGQUIT');
    app.close();
  });

  it('upgrades a WebSocket request through TLS and carries frames both ways', async () => {
    const socket = tlsConnect({ host: '127.0.0.1', port: ports.https, servername: 'localhost', ca: readFileSync(cert), ALPNProtocols: ['http/1.1'] });
    const received: Buffer[] = [];
    socket.on('data', d => received.push(d));
    await new Promise<void>((resolve, reject) => { socket.once('secureConnect', () => resolve()); socket.once('error', reject); });
    socket.write('GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n');
    const until = async (re: RegExp) => {
      for (let i = 0; i < 100 && !re.test(Buffer.concat(received).toString()); i++) await new Promise(r => setTimeout(r, 50));
      return Buffer.concat(received).toString();
    };
    expect(await until(/\r\n\r\n/)).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n/);
    socket.write('tick-1');
    expect(await until(/echo:tick-1/)).toContain('echo:tick-1');
    socket.destroy();
  });

  it('keeps upstream keepalive for plain requests (no Upgrade forwarded)', async () => {
    // (Asynchronously: the stand-in app answers on this process's event loop.)
    const body = await new Promise<string>((resolve, reject) => {
      httpsRequest({ host: '127.0.0.1', port: ports.https, path: '/plain', ca: readFileSync(cert), servername: 'localhost' }, res => {
        let b = '';
        res.on('data', d => { b += d; });
        res.on('end', () => resolve(b));
      }).on('error', reject).end();
    });
    expect(body).toBe('plain');
    const last = plainRequests[plainRequests.length - 1];
    expect(last.headers.upgrade).toBeUndefined();
    expect(last.headers.connection ?? '').not.toMatch(/upgrade/i);
  });

  it('gives idle WebSockets an hour before nginx closes them', () => {
    const stack = SYSTEMS.find(s => s.name === 'qcat')!.create(ENVIRONMENTS.prod);
    expect(stack.edge!.config).toMatch(/proxy_read_timeout 3600s;/);
  });
});
