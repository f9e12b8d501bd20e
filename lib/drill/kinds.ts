import { ValidationError } from '../errors';
import { DRILL_CHECK_FUNCTIONS } from './record';

/**
 * The drills seed 002 asks for every quarter (切换演练, 数据恢复演练, 服务恢复演练), each of which
 * leaves a record (lib/drill/record.ts):
 * - `switchover`: Patroni hands the primary to a standby on purpose (`patronictl switchover`);
 * - `restore`: the latest backup restored into a throwaway server (the monthly restore test's pod);
 * - `service`: the applications' Deployments restarted and waited for until they serve again.
 */
export const DRILL_KINDS = ['switchover', 'restore', 'service'] as const;

/** A kind of drill. */
export type DrillKind = typeof DRILL_KINDS[number];

/** What a system offers a drill: whether it can run each kind, and why not. */
export interface DrillCapabilities {
  /** PostgreSQL members Patroni runs (1 + standbys); a switchover needs 2 or more. */
  readonly postgresMembers: number;
  /** The environment backs up PostgreSQL (a restore drill restores the latest backup). */
  readonly backups: boolean;
  /** Where the environment's description comes from, for the error ("Environment \"dev\""). */
  readonly describedAs: string;
  /** Kinds the system cannot run whatever its environment, each with why (a system without PostgreSQL has no switchover). @default - none */
  readonly unavailable?: Partial<Record<DrillKind, string>>;
}

/**
 * Checks a drill kind against what the system can do: an unknown kind, a switchover without Patroni
 * standbys, or a restore without backups is a ValidationError naming `field`, the value and what
 * the system allows.
 */
export function checkDrillKind(path: string, field: string, kind: string, can: DrillCapabilities): DrillKind {
  const possible = DRILL_KINDS.filter(k => drillUnavailable(k, can) === undefined);
  const allowed = possible.length ? `one of ${possible.map(k => `"${k}"`).join(', ')}` : 'no drill here';
  if (!(DRILL_KINDS as readonly string[]).includes(kind)) throw new ValidationError(path, field, kind, `a drill kind, ${allowed} (known kinds: ${DRILL_KINDS.join(', ')})`);
  const why = drillUnavailable(kind as DrillKind, can);
  if (why !== undefined) throw new ValidationError(path, field, kind, `${allowed}: ${why}`);
  return kind as DrillKind;
}

function drillUnavailable(kind: DrillKind, can: DrillCapabilities): string | undefined {
  const never = can.unavailable?.[kind];
  if (never !== undefined) return `${can.describedAs} ${never}`;
  if (kind === 'switchover' && can.postgresMembers < 2) {
    return `${can.describedAs} runs PostgreSQL without Patroni standbys (postgresStandbys 0, ${can.postgresMembers} member), so there is no standby to switch over to`;
  }
  if (kind === 'restore' && !can.backups) return `${can.describedAs} has no backups (backup: false), so there is nothing to restore`;
  if (!can.backups) return `${can.describedAs} has no backups (backup: false), so no bucket to keep the drill's record in`;
  return undefined;
}

/** The names a drill's steps fill in. */
export interface DrillStepContext {
  /** The system's name. */
  readonly system: string;
  /** The environment's name. */
  readonly environment: string;
  /** The namespace everything runs in. */
  readonly namespace: string;
  /** Where the record goes: `s3://bucket/prefix/drills/<kind>/`. */
  readonly recordDestination: string;
  /** PostgreSQL's Service and Patroni's cluster (scope) name. */
  readonly postgres?: string;
  /** The standby to switch to; undefined: the synchronous standby Patroni lists at run time. */
  readonly candidate?: string;
  /** Deployments the service drill restarts. */
  readonly deployments?: readonly string[];
  /** Health URLs the service drill asks afterwards. */
  readonly healthUrls?: readonly string[];
}

