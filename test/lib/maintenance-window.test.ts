import { batchOccupancy, concurrentSets, describeWeekSpan, WEEK_MS } from '../../lib/batch-overlap';
import { ValidationError } from '../../lib/errors';
import { checkMaintenanceWindow, checkScheduleInWindow, windowViolation } from '../../lib/maintenance-window';
import { renderAlertmanagerConfig } from '../../lib/monitoring/alertmanager-config';
import { parse } from 'yaml';

const H = 3600 * 1000;

describe('batchOccupancy: when a CronJob\'s runs hold their pods over the week', () => {
  it('spans each run from its time to the starting plus active deadline, in the schedule\'s time zone', () => {
    // Monday 2024-01-01 is the reference week's start; Sunday 02:00 Asia/Shanghai is Saturday 18:00 UTC.
    expect(batchOccupancy({ schedule: '0 2 * * 0', timeZone: 'Asia/Shanghai', startingDeadlineSeconds: 3600, activeDeadlineSeconds: 3600 }))
      .toEqual([{ start: 5 * 24 * H + 18 * H, end: 5 * 24 * H + 20 * H }]);
  });

  it('wraps a run that crosses the week\'s end onto its start', () => {
    expect(batchOccupancy({ schedule: '0 22 * * 0', timeZone: 'UTC', activeDeadlineSeconds: 4 * 3600 }))
      .toEqual([{ start: 0, end: 2 * H }, { start: 6 * 24 * H + 22 * H, end: WEEK_MS }]);
  });

  it('merges runs that overlap one another, and is "always" without an active deadline', () => {
    expect(batchOccupancy({ schedule: '0 * * * *', timeZone: 'UTC', activeDeadlineSeconds: 7200 })).toEqual([{ start: 0, end: WEEK_MS }]);
    expect(batchOccupancy({ schedule: '0 2 * * *' })).toBe('always');
  });

  it('folds a monthly schedule onto every day at its times', () => {
    expect(batchOccupancy({ schedule: '0 4 1 * *', timeZone: 'UTC', activeDeadlineSeconds: 3600 })).toHaveLength(7);
  });
});

describe('concurrentSets', () => {
  it('keeps the maximal sets: jobs that never overlap are never in one set', () => {
    const at = (h: number, len = 1) => [{ start: h * H, end: (h + len) * H }];
    const sets = concurrentSets([{ name: 'a', occupancy: at(2, 3) }, { name: 'b', occupancy: at(3) }, { name: 'c', occupancy: at(10) }, { name: 'd', occupancy: 'always' }]);
    expect(sets.map(s => s.names)).toEqual([['a', 'b', 'd'], ['c', 'd']]);
    expect(describeWeekSpan(sets[0].span, 'UTC')).toBe('Mon 03:00–04:00');
  });
});

