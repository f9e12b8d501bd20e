import { alertmanagerTimeInterval, MaintenanceWindow } from '../maintenance-window';
import { stringify } from '../yaml-text';

/** Name of the time interval that holds a system's maintenance window. */
export const MAINTENANCE_TIME_INTERVAL = 'maintenance-window';

/** Where Alertmanager finds the secret files mounted from Secret references. */
export const ALERTMANAGER_SECRETS_DIR = '/etc/alertmanager/secrets';
/** Where the notification templates are mounted. */
export const ALERTMANAGER_TEMPLATES_DIR = '/etc/alertmanager/templates';

/** Settings of alertmanager.yml; secrets are file paths, never values. */
export interface AlertmanagerConfigOptions {
  /** Slack channel every alert goes to (seed 001: Slack and e-mail). */
  readonly slackChannel: string;
  /** File holding the Slack webhook URL. */
  readonly slackWebhookFile: string;
  /** Address critical alerts are e-mailed to. */
  readonly emailTo: string;
  /** Sender address of alert e-mail. */
  readonly emailFrom: string;
  /** `host:port` of the SMTP server. */
  readonly smtpSmarthost: string;
  /** SMTP login. */
  readonly smtpUsername: string;
  /** File holding the SMTP password. */
  readonly smtpPasswordFile: string;
  /**
   * The system's maintenance window and the time zone it is read in: alerts that are not critical
   * are muted during it (`time_intervals` + `mute_time_intervals`); critical ones still page.
   * @default - no window: nothing is muted by time
   */
  readonly maintenanceWindow?: { readonly window: MaintenanceWindow; readonly timeZone: string };
}

/**
 * Renders alertmanager.yml: alerts grouped by alertname, severity and namespace; warnings to
 * Slack, critical alerts to Slack and e-mail; a critical alert silences its warning twin (same
 * alertname) and ComponentDown silences the symptoms of that component. With a maintenance window,
 * alerts that are not critical are muted during it (issue 21 §3).
 */
export function renderAlertmanagerConfig(o: AlertmanagerConfigOptions): string {
  const slack = {
    channel: o.slackChannel,
    send_resolved: true,
    title: '{{ template "qb.title" . }}',
    text: '{{ template "qb.text" . }}',
  };
  const mw = o.maintenanceWindow;
  return stringify({
    global: {
      resolve_timeout: '5m',
      slack_api_url_file: o.slackWebhookFile,
      smtp_smarthost: o.smtpSmarthost,
      smtp_from: o.emailFrom,
      smtp_auth_username: o.smtpUsername,
      smtp_auth_password_file: o.smtpPasswordFile,
      smtp_require_tls: true,
    },
    templates: [`${ALERTMANAGER_TEMPLATES_DIR}/*.tmpl`],
    route: {
      receiver: 'slack',
      group_by: ['alertname', 'severity', 'namespace'],
      group_wait: '30s',
      group_interval: '5m',
      repeat_interval: '4h',
      routes: [
        { matchers: ['severity="critical"'], receiver: 'slack-and-email', repeat_interval: '1h' },
        // Planned work trips warnings (a validate's I/O, a restart); critical alerts still page.
        ...mw ? [{ matchers: ['severity!="critical"'], receiver: 'slack', mute_time_intervals: [MAINTENANCE_TIME_INTERVAL] }] : [],
      ],
    },
    ...mw ? { time_intervals: [{ name: MAINTENANCE_TIME_INTERVAL, time_intervals: [alertmanagerTimeInterval(mw.window, mw.timeZone)] }] } : {},
    receivers: [
      { name: 'slack', slack_configs: [slack] },
      {
        name: 'slack-and-email',
        slack_configs: [slack],
        email_configs: [{ to: o.emailTo, send_resolved: true, headers: { Subject: '{{ template "qb.title" . }}' }, html: '{{ template "qb.html" . }}' }],
      },
    ],
    inhibit_rules: [
      { source_matchers: ['severity="critical"'], target_matchers: ['severity="warning"'], equal: ['alertname', 'namespace'] },
      { source_matchers: ['alertname="ComponentDown"'], target_matchers: ['alertname!="ComponentDown"'], equal: ['namespace', 'component'] },
    ],
  }, { lineWidth: 0 });
}

/** The notification template: one line per alert with its summary, description and runbook. */
export const ALERTMANAGER_TEMPLATE = `{{ define "qb.title" }}[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}] {{ .CommonLabels.alertname }} ({{ .CommonLabels.severity }}, {{ .CommonLabels.namespace }}){{ end }}

{{ define "qb.text" }}{{ range .Alerts }}*{{ .Annotations.summary }}*
{{ .Annotations.description }}
Runbook: {{ .Annotations.runbook_url }}
{{ end }}{{ end }}

{{ define "qb.html" }}<h3>{{ template "qb.title" . }}</h3>
<ul>{{ range .Alerts }}<li><b>{{ .Annotations.summary }}</b><br>{{ .Annotations.description }}<br><a href="{{ .Annotations.runbook_url }}">runbook</a></li>{{ end }}</ul>{{ end }}
`;
