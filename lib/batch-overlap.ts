import { CronExpressionParser } from 'cron-parser';

/**
 * When a scheduled job's pods can run: what the time-aware capacity planner reads from a
 * CronJob's spec (`schedule`, `timeZone`, `startingDeadlineSeconds` and the job template's
 * `activeDeadlineSeconds`).
 */
export interface BatchSchedule {
  /** Five-field cron expression or @-macro, as the CronJob controller reads it. */
  readonly schedule: string;
  /** IANA time zone the schedule is read in (`spec.timeZone`). @default "UTC" */
  readonly timeZone?: string;
  /**
   * Seconds after its scheduled time a missed run may still start (`spec.startingDeadlineSeconds`):
   * a run that starts that late still runs for its whole active deadline.
   * @default - 0: the run starts on time
   */
  readonly startingDeadlineSeconds?: number;
  /**
   * Seconds a run may be active before Kubernetes ends it (the Job's `activeDeadlineSeconds`).
   * @default - none: a run can last any time, so its pod is counted as always running
   */
  readonly activeDeadlineSeconds?: number;
}

/** A span of the reference week in milliseconds from Monday 00:00 UTC, end excluded. */
export interface WeekSpan {
  readonly start: number;
  readonly end: number;
}

/** Milliseconds in a week. */
export const WEEK_MS = 7 * 24 * 3600 * 1000;

/** The reference week starts on Monday 2024-01-01 00:00 UTC (any Monday would do: schedules are folded onto it). */
const WEEK_START = Date.UTC(2024, 0, 1);

/**
 * The spans of one week in which a run of `s` can hold its pod: each run from its scheduled time
 * to that time plus `startingDeadlineSeconds` (the latest it may start) plus
 * `activeDeadlineSeconds` (the longest it may run). Runs are listed with cron-parser over the
 * week. A schedule restricted by day of month or month (the monthly restore test, @yearly) is
 * folded onto every day at its times, since its day falls on any weekday in some week; a schedule
 * with no active deadline, or one that can run a week, is `'always'`.
 */
export function batchOccupancy(s: BatchSchedule): WeekSpan[] | 'always' {
  const key = JSON.stringify([s.schedule, s.timeZone, s.startingDeadlineSeconds, s.activeDeadlineSeconds]);
  if (!occupancies.has(key)) occupancies.set(key, occupancyOf(s));
  return occupancies.get(key)!;
}

/** Occupancies already listed: every environment and system repeats the same few schedules. */
const occupancies = new Map<string, WeekSpan[] | 'always'>();

function occupancyOf(s: BatchSchedule): WeekSpan[] | 'always' {
  if (s.activeDeadlineSeconds === undefined) return 'always';
  const duration = ((s.startingDeadlineSeconds ?? 0) + s.activeDeadlineSeconds) * 1000;
  if (duration >= WEEK_MS) return 'always';
  const tz = s.timeZone ?? 'UTC';
  const fields = CronExpressionParser.parse(s.schedule).fields;
  const weekly = fields.dayOfMonth.isWildcard && fields.month.isWildcard;
  const expression = weekly ? s.schedule : `${fields.minute.values.join(',')} ${fields.hour.values.join(',')} * * *`;
  const spans: WeekSpan[] = [];
  // Start one run-length early so a run that began before Monday and lasts into it is seen.
  for (const run of scheduledRuns(expression, tz, WEEK_START - duration - 1, WEEK_START + WEEK_MS)) {
    const at = run - WEEK_START;
    spans.push(...clipToWeek(at, at + duration));
  }
  return mergeSpans(spans);
}

/**
 * The times (epoch ms, ascending) at which cron `expression`, read in `timeZone`, runs after
 * `after` and before `before`. cron-parser parses it; when the zone keeps one UTC offset over the
 * whole span (every zone in the reference week: none changes its clocks in the first days of
 * January) the runs are the matching days' hours and minutes at that offset, days matched by
 * cron-parser's rules (month, and day of month or day of week: either when both are restricted).
 * Otherwise, and for an nth or last weekday ("5#3", "5L") or a last day of month ("L"),
 * cron-parser lists them itself, with its handling of clocks that jump or repeat. The same answer
 * about a hundred times faster: cron-parser steps a time-zone-aware date field by field to each
 * run (about 2 ms a run in Asia/Shanghai), and every synth lists the runs of every CronJob.
 */