/** The ordered steps of a drill, in words (what `npm run drill` prints; the Job runs them in this order). */
export function drillSteps(kind: DrillKind, c: DrillStepContext): string[] {
  const record = `write the record (record.json, record.md) and upload it to ${c.recordDestination}<UTC start>/ with checksums; the Job fails after the upload when a check failed`;
  switch (kind) {
    case 'switchover':
      return [
        `refuse while a backup Job of ${c.system} runs (Jobs labelled component=backup with status.active): a switchover breaks a running backup`,
        `list the members of Patroni cluster ${c.postgres} (patronictl list): one leader, and the standby to switch to: ${c.candidate ?? 'the synchronous standby'} running`,
        `patronictl switchover --leader <leader> --candidate ${c.candidate ?? '<synchronous standby>'} --force ${c.postgres}`,
        'wait until the candidate is the leader and running (time taken recorded)',
        `connect through Service ${c.postgres}: it reaches the new leader (inet_server_addr() is its address), which is not in recovery and commits a write (txid_current())`,
        'wait until the old leader runs again as a standby of the new one',
        record,
      ];
    case 'restore':
      return [
        'download the latest complete backup and verify its checksums (the restore test\'s fetch step)',
        'start a throwaway PostgreSQL in the pod, restore the backup into it and compare every table\'s rows, sequence and index with the backup\'s manifest (restore-drill.sh); the live server is not contacted',
        record,
      ];
    case 'service':
      return [
        ...(c.deployments ?? []).map(d => `kubectl rollout restart deployment/${d} (restartedAt annotation), then wait until every replica is updated and available`),
        ...(c.healthUrls ?? []).map(u => `GET ${u} answers 200`),
        record,
      ];
  }
}

/**
 * The switchover drill (postgres-pgbackrest image: patronictl, psql, python3). Each step is a
 * check in checks.tsv; after a failed one the rest are recorded as skipped. Env: DRILL_DIR,
 * PATRONI_CONFIG (patroni.yml of the members), PATRONI_KUBERNETES_NAMESPACE, SCOPE, CANDIDATE
 * (optional), BACKUP_SELECTOR (label selector of the system's backup Jobs; the drill refuses while
 * one is active), API_BASE_URL and SA_DIR (override the in-cluster API; tests), PGHOST (the primary's Service), PGPORT, PGUSER, PGPASSWORD, PGDATABASE,
 * SWITCH_TIMEOUT_SECONDS (default 120).
 */
