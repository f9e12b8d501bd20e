import { createHash } from 'crypto';
import { k8s } from '../core/k8s';
import { Construct } from 'constructs';
import { ValidationError } from '../../lib/errors';
import { IMAGE_CATALOG, ImageRef } from '../../lib/images';
import { pgBouncerStartScript, PoolMode, renderPgBouncerIni } from '../../lib/pgbouncer-config';
import { RESOURCE_PRESETS } from '../../lib/presets';
import { SecretKeyRef } from '../../lib/secrets';
import { ResourceQuantities, resources, ResourceSpec, WorkloadSizing } from '../../lib/sizing';
import { connectionBudget, ConnectionBudgetLine, PoolerClientBudget, poolerClientBudget, PoolerServerConnections, poolerServerConnections } from '../../lib/tuning';
import { checkInteger, checkOneOf, checkPort, checkReplicas } from '../../lib/validate';
import { ComponentProps, resolveComponent } from '../core/component';
import { IConnectable, IConnectionClient } from '../core/connections';
import { emptyDir, onePerNode, plainEnv, podSecurityContext, restrictedContainer, secretEnv } from '../core/pod-spec';
import { rollingDeployment } from '../core/rolling-deployment';
import { lazy } from '../core/lazy';
import { validateAtSynth } from '../core/validation';
import { childPath, MetricsEndpoint, Workload } from '../core/workload';
import { IPostgres, PostgresClients } from './postgres-reference';

/** Props of `PgBouncer`. */
export interface PgBouncerProps extends ComponentProps {
  /** The PostgreSQL server the pool connects to. */
  readonly postgres: IPostgres;
  /** Replicas; with more than one, no two share a node and a PodDisruptionBudget keeps all but one. @default 2 */
  readonly replicas?: number;
  /** "transaction" (a server connection is a client's for one transaction) or "session". @default "transaction" */
  readonly poolMode?: PoolMode;
  /** Server connections each replica keeps for the database (`default_pool_size`). @default 20 (PgBouncer's own default) */
  readonly defaultPoolSize?: number;
  /** Extra server connections each replica opens when a client waited 3 s (`reserve_pool_size`). @default 5 */
  readonly reservePoolSize?: number;
  /** Client connections each replica accepts (`max_client_conn`); the capacity planner checks it covers every client. @default - the clients' connections plus 10 % (at least 10) */
  readonly maxClientConn?: number;
  /** Seconds a client waits for a server connection before it is disconnected (`query_wait_timeout`). @default 120 */
  readonly queryWaitTimeoutSeconds?: number;
  /** Port clients connect to. @default 6432 */
  readonly port?: number;
  /**
   * The URL clients get as DATABASE_URL, `postgresql://user:password@<name>:<port>/database` with
   * the password URL-encoded (the Pulumi program computes it; the README shows the command).
   * @default - key "pooler-url" of the server's URL Secret
   */
  readonly urlSecret?: SecretKeyRef;
  /** Pinned pgbouncer_exporter image. @default - the catalog's pgbouncer-exporter */
  readonly exporterImage?: string;
  /** Requests and limits of the exporter sidecar. @default - the tier's preset */
  readonly exporterResources?: ResourceQuantities;
}

const EXPORTER_PORT = 9127;
/** The official PgBouncer images on Alpine run as its postgres user. */
const PGBOUNCER_UID = 70;
const CONFIG_DIR = '/etc/pgbouncer';
const RUN_DIR = '/var/run/pgbouncer';
/** Extra pods a rollout starts before it stops an old one: they hold server connections too. */
const MAX_SURGE = 1;

/**
 * PgBouncer between the applications and PostgreSQL (issue 18 §2): every API and worker process
 * keeps its own pool, and without a pooler each pooled connection is a PostgreSQL backend. With
 * `client.connectTo(pgbouncer)` the client's DATABASE_URL points here; PgBouncer holds
 * `replicas x (defaultPoolSize + reservePoolSize)` server connections, counted in the server's
 * connection budget, so `max_connections` follows the pools instead of the clients.
 * Transaction pooling by default. Server-side prepared statements do not survive transaction
 * pooling without `max_prepared_statements` (PgBouncer 1.21+), which the ini does not set: it is
 * proven on Debian's PgBouncer 1.18, which lacks it. A client that declares it uses them
 * (`AppSettings.serverSidePreparedStatements`) is refused at synth unless `poolMode` is
 * `session`. A pgbouncer_exporter sidecar
 * serves `SHOW POOLS`/`SHOW STATS` for the waiting-client alerts.
 */