export function scheduledRuns(expression: string, timeZone: string, after: number, before: number): number[] {
  const { fields } = CronExpressionParser.parse(expression);
  const numbers = (xs: ReadonlyArray<number | string>) => (xs.every(x => typeof x === 'number') ? [...(xs as number[])].sort((a, b) => a - b) : undefined);
  const [seconds, minutes, hours, weekdays, monthDays, months] = [fields.second, fields.minute, fields.hour, fields.dayOfWeek, fields.dayOfMonth, fields.month].map(f => numbers(f.values));
  const offset = seconds && minutes && hours && weekdays && monthDays && months && fields.dayOfWeek.nthDay === 0 ? fixedOffset(timeZone, after, before) : undefined;
  if (offset === undefined) return cronParserRuns(expression, timeZone, after, before);
  // Sunday is 0 and 7 in cron, 0 for Date; cron months count from 1, Date's from 0.
  const dows = new Set(weekdays!.map(d => d % 7));
  const doms = new Set(monthDays);
  const monthSet = new Set(months!.map(m => m - 1));
  const domRestricted = !fields.dayOfMonth.isWildcard;
  const dowRestricted = !fields.dayOfWeek.isWildcard;
  const runsOn = (date: Date) => {
    if (!monthSet.has(date.getUTCMonth())) return false;
    const dom = doms.has(date.getUTCDate());
    const dow = dows.has(date.getUTCDay());
    return domRestricted && dowRestricted ? dom || dow : dowRestricted ? dow : dom;
  };
  const listed: number[] = [];
  for (let day = Math.floor((after + offset) / DAY_MS); day * DAY_MS - offset < before; day++) {
    if (!runsOn(new Date(day * DAY_MS))) continue;
    for (const h of hours!) {
      for (const m of minutes!) {
        for (const sec of seconds!) {
          const at = day * DAY_MS + ((h * 60 + m) * 60 + sec) * 1000 - offset;
          if (at > after && at < before) listed.push(at);
        }
      }
    }
  }
  return listed;
}

/** The same runs as `scheduledRuns`, listed by cron-parser's own iteration. */
export function cronParserRuns(expression: string, timeZone: string, after: number, before: number): number[] {
  const runs = CronExpressionParser.parse(expression, { tz: timeZone, currentDate: new Date(after), endDate: new Date(before) });
  const listed: number[] = [];
  while (runs.hasNext()) {
    const at = runs.next().getTime();
    if (at >= before) break;
    listed.push(at);
  }
  return listed;
}

const DAY_MS = 24 * 3600 * 1000;

/**
 * `timeZone`'s offset from UTC in ms (local time minus UTC) when it is the same from the day
 * before `from` to the day after `to` (whole UTC days), else undefined. Read with Intl every six hours: a zone
 * keeps an offset for weeks at least (the shortest in the tz database, Morocco's suspension of
 * summer time for Ramadan, lasts about a month).
 */
function fixedOffset(timeZone: string, from: number, to: number): number | undefined {
  const [lo, hi] = [(Math.floor(from / DAY_MS) - 1) * DAY_MS, (Math.ceil(to / DAY_MS) + 1) * DAY_MS];
  const key = `${timeZone}\0${lo}\0${hi}`;
  if (!offsets.has(key)) {
    const f = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    const offsetAt = (ms: number) => {
      const p = Object.fromEntries(f.formatToParts(new Date(ms)).map(x => [x.type, x.value]));
      return Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day), Number(p.hour), Number(p.minute), Number(p.second)) - ms;
    };
    const first = offsetAt(lo);
    let t = lo;
    while (t < hi && offsetAt(t) === first) t = Math.min(t + 6 * 3600 * 1000, hi);
    offsets.set(key, t === hi && offsetAt(hi) === first ? first : undefined);
  }
  return offsets.get(key);
}