describe('maintenance window', () => {
  const ok = checkMaintenanceWindow('Test', 'maintenanceWindow', { weekday: 'Sunday', start: '02:00', end: '04:00' });

  it.each([
    [{ weekday: 'Sun', start: '02:00', end: '04:00' }, 'maintenanceWindow.weekday', 'a day of the week'],
    [{ weekday: 'Funday', start: '02:00', end: '04:00' }, 'maintenanceWindow.weekday', 'Sunday, Monday'],
    [{ weekday: 'Sunday', start: '2:00', end: '04:00' }, 'maintenanceWindow.start', '"HH:MM"'],
    [{ weekday: 'Sunday', start: '02:00', end: '25:00' }, 'maintenanceWindow.end', 'to 24:00'],
    [{ weekday: 'Sunday', start: '04:00', end: '02:00' }, 'maintenanceWindow.end', 'after start 04:00'],
    [{ weekday: 'Sunday', start: '24:00', end: '24:00' }, 'maintenanceWindow.start', 'to 23:59'],
  ])('refuses %j naming the field and what is allowed', (w, field, allowed) => {
    let error: unknown;
    try { checkMaintenanceWindow('Stack', 'maintenanceWindow', w as never); } catch (e) { error = e; }
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toEqual(expect.objectContaining({ path: 'Stack', field }));
    expect((error as Error).message).toContain(allowed);
  });

  it('accepts a maintenance job that starts and, at the latest, ends inside the window', () => {
    expect(windowViolation(ok, 'UTC', 'maintenance', { schedule: '30 2 * * 0', timeZone: 'UTC', startingDeadlineSeconds: 600, activeDeadlineSeconds: 3600 })).toBeUndefined();
  });

  it('refuses a maintenance job outside the window, one that may run past its close, and one with no deadline', () => {
    expect(windowViolation(ok, 'UTC', 'maintenance', { schedule: '30 2 * * 1', timeZone: 'UTC', activeDeadlineSeconds: 600 })).toBe('a run starts Monday 02:30 UTC');
    expect(windowViolation(ok, 'UTC', 'maintenance', { schedule: '30 3 * * 0', timeZone: 'UTC', startingDeadlineSeconds: 3600, activeDeadlineSeconds: 3600 }))
      .toContain('may last until 05:30');
    expect(windowViolation(ok, 'UTC', 'maintenance', { schedule: '30 2 * * 0' })).toContain('no activeDeadlineSeconds');
  });

  it('reads the schedule in its own time zone and the window in the environment\'s', () => {
    // 18:30 UTC on Saturday is 02:30 on Sunday in Shanghai.
    expect(windowViolation(ok, 'Asia/Shanghai', 'maintenance', { schedule: '30 18 * * 6', timeZone: 'UTC', activeDeadlineSeconds: 600 })).toBeUndefined();
    expect(windowViolation(ok, 'UTC', 'maintenance', { schedule: '30 18 * * 6', timeZone: 'UTC', activeDeadlineSeconds: 600 })).toBe('a run starts Saturday 18:30 UTC');
  });

  it('lets a daily backup run at the window\'s hours on any day, and refuses one outside them', () => {
    expect(windowViolation(ok, 'UTC', 'backup', { schedule: '0 2 * * *', timeZone: 'UTC', activeDeadlineSeconds: 21600 })).toBeUndefined();
    expect(() => checkScheduleInWindow('Stack/Backup/CronJob', ok, 'UTC', 'backup', { schedule: '0 5 * * 0', timeZone: 'UTC' }))
      .toThrow(/Stack\/Backup\/CronJob: invalid schedule "0 5 \* \* 0": expected a backup schedule whose every run starts within the maintenance window's hours 02:00–04:00 UTC; a run starts Sunday 05:00 UTC/);
  });

  it('sees a monthly run on the weekday it falls on (over a year, not one week)', () => {
    expect(windowViolation(ok, 'UTC', 'maintenance', { schedule: '0 3 1 * *', timeZone: 'UTC', activeDeadlineSeconds: 600 })).toMatch(/a run starts \w+day 03:00 UTC/);
  });
});

describe('Alertmanager configuration with a maintenance window', () => {
  const base = {
    slackChannel: '#a', slackWebhookFile: '/s', emailTo: 'a@b.c', emailFrom: 'b@b.c', smtpSmarthost: 'smtp:587', smtpUsername: 'u', smtpPasswordFile: '/p',
  };

  it('mutes alerts that are not critical during the window, in the environment\'s time zone, and never critical ones', () => {
    const config = parse(renderAlertmanagerConfig({ ...base, maintenanceWindow: { window: { weekday: 'Sunday', start: '02:00', end: '04:00' }, timeZone: 'Asia/Shanghai' } }));
    expect(config.time_intervals).toEqual([{ name: 'maintenance-window', time_intervals: [{ weekdays: ['sunday'], times: [{ start_time: '02:00', end_time: '04:00' }], location: 'Asia/Shanghai' }] }]);
    expect(config.route.routes).toEqual([
      expect.objectContaining({ matchers: ['severity="critical"'], receiver: 'slack-and-email' }),
      { matchers: ['severity!="critical"'], receiver: 'slack', mute_time_intervals: ['maintenance-window'] },
    ]);
    expect(config.route.routes[0].mute_time_intervals).toBeUndefined();
  });

  it('has no time interval without a window', () => {
    const config = parse(renderAlertmanagerConfig(base));
    expect(config.time_intervals).toBeUndefined();
    expect(config.route.routes).toHaveLength(1);
  });
});
