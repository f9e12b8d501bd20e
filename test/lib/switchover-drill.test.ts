import { spawn } from 'child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { createServer, Server } from 'http';
import { AddressInfo } from 'net';
import { tmpdir } from 'os';
import { join } from 'path';
import { SWITCHOVER_DRILL_SCRIPT } from '../../lib/drill/kinds';
import { DRILL_BUDGET_SCRIPT } from '../../lib/drill/record';

/*
 * The switchover drill's control flow, with stand-ins for patronictl and psql on the PATH (bash and
 * python3 are the real ones): which member it hands over to, the order of its checks, and what a
 * failure at each point records. Patroni itself is not run here (see README "Drills").
 */
const MEMBERS = {
  before: [
    { Cluster: 'pg', Member: 'pg-0', Host: '10.0.0.10', Role: 'Leader', State: 'running', TL: 1 },
    { Cluster: 'pg', Member: 'pg-1', Host: '10.0.0.11', Role: 'Replica', State: 'streaming', TL: 1 },
    { Cluster: 'pg', Member: 'pg-2', Host: '10.0.0.12', Role: 'Sync Standby', State: 'streaming', TL: 1 },
  ],
};

let root: string;
beforeEach(() => { root = mkdtempSync(join(tmpdir(), 'qb-switchover-')); });
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** Stand-in for the Kubernetes API: the Jobs list answers with `jobs`, and each request is kept. */
let jobs: object[] = [];
const requests: string[] = [];
let api: Server;
let apiBase: string;
beforeAll(async () => {
  api = createServer((req, res) => {
    requests.push(`${req.method} ${req.url} ${req.headers.authorization}`);
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ kind: 'JobList', items: jobs }));
  });
  await new Promise<void>(r => api.listen(0, '127.0.0.1', r));
  apiBase = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>(r => api.close(() => r())));
beforeEach(() => { jobs = []; requests.length = 0; });

const BACKUP_SELECTOR = 'app.kubernetes.io/component=backup,app.kubernetes.io/part-of=pg-system';
function serviceAccount(dir: string): string {
  const sa = join(dir, 'sa');
  mkdirSync(sa);
  writeFileSync(join(sa, 'token'), 'test-token');
  writeFileSync(join(sa, 'namespace'), 'billing');
  return sa;
}

/** Runs a script without blocking the event loop (the API stand-in answers meanwhile). */
function run(args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number | null; stderr: string; seconds: number }> {
  return new Promise(resolve => {
    const t0 = Date.now();
    const p = spawn('/bin/bash', args, { env });
    let stderr = '';
    p.stderr.on('data', d => { stderr += d; });
    p.on('close', status => resolve({ status, stderr, seconds: (Date.now() - t0) / 1000 }));
  });
}

/**
 * Runs the drill. `promote`: whether the stand-in switchover promotes the candidate; `rejoin`:
 * whether the old leader comes back as a standby; `serviceHost`: the address psql reports.
 */
async function runDrill(o: { promote?: boolean; rejoin?: boolean; serviceHost?: string; candidate?: string; recovery?: string; switchSleep?: number; budget?: number } = {}) {
  // Each run in a folder of its own: the checks of one run never meet another's.
  const dir = mkdtempSync(join(root, 'run-'));
  writeFileSync(join(dir, 'members.json'), JSON.stringify(MEMBERS.before));
  writeFileSync(join(dir, 'patronictl'), `#!/bin/bash
echo "$*" >> "${dir}/calls"
case "$3" in
  list) cat "${dir}/members.json" ;;
  switchover)
    sleep ${o.switchSleep ?? 0}
    cand=$(printf '%s\\n' "$@" | awk 'p { print; exit } $0 == "--candidate" { p = 1 }')
    [[ "${o.promote ?? true}" == true ]] || { echo "Switchover failed, details: 503, switchover is not possible"; exit 1; }
    /usr/bin/python3 - "$cand" "${dir}/members.json" "${o.rejoin ?? true}" <<'PY'
import json, sys
cand, path, rejoin = sys.argv[1], sys.argv[2], sys.argv[3] == "true"
ms = json.load(open(path))
for m in ms:
    if m["Member"] == cand: m["Role"], m["State"] = "Leader", "running"
    elif m["Role"] == "Leader": m["Role"], m["State"] = ("Sync Standby", "streaming") if rejoin else ("Replica", "stopped")
json.dump(ms, open(path, "w"))
PY
    echo "Successfully switched over to \\"$cand\\"" ;;
esac
`, { mode: 0o755 });
  const newHost = o.serviceHost ?? 'NEW';
  writeFileSync(join(dir, 'psql'), `#!/bin/bash
host=$(/usr/bin/python3 -c 'import json,sys; print(next(m["Host"] for m in json.load(open(sys.argv[1])) if m["Role"] == "Leader"))' "${dir}/members.json")
[[ "${newHost}" == NEW ]] || host="${newHost}"
echo "$host ${o.recovery ?? 'f'} 4711"
`, { mode: 0o755 });
  writeFileSync(join(dir, 'switchover.sh'), SWITCHOVER_DRILL_SCRIPT);
  writeFileSync(join(dir, 'drill-budget.sh'), DRILL_BUDGET_SCRIPT);
  // As the pod runs it: the step's time budget around the drill.
  const r = await run([join(dir, 'drill-budget.sh'), String(o.budget ?? 60), 'bash', join(dir, 'switchover.sh')], {
    PATH: `${dir}:/usr/bin:/bin`, DRILL_DIR: join(dir, 'checks'), PATRONI_CONFIG: '/etc/patroni/patroni.yml', SCOPE: 'pg', PGHOST: 'pg',
    SWITCH_TIMEOUT_SECONDS: '3', ...(o.candidate ? { CANDIDATE: o.candidate } : {}),
    API_BASE_URL: apiBase, SA_DIR: serviceAccount(dir), BACKUP_SELECTOR,
  });
  const checks = readFileSync(join(dir, 'checks', 'checks.tsv'), 'utf8').trim().split('\n').map(l => l.split('\t'));
  let calls: string[] = [];
  try { calls = readFileSync(join(dir, 'calls'), 'utf8').trim().split('\n'); } catch { calls = []; }
  return { code: r.status, seconds: r.seconds, stderr: r.stderr, checks: checks.map(([name, result, , , detail]) => ({ name, result, detail })), calls };
}

