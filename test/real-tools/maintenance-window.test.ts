import { ChildProcess } from 'child_process';
import { createServer, Server } from 'http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { parse, stringify } from 'yaml';
import { ENVIRONMENTS } from '../../lib/environments';
import { find, synthChart } from '../helpers';
import { debianBinary, freePort, run, startServer, stop } from './tools';

/**
 * merchant-analysis's maintenance window against a real Alertmanager (Debian's 0.25): amtool
 * checks the generated configuration, and the running server mutes a warning whose time falls
 * inside the window while a critical alert still goes out, and sends a warning whose time falls
 * outside it. Alertmanager mutes by its own clock, which a test cannot move, so the window's day
 * and hours are the only things changed: first to the whole of today in the environment's time
 * zone (now is inside), then to tomorrow (now is outside). Slack is a stand-in HTTP server on
 * loopback; group_wait is 0s so a notification is not held back 30 s.
 */
const SYSTEM = 'merchant-analysis';
const env = ENVIRONMENTS.prod;
const { objects } = synthChart(SYSTEM, env);
const data = find(objects, 'ConfigMap', `${SYSTEM}-alertmanager-config`).data;

let work: string;
let server: ChildProcess | undefined;
let slack: Server;
const received: string[] = [];
let url: string;
let configFile: string;

/** The weekday in the environment's time zone, `offset` days from now, as Alertmanager spells it. */
function weekday(offset: number): string {
  return new Intl.DateTimeFormat('en-US', { timeZone: env.timeZone, weekday: 'long' }).format(new Date(Date.now() + offset * 86400000)).toLowerCase();
}

/** Writes the generated configuration with files on this machine and the window moved to `day` (whole day). */
function writeConfig(day: string): void {
  const config = parse(data['alertmanager.yml']);
  config.global.slack_api_url_file = join(work, 'slack');
  config.global.smtp_auth_password_file = join(work, 'smtp');
  config.global.smtp_smarthost = '127.0.0.1:9';
  config.templates = [join(work, 'templates', '*.tmpl')];
  config.route.group_wait = '0s';
  const interval = config.time_intervals[0].time_intervals[0];
  expect(interval).toEqual({ weekdays: ['sunday'], times: [{ start_time: '02:00', end_time: '04:00' }], location: env.timeZone });
  config.time_intervals[0].time_intervals[0] = { ...interval, weekdays: [day], times: [{ start_time: '00:00', end_time: '24:00' }] };
  writeFileSync(configFile, stringify(config));
}

async function post(labels: Record<string, string>): Promise<void> {
  const res = await fetch(`${url}/api/v2/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify([{ labels: { namespace: SYSTEM, component: 'api', ...labels } }]) });
  expect(res.status).toBe(200);
}

async function delivered(alertname: string, timeoutMs = 15000): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (received.some(b => b.includes(alertname))) return true;
    await new Promise(r => setTimeout(r, 100));
  }
  return false;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'qb-window-'));
  mkdirSync(join(work, 'templates'));
  writeFileSync(join(work, 'templates', 'quality-billing.tmpl'), data['quality-billing.tmpl']);
  slack = createServer((req, res) => {
    let body = '';
    req.on('data', d => { body += d; });
    req.on('end', () => { received.push(body); res.end('ok'); });
  });
  const slackPort = await freePort();
  await new Promise<void>(r => slack.listen(slackPort, '127.0.0.1', r));
  writeFileSync(join(work, 'slack'), `http://127.0.0.1:${slackPort}/slack`);
  writeFileSync(join(work, 'smtp'), 'test');
  configFile = join(work, 'alertmanager.yml');
  writeConfig(weekday(0));
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  server = await startServer(debianBinary('prometheus-alertmanager'), [`--config.file=${configFile}`, `--storage.path=${join(work, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address='], () => run('curl', ['-sf', `${url}/-/ready`]) !== undefined);
}, 60000);

afterAll(async () => {
  await stop(server, 'SIGTERM');
  await new Promise(r => slack.close(r));
  rmSync(work, { recursive: true, force: true });
});

describe('merchant-analysis maintenance window, with a real Alertmanager on loopback', () => {
  it('passes amtool check-config as generated, and routes warnings to the muted route and critical alerts to e-mail', () => {
    const dir = join(work, 'as-generated');
    mkdirSync(join(dir, 'templates'), { recursive: true });
    writeFileSync(join(dir, 'templates', 'quality-billing.tmpl'), data['quality-billing.tmpl']);
    const file = join(dir, 'alertmanager.yml');
    writeFileSync(file, data['alertmanager.yml'].replace('/etc/alertmanager/templates', join(dir, 'templates')));
    expect(run(debianBinary('amtool'), ['check-config', file])).toMatch(/SUCCESS[\s\S]*Found:/);
    // amtool does read the interval: a mute that names no defined interval, or a bad weekday, fails the check.
    const broken = join(dir, 'broken.yml');
    for (const wrong of [data['alertmanager.yml'].replace('- maintenance-window', '- no-such-window'), data['alertmanager.yml'].replace('- sunday', '- sundae')]) {
      writeFileSync(broken, wrong.replace('/etc/alertmanager/templates', join(dir, 'templates')));
      let output = '';
      try { run(debianBinary('amtool'), ['check-config', broken]); } catch (e: any) { output = `${e.stdout ?? ''}${e.stderr ?? ''}`; }
      expect(output).toMatch(/FAILED: .*(undefined time interval "no-such-window"|sundae)/);
    }
    const route = (labels: string[]) => run(debianBinary('amtool'), ['config', 'routes', 'test', `--config.file=${file}`, '--verify.receivers=', ...labels]).trim();
    expect(route(['severity=warning'])).toBe('slack');
    expect(route(['severity=critical'])).toBe('slack-and-email');
  });

  it('mutes a warning whose time is inside the window, while a critical alert still goes out', async () => {
    await post({ alertname: 'InsideWindowWarning', severity: 'warning' });
    await post({ alertname: 'InsideWindowCritical', severity: 'critical' });
    expect(await delivered('InsideWindowCritical')).toBe(true);
    // Both groups flush together (group_wait 0s); give the muted one a second more than the one that went out.
    await new Promise(r => setTimeout(r, 1000));
    expect(received.some(b => b.includes('InsideWindowWarning'))).toBe(false);
  }, 30000);

  it('sends a warning whose time is outside the window', async () => {
    writeConfig(weekday(1));
    const reload = await fetch(`${url}/-/reload`, { method: 'POST' });
    expect(reload.status).toBe(200);
    await post({ alertname: 'OutsideWindowWarning', severity: 'warning' });
    expect(await delivered('OutsideWindowWarning')).toBe(true);
  }, 30000);
});
