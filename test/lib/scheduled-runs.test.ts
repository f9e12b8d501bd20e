// cronParserRuns, cron-parser's own iteration, is the oracle the fast listing must equal.
import { cronParserRuns, scheduledRuns } from '../../lib/batch-overlap';

const H = 3600 * 1000;
const DAY = 24 * H;
const WEEK_START = Date.UTC(2024, 0, 1);

const EXPRESSIONS = ['0 2 * * *', '30 3 * * 0', '0 9,15,21 * * *', '0 22 * * 7', '15,45 */6 * * 1-5', '@weekly', '@daily', '0 4 1 * *', '0 0 * * 5#3', '0 0 * * 5L', '30 2 * * *'];
const ZONES = ['UTC', 'Asia/Shanghai', 'Asia/Kolkata', 'America/New_York', 'Australia/Sydney', 'Pacific/Chatham', 'Europe/Berlin'];

describe('scheduledRuns: the runs of a cron schedule in a time zone over a span', () => {
  it('lists exactly what cron-parser lists over the reference week (a run-length early), in every zone', () => {
    for (const expression of EXPRESSIONS) {
      for (const tz of ZONES) {
        for (const lead of [1, 3 * DAY + 1]) {
          expect([expression, tz, lead, scheduledRuns(expression, tz, WEEK_START - lead, WEEK_START + 7 * DAY)])
            .toEqual([expression, tz, lead, cronParserRuns(expression, tz, WEEK_START - lead, WEEK_START + 7 * DAY)]);
        }
      }
    }
  });

  it('lists schedules restricted by day of month and month over a year as cron-parser does (either day rule when both are restricted)', () => {
    const year = [WEEK_START - 1, WEEK_START + 366 * DAY + 1] as const;
    for (const expression of ['0 4 1 * *', '0 4 1,15 * 1', '30 1 * 2 *', '@yearly', '@monthly', '0 3 29 2 *', '0 2 31 * *', '0 4 L * *', '0 0 * * 1#1']) {
      for (const tz of ['UTC', 'Asia/Shanghai']) {
        expect([expression, tz, scheduledRuns(expression, tz, ...year)]).toEqual([expression, tz, cronParserRuns(expression, tz, ...year)]);
      }
    }
  });

  it('lists an hourly schedule as cron-parser does, in a whole-hour and a half-hour zone', () => {
    for (const tz of ['Asia/Shanghai', 'Asia/Kolkata']) {
      expect(scheduledRuns('@hourly', tz, WEEK_START - 1, WEEK_START + 7 * DAY)).toEqual(cronParserRuns('@hourly', tz, WEEK_START - 1, WEEK_START + 7 * DAY));
    }
  });

  it('follows cron-parser over weeks in which a zone changes its clocks (a skipped or repeated 02:30)', () => {
    // Europe/Berlin springs forward on 2024-03-31 and falls back on 2024-10-27; New York on
    // 2024-03-10 and 2024-11-03; Sydney falls back on 2024-04-07. At one fixed offset, 02:30 would
    // run once on each of those days; cron-parser skips or moves the missing one.
    const weeks = [Date.UTC(2024, 2, 25), Date.UTC(2024, 9, 21), Date.UTC(2024, 2, 4), Date.UTC(2024, 9, 28), Date.UTC(2024, 3, 1)];
    for (const expression of ['30 2 * * *', '0 1,3 * * 0']) {
      for (const tz of ['Europe/Berlin', 'America/New_York', 'Australia/Sydney']) {
        for (const start of weeks) {
          expect([expression, tz, start, scheduledRuns(expression, tz, start - 1, start + 7 * DAY)])
            .toEqual([expression, tz, start, cronParserRuns(expression, tz, start - 1, start + 7 * DAY)]);
        }
      }
    }
  });

  it('lists Sunday 02:00 Asia/Shanghai as Saturday 18:00 UTC, once a week', () => {
    expect(scheduledRuns('0 2 * * 0', 'Asia/Shanghai', WEEK_START - 1, WEEK_START + 7 * DAY)).toEqual([WEEK_START + 5 * DAY + 18 * H]);
  });

  it('excludes a run exactly at the span\'s start and includes one just after it', () => {
    expect(scheduledRuns('0 0 * * 1', 'UTC', WEEK_START, WEEK_START + 7 * DAY)).toEqual([]);
    expect(scheduledRuns('0 0 * * 1', 'UTC', WEEK_START - 1, WEEK_START + 7 * DAY)).toEqual([WEEK_START]);
  });
});
