import { ValidationError } from '../errors';
import { LOG_INDEX_PREFIX } from './elasticsearch';

/**
 * The log archive of seed 002 §11.2 (日志文件备份：定期归档到对象存储): Elasticsearch snapshots of
 * the daily log indices to an S3 repository, taken and expired by a snapshot lifecycle (SLM)
 * policy. No Elasticsearch runs here, so the request bodies are modelled on Elastic's 7.17
 * reference and checked by the rules it states (cited at each check); the tests show that a body
 * breaking one of them is refused at synth.
 *
 * - S3 repository: https://www.elastic.co/guide/en/elasticsearch/plugins/7.17/repository-s3-repository.html
 * - SLM policy: https://www.elastic.co/guide/en/elasticsearch/reference/7.17/slm-api-put-policy.html
 * - Cron: https://www.elastic.co/guide/en/elasticsearch/reference/7.17/cron-expressions.html
 * - Time units: https://www.elastic.co/guide/en/elasticsearch/reference/7.17/api-conventions.html#time-units
 * - Restore: https://www.elastic.co/guide/en/elasticsearch/reference/7.17/restore-snapshot-api.html
 */

/** Default schedule: 01:30 UTC daily, after the UTC day's index (`quality-billing-YYYY.MM.DD`) stopped receiving logs. */
export const DEFAULT_SNAPSHOT_SCHEDULE = '0 30 1 * * ?';
/** Snapshots always kept, however old: a month of failed snapshots never deletes the last good ones (as the file backups' MIN_KEEP). */
export const DEFAULT_SNAPSHOT_MIN_COUNT = 3;
/** Name of the repository and of the policy. */
export const DEFAULT_SNAPSHOT_REPOSITORY = 'log-archive';

