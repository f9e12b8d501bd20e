import { k8s } from '../core/k8s';
import { Construct } from 'constructs';
import { ValidationError } from '../../lib/errors';
import { IMAGE_CATALOG, ImageRef } from '../../lib/images';
import { checkMaintenanceWindow, MaintenanceWindow } from '../../lib/maintenance-window';
import { ALERTMANAGER_SECRETS_DIR, ALERTMANAGER_TEMPLATE, ALERTMANAGER_TEMPLATES_DIR, renderAlertmanagerConfig } from '../../lib/monitoring/alertmanager-config';
import { ByteQuantity } from '../../lib/quantity';
import { SecretKeyRef } from '../../lib/secrets';
import { EXPORTER_UID } from '../../lib/security';
import { ResourceSpec, WorkloadSizing } from '../../lib/sizing';
import { restrictedContainer } from '../core/pod-spec';
import { statefulServer } from '../core/stateful-server';
import { childPath, MetricsEndpoint, Workload } from '../core/workload';
import { PersistentComponentProps, resolveComponent, resolveStorage } from '../core/component';

/** Where alerts go (seed 001: Slack and e-mail). Secrets are references, never values. */
export interface AlertReceivers {
  /** Slack channel for every alert. */
  readonly slackChannel: string;
  /** The Slack incoming-webhook URL. */
  readonly slackWebhookSecret: SecretKeyRef;
  /** Address critical alerts are e-mailed to. */
  readonly emailTo: string;
  /** Sender address. */
  readonly emailFrom: string;
  /** SMTP server `host:port`. */
  readonly smtpSmarthost: string;
  readonly smtpUsername: string;
  /** The SMTP password. */
  readonly smtpPasswordSecret: SecretKeyRef;
}

/** Props of `Alertmanager`. */
export interface AlertmanagerProps extends PersistentComponentProps {
  /** Where alerts go. */
  readonly receivers: AlertReceivers;
  /**
   * The system's maintenance window and the time zone it is read in: alerts that are not critical
   * are muted during it.
   * @default - no window
   */
  readonly maintenanceWindow?: { readonly window: MaintenanceWindow; readonly timeZone: string };
}

/** Port Alertmanager serves on (seed 001). */
export const ALERTMANAGER_PORT = 9093;

const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

/**
 * Alertmanager on 9093: warnings to Slack, critical alerts to Slack and e-mail, grouped by
 * alertname/severity/namespace, with inhibition (critical silences its warning twin,
 * ComponentDown silences its component's symptoms) and a notification template. The webhook URL
 * and SMTP password are files mounted from Secret references.
 */
export class Alertmanager extends Workload {
  public readonly statefulSet: k8s.KubeStatefulSet;
  public readonly service: k8s.KubeService;
  public readonly resources: ResourceSpec;
  public readonly storage: ByteQuantity;
  public readonly port = ALERTMANAGER_PORT;
  public readonly metrics: MetricsEndpoint;
  /** The rendered alertmanager.yml. */
  public readonly config: string;

