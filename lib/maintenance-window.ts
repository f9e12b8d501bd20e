import { CronExpressionParser } from 'cron-parser';
import { BatchSchedule, scheduledRuns } from './batch-overlap';
import { ValidationError } from './errors';

/** Days of the week as a maintenance window names them. */
export const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'] as const;

/** A day of the week, e.g. "Sunday". */
export type Weekday = typeof WEEKDAYS[number];

/**
 * A system's weekly maintenance window (seed 003: every Sunday 02:00–04:00), read in the
 * environment's time zone. It does not cross midnight.
 */
export interface MaintenanceWindow {
  /** The day it falls on. */
  readonly weekday: Weekday;
  /** When it opens, "HH:MM" (24-hour clock). */
  readonly start: string;
  /** When it closes, "HH:MM" after `start`; "24:00" is the end of the day. */
  readonly end: string;
}

/** A checked window: the weekday's number (0 = Sunday, as cron counts) and minutes of the day. */
export interface CheckedMaintenanceWindow extends MaintenanceWindow {
  /** 0 for Sunday … 6 for Saturday. */
  readonly day: number;
  /** Minute of the day it opens. */
  readonly startMinute: number;
  /** Minute of the day it closes (1440 for "24:00"). */
  readonly endMinute: number;
}

const TIME = /^([01]\d|2[0-4]):([0-5]\d)$/;

/** Checks a window: a weekday and a time range "HH:MM"–"HH:MM" within one day. */
export function checkMaintenanceWindow(path: string, field: string, w: MaintenanceWindow): CheckedMaintenanceWindow {
  if (typeof w !== 'object' || w === null) throw new ValidationError(path, field, w, 'a window { weekday, start, end } such as { weekday: "Sunday", start: "02:00", end: "04:00" }');
  const day = WEEKDAYS.indexOf(w.weekday);
  if (day < 0) throw new ValidationError(path, `${field}.weekday`, w.weekday, `a day of the week: ${WEEKDAYS.join(', ')}`);
  const minute = (key: 'start' | 'end'): number => {
    const m = typeof w[key] === 'string' ? TIME.exec(w[key]) : null;
    const value = m ? Number(m[1]) * 60 + Number(m[2]) : NaN;
    if (!m || value > 24 * 60 || (key === 'start' && value === 24 * 60)) {
      throw new ValidationError(path, `${field}.${key}`, w[key], `a time "HH:MM" from 00:00 to ${key === 'start' ? '23:59' : '24:00'}`);
    }
    return value;
  };
  const startMinute = minute('start');
  const endMinute = minute('end');
  if (endMinute <= startMinute) {
    throw new ValidationError(path, `${field}.end`, w.end, `a time after start ${w.start} on the same day (a window does not cross midnight)`);
  }
  return { weekday: w.weekday, start: w.start, end: w.end, day, startMinute, endMinute };
}

/** The window in words: "Sunday 02:00–04:00 Asia/Shanghai". */
export function describeWindow(w: MaintenanceWindow, timeZone: string): string {
  return `${w.weekday} ${w.start}–${w.end} ${timeZone}`;
}

/** What a scheduled job does, for the window's rule: maintenance runs inside it, backups at its hours. */
export type WindowedJobPurpose = 'maintenance' | 'backup';

/**
 * The first run of `runs` (over a year, so monthly schedules are seen on every weekday they fall
 * on) that breaks the window's rule, in words, or undefined when every run keeps it.
 * Maintenance: each run starts on the window's day inside it and ends, at the latest
 * (`startingDeadlineSeconds` late plus `activeDeadlineSeconds`), by its close; a run without an
 * active deadline could run on, so it breaks the rule. Backup: each run starts inside the window's
 * hours, on any day (daily backups run at the hours the seed keeps for maintenance).
 */
export function windowViolation(w: CheckedMaintenanceWindow, timeZone: string, purpose: WindowedJobPurpose, runs: BatchSchedule): string | undefined {
  const key = JSON.stringify([w, timeZone, purpose, runs]);
  if (!violations.has(key)) violations.set(key, findViolation(w, timeZone, purpose, runs));
  return violations.get(key);
}

/** Answers already found: every synth of a system asks the same few. */
const violations = new Map<string, string | undefined>();

function findViolation(w: CheckedMaintenanceWindow, timeZone: string, purpose: WindowedJobPurpose, runs: BatchSchedule): string | undefined {
  if (purpose === 'maintenance' && runs.activeDeadlineSeconds === undefined) return 'it has no activeDeadlineSeconds, so a run could last past the window';
  const latestEnd = ((runs.startingDeadlineSeconds ?? 0) + (runs.activeDeadlineSeconds ?? 0)) / 60;
  const from = Date.UTC(2024, 0, 1);
  const tz = runs.timeZone ?? 'UTC';
  // A schedule free in day of month and month repeats every week; others are followed for a year.
  const fields = CronExpressionParser.parse(runs.schedule).fields;
  const days = fields.dayOfMonth.isWildcard && fields.month.isWildcard ? 7 : 366;
  const local = new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'long', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  for (const at of scheduledRuns(runs.schedule, tz, from - 1, from + days * 24 * 3600 * 1000 + 1)) {
    const p = Object.fromEntries(local.formatToParts(new Date(at)).map(x => [x.type, x.value]));
    const minute = Number(p.hour) * 60 + Number(p.minute);
    const when = `${p.weekday} ${p.hour}:${p.minute} ${timeZone}`;
    const inHours = minute >= w.startMinute && minute < w.endMinute;
    if (purpose === 'backup' && !inHours) return `a run starts ${when}`;
    if (purpose === 'maintenance') {
      if (p.weekday !== w.weekday || !inHours) return `a run starts ${when}`;
      if (minute + latestEnd > w.endMinute) return `a run starting ${when} may last until ${clock(minute + latestEnd)} (startingDeadlineSeconds ${runs.startingDeadlineSeconds ?? 0} + activeDeadlineSeconds ${runs.activeDeadlineSeconds})`;
    }
  }
  return undefined;
}

function clock(minutes: number): string {
  const m = Math.round(minutes);
  return `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
}

/**
 * Throws a ValidationError naming the CronJob's construct, its schedule and what the window
 * allows, when `windowViolation` finds a run that breaks the rule.
 */
export function checkScheduleInWindow(path: string, w: CheckedMaintenanceWindow, timeZone: string, purpose: WindowedJobPurpose, runs: BatchSchedule): void {
  const problem = windowViolation(w, timeZone, purpose, runs);
  if (problem === undefined) return;
  const allowed = purpose === 'maintenance'
    ? `a ${purpose} schedule whose every run starts and ends inside the maintenance window ${describeWindow(w, timeZone)}`
    : `a ${purpose} schedule whose every run starts within the maintenance window's hours ${w.start}–${w.end} ${timeZone}`;
  throw new ValidationError(path, 'schedule', runs.schedule, `${allowed}; ${problem}`);
}

/**
 * The window as an Alertmanager time interval (`time_intervals[].time_intervals[]`, Alertmanager
 * 0.24+; `location` 0.25+): the weekday in lower case, the times as "HH:MM", and the time zone.
 */
export function alertmanagerTimeInterval(w: MaintenanceWindow, timeZone: string): Record<string, unknown> {
  return { weekdays: [w.weekday.toLowerCase()], times: [{ start_time: w.start, end_time: w.end }], location: timeZone };
}