export class PgBouncer extends Workload implements IConnectable {
  /** The server behind the pool. */
  public readonly postgres: IPostgres;
  /** Where Prometheus scrapes pgbouncer_exporter. */
  public readonly metrics: MetricsEndpoint;
  public readonly service: k8s.KubeService;
  public readonly configMap: k8s.KubeConfigMap;
  public readonly deployment: k8s.KubeDeployment;
  public readonly podDisruptionBudget?: k8s.KubePodDisruptionBudget;
  public readonly resources: ResourceSpec;
  public readonly exporterResources: ResourceSpec;
  public readonly replicas: number;
  public readonly poolMode: PoolMode;
  /** The port clients connect to. */
  public readonly port: number;
  /** The Secret key that holds the URL clients connect with (through the pool). */
  public readonly urlSecret: SecretKeyRef;
  /** The server connections the pool holds at most, rollout surge included. */
  public readonly serverConnections: PoolerServerConnections;
  private readonly clients: PostgresClients;
  private readonly maxClientConnOverride?: number;
  private readonly queryWaitTimeoutSeconds: number;

  constructor(scope: Construct, id: string, props: PgBouncerProps) {
    const image = ImageRef.parse(props.image ?? IMAGE_CATALOG.pgbouncer.toString(), childPath(scope, id), 'image');
    super(scope, id, { name: props.name ?? 'pgbouncer', component: 'database-pooler', version: image.version });
    const path = this.node.path;
    const pg = props.postgres;
    this.postgres = pg;
    this.clients = new PostgresClients(path);
    const { tier: t, resources: mainResources } = resolveComponent(path, props, 'pgbouncer');
    const exporterImage = ImageRef.parse(props.exporterImage ?? IMAGE_CATALOG.pgbouncerExporter.toString(), path, 'exporterImage');
    this.resources = mainResources;
    this.exporterResources = resources(props.exporterResources ?? RESOURCE_PRESETS[t].pgbouncerExporter, path, 'exporterResources');
    this.replicas = checkReplicas(path, 'replicas', props.replicas ?? 2);
    this.poolMode = checkOneOf(path, 'poolMode', props.poolMode ?? 'transaction', ['transaction', 'session'] as const);
    const poolSize = checkInteger(path, 'defaultPoolSize', props.defaultPoolSize ?? 20, 1, 10000);
    const reserve = checkInteger(path, 'reservePoolSize', props.reservePoolSize ?? 5, 0, 10000);
    if (props.maxClientConn !== undefined) this.maxClientConnOverride = checkInteger(path, 'maxClientConn', props.maxClientConn, 1, 100000);
    this.queryWaitTimeoutSeconds = checkInteger(path, 'queryWaitTimeoutSeconds', props.queryWaitTimeoutSeconds ?? 120, 1, 3600);
    this.port = checkPort(path, 'port', props.port ?? 6432);
    this.serverConnections = poolerServerConnections(poolSize, reserve, this.replicas + MAX_SURGE);
    const c = pg.connection;
    this.urlSecret = props.urlSecret ?? SecretKeyRef.of(c.urlSecret.secretName, 'pooler-url', path);
    this.metrics = { serviceName: this.name, portName: 'metrics', port: EXPORTER_PORT, path: '/metrics' };

    // PgBouncer → PostgreSQL: the pools are one client of the server.
    const s = this.serverConnections;
    pg.reserveConnections(`${this.name} (${this.replicas}+${MAX_SURGE} surge) pods x (${s.poolSize} pool + ${s.reservePoolSize} reserve)`, s.connections);
    if (pg.workload) pg.workload.acceptTrafficFrom(this, c.port);
    else this.allowEgressTo(pg.peerFor(this), [c.port]);
    validateAtSynth(this, () => { this.checkPoolFitsServer(); });

    // max_client_conn follows the clients, which connect after construction: rendered at synth.
    const ini = () => this.renderConfig();
    this.configMap = new k8s.KubeConfigMap(this, 'Config', {
      metadata: { name: `${this.name}-config`, labels: this.labels },
      data: lazy((): Record<string, string> => ({ 'pgbouncer.ini': ini() })),
    });

    const pgbouncer = restrictedContainer({
      name: 'pgbouncer',
      image,
      uid: PGBOUNCER_UID,
      resources: this.resources,
      command: ['sh', '-c', pgBouncerStartScript(`${RUN_DIR}/userlist.txt`, `${CONFIG_DIR}/pgbouncer.ini`)],
      env: [plainEnv('PGBOUNCER_USER', c.user), secretEnv('PGBOUNCER_PASSWORD', c.passwordSecret)],
      ports: [{ name: 'postgres', containerPort: this.port }],
      volumeMounts: [
        { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
        { name: 'run', mountPath: RUN_DIR },
      ],
      readinessProbe: { tcpSocket: { port: k8s.IntOrString.fromString('postgres') }, periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 2 },
      livenessProbe: { tcpSocket: { port: k8s.IntOrString.fromString('postgres') }, periodSeconds: 15, timeoutSeconds: 3, failureThreshold: 4 },
      // Leave the Service's endpoints before PgBouncer stops: clients then reconnect to the others.
      lifecycle: { preStop: { exec: { command: ['sleep', '10'] } } },
    });
    const exporter = restrictedContainer({
      name: 'exporter',
      image: exporterImage,
      uid: PGBOUNCER_UID,
      resources: this.exporterResources,
      // The password stays out of the URL: one with @ / ? # % would break its parsing unless
      // URL-encoded. pgbouncer_exporter opens the URL with lib/pq, which adds PGPASSWORD from the
      // environment (lib/pq conn.go parseEnviron) to what the URL leaves out.
      env: [secretEnv('PGPASSWORD', c.passwordSecret)],
      args: [
        `--pgBouncer.connectionString=postgres://${encodeURIComponent(c.user)}@127.0.0.1:${this.port}/pgbouncer?sslmode=disable`,
        `--web.listen-address=:${EXPORTER_PORT}`,
      ],
      ports: [{ name: 'metrics', containerPort: EXPORTER_PORT }],
      livenessProbe: { tcpSocket: { port: k8s.IntOrString.fromString('metrics') }, periodSeconds: 30, timeoutSeconds: 5, failureThreshold: 3 },
      readinessProbe: { httpGet: { path: '/metrics', port: k8s.IntOrString.fromString('metrics') }, periodSeconds: 30, timeoutSeconds: 10, failureThreshold: 3 },
    });
    ({ deployment: this.deployment, podDisruptionBudget: this.podDisruptionBudget } = rollingDeployment(this, {
      replicas: this.replicas,
      maxSurge: MAX_SURGE,
      podAnnotations: () => ({ 'quality-billing.io/config-checksum': createHash('sha256').update(ini()).digest('hex') }),
      podSpec: () => ({
        automountServiceAccountToken: false,
        enableServiceLinks: false,
        securityContext: podSecurityContext(PGBOUNCER_UID),
        terminationGracePeriodSeconds: 40,
        // No two replicas on one node: a lost node takes one pooler, not both.
        affinity: this.replicas > 1 ? onePerNode(this.selector) : undefined,
        containers: [pgbouncer, exporter],
        volumes: [
          { name: 'config', configMap: { name: this.configMap.name } },
          emptyDir('run', '16Mi', 'Memory'),
        ],
      }),
    }));
    this.service = new k8s.KubeService(this, 'Service', {
      metadata: { name: this.name, labels: this.labels },
      spec: {
        selector: this.selector,
        ports: [
          { name: 'postgres', port: this.port, targetPort: k8s.IntOrString.fromString('postgres') },
          { name: 'metrics', port: EXPORTER_PORT, targetPort: k8s.IntOrString.fromString('metrics') },
        ],
      },
    });
  }

  /** Connects a client through the pool: DATABASE_URL from `urlSecret`, a NetworkPolicy path, a line in the client budget. */
  public bind(client: IConnectionClient): void {
    if (client.serverSidePreparedStatements === true && this.poolMode === 'transaction') {
      throw new ValidationError(this.node.path, 'poolMode', this.poolMode,
        `"session", because ${client.workload.node.path} declares serverSidePreparedStatements: a prepared statement lives on one server ` +
        'connection, and transaction pooling hands the next transaction another. PgBouncer could track them with max_prepared_statements ' +
        '(1.21 and later), but this pooler\'s settings are proven against Debian\'s PgBouncer 1.18 (test/real-tools/pgbouncer.test.ts), ' +
        'which has no such setting, so it does not set it. Opt in with poolMode: \'session\' on this PgBouncer (or on a second one for this client): ' +
        'a client keeps its server connection for its whole session. ' +
        'Or turn the driver\'s statement cache off (asyncpg: statement_cache_size=0; SQLAlchemy asyncpg: prepared_statement_cache_size=0) and leave serverSidePreparedStatements false');
    }
    this.clients.add(client);
    client.addEnv(secretEnv('DATABASE_URL', this.urlSecret));
    this.acceptTrafficFrom(client.workload, this.port);
  }

  /** Apps → PgBouncer: every client's most connections, and the exporter's one per replica. */
  public clientBudget(): PoolerClientBudget {
    const lines: ConnectionBudgetLine[] = [...this.clients.clientLines(), { client: `${this.name} exporter (admin console)`, connections: 1 }];
    return poolerClientBudget(lines);
  }

  /** `max_client_conn` of each replica: the override when given, else the client budget. */
  public maxClientConn(): number {
    return this.maxClientConnOverride ?? this.clientBudget().maxClientConn;
  }

  /** pgbouncer.ini as the pods read it. */
  public renderConfig(): string {
    const c = this.postgres.connection;
    return renderPgBouncerIni({
      listenAddress: '*',
      listenPort: this.port,
      socketDirectory: RUN_DIR,
      serverHost: c.host,
      serverPort: c.port,
      database: c.database,
      user: c.user,
      authFile: `${RUN_DIR}/userlist.txt`,
      poolMode: this.poolMode,
      maxClientConn: this.maxClientConn(),
      defaultPoolSize: this.serverConnections.poolSize,
      reservePoolSize: this.serverConnections.reservePoolSize,
      reservePoolTimeoutSeconds: 3,
      queryWaitTimeoutSeconds: this.queryWaitTimeoutSeconds,
    });
  }

  /** The pooler's pods. */
  public sizings(): WorkloadSizing[] {
    return [{ name: this.name, kind: 'Deployment', replicas: this.replicas, containers: [this.resources, this.exporterResources], onePerNode: this.replicas > 1 }];
  }

  /**
   * PgBouncer → PostgreSQL: the pools of every replica (surge included), the server's other
   * clients, headroom and the superuser's reserve must fit a `max_connections` set by hand.
   */
  private checkPoolFitsServer(): void {
    const server = this.postgres as IPostgres & { maxConnections?: () => number };
    if (typeof server.maxConnections !== 'function') return;
    const max = server.maxConnections();
    const budget = this.postgres.connectionBudget();
    if (budget.maxConnections <= max) return;
    const s = this.serverConnections;
    const others = budget.lines.filter(l => l.connections !== s.connections || !l.client.startsWith(`${this.name} (`));
    let fits = s.poolSize;
    while (fits > 0 && connectionBudget([...others, { client: this.name, connections: s.pods * (fits + s.reservePoolSize) }]).maxConnections > max) fits--;
    throw new ValidationError(this.node.path, 'defaultPoolSize', s.poolSize,
      `at most ${fits}: ${s.pods} pods (${this.replicas} + ${MAX_SURGE} rollout surge) x (pool + ${s.reservePoolSize} reserve), the server's other clients, headroom and ` +
      `superuser_reserved_connections must fit max_connections ${max} of ${this.postgres.node.path} (needed ${budget.maxConnections})`);
  }
}