  constructor(scope: Construct, id: string, props: AlertmanagerProps) {
    const image = ImageRef.parse(props.image ?? IMAGE_CATALOG.alertmanager.toString(), childPath(scope, id), 'image');
    super(scope, id, { name: props.name ?? 'alertmanager', component: 'alerting', version: image.version });
    const path = this.node.path;
    const { tier: t, resources: mainResources } = resolveComponent(path, props, 'alertmanager');
    this.resources = mainResources;
    this.storage = resolveStorage(path, props, t, 'alertmanager');
    const r = props.receivers;
    if (!/^[#@]?[a-z0-9][a-z0-9._-]{0,79}$/.test(r.slackChannel)) throw new ValidationError(path, 'receivers.slackChannel', r.slackChannel, 'a Slack channel such as "#alerts"');
    for (const [field, value] of [['receivers.emailTo', r.emailTo], ['receivers.emailFrom', r.emailFrom]] as const) {
      if (!EMAIL.test(value)) throw new ValidationError(path, field, value, 'an e-mail address');
    }
    const smtp = /^([a-zA-Z0-9.-]+):(\d{1,5})$/.exec(r.smtpSmarthost);
    if (!smtp || Number(smtp[2]) < 1 || Number(smtp[2]) > 65535) throw new ValidationError(path, 'receivers.smtpSmarthost', r.smtpSmarthost, '"host:port", e.g. "smtp.example.com:587"');
    this.metrics = { serviceName: this.name, portName: 'http', port: ALERTMANAGER_PORT, path: '/metrics' };

    this.config = renderAlertmanagerConfig({
      slackChannel: r.slackChannel,
      slackWebhookFile: `${ALERTMANAGER_SECRETS_DIR}/slack/${r.slackWebhookSecret.key}`,
      emailTo: r.emailTo,
      emailFrom: r.emailFrom,
      smtpSmarthost: r.smtpSmarthost,
      smtpUsername: r.smtpUsername,
      smtpPasswordFile: `${ALERTMANAGER_SECRETS_DIR}/smtp/${r.smtpPasswordSecret.key}`,
      maintenanceWindow: props.maintenanceWindow && { window: checkMaintenanceWindow(path, 'maintenanceWindow.window', props.maintenanceWindow.window), timeZone: props.maintenanceWindow.timeZone },
    });
    const configMap = new k8s.KubeConfigMap(this, 'Config', {
      metadata: { name: `${this.name}-config`, labels: this.labels },
      data: { 'alertmanager.yml': this.config, 'quality-billing.tmpl': ALERTMANAGER_TEMPLATE },
    });
    // Slack and SMTP are outside the cluster.
    this.allowEgressTo({ ipBlock: { cidr: '0.0.0.0/0' } }, [443, Number(smtp[2])]);

    const http = k8s.IntOrString.fromString('http');
    const server = restrictedContainer({
      name: 'alertmanager',
      image,
      uid: EXPORTER_UID,
      resources: this.resources,
      args: [
        '--config.file=/etc/alertmanager/config/alertmanager.yml',
        '--storage.path=/alertmanager',
        `--web.listen-address=:${ALERTMANAGER_PORT}`,
        // A single replica: no gossip port to open.
        '--cluster.listen-address=',
      ],
      ports: [{ name: 'http', containerPort: ALERTMANAGER_PORT }],
      volumeMounts: [
        { name: 'data', mountPath: '/alertmanager' },
        { name: 'config', mountPath: '/etc/alertmanager/config', readOnly: true },
        { name: 'templates', mountPath: ALERTMANAGER_TEMPLATES_DIR, readOnly: true },
        { name: 'slack', mountPath: `${ALERTMANAGER_SECRETS_DIR}/slack`, readOnly: true },
        { name: 'smtp', mountPath: `${ALERTMANAGER_SECRETS_DIR}/smtp`, readOnly: true },
      ],
      livenessProbe: { httpGet: { path: '/-/healthy', port: http }, periodSeconds: 15, timeoutSeconds: 5, failureThreshold: 4 },
      readinessProbe: { httpGet: { path: '/-/ready', port: http }, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 },
    });
    const secretVolume = (name: string, ref: SecretKeyRef): k8s.Volume => ({ name, secret: { secretName: ref.secretName, items: [{ key: ref.key, path: ref.key }], defaultMode: 0o440 } });
    ({ service: this.service, statefulSet: this.statefulSet } = statefulServer(this, {
      server,
      port: { name: 'http', number: ALERTMANAGER_PORT },
      uid: EXPORTER_UID,
      storage: this.storage,
      storageClassName: props.storageClassName,
      volumes: [
        { name: 'config', configMap: { name: configMap.name, items: [{ key: 'alertmanager.yml', path: 'alertmanager.yml' }] } },
        { name: 'templates', configMap: { name: configMap.name, items: [{ key: 'quality-billing.tmpl', path: 'quality-billing.tmpl' }] } },
        secretVolume('slack', r.slackWebhookSecret),
        secretVolume('smtp', r.smtpPasswordSecret),
      ],
      terminationGracePeriodSeconds: 30,
      config: () => this.config + ALERTMANAGER_TEMPLATE,
    }));
  }

  public sizings(): WorkloadSizing[] {
    return [{ name: this.name, kind: 'StatefulSet', replicas: 1, containers: [this.resources], storagePerReplica: this.storage }];
  }
}