interface CronField {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
  /** Special characters beyond `, - * /` that the field accepts. */
  readonly special: readonly string[];
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
// Quartz numbers the days 1 (Sunday) to 7 (Saturday), not cron's 0-6.
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
/** The elements of an Elasticsearch cron expression, with the values and special characters Elastic's reference allows each. */
const CRON_FIELDS: readonly CronField[] = [
  { name: 'seconds', min: 0, max: 59, special: [] },
  { name: 'minutes', min: 0, max: 59, special: [] },
  { name: 'hours', min: 0, max: 23, special: [] },
  { name: 'day_of_month', min: 1, max: 31, special: ['?', 'L', 'W'] },
  { name: 'month', min: 1, max: 12, names: MONTHS, special: [] },
  { name: 'day_of_week', min: 1, max: 7, names: DAYS, special: ['?', 'L', '#'] },
  { name: 'year', min: 1970, max: 2099, special: [] },
];

const CRON_ALLOWED = 'an Elasticsearch (Quartz) cron expression "<seconds> <minutes> <hours> <day_of_month> <month> <day_of_week> [year]", '
  + 'seconds and minutes 0-59, hours 0-23, day_of_month 1-31, month 1-12 or JAN-DEC, day_of_week 1-7 or SUN-SAT, year 1970-2099, '
  + 'with "?" in exactly one of day_of_month and day_of_week (e.g. "0 30 1 * * ?": 01:30 UTC daily)';

/**
 * Checks an Elasticsearch cron expression by the rules of Elastic's "Cron expressions" page
 * (Quartz syntax: a seconds element first, an optional year last, `?` for "no specific value" in
 * one of the two day elements) and returns it. Not the five-field Kubernetes cron of our CronJobs:
 * "0 2 * * *" is refused here, as Elasticsearch refuses it.
 */
export function checkElasticsearchCron(path: string, field: string, expression: string): string {
  const fail = (why: string): never => { throw new ValidationError(path, field, expression, `${CRON_ALLOWED}; ${why}`); };
  if (typeof expression !== 'string') fail('not a string');
  const parts = expression.trim().split(/\s+/);
  if (parts.length < 6 || parts.length > 7) fail(`it has ${parts.length} elements, 6 or 7 are required (the first is seconds)`);
  parts.forEach((part, i) => {
    const problem = cronFieldProblem(CRON_FIELDS[i], part);
    if (problem) fail(`${CRON_FIELDS[i].name} "${part}": ${problem}`);
  });
  // Quartz: "you must currently use the '?' character in one of these fields" (and not in both).
  const [dom, dow] = [parts[3], parts[5]];
  if ((dom === '?') === (dow === '?')) fail('exactly one of day_of_month and day_of_week must be "?"');
  return expression;
}

function cronFieldProblem(f: CronField, part: string): string | undefined {
  const value = (v: string): number | undefined => {
    const upper = v.toUpperCase();
    const byName = f.names?.indexOf(upper) ?? -1;
    if (byName >= 0) return byName + f.min;
    if (!/^\d+$/.test(v)) return undefined;
    const n = Number(v);
    return n >= f.min && n <= f.max ? n : undefined;
  };
  const range = `${f.min}-${f.max}${f.names ? ` or ${f.names[0]}-${f.names[f.names.length - 1]}` : ''}`;
  if (part === '?') return f.special.includes('?') ? undefined : '"?" is only allowed in day_of_month and day_of_week';
  const items = part.split(',');
  for (const item of items) {
    if (item === '') return 'an empty list item';
    // Day-of-month specials: L (last day), L-n (n days before it), LW (last weekday), nW (weekday nearest day n).
    if (f.special.includes('W') && /^(L(-\d+)?|LW|\d+W)$/.test(item)) {
      if (items.length > 1) return `"${item}" cannot be part of a list`;
      const n = item.match(/\d+/)?.[0];
      if (n !== undefined && (item.endsWith('W') ? value(n) === undefined : Number(n) > 30)) return `day ${n} is out of range`;
      continue;
    }
    // Day-of-week specials: L (Saturday), nL (last day n of the month), n#k (k-th day n of the month).
    if (f.special.includes('#') && /^(L|[A-Za-z0-9]+L|[A-Za-z0-9]+#\d)$/.test(item)) {
      if (items.length > 1) return `"${item}" cannot be part of a list`;
      const [day, k] = item === 'L' ? ['7', undefined] : item.includes('#') ? item.split('#') : [item.slice(0, -1), undefined];
      if (value(day) === undefined) return `"${day}" is not a day ${range}`;
      if (k !== undefined && (Number(k) < 1 || Number(k) > 5)) return `"#${k}": the week of the month is 1-5`;
      continue;
    }
    const [base, step, extra] = item.split('/');
    if (extra !== undefined) return `"${item}" has more than one "/"`;
    if (step !== undefined && (!/^\d+$/.test(step) || Number(step) < 1 || Number(step) > f.max - f.min + 1)) {
      return `increment "${step}" must be a whole number from 1 to ${f.max - f.min + 1}`;
    }
    if (base === '*') continue;
    const [from, to, more] = base.split('-');
    if (more !== undefined) return `"${base}" is not a range`;
    const a = value(from);
    if (a === undefined) return `"${from}" is not a value ${range}`;
    if (to !== undefined && value(to) === undefined) return `"${to}" is not a value ${range}`;
  }
  return undefined;
}

/** Time units of Elastic's API conventions: d, h, m, s, ms, micros, nanos. */
const TIME_VALUE = /^([1-9]\d*)(d|h|m|s|ms|micros|nanos)$/;

/** Checks a positive Elasticsearch time value ("30d", "12h"); a unit outside Elastic's list ("30days", "1w") is refused. */
export function checkTimeValue(path: string, field: string, value: string): string {
  if (typeof value !== 'string' || !TIME_VALUE.test(value)) {
    throw new ValidationError(path, field, value, 'a positive Elasticsearch time value: a whole number and one of the units d, h, m, s, ms, micros, nanos (e.g. "30d")');
  }
  return value;
}

/**
 * Checks a snapshot repository or SLM policy name. Elasticsearch refuses names that are empty,
 * not lower-case, start with "_" or hold whitespace, ",", "#" or a file-name-invalid character
 * (\ / * ? " < > |); we keep to the safe subset, which also sits in a URL path unescaped.
 */
export function checkSnapshotName(path: string, field: string, value: string): string {
  if (typeof value !== 'string' || !/^[a-z0-9][a-z0-9._-]{0,254}$/.test(value)) {
    throw new ValidationError(path, field, value, 'a lower-case name of letters, digits, ".", "_" and "-", starting with a letter or digit (Elasticsearch refuses upper case, a leading "_", whitespace and , # \\ / * ? " < > |)');
  }
  return value;
}

/** What the S3 repository and its SLM policy are made of. */
export interface LogSnapshotPlan {
  /** Repository name (also the policy's id). */
  readonly repository: string;
  readonly bucket: string;
  /** Folder in the bucket, without "/" at either end (Elastic: base_path "should not start or end with a /"). */
  readonly basePath: string;
  /** Elasticsearch cron, UTC. */
  readonly schedule: string;
  /** Days a snapshot is kept (`retention.expire_after`). */
  readonly retentionDays: number;
  /** Snapshots kept whatever their age. */
  readonly minCount: number;
  /** Snapshots kept at most. */
  readonly maxCount: number;
}

/** Body of `PUT _snapshot/<repository>`: an S3 repository on the "default" client (whose keys are in the keystore), metadata compressed. */
export function s3RepositoryBody(p: LogSnapshotPlan): S3RepositoryBody {
  return { type: 's3', settings: { bucket: p.bucket, base_path: p.basePath, client: 'default', compress: true } };
}

/** The S3 repository request body. */
export interface S3RepositoryBody {
  readonly type: string;
  readonly settings: Readonly<Record<string, unknown>>;
}

/** The SLM policy request body. */
export interface SlmPolicyBody {
  readonly schedule: string;
  readonly name: string;
  readonly repository: string;
  readonly config: { readonly indices: readonly string[]; readonly ignore_unavailable: boolean; readonly include_global_state: boolean };
  readonly retention: { readonly expire_after: string; readonly min_count: number; readonly max_count: number };
}

/**
 * Body of `PUT _slm/policy/<repository>`: the daily log indices only (no global state, so a
 * restore never overwrites the cluster's templates or security), a date-math name per UTC day,
 * snapshots expired after the retention but never below `minCount`.
 */
export function slmPolicyBody(p: LogSnapshotPlan): SlmPolicyBody {
  return {
    schedule: p.schedule,
    name: `<${p.repository}-{now/d}>`,
    repository: p.repository,
    config: { indices: [`${LOG_INDEX_PREFIX}-*`], ignore_unavailable: true, include_global_state: false },
    retention: { expire_after: `${p.retentionDays}d`, min_count: p.minCount, max_count: p.maxCount },
  };
}

/** Repository settings of repository-s3 7.17 ("Repository settings" of the plugin's page). */
const S3_REPOSITORY_SETTINGS = ['bucket', 'client', 'base_path', 'chunk_size', 'compress', 'max_restore_bytes_per_sec', 'max_snapshot_bytes_per_sec', 'readonly', 'server_side_encryption', 'buffer_size', 'canned_acl', 'storage_class'];

/** Checks a repository body by the plugin's rules: type "s3", a bucket, a base_path without "/" at either end, known settings only. */
export function validateS3RepositoryBody(path: string, body: S3RepositoryBody): void {
  const f = (field: string) => `repository.${field}`;
  if (body?.type !== 's3') throw new ValidationError(path, f('type'), body?.type, '"s3"');
  const s = body.settings ?? {};
  if (typeof s.bucket !== 'string' || s.bucket === '') throw new ValidationError(path, f('settings.bucket'), s.bucket, 'the bucket name (required)');
  if (s.base_path !== undefined && (typeof s.base_path !== 'string' || /^\/|\/$/.test(s.base_path))) {
    throw new ValidationError(path, f('settings.base_path'), s.base_path, 'a folder that does not start or end with "/"');
  }
  for (const key of Object.keys(s)) {
    if (!S3_REPOSITORY_SETTINGS.includes(key)) throw new ValidationError(path, f(`settings.${key}`), s[key], `a repository-s3 setting: ${S3_REPOSITORY_SETTINGS.join(', ')} (credentials are keystore settings, never repository settings)`);
  }
}

/**
 * Checks an SLM policy body by the request-body rules of Elastic's "Create or update snapshot
 * lifecycle policy API": schedule, name, repository and config are required; config.indices
 * names what is snapshotted; retention's expire_after is a time value and min_count/max_count are
 * positive whole numbers, min_count at most max_count. Unknown fields are refused.
 */
export function validateSlmPolicyBody(path: string, body: SlmPolicyBody): void {
  const f = (field: string) => `slmPolicy.${field}`;
  const b = (body ?? {}) as unknown as Record<string, unknown>;
  for (const key of Object.keys(b)) {
    if (!['schedule', 'name', 'repository', 'config', 'retention'].includes(key)) throw new ValidationError(path, f(key), b[key], 'one of schedule, name, repository, config, retention');
  }
  checkElasticsearchCron(path, f('schedule'), body.schedule);
  if (typeof body.name !== 'string' || !/^<[a-z0-9][a-z0-9._-]*\{now\/[dMy]\}>$|^[a-z0-9][a-z0-9._-]*$/.test(body.name)) {
    throw new ValidationError(path, f('name'), body.name, 'a lower-case snapshot name, optionally with date math such as "<log-archive-{now/d}>" (required)');
  }
  if (body.repository === undefined) throw new ValidationError(path, f('repository'), body.repository, 'the name of the registered repository (required)');
  checkSnapshotName(path, f('repository'), body.repository);
  const indices = body.config?.indices;
  if (!Array.isArray(indices) || indices.length === 0 || indices.some(i => typeof i !== 'string' || i === '')) {
    throw new ValidationError(path, f('config.indices'), indices, 'a non-empty list of index names or patterns (required)');
  }
  for (const key of ['ignore_unavailable', 'include_global_state'] as const) {
    if (body.config[key] !== undefined && typeof body.config[key] !== 'boolean') throw new ValidationError(path, f(`config.${key}`), body.config[key], 'true or false');
  }
  const r = body.retention;
  if (r === undefined) return;
  if (r.expire_after !== undefined) checkTimeValue(path, f('retention.expire_after'), r.expire_after);
  for (const key of ['min_count', 'max_count'] as const) {
    if (r[key] !== undefined && (!Number.isInteger(r[key]) || r[key] < 1)) throw new ValidationError(path, f(`retention.${key}`), r[key], 'a whole number of at least 1');
  }
  if (r.min_count !== undefined && r.max_count !== undefined && r.min_count > r.max_count) {
    throw new ValidationError(path, f('retention.min_count'), r.min_count, `at most retention.max_count (${r.max_count})`);
  }
}

/**
 * Body of `POST _snapshot/<repository>/<snapshot>/_restore` that brings the log indices of a
 * snapshot back beside the live ones, as `restored-<index>`: renamed, so a restore never clashes
 * with (or overwrites) today's indices; without the lifecycle setting, so ILM does not delete an
 * index older than the retention the moment it is restored; without aliases or global state.
 */
export function restoreRequestBody(indices = `${LOG_INDEX_PREFIX}-*`, replicas = 0): object {
  return {
    indices,
    ignore_unavailable: true,
    include_global_state: false,
    include_aliases: false,
    rename_pattern: '(.+)',
    rename_replacement: 'restored-$1',
    ignore_index_settings: ['index.lifecycle.name'],
    index_settings: { 'index.number_of_replicas': replicas },
  };
}

/**
 * The setup Job's program (POSIX sh with curl, the curl image): wait for the cluster to be at least
 * yellow, register the repository (Elasticsearch verifies it on every node), then install the
 * SLM policy. Both PUTs replace what is there, so running it again changes nothing. A request is
 * retried while Elasticsearch cannot be reached or answers 408/429/5xx (starting, a repository not
 * yet reachable); any other 4xx is a bad request and fails the Job at once with Elasticsearch's
 * answer. Env: ES_URL, ELASTIC_PASSWORD, REPOSITORY, FILES_DIR; ATTEMPTS and RETRY_DELAY (tests).
 */
export const SNAPSHOT_SETUP_SCRIPT = `#!/bin/sh
# log-snapshot-setup — generated by quality-billing-infra; edit lib/logging/snapshots.ts, not this file.
set -eu
: "\${ES_URL:?ES_URL is not set}" "\${REPOSITORY:?REPOSITORY is not set}" "\${FILES_DIR:?FILES_DIR is not set}"
attempts="\${ATTEMPTS:-60}"
delay="\${RETRY_DELAY:-5}"
log() { printf '%s log-snapshot-setup: %s\\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }
# req METHOD PATH [FILE]
req() {
  i=0
  while :; do
    i=$((i + 1))
    out=$(curl -sS -u "elastic:\${ELASTIC_PASSWORD:-}" -X "$1" "$ES_URL$2" -H 'Content-Type: application/json' \\
      \${3:+--data-binary "@$FILES_DIR/$3"} -w '\\n%{http_code}' 2>&1) || out="$out
000"
    code=$(printf '%s\\n' "$out" | tail -n 1)
    body=$(printf '%s\\n' "$out" | sed '$d')
    case "$code" in
      2??) log "$1 $2: $code"; return 0 ;;
      000|408|429|5??) ;;
      *) log "FAILED: $1 $2: $code $body"; exit 1 ;;
    esac
    [ "$i" -lt "$attempts" ] || { log "FAILED: $1 $2: gave up after $i attempts, last answer $code $body"; exit 1; }
    log "$1 $2: $code, retrying in \${delay}s"
    sleep "$delay"
  done
}
req GET '/_cluster/health?wait_for_status=yellow&timeout=10s'
req PUT "/_snapshot/$REPOSITORY" repository.json
req PUT "/_slm/policy/$REPOSITORY" slm-policy.json
log "repository $REPOSITORY and its snapshot lifecycle policy are in place"
`;
