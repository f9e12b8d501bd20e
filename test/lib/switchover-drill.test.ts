import { spawnSync } from 'child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { SWITCHOVER_DRILL_SCRIPT } from '../../lib/drill/kinds';

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

/**
 * Runs the drill. `promote`: whether the stand-in switchover promotes the candidate; `rejoin`:
 * whether the old leader comes back as a standby; `serviceHost`: the address psql reports.
 */
function runDrill(o: { promote?: boolean; rejoin?: boolean; serviceHost?: string; candidate?: string; recovery?: string } = {}) {
  // Each run in a folder of its own: the checks of one run never meet another's.
  const dir = mkdtempSync(join(root, 'run-'));
  writeFileSync(join(dir, 'members.json'), JSON.stringify(MEMBERS.before));
  writeFileSync(join(dir, 'patronictl'), `#!/bin/bash
echo "$*" >> "${dir}/calls"
case "$3" in
  list) cat "${dir}/members.json" ;;
  switchover)
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
  const r = spawnSync('/bin/bash', [join(dir, 'switchover.sh')], {
    encoding: 'utf8', timeout: 60000,
    env: {
      PATH: `${dir}:/usr/bin:/bin`, DRILL_DIR: join(dir, 'checks'), PATRONI_CONFIG: '/etc/patroni/patroni.yml', SCOPE: 'pg', PGHOST: 'pg',
      SWITCH_TIMEOUT_SECONDS: '3', ...(o.candidate ? { CANDIDATE: o.candidate } : {}),
    },
  });
  const checks = readFileSync(join(dir, 'checks', 'checks.tsv'), 'utf8').trim().split('\n').map(l => l.split('\t'));
  let calls: string[] = [];
  try { calls = readFileSync(join(dir, 'calls'), 'utf8').trim().split('\n'); } catch { calls = []; }
  return { code: r.status, stderr: r.stderr, checks: checks.map(([name, result, , , detail]) => ({ name, result, detail })), calls };
}

describe('the switchover drill script', () => {
  it('hands the primary to the synchronous standby, then checks the Service, the writes and the old leader', () => {
    const r = runDrill();
    expect(r.code).toBe(0);
    expect(r.calls).toContain('-c /etc/patroni/patroni.yml switchover --leader pg-0 --candidate pg-2 --force pg');
    expect(r.checks.map(c => [c.name, c.result])).toEqual([
      ['cluster before the switchover', 'passed'],
      ['patronictl switchover', 'passed'],
      ['the candidate is the new leader', 'passed'],
      ['the Service reaches the new leader and it accepts writes', 'passed'],
      ['the old leader rejoined as a standby', 'passed'],
    ]);
    expect(r.checks[0].detail).toBe('leader pg-0 (10.0.0.10), switching to pg-2');
    expect(r.checks[2].detail).toMatch(/^pg-2 leads \(10\.0\.0\.12\) \d+ s after the switchover was asked$/);
    expect(r.checks[3].detail).toBe('Service pg reached pg-2 (10.0.0.12), not in recovery, committed transaction 4711');
    expect(r.checks[4].detail).toBe('pg-0 runs as Sync Standby streaming');
  });

  it('takes the named candidate, and refuses one that is not a running standby', () => {
    expect(runDrill({ candidate: 'pg-1' }).calls).toContain('-c /etc/patroni/patroni.yml switchover --leader pg-0 --candidate pg-1 --force pg');
    const r = runDrill({ candidate: 'pg-0' });
    expect(r.code).toBe(0);
    expect(r.checks[0]).toEqual({ name: 'cluster before the switchover', result: 'failed', detail: 'candidate pg-0 is Leader running, not a running standby' });
    expect(r.checks.slice(1).map(c => c.result)).toEqual(['skipped', 'skipped', 'skipped', 'skipped']);
    expect(r.calls.some(c => c.includes('switchover'))).toBe(false);
  });

  it('records a refused switchover and skips the rest', () => {
    const r = runDrill({ promote: false });
    expect(r.checks.map(c => c.result)).toEqual(['passed', 'failed', 'skipped', 'skipped', 'skipped']);
    expect(r.checks[1].detail).toBe('patronictl switchover failed: Switchover failed, details: 503, switchover is not possible');
  });

  it('fails when the Service still reaches another server, or the new leader is in recovery', () => {
    const stale = runDrill({ serviceHost: '10.0.0.10' });
    expect(stale.checks.map(c => c.result)).toEqual(['passed', 'passed', 'passed', 'failed', 'skipped']);
    expect(stale.checks[3].detail).toBe('Service pg did not reach a writable pg-2 (10.0.0.12) in 3 s; last answer: 10.0.0.10 f 4711');
    expect(runDrill({ recovery: 't' }).checks[3].result).toBe('failed');
  }, 30000);

  it('fails when the old leader does not come back as a standby', () => {
    const r = runDrill({ rejoin: false });
    expect(r.checks.map(c => c.result)).toEqual(['passed', 'passed', 'passed', 'passed', 'failed']);
    expect(r.checks[4].detail).toBe('pg-0 is Replica stopped after 3 s');
  }, 30000);
});
