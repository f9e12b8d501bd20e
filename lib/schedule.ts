import { CronExpressionParser } from 'cron-parser';
import { ValidationError } from './errors';

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