export const SWITCHOVER_DRILL_SCRIPT = `#!/bin/bash
# switchover-drill — generated by quality-billing-infra; edit lib/drill/kinds.ts, not this file.
set -uo pipefail
${DRILL_CHECK_FUNCTIONS}: "\${PATRONI_CONFIG:?PATRONI_CONFIG is not set}" "\${SCOPE:?SCOPE is not set}" "\${PGHOST:?PGHOST is not set}" "\${BACKUP_SELECTOR:?BACKUP_SELECTOR is not set}"
log() { printf '%s switchover-drill: %s\\n' "$(now)" "$*" >&2; }
timeout_s="\${SWITCH_TIMEOUT_SECONDS:-120}"
members() { patronictl -c "$PATRONI_CONFIG" list -f json "$SCOPE"; }
# member ROLE-PATTERN FIELD: the first member whose Role matches, as Patroni 3.0 lists it (Leader, Sync Standby, Replica).
member() { members 2>/dev/null | python3 -c 'import json, re, sys
for m in json.load(sys.stdin):
    if re.fullmatch(sys.argv[1], m.get("Role", "")) and m.get("State") in ("running", "streaming"):
        print(m.get(sys.argv[2], "")); break' "$1" "$2"; }
role_of() { members 2>/dev/null | python3 -c 'import json, sys
print(next((m["Role"] + " " + m.get("State", "") for m in json.load(sys.stdin) if m["Member"] == sys.argv[1]), "absent"))' "$1"; }
step() { # step NAME: runs the function of that name as a check
  local name="$1" fn="$2" started
  started=$(now)
  if earlier_failure; then check_line "$name" skipped "$started" "not run: an earlier check of this drill failed"; return; fi
  check_begin "$name" "$started"
  # Not in a subshell: the steps hand the leader and the candidate on to the next ones.
  if "$fn" > "$DRILL_DIR/detail"; then detail=$(tail -n 1 "$DRILL_DIR/detail"); check_line "$name" passed "$started" "$detail"; log "passed: $name: $detail"
  else detail=$(tail -n 1 "$DRILL_DIR/detail"); check_line "$name" failed "$started" "$detail"; log "FAILED: $name: $detail"; fi
}

# A switchover during a backup breaks the backup (pgBackRest's full backup and the logical dump read
# from the leader for hours): refuse while any backup Job of the system (BACKUP_SELECTOR) is active.
no_backup() {
  python3 - <<'PY'
import json, os, ssl, sys, urllib.parse, urllib.request
sa = os.environ.get("SA_DIR", "/var/run/secrets/kubernetes.io/serviceaccount")
base = os.environ.get("API_BASE_URL") or "https://%s:%s" % (os.environ.get("KUBERNETES_SERVICE_HOST", ""), os.environ.get("KUBERNETES_SERVICE_PORT", ""))
ctx = ssl.create_default_context(cafile=os.path.join(sa, "ca.crt")) if base.startswith("https") else None
ns = open(os.path.join(sa, "namespace")).read().strip()
selector = os.environ["BACKUP_SELECTOR"]
req = urllib.request.Request("%s/apis/batch/v1/namespaces/%s/jobs?labelSelector=%s" % (base, ns, urllib.parse.quote(selector, safe="")),
    headers={"Authorization": "Bearer " + open(os.path.join(sa, "token")).read().strip(), "Accept": "application/json"})
try:
    with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
        items = json.load(r).get("items", [])
except Exception as e:
    print("cannot list the backup Jobs (%s), so no switchover: %s" % (selector, e)); sys.exit(1)
active = [j["metadata"]["name"] for j in items if (j.get("status") or {}).get("active", 0) > 0]
if active:
    print("backup Job %s %s running: no switchover during a backup" % (", ".join(active), "is" if len(active) == 1 else "are")); sys.exit(1)
print("no backup Job running (%d backup Jobs listed, %s)" % (len(items), selector))
PY
}

before() {
  leader=$(member 'Leader' Member); leader_host=$(member 'Leader' Host)
  [[ -n "$leader" ]] || { echo "no running leader in cluster $SCOPE: $(members 2>&1 | tr '\\n' ' ')"; return 1; }
  if [[ -n "\${CANDIDATE:-}" ]]; then
    candidate="$CANDIDATE"
    [[ "$(role_of "$candidate")" =~ ^(Sync\\ Standby|Replica)\\ (running|streaming)$ ]] || { echo "candidate $candidate is $(role_of "$candidate"), not a running standby"; return 1; }
  else
    # With synchronous_mode only the synchronous standby may be promoted.
    candidate=$(member 'Sync Standby' Member); [[ -n "$candidate" ]] || candidate=$(member 'Replica' Member)
    [[ -n "$candidate" ]] || { echo "no running standby in cluster $SCOPE to switch over to"; return 1; }
  fi
  echo "leader $leader ($leader_host), switching to $candidate"
}

switch() {
  switch_started=$(date +%s)
  out=$(patronictl -c "$PATRONI_CONFIG" switchover --leader "$leader" --candidate "$candidate" --force "$SCOPE" 2>&1) || { echo "patronictl switchover failed: $(printf '%s' "$out" | tail -n 1)"; return 1; }
  echo "patronictl switchover: $(printf '%s' "$out" | grep -v '^[[:space:]]*$' | tail -n 1)"
}

promoted() {
  local deadline=$(( $(date +%s) + timeout_s ))
  until [[ "$(role_of "$candidate")" == "Leader running" ]]; do
    (( $(date +%s) < deadline )) || { echo "$candidate is $(role_of "$candidate") after \${timeout_s} s"; return 1; }
    sleep 1
  done
  new_host=$(member 'Leader' Host)
  echo "$candidate leads ($new_host) $(( $(date +%s) - switch_started )) s after the switchover was asked"
}

writes() {
  local deadline=$(( $(date +%s) + timeout_s )) got=""
  # Through the Service clients use: it must reach the new leader, out of recovery, and commit.
  while (( $(date +%s) < deadline )); do
    got=$(PGCONNECT_TIMEOUT=5 psql -X -A -t -q -v ON_ERROR_STOP=1 -c "SET statement_timeout = '10s'" \\
      -c "SELECT host(inet_server_addr()) || ' ' || pg_is_in_recovery()::text || ' ' || txid_current()" 2>&1 | tail -n 1)
    if [[ "$got" == "$new_host f "* ]]; then echo "Service $PGHOST reached $candidate ($new_host), not in recovery, committed transaction \${got##* }"; return 0; fi
    sleep 2
  done
  echo "Service $PGHOST did not reach a writable $candidate ($new_host) in \${timeout_s} s; last answer: $got"
  return 1
}

rejoined() {
  local deadline=$(( $(date +%s) + timeout_s ))
  until [[ "$(role_of "$leader")" =~ ^(Sync\\ Standby|Replica)\\ (running|streaming)$ ]]; do
    (( $(date +%s) < deadline )) || { echo "$leader is $(role_of "$leader") after \${timeout_s} s"; return 1; }
    sleep 2
  done
  echo "$leader runs as $(role_of "$leader")"
}

step "no backup Job of the system is running" no_backup
step "cluster before the switchover" before
step "patronictl switchover" switch
step "the candidate is the new leader" promoted
step "the Service reaches the new leader and it accepts writes" writes
step "the old leader rejoined as a standby" rejoined
exit 0
`;

