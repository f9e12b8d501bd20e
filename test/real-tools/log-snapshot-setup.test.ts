import { spawn } from 'child_process';
import { mkdtempSync, writeFileSync } from 'fs';
import { createServer, IncomingMessage, Server, ServerResponse } from 'http';
import { tmpdir } from 'os';
import { join } from 'path';
import { ENVIRONMENTS } from '../../lib/environments';
import { find, synthSystem } from '../helpers';
import { freePort } from './tools';

/*
 * The log archive's setup script (finance-ai prod's ConfigMap, as the Job mounts it) run by sh and
 * curl against a stand-in Elasticsearch on loopback: the requests it sends, in order, with the
 * bodies of the ConfigMap; a 503 retried; a 4xx fatal. No Elasticsearch binary runs here.
 */
describe('log snapshot setup script against a stand-in Elasticsearch', () => {
  const files = find(synthSystem('finance-ai', ENVIRONMENTS.prod).objects, 'ConfigMap', 'finance-ai-log-snapshots-files').data as Record<string, string>;
  const dir = mkdtempSync(join(tmpdir(), 'log-snapshots-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  let server: Server;
  let port: number;
  let seen: Array<{ method: string; url: string; body: string; auth: string }> = [];
  /** Answers by "METHOD path" (path without the query); each call takes the next status, the last repeats. */
  let answers: Record<string, number[]> = {};

  beforeAll(async () => {
    port = await freePort();
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      let body = '';
      req.on('data', c => { body += c; });
      req.on('end', () => {
        seen.push({ method: req.method!, url: req.url!, body, auth: req.headers.authorization ?? '' });
        const key = `${req.method} ${req.url!.split('?')[0]}`;
        const queue = answers[key] ?? [200];
        const status = queue.length > 1 ? queue.shift()! : queue[0];
        res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(status < 300 ? { acknowledged: true } : { error: { type: 'stub_error', reason: `stub answered ${status}` }, status }));
      });
    });
    await new Promise<void>(resolve => server.listen(port, '127.0.0.1', resolve));
  });
  afterAll(() => new Promise<void>(resolve => server.close(() => resolve())));
  beforeEach(() => { seen = []; answers = {}; });

  const runSetup = () => new Promise<{ code: number; stderr: string }>(resolve => {
    const child = spawn('sh', [join(dir, 'setup.sh')], {
      env: { PATH: process.env.PATH, ES_URL: `http://127.0.0.1:${port}`, ELASTIC_PASSWORD: 'test-only-password', REPOSITORY: 'log-archive', FILES_DIR: dir, ATTEMPTS: '5', RETRY_DELAY: '0' },
    });
    let stderr = '';
    child.stderr.on('data', c => { stderr += c; });
    child.on('close', code => resolve({ code: code ?? -1, stderr }));
  });

  it('waits for health, then registers the repository, then the policy, with the ConfigMap bodies', async () => {
    const { code, stderr } = await runSetup();
    expect(stderr).toContain('repository log-archive and its snapshot lifecycle policy are in place');
    expect(code).toBe(0);
    expect(seen.map(r => `${r.method} ${r.url}`)).toEqual([
      'GET /_cluster/health?wait_for_status=yellow&timeout=10s',
      'PUT /_snapshot/log-archive',
      'PUT /_slm/policy/log-archive',
    ]);
    expect(JSON.parse(seen[1].body)).toEqual(JSON.parse(files['repository.json']));
    expect(JSON.parse(seen[2].body)).toEqual(JSON.parse(files['slm-policy.json']));
    expect(seen.every(r => r.auth === `Basic ${Buffer.from('elastic:test-only-password').toString('base64')}`)).toBe(true);
  });

  it('retries while Elasticsearch answers 503 or the health wait times out (408)', async () => {
    answers = { 'GET /_cluster/health': [503, 408, 200], 'PUT /_snapshot/log-archive': [503, 200] };
    const { code } = await runSetup();
    expect(code).toBe(0);
    expect(seen.map(r => `${r.method} ${r.url.split('?')[0]}`)).toEqual([
      'GET /_cluster/health', 'GET /_cluster/health', 'GET /_cluster/health',
      'PUT /_snapshot/log-archive', 'PUT /_snapshot/log-archive',
      'PUT /_slm/policy/log-archive',
    ]);
  });

  it('fails at once on a 4xx, with Elasticsearch\'s answer, and sends nothing after it', async () => {
    answers = { 'PUT /_snapshot/log-archive': [400] };
    const { code, stderr } = await runSetup();
    expect(code).toBe(1);
    expect(stderr).toMatch(/FAILED: PUT \/_snapshot\/log-archive: 400 .*stub answered 400/);
    expect(seen.map(r => r.method + ' ' + r.url.split('?')[0])).toEqual(['GET /_cluster/health', 'PUT /_snapshot/log-archive']);
  });

  it('gives up after ATTEMPTS when Elasticsearch stays unavailable', async () => {
    answers = { 'GET /_cluster/health': [503] };
    const { code, stderr } = await runSetup();
    expect(code).toBe(1);
    expect(stderr).toMatch(/gave up after 5 attempts, last answer 503/);
    expect(seen).toHaveLength(5);
  });
});
