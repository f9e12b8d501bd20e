import { Construct } from 'constructs';
import { PanelSpec } from '../lib/monitoring/dashboards';
import { AppService } from '../constructs/app/app-service';
import { MigrationJob } from '../constructs/app/migration-job';
import { SystemDefinition, SystemStack, SystemStackProps } from './system-stack';

/** Props of `QcatStack`. */
export interface QcatStackProps extends SystemStackProps {
  /**
   * Database migrations run as a Job before the new version serves; the API waits for it.
   * @default - none: the seed does not say how QCAT migrates, so nothing runs unless given
   */
  readonly migrationCommands?: readonly (readonly string[])[];
}

/** QCAT (seed 001): backups daily at 02:00, kept 30 days in every environment that has them. */
export const QCAT: SystemDefinition = { name: 'qcat', title: 'QCAT', database: 'qcat', backup: { retentionDays: 30 } };

/** Port of QCAT's API and WebSocket server (seed 001). */
export const QCAT_PORT = 8082;

/**
 * The business metrics seed 001's overview shows, as QCAT must export them: active strategies,
 * total PnL, trading volume, risk-control triggers.
 */
export const QCAT_BUSINESS_METRICS = ['qcat_active_strategies', 'qcat_pnl_total', 'qcat_trading_volume_total', 'qcat_risk_control_triggers_total'] as const;

/** The business panels of the QCAT overview dashboard. */
export function qcatBusinessPanels(namespace: string): PanelSpec[] {
  const ns = `namespace="${namespace}"`;
  return [
    { title: 'Active strategies', unit: 'short', legend: 'active', expr: `sum(qcat_active_strategies{${ns}})` },
    { title: 'Total PnL', unit: 'currencyUSD', legend: 'PnL', expr: `sum(qcat_pnl_total{${ns}})` },
    { title: 'Trading volume an hour', unit: 'short', legend: 'volume', expr: `sum(increase(qcat_trading_volume_total{${ns}}[1h]))` },
    { title: 'Risk-control triggers an hour', unit: 'short', legend: '{{rule}}', expr: `sum by (rule) (increase(qcat_risk_control_triggers_total{${ns}}[1h]))` },
  ];
}

/**
 * QCAT (seed 001) for one environment: the API + WebSocket server on 8082 (the image's own
 * entrypoint) behind the nginx edge or an Ingress that pass WebSocket upgrades with hour-long
 * read timeouts; PostgreSQL and Redis; Prometheus (200 h), Grafana with the QCAT overview
 * (health, request rate, response time, active strategies, PnL, volume, risk-control triggers),
 * Alertmanager with Slack + e-mail; verified daily backups kept 30 days with a monthly restore test,
 * and a weekly export of the namespace's configuration.
 */
export class QcatStack extends SystemStack {
  public readonly api: AppService;
  /** The migration Job, when `migrationCommands` is given. */
  public readonly migration?: MigrationJob;

  constructor(scope: Construct, id: string, props: QcatStackProps) {
    super(scope, id, props, QCAT);
    const env = this.environment;
    if (props.migrationCommands) {
      this.migration = new MigrationJob(this, 'Migration', { name: `${this.prefix}-migrate`, tier: env.tier, settings: this.settings, commands: props.migrationCommands, apiServer: props.apiServer })
        .connectTo(this.postgres);
    }
    // One server process per pod: its own pool is the budget (uvicorn's worker count does not apply).
    this.api = new AppService(this, 'Api', { name: `${this.prefix}-api`, replicas: env.appReplicas, tier: env.tier, settings: this.settings, port: QCAT_PORT, command: [], workers: 1 })
      .connectTo(this.database)
      .connectTo(this.redis.cache);
    if (this.migration) this.api.waitFor(this.migration);
    this.autoscaleByEnvironment(this.api, env.appReplicas);
    this.addEdge(this.api, { websocket: true });
    this.addMonitoring([this.api], { dashboardPanels: qcatBusinessPanels(this.namespace!) });
    // Seed 001 §backup frequency: log files backed up daily (Elasticsearch snapshots of the log indices,
    // to the backup bucket, kept as the backups: 30 days).
    this.addLogging({ archive: true });
    this.addBackups({ weeklyConfigBackup: true });
  }
}