/** Offsets already read, by zone and span. */
const offsets = new Map<string, number | undefined>();

/** The part of [start, end) inside the week, a run before Monday mapped to the week's end (a week repeats). */
function clipToWeek(start: number, end: number): WeekSpan[] {
  if (start < 0) return [{ start: start + WEEK_MS, end: WEEK_MS }, ...(end > 0 ? [{ start: 0, end }] : [])];
  if (end > WEEK_MS) return [{ start, end: WEEK_MS }, { start: 0, end: end - WEEK_MS }];
  return [{ start, end }];
}

function mergeSpans(spans: readonly WeekSpan[]): WeekSpan[] {
  const sorted = [...spans].sort((a, b) => a.start - b.start);
  const merged: WeekSpan[] = [];
  for (const s of sorted) {
    const last = merged[merged.length - 1];
    if (last && s.start <= last.end) merged[merged.length - 1] = { start: last.start, end: Math.max(last.end, s.end) };
    else merged.push({ ...s });
  }
  return merged;
}

/** A set of scheduled jobs that can run at the same time, and the first span of the week in which they do. */
export interface ConcurrentSet {
  /** The jobs' names, in the order they were given. */
  readonly names: readonly string[];
  /** The first span of the week in which exactly these jobs can run. */
  readonly span: WeekSpan;
}

/**
 * The maximal sets of `jobs` that can run at once over the week (no set is contained in another):
 * the week is cut at every run's start and end, and each piece's running jobs form a set. Two jobs
 * whose spans never overlap are never in one set, so they share capacity. Jobs that are `'always'`
 * are in every set. An empty list gives one empty set.
 */
export function concurrentSets(jobs: ReadonlyArray<{ readonly name: string; readonly occupancy: WeekSpan[] | 'always' }>): ConcurrentSet[] {
  const cuts = [...new Set([0, WEEK_MS, ...jobs.flatMap(j => (j.occupancy === 'always' ? [] : j.occupancy.flatMap(s => [s.start, s.end])))])].sort((a, b) => a - b);
  const found = new Map<string, ConcurrentSet>();
  for (let i = 0; i + 1 < cuts.length; i++) {
    const span = { start: cuts[i], end: cuts[i + 1] };
    const names = jobs.filter(j => j.occupancy === 'always' || j.occupancy.some(s => s.start <= span.start && span.end <= s.end)).map(j => j.name);
    const key = names.join('\n');
    const known = found.get(key);
    // Adjacent pieces with the same jobs are one span.
    if (!known) found.set(key, { names, span });
    else if (known.span.end === span.start) found.set(key, { names, span: { start: known.span.start, end: span.end } });
  }
  const sets = [...found.values()];
  return sets.filter(a => !sets.some(b => b !== a && b.names.length > a.names.length && a.names.every(n => b.names.includes(n))));
}

/** A span of the reference week in words, in `timeZone`: "Sun 02:00–09:00" (or "Sun 21:00–Mon 06:00"). */
export function describeWeekSpan(span: WeekSpan, timeZone = 'UTC'): string {
  let f = weekdayClocks.get(timeZone);
  if (!f) weekdayClocks.set(timeZone, f = new Intl.DateTimeFormat('en-GB', { timeZone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }));
  const at = (ms: number) => {
    const parts = Object.fromEntries(f.formatToParts(new Date(WEEK_START + ms)).map(p => [p.type, p.value]));
    return { day: parts.weekday, time: `${parts.hour}:${parts.minute}` };
  };
  if (span.start === 0 && span.end === WEEK_MS) return 'all week';
  const a = at(span.start);
  const b = at(span.end);
  return a.day === b.day && span.end - span.start < 24 * 3600 * 1000 ? `${a.day} ${a.time}–${b.time}` : `${a.day} ${a.time}–${b.day} ${b.time}`;
}

/** describeWeekSpan's formatters by time zone: making one costs more than formatting with it. */
const weekdayClocks = new Map<string, Intl.DateTimeFormat>();