describe('the switchover drill script', () => {
  it('hands the primary to the synchronous standby, then checks the Service, the writes and the old leader', async () => {
    const r = await runDrill();
    expect(r.code).toBe(0);
    expect(r.calls).toContain('-c /etc/patroni/patroni.yml switchover --leader pg-0 --candidate pg-2 --force pg');
    expect(r.checks.map(c => [c.name, c.result])).toEqual([
      ['no backup Job of the system is running', 'passed'],
      ['cluster before the switchover', 'passed'],
      ['patronictl switchover', 'passed'],
      ['the candidate is the new leader', 'passed'],
      ['the Service reaches the new leader and it accepts writes', 'passed'],
      ['the old leader rejoined as a standby', 'passed'],
    ]);
    expect(r.checks[1].detail).toBe('leader pg-0 (10.0.0.10), switching to pg-2');
    expect(r.checks[3].detail).toMatch(/^pg-2 leads \(10\.0\.0\.12\) \d+ s after the switchover was asked$/);
    expect(r.checks[4].detail).toBe('Service pg reached pg-2 (10.0.0.12), not in recovery, committed transaction 4711');
    expect(r.checks[5].detail).toBe('pg-0 runs as Sync Standby streaming');
  });

  it('takes the named candidate, and refuses one that is not a running standby', async () => {
    expect((await runDrill({ candidate: 'pg-1' })).calls).toContain('-c /etc/patroni/patroni.yml switchover --leader pg-0 --candidate pg-1 --force pg');
    const r = await runDrill({ candidate: 'pg-0' });
    expect(r.code).toBe(0);
    expect(r.checks[1]).toEqual({ name: 'cluster before the switchover', result: 'failed', detail: 'candidate pg-0 is Leader running, not a running standby' });
    expect(r.checks.slice(2).map(c => c.result)).toEqual(['skipped', 'skipped', 'skipped', 'skipped']);
    expect(r.calls.some(c => c.includes('switchover'))).toBe(false);
  });

  it('records a refused switchover and skips the rest', async () => {
    const r = await runDrill({ promote: false });
    expect(r.checks.map(c => c.result)).toEqual(['passed', 'passed', 'failed', 'skipped', 'skipped', 'skipped']);
    expect(r.checks[2].detail).toBe('patronictl switchover failed: Switchover failed, details: 503, switchover is not possible');
  });

  it('fails when the Service still reaches another server, or the new leader is in recovery', async () => {
    const stale = await runDrill({ serviceHost: '10.0.0.10' });
    expect(stale.checks.map(c => c.result)).toEqual(['passed', 'passed', 'passed', 'passed', 'failed', 'skipped']);
    expect(stale.checks[4].detail).toBe('Service pg did not reach a writable pg-2 (10.0.0.12) in 3 s; last answer: 10.0.0.10 f 4711');
    expect((await runDrill({ recovery: 't' })).checks[4].result).toBe('failed');
  }, 30000);

  it('fails when the old leader does not come back as a standby', async () => {
    const r = await runDrill({ rejoin: false });
    expect(r.checks.map(c => c.result)).toEqual(['passed', 'passed', 'passed', 'passed', 'passed', 'failed']);
    expect(r.checks[5].detail).toBe('pg-0 is Replica stopped after 3 s');
  }, 30000);

  it('refuses to switch over while a backup Job of the system runs (a switchover breaks a running backup), and records it', async () => {
    jobs = [
      { metadata: { name: 'pg-backup-full-29000000' }, status: { active: 1 } },
      { metadata: { name: 'pg-backup-29000001' }, status: { succeeded: 1 } },
    ];
    const r = await runDrill();
    expect(r.code).toBe(0);
    expect(r.checks[0]).toEqual({ name: 'no backup Job of the system is running', result: 'failed', detail: 'backup Job pg-backup-full-29000000 is running: no switchover during a backup' });
    expect(r.checks.slice(1).map(c => c.result)).toEqual(['skipped', 'skipped', 'skipped', 'skipped', 'skipped']);
    expect(r.calls.some(c => c.includes('switchover'))).toBe(false);
    expect(requests).toEqual([`GET /apis/batch/v1/namespaces/billing/jobs?labelSelector=${encodeURIComponent(BACKUP_SELECTOR)} Bearer test-token`]);
  });

  it('records a step that outlives its time budget as timed out, and exits within the budget so the record container still runs', async () => {
    // The stand-in patronictl hangs past the 3 s budget (a wedged switchover), as a step would past the Job's deadline.
    const r = await runDrill({ switchSleep: 30, budget: 3 });
    expect(r.code).toBe(0);
    expect(r.seconds).toBeLessThan(20);
    expect(r.checks.map(c => [c.name, c.result])).toEqual([
      ['no backup Job of the system is running', 'passed'],
      ['cluster before the switchover', 'passed'],
      ['patronictl switchover', 'failed'],
    ]);
    expect(r.checks[2].detail).toMatch(/^timed out after 3 s/);
  }, 30000);
});
