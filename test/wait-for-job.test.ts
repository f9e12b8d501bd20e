import { spawn } from 'child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { createServer, IncomingMessage, Server } from 'http';
import { AddressInfo } from 'net';
import { tmpdir } from 'os';
import { join } from 'path';
import { WAIT_FOR_JOB_PY } from '../lib/wait-for-job';

// Runs the init container's program with a real Python against a stub of the Kubernetes API on
// loopback: it must follow the Job's status and exit with the right code.

interface Run { code: number | null; output: string; requests: IncomingMessage[] }

async function runAgainst(statuses: object[], env: Record<string, string> = {}): Promise<Run> {
  const requests: IncomingMessage[] = [];
  let i = 0;
  const server: Server = createServer((req, res) => {
    requests.push(req);
    const body = statuses[Math.min(i++, statuses.length - 1)];
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
  const sa = mkdtempSync(join(tmpdir(), 'qb-sa-'));
  writeFileSync(join(sa, 'namespace'), 'quality-billing\n');
  writeFileSync(join(sa, 'token'), 'test-token\n');
  try {
    return await new Promise<Run>((resolve, reject) => {
      const child = spawn('python3', ['-c', WAIT_FOR_JOB_PY], {
        env: { PATH: process.env.PATH, JOB_NAME: 'migrate-abc', SA_DIR: sa, POLL_SECONDS: '0.05', API_BASE_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, ...env },
      });
      let output = '';
      child.stdout.on('data', d => { output += d; });
      child.stderr.on('data', d => { output += d; });
      const timer = setTimeout(() => { child.kill(); reject(new Error(`timed out: ${output}`)); }, 20000);
      child.on('error', reject);
      child.on('close', code => { clearTimeout(timer); resolve({ code, output, requests }); });
    });
  } finally {
    server.close();
    rmSync(sa, { recursive: true, force: true });
  }
}

describe('wait-for-migration init container', () => {
  it('exits 0 once the Job has succeeded, asking for that Job with the pod\'s token', async () => {
    const run = await runAgainst([{ status: {} }, { status: { active: 1 } }, { status: { succeeded: 1 } }]);
    expect(run.code).toBe(0);
    expect(run.requests.length).toBe(3);
    expect(run.requests[0].url).toBe('/apis/batch/v1/namespaces/quality-billing/jobs/migrate-abc');
    expect(run.requests[0].headers.authorization).toBe('Bearer test-token');
    expect(run.output).toContain('job migrate-abc succeeded');
  });

  it('exits 1 when the Job has failed, so the pod never serves an unmigrated schema', async () => {
    const run = await runAgainst([{ status: { failed: 7, conditions: [{ type: 'Failed', status: 'True' }] } }]);
    expect(run.code).toBe(1);
    expect(run.output).toContain('failed');
  });

  it('gives up after its deadline when the Job never finishes', async () => {
    const run = await runAgainst([{ status: { active: 1 } }], { WAIT_TIMEOUT_SECONDS: '0' });
    expect(run.code).toBe(1);
    expect(run.output).toContain('gave up');
  });
});
