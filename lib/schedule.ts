import { CronExpressionParser } from 'cron-parser';
import { ValidationError } from './errors';

/**
 * The UTC minute a one-off Job's default name ends in, e.g. "20261125t0640" (Jobs are immutable:
 * each restore or drill gets its own name; lower case, as object names must be).
 */
export function jobNameStamp(now: Date): string {
  return now.toISOString().replace(/[-:]/g, '').slice(0, 13).toLowerCase();
}

/**
 * Checks a CronJob schedule: five fields (minute hour day-of-month month day-of-week) as the
 * Kubernetes CronJob controller reads them, or one of its @-macros. The parsing is cron-parser's;
 * the field-count rule is Kubernetes' (it has no seconds field).
 */
export function checkCronSchedule(path: string, field: string, schedule: string): string {
  const allowed = 'a five-field cron expression such as "0 2 * * *" or a macro (@hourly, @daily, @weekly, @monthly, @yearly)';
  if (typeof schedule !== 'string') throw new ValidationError(path, field, schedule, allowed);
  const macros = ['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly'];
  if (macros.includes(schedule)) return schedule;
  if (schedule.trim().split(/\s+/).length !== 5 || /TZ=|CRON_TZ=/.test(schedule)) throw new ValidationError(path, field, schedule, allowed);
  if (parsedSchedules.has(schedule)) return schedule;
  try {
    CronExpressionParser.parse(schedule, { strict: false });
  } catch {
    throw new ValidationError(path, field, schedule, allowed);
  }
  parsedSchedules.add(schedule);
  return schedule;
}

/** Schedules cron-parser accepted: every environment and system repeats the same few. */
const parsedSchedules = new Set<string>();

/**
 * The longest time between two runs of a schedule over a year from 2024-01-01 (seconds), in its
 * time zone: 92 days for a quarterly one. What an "overdue" alert waits for, plus its slack.
 */
export function longestGapSeconds(schedule: string, timeZone = 'UTC'): number {
  const from = Date.UTC(2024, 0, 1);
  const it = CronExpressionParser.parse(schedule, { tz: timeZone, currentDate: new Date(from - 1), endDate: new Date(from + 2 * 366 * 86400 * 1000) });
  let last: number | undefined;
  let gap = 0;
  // A schedule that runs this often has short gaps: stop counting (a minutely one would list a million runs).
  for (let runs = 0; it.hasNext() && runs < 2000; runs++) {
    const at = it.next().getTime();
    if (last !== undefined) gap = Math.max(gap, at - last);
    last = at;
  }
  return Math.round(gap / 1000);
}