/**
 * The service drill (python image, standard library only): for each Deployment in DEPLOYMENTS
 * (space-separated), the `kubectl rollout restart` patch (annotation
 * kubectl.kubernetes.io/restartedAt on the pod template), then what `kubectl rollout status` waits
 * for (observedGeneration caught up, every replica updated and available, no old one left); then a
 * GET of each URL in HEALTH_URLS must answer 200. Each is a check in checks.tsv (lib/drill/record.ts).
 * Env: DRILL_DIR, DEPLOYMENTS, HEALTH_URLS, ROLLOUT_TIMEOUT_SECONDS (default 600); the pod's
 * service-account token; API_BASE_URL and SA_DIR override the in-cluster API (tests).
 */
export const SERVICE_DRILL_PY = `
import json, os, ssl, sys, time, urllib.error, urllib.request
drill = os.environ["DRILL_DIR"]
os.makedirs(drill, exist_ok=True)
now = lambda: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
started_file = os.path.join(drill, "started")
if not os.path.exists(started_file) or not open(started_file).read().strip():
    open(started_file, "w").write(now() + "\\n")
failed = False
def check(name, fn):
    global failed
    started = now()
    if failed:
        result, detail = "skipped", "not run: an earlier check of this drill failed"
    else:
        # What drill-budget.sh records as timed out when the step's budget runs out.
        open(os.path.join(drill, "running"), "w").write("%s\\t%s\\n" % (name.replace("\\t", " "), started))
        try:
            result, detail = "passed", fn()
        except Exception as e:
            result, detail, failed = "failed", str(e), True
    detail = " ".join(str(detail).split())[:500]
    with open(os.path.join(drill, "checks.tsv"), "a") as f:
        f.write("\\t".join([name.replace("\\t", " "), result, started, now(), detail]) + "\\n")
    if os.path.exists(os.path.join(drill, "running")):
        os.remove(os.path.join(drill, "running"))
    print("%s service-drill: %s: %s: %s" % (now(), result, name, detail), file=sys.stderr, flush=True)

sa = os.environ.get("SA_DIR", "/var/run/secrets/kubernetes.io/serviceaccount")
base = os.environ.get("API_BASE_URL") or "https://%s:%s" % (os.environ.get("KUBERNETES_SERVICE_HOST", ""), os.environ.get("KUBERNETES_SERVICE_PORT", ""))
ctx = ssl.create_default_context(cafile=os.path.join(sa, "ca.crt")) if base.startswith("https") else None
ns = open(os.path.join(sa, "namespace")).read().strip()
timeout = int(os.environ.get("ROLLOUT_TIMEOUT_SECONDS", "600"))
def api(method, path, body=None):
    token = open(os.path.join(sa, "token")).read().strip()
    headers = {"Authorization": "Bearer " + token, "Accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/merge-patch+json"
    req = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
        return json.load(r)

def restart(name):
    def run():
        path = "/apis/apps/v1/namespaces/%s/deployments/%s" % (ns, name)
        t0 = time.monotonic()
        at = now()
        generation = api("PATCH", path, {"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": at}}}}})["metadata"]["generation"]
        while True:
            d = api("GET", path)
            want = d["spec"].get("replicas", 1)
            s = d.get("status", {})
            if (s.get("observedGeneration", 0) >= generation and s.get("updatedReplicas", 0) == want
                    and s.get("replicas", 0) == want and s.get("availableReplicas", 0) == want):
                return "restarted at %s; %d of %d replicas updated and available after %.0f s" % (at, want, want, time.monotonic() - t0)
            if time.monotonic() - t0 > timeout:
                raise RuntimeError("rollout of %s not done after %d s: %d of %d updated, %d available" % (name, timeout, s.get("updatedReplicas", 0), want, s.get("availableReplicas", 0)))
            time.sleep(float(os.environ.get("POLL_SECONDS", "5")))
    return run

def healthy(url):
    def run():
        try:
            with urllib.request.urlopen(url, timeout=10) as r:
                return "%s answered %d" % (url, r.status)
        except urllib.error.HTTPError as e:
            raise RuntimeError("%s answered %d" % (url, e.code))
    return run

for name in os.environ.get("DEPLOYMENTS", "").split():
    check("rollout restart deployment/%s" % name, restart(name))
for url in os.environ.get("HEALTH_URLS", "").split():
    check("GET %s" % url, healthy(url))
`.trimStart();
