import { k8s } from '../core/k8s';
import { Construct } from 'constructs';
import { ValidationError } from '../../lib/errors';
import { IMAGE_CATALOG, ImageRef } from '../../lib/images';
import { WAL_ARCHIVE_EXPORTER_QUERIES } from '../../lib/monitoring/postgres-exporter-queries';
import { renderPostgresqlConf } from '../../lib/postgres-config';
import { RESOURCE_PRESETS } from '../../lib/presets';
import { ByteQuantity } from '../../lib/quantity';
import { checkCronSchedule } from '../../lib/schedule';
import { SecretKeyRef } from '../../lib/secrets';
import { DATABASE_IMAGE_UID } from '../../lib/security';
import { ResourceQuantities, resources, ResourceSpec, WorkloadSizing } from '../../lib/sizing';
import { ConnectionBudget, connectionBudget, ConnectionBudgetLine, postgresTuning, PostgresTuning } from '../../lib/tuning';
import { ApiServerAddress, checkInteger, checkPort } from '../../lib/validate';
import { checkFailoverSettings, PATRONI_FAILOVER_DEFAULTS, PatroniFailoverSettings, patroniStartScript, postBootstrapScript, renderPatroniDynamicYaml, renderPatroniYaml } from '../../lib/patroni-config';
import { PATRONI_ROLE_LABEL, PATRONI_SCOPE_LABEL, patroniMembers } from './patroni-members';
import { IConnectionClient, PostgresConnection } from '../core/connections';
import { emptyDir, execProbe, plainEnv, podSecurityContext, restrictedContainer, scheduledJobSpec, secretEnv } from '../core/pod-spec';
import { ExporterSidecar, statefulServer } from '../core/stateful-server';
import { validateAtSynth } from '../core/validation';
import { childPath, MetricsEndpoint, Workload } from '../core/workload';
import { PersistentComponentProps, resolveComponent, resolveStorage } from '../core/component';
import { ExternalPostgres, ExternalPostgresProps } from './external-postgres';
import { checkIdentifier, IPostgres, PostgresClients } from './postgres-reference';
import { lazy } from '../core/lazy';

/** Props of `Postgres`. */
export interface PostgresProps extends PersistentComponentProps {
  /** Database created at first start. @default "quality_billing" */
  readonly database?: string;
  /** Owner of the database, created at first start. @default "quality_billing" */
  readonly user?: string;
  /** Password of `user`. @default - key "password" of Secret "db-credentials" */
  readonly passwordSecret?: SecretKeyRef;
  /** Connection URL handed to clients as DATABASE_URL (seed 000 §4.2). @default - key "url" of Secret "db-credentials" */
  readonly urlSecret?: SecretKeyRef;
  /** Pinned postgres_exporter image. @default - the catalog's postgres-exporter */
  readonly exporterImage?: string;
  /** Requests and limits of the exporter sidecar. @default - the tier's preset */
  readonly exporterResources?: ResourceQuantities;
  /** Server port. @default 5432 */
  readonly port?: number;
  /** Overrides `max_connections`; the capacity planner checks it covers every client. With standbys at least 25: Patroni starts PostgreSQL with 100 in place of a smaller value. @default - the connection budget (with standbys, at least 25) */
  readonly maxConnections?: number;
  /** Log statements slower than this many milliseconds. @default 1000 (the seed's 1 s API threshold) */
  readonly logMinDurationMs?: number;
  /** Cron schedule of the VACUUM ANALYZE / REINDEX maintenance job (seed 000 §5.3). @default "30 3 * * 0" (Sunday 03:30, after the 02:00 backup) */
  readonly maintenanceSchedule?: string;
  /** Time zone of the maintenance schedule. @default "UTC" */
  readonly timeZone?: string;
  /**
   * Streaming standbys beside the primary. With any, Patroni runs the members and promotes a
   * standby when the primary fails (see `patroniMembers`); 0 is the standalone single pod.
   * @default 0
   */
  readonly standbys?: number;
  /**
   * Commits wait until a standby has the WAL (Patroni's synchronous_mode), so a failover loses no
   * committed transaction and only that standby may be promoted. Needs `standbys` ≥ 1.
   * @default - true when there are standbys, else false
   */
  readonly synchronousMode?: boolean;
  /** A standby more WAL than this behind the primary is never promoted (Patroni's maximum_lag_on_failover). @default "1Mi" */
  readonly maximumLagOnFailover?: string;
  /** Patroni's leader-key TTL, loop and retry timing, in seconds. @default - PATRONI_FAILOVER_DEFAULTS: ttl 20, loop 5, retry 7 */
  readonly failoverTiming?: FailoverTiming;
  /** Password of the user the standbys stream WAL as. @default - key "replication-password" of Secret "db-credentials" */
  readonly replicationPasswordSecret?: SecretKeyRef;
  /** Where the Kubernetes API server listens (Patroni keeps the cluster's state there). @default - any address on 443 and 6443 */
  readonly apiServer?: ApiServerAddress;
}

/** Patroni's timing (see PATRONI_FAILOVER_DEFAULTS for why the defaults). */
export interface FailoverTiming {
  /** Seconds the primary's leader key lives without renewal. @default 20 */
  readonly ttlSeconds?: number;
  /** Seconds between two runs of Patroni's HA loop. @default 5 */
  readonly loopWaitSeconds?: number;
  /** Seconds Patroni retries the DCS and PostgreSQL before it gives up the leader key. @default 7 */
  readonly retryTimeoutSeconds?: number;
}

const EXPORTER_PORT = 9187;
/** Patroni's REST API: health checks and the members asking each other during a leader race. */
export const PATRONI_API_PORT = 8008;
/** The user standbys stream WAL as. */
const REPLICATION_USER = 'replicator';
/** Where the exporter mounts the server's ConfigMap, and the name of its query file there. */
const EXPORTER_QUERIES_DIR = '/etc/postgres-exporter';
const EXPORTER_QUERIES_FILE = 'exporter-queries.yaml';

/**
 * PostgreSQL 14 with a persistent volume, a generated postgresql.conf tuned from its memory and
 * its clients' connection budget, a postgres_exporter sidecar and a weekly maintenance CronJob.
 * Clients connect with `client.connectTo(postgres)`.
 *
 * Standalone (`standbys` 0, dev): one pod of the official image. With standbys (staging, prod):
 * 1 + `standbys` members run by Patroni with its Kubernetes DCS, as Spilo and the Zalando operator
 * run them. Patroni rather than CloudNativePG: it needs no operator or CRDs in the cluster, only a
 * namespaced Role over ConfigMaps and pods; the manifests stay plain objects that `kubectl apply`
 * and the Pulumi program apply like every other; and Debian ships it (3.0), so the failover is
 * tested on real binaries in `npm test` (test/real-tools/postgres-ha.test.ts). The Service named
 * after the server always points at the primary, `<name>-replicas` at the standbys.
 */
export class Postgres extends Workload implements IPostgres {
  /**
   * A PostgreSQL server this chart did not create (a managed database), given its address and
   * Secret: clients `connectTo` it and backups (`PostgresBackup`, `RestoreTest`) use it like a
   * `Postgres`; see `ExternalPostgres` for what is checked.
   */
  public static fromConnection(scope: Construct, id: string, props: ExternalPostgresProps): IPostgres {
    return new ExternalPostgres(scope, id, props);
  }

  /** How clients reach this database. */
  public readonly connection: PostgresConnection;
  /** Where Prometheus scrapes postgres_exporter. */
  public readonly metrics: MetricsEndpoint;
  public readonly statefulSet: k8s.KubeStatefulSet;
  /** The Service clients use: with standbys, it always points at the primary. */
  public readonly service: k8s.KubeService;
  /** Read-only Service on the standbys, when there are standbys. */
  public readonly replicaService?: k8s.KubeService;
  /** Pods of the server: 1 + standbys. */
  public readonly members: number;
  /** Patroni's failover settings, when there are standbys. */
  public readonly failover?: PatroniFailoverSettings;
  public readonly configMap: k8s.KubeConfigMap;
  public readonly maintenanceJob: k8s.KubeCronJob;
  public readonly resources: ResourceSpec;
  public readonly exporterResources: ResourceSpec;
  public readonly maintenanceResources: ResourceSpec;
  public readonly storage: ByteQuantity;
  /** The server's image. */
  public readonly image: ImageRef;
  /** The data directory inside the server container. */
  public readonly dataDirectory = '/var/lib/postgresql/data/pgdata';
  /** Where the server's Unix socket is. */
  public readonly socketDirectory = '/var/run/postgresql';
  private readonly clients: PostgresClients;
  private readonly maxConnectionsOverride?: number;
  // Filled by `enableWalArchiving`; the container and pod reference these arrays, read at synth.
  private readonly serverEnv: k8s.EnvVar[];
  private readonly serverMounts: k8s.VolumeMount[];
  private readonly podVolumes: k8s.Volume[];
  private readonly exporterEnv: k8s.EnvVar[];
  private readonly exporterMounts: k8s.VolumeMount[] = [];
  private archiving?: WalArchiving;
  private standby?: StandbyReplay;

  constructor(scope: Construct, id: string, props: PostgresProps = {}) {
    const standbys = checkInteger(childPath(scope, id), 'standbys', props.standbys ?? 0, 0, 8);
    // Patroni is in the pgBackRest image we build (images/postgres-pgbackrest), not in the official one.
    const image = ImageRef.parse(props.image ?? (standbys > 0 ? IMAGE_CATALOG.postgresPgbackrest : IMAGE_CATALOG.postgres).toString(), childPath(scope, id), 'image');
    super(scope, id, { name: props.name ?? 'postgres', component: 'database', version: image.version });
    const path = this.node.path;
    this.clients = new PostgresClients(path);
    const { tier: t, resources: mainResources } = resolveComponent(path, props, 'postgres');
    const exporterImage = ImageRef.parse(props.exporterImage ?? IMAGE_CATALOG.postgresExporter.toString(), path, 'exporterImage');
    this.image = image;
    this.resources = mainResources;
    this.exporterResources = resources(props.exporterResources ?? RESOURCE_PRESETS[t].postgresExporter, path, 'exporterResources');
    this.maintenanceResources = resources(RESOURCE_PRESETS[t].postgresMaintenance, path, 'maintenanceResources');
    this.storage = resolveStorage(path, props, t, 'postgres');
    const port = checkPort(path, 'port', props.port ?? 5432);
    const database = checkIdentifier(path, 'database', props.database ?? 'quality_billing');
    const user = checkIdentifier(path, 'user', props.user ?? 'quality_billing');
    // Patroni ignores a max_connections below 25 and starts PostgreSQL with 100 (its CMDLINE_OPTIONS
    // in patroni/postgresql/config.py), so the memory settings would be computed for the wrong number.
    if (props.maxConnections !== undefined) this.maxConnectionsOverride = checkInteger(path, 'maxConnections', props.maxConnections, standbys > 0 ? PATRONI_MIN_MAX_CONNECTIONS : 10, 10000);
    const logMinDurationMs = checkInteger(path, 'logMinDurationMs', props.logMinDurationMs ?? 1000, -1);
    const schedule = checkCronSchedule(path, 'maintenanceSchedule', props.maintenanceSchedule ?? '30 3 * * 0');
    const passwordSecret = props.passwordSecret ?? SecretKeyRef.of('db-credentials', 'password', path);
    const urlSecret = props.urlSecret ?? SecretKeyRef.of('db-credentials', 'url', path);

    this.connection = { host: this.name, port, database, user, passwordSecret, urlSecret };
    this.members = standbys + 1;
    if (standbys > 0) {
      this.failover = checkFailoverSettings(path, {
        ...PATRONI_FAILOVER_DEFAULTS,
        ...props.failoverTiming,
        maximumLagOnFailoverBytes: props.maximumLagOnFailover === undefined ? PATRONI_FAILOVER_DEFAULTS.maximumLagOnFailoverBytes : ByteQuantity.parse(props.maximumLagOnFailover, path, 'maximumLagOnFailover').bytes,
        synchronousMode: props.synchronousMode ?? true,
      }, this.members);
    } else if (props.synchronousMode === true) {
      checkFailoverSettings(path, { ...PATRONI_FAILOVER_DEFAULTS, synchronousMode: true }, this.members);
    }
    // Clients connect after construction: their connections are checked against the memory at synth.
    validateAtSynth(this, () => { this.tuning(); });
    // With members, Prometheus scrapes every member's exporter through the headless Service.
    this.metrics = { serviceName: standbys > 0 ? `${this.name}-members` : this.name, portName: 'metrics', port: EXPORTER_PORT, path: '/metrics' };

    const renderConfig = () => renderPostgresqlConf(this.tuning(), {
      port, logMinDurationMs, socketDirectory: this.socketDirectory,
      // Standalone, the standby's restore_command is ours; under Patroni, standby_cluster carries it
      // and Patroni writes it only while the cluster is a standby.
      extra: this.standby && !this.failover ? [...this.archiving?.settings ?? [], ['restore_command', `'${this.standby.restoreCommand}'`]] : this.archiving?.settings,
    });
    const majorVersion = this.failover ? postgresMajorVersion(image, path) : undefined;
    const renderPatroni = () => renderPatroniYaml({
      scope: this.name, port, restApiPort: PATRONI_API_PORT, dataDirectory: this.dataDirectory,
      binDirectory: `/usr/lib/postgresql/${majorVersion}/bin`,
      customConf: `${CONFIG_DIR}/postgresql.conf`, pgpass: '/tmp/pgpass', postBootstrapPath: `${CONFIG_DIR}/${POST_BOOTSTRAP_FILE}`,
      superuser: user, replicationUser: REPLICATION_USER, database, maxConnections: this.maxConnections(), failover: this.failover!,
      kubernetes: { labels: this.selector, scopeLabel: PATRONI_SCOPE_LABEL, roleLabel: PATRONI_ROLE_LABEL },
      standbyCluster: this.standby && { restoreCommand: this.standby.restoreCommand, createReplicaCommand: `bash ${this.standby.restoreScript}` },
    });
    this.configMap = new k8s.KubeConfigMap(this, 'Config', {
      // Under Patroni, "<scope>-config" is the ConfigMap its Kubernetes DCS keeps the cluster's
      // configuration and initialize key in (patroni/dcs/kubernetes.py config_path; scope = this.name):
      // ours must not take the name. The standalone server keeps its name, so dev is unchanged.
      metadata: { name: this.failover ? `${this.name}-files` : `${this.name}-config`, labels: this.labels },
      // With WAL archiving, the exporter's query file for the archive backlog sits beside it.
      data: lazy((): Record<string, string> => ({
        'postgresql.conf': renderConfig(),
        ...this.archiving ? { [EXPORTER_QUERIES_FILE]: WAL_ARCHIVE_EXPORTER_QUERIES } : {},
        ...this.failover ? {
          [PATRONI_FILE]: renderPatroni(), [POST_BOOTSTRAP_FILE]: postBootstrapScript(database),
          [PATRONI_DYNAMIC_FILE]: renderPatroniDynamicYaml({ failover: this.failover, maxConnections: this.maxConnections() }),
          [PATRONI_START_FILE]: patroniStartScript(`${CONFIG_DIR}/${PATRONI_FILE}`, `${CONFIG_DIR}/${PATRONI_DYNAMIC_FILE}`),
        } : {},
      })),
    });

    const pgEnv: k8s.EnvVar[] = [
      plainEnv('POSTGRES_DB', database),
      plainEnv('POSTGRES_USER', user),
      secretEnv('POSTGRES_PASSWORD', passwordSecret),
      // A subdirectory, so initdb never meets the volume's lost+found.
      plainEnv('PGDATA', this.dataDirectory),
    ];
    // pg_isready only asks the postmaster whether it accepts connections: cheap enough for every 10 s.
    const isReady = ['pg_isready', '--host', '127.0.0.1', '--port', String(port), '--username', user, '--dbname', database];

    const mounts: k8s.VolumeMount[] = [
      { name: 'data', mountPath: '/var/lib/postgresql/data' },
      { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
      { name: 'run', mountPath: this.socketDirectory },
      { name: 'tmp', mountPath: '/tmp' },
      { name: 'shm', mountPath: '/dev/shm' },
    ];
    this.serverMounts = mounts;
    const exporter: ExporterSidecar = {
      image: exporterImage,
      resources: this.exporterResources,
      port: EXPORTER_PORT,
      env: this.exporterEnv = [
        plainEnv('DATA_SOURCE_URI', `127.0.0.1:${port}/${database}?sslmode=disable`),
        plainEnv('DATA_SOURCE_USER', user),
        secretEnv('DATA_SOURCE_PASS', passwordSecret),
      ],
      volumeMounts: lazy(() => (this.exporterMounts.length > 0 ? this.exporterMounts : undefined)),
    };
    const volumes: k8s.Volume[] = this.podVolumes = [
      { name: 'config', configMap: { name: this.configMap.name } },
      emptyDir('run', '16Mi'),
      emptyDir('tmp', '1Gi'),
      // Parallel queries use POSIX shared memory; the container runtime's 64 MiB default is too small.
      emptyDir('shm', '256Mi', 'Memory'),
    ];
    // The exporter reads its query file once, at its first scrape: a change rolls the pod too.
    const podConfig = () => renderConfig() + (this.archiving ? WAL_ARCHIVE_EXPORTER_QUERIES : '') + (this.failover ? renderPatroni() : '');
    // A fast shutdown writes a checkpoint; give it time rather than SIGKILL a database.
    const terminationGracePeriodSeconds = 120;

    if (this.failover) {
      this.serverEnv = patroniEnv(port, passwordSecret, props.replicationPasswordSecret ?? SecretKeyRef.of('db-credentials', 'replication-password', path), this.dataDirectory);
      const api = (p: string, o: { periodSeconds: number; failureThreshold: number }): k8s.Probe => ({ httpGet: { path: p, port: k8s.IntOrString.fromString('patroni') }, timeoutSeconds: 5, ...o });
      const server = restrictedContainer({
        name: 'postgres',
        image,
        uid: DATABASE_IMAGE_UID,
        resources: this.resources,
        // Applies the dynamic settings to a running cluster, then execs Patroni (lib/patroni-config.ts).
        command: ['sh', `${CONFIG_DIR}/${PATRONI_START_FILE}`],
        env: this.serverEnv,
        ports: [{ name: 'postgres', containerPort: port }, { name: 'patroni', containerPort: PATRONI_API_PORT }],
        volumeMounts: mounts,
        // Patroni's own health endpoints: alive while its HA loop runs; ready when PostgreSQL runs
        // as the primary or as a streaming standby. A new standby's base backup may take long.
        startupProbe: api('/liveness', { periodSeconds: 10, failureThreshold: 360 }),
        livenessProbe: api('/liveness', { periodSeconds: 20, failureThreshold: 6 }),
        readinessProbe: api('/readiness', { periodSeconds: 5, failureThreshold: 3 }),
      });
      const m = patroniMembers(this, {
        members: this.members, server, port, exporter, storage: this.storage, storageClassName: props.storageClassName,
        volumes, terminationGracePeriodSeconds, config: podConfig,
      });
      ({ primaryService: this.service, replicaService: this.replicaService, statefulSet: this.statefulSet } = m);
      // Members stream WAL from the primary, rewind from it and ask each other during a leader race.
      this.allowIngressFrom(this.peer, [port, PATRONI_API_PORT]);
      this.allowEgressTo(this.peer, [port, PATRONI_API_PORT]);
      // Patroni's DCS is the Kubernetes API.
      this.allowEgressToApiServer(props.apiServer);
    } else {
      this.serverEnv = pgEnv;
      const server = restrictedContainer({
        name: 'postgres',
        image,
        uid: DATABASE_IMAGE_UID,
        resources: this.resources,
        // A standby site first builds its data directory from the primary's repository (a no-op once built).
        command: lazy(() => (this.standby ? ['bash', '-c', `bash ${this.standby.restoreScript} && exec docker-entrypoint.sh "$@"`, '--'] : undefined)),
        args: ['postgres', '-c', 'config_file=/etc/postgresql/postgresql.conf'],
        env: pgEnv,
        ports: [{ name: 'postgres', containerPort: port }],
        volumeMounts: mounts,
        // Crash recovery of a large WAL can take minutes: the startup probe allows 10; a standby
        // site's first start restores the primary's backup first: an hour, as Patroni's members get.
        startupProbe: execProbe(isReady, { periodSeconds: 10, timeoutSeconds: 5, failureThreshold: lazy(() => (this.standby ? 360 : 60)) }),
        livenessProbe: { tcpSocket: { port: k8s.IntOrString.fromNumber(port) }, periodSeconds: 20, timeoutSeconds: 5, failureThreshold: 6 },
        readinessProbe: execProbe(isReady, { periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 }),
      });
      ({ service: this.service, statefulSet: this.statefulSet } = statefulServer(this, {
        server, port: { name: 'postgres', number: port }, exporter, storage: this.storage, storageClassName: props.storageClassName,
        volumes, terminationGracePeriodSeconds, config: podConfig,
      }));
    }

    // Seed 000 §5.3: VACUUM ANALYZE and REINDEX on a schedule. CONCURRENTLY keeps the tables writable.
    const maintenanceScript = [
      'set -eu',
      `vacuumdb --host "$PGHOST" --port "$PGPORT" --username "$PGUSER" --dbname "$PGDATABASE" --analyze --jobs 1`,
      `reindexdb --host "$PGHOST" --port "$PGPORT" --username "$PGUSER" --dbname "$PGDATABASE" --concurrently`,
    ].join('\n');
    this.maintenanceJob = new k8s.KubeCronJob(this, 'Maintenance', {
      metadata: { name: `${this.name}-maintenance`, labels: { ...this.labels, 'app.kubernetes.io/component': 'database-maintenance' } },
      spec: scheduledJobSpec({
        schedule,
        timeZone: props.timeZone ?? 'UTC',
        backoffLimit: 1,
        activeDeadlineSeconds: 4 * 3600,
        template: {
          metadata: { labels: { ...this.labels, 'app.kubernetes.io/component': 'database-maintenance' } },
          spec: {
            restartPolicy: 'Never',
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            securityContext: podSecurityContext(DATABASE_IMAGE_UID),
            containers: [restrictedContainer({
              name: 'maintenance',
              image,
              uid: DATABASE_IMAGE_UID,
              resources: this.maintenanceResources,
              command: ['sh', '-c', maintenanceScript],
              env: [
                plainEnv('PGHOST', this.name), plainEnv('PGPORT', port), plainEnv('PGUSER', user),
                plainEnv('PGDATABASE', database), secretEnv('PGPASSWORD', passwordSecret),
              ],
            })],
          },
        },
      }),
    });
    // The maintenance pods are clients of this server like any other.
    const maintenanceSelector: k8s.LabelSelector = { matchLabels: { ...this.selector, 'app.kubernetes.io/component': 'database-maintenance' } };
    this.allowIngressFrom({ podSelector: maintenanceSelector }, [port]);
    new k8s.KubeNetworkPolicy(this, 'MaintenanceNetworkPolicy', {
      metadata: { name: `${this.name}-maintenance`, labels: this.labels },
      spec: {
        podSelector: maintenanceSelector,
        policyTypes: ['Ingress', 'Egress'],
        egress: [{ to: [this.peer], ports: [{ protocol: 'TCP', port: k8s.IntOrString.fromNumber(port) }] }],
      },
    });
  }

  /** The server's pods. */
  public get workload(): Workload {
    return this;
  }

  /** Connects a client: DATABASE_URL from the URL Secret, a NetworkPolicy path, and a line in the connection budget. */
  public bind(client: IConnectionClient): void {
    this.clients.add(client);
    client.addEnv(secretEnv('DATABASE_URL', this.connection.urlSecret));
    this.acceptTrafficFrom(client.workload, this.connection.port);
  }

  /** Counts connections of a client that is not a `connectTo` client (backup and restore jobs). */
  public reserveConnections(client: string, connections: number): void {
    this.clients.reserve(client, connections);
  }

  /**
   * Ships every WAL segment with `archive_command` and mounts what the archiver needs, and has the
   * exporter report the archive backlog (lib/monitoring/postgres-exporter-queries.ts): called by
   * `PointInTimeRecovery`. The image must contain the archiver (see IMAGE_CATALOG.postgresPgbackrest).
   */
  public enableWalArchiving(archiving: WalArchiving): void {
    if (this.archiving) throw new ValidationError(this.node.path, 'walArchiving', archiving.description, 'WAL archiving enabled once');
    this.archiving = archiving;
    this.addToServer(archiving);
    // Archiving that nobody watches fails silently (issue 18 §3): the exporter also reports the backlog.
    this.exporterEnv.push(plainEnv('PG_EXPORTER_EXTEND_QUERY_PATH', `${EXPORTER_QUERIES_DIR}/${EXPORTER_QUERIES_FILE}`));
    this.exporterMounts.push({ name: 'config', mountPath: EXPORTER_QUERIES_DIR, readOnly: true });
  }

  /**
   * Runs the server as a standby site's standby: built from the primary's repository, replaying its
   * WAL archive with `restore_command`, read-only until promoted. Standalone, the container restores
   * before PostgreSQL starts; under Patroni the cluster is a Patroni standby cluster (its
   * `standby_cluster` with the restore_command, the restore as the standby leader's
   * create_replica_method). Called by `StandbyReplay`.
   */
  public enableStandbyReplay(standby: StandbyReplay): void {
    if (this.standby) throw new ValidationError(this.node.path, 'standbyReplay', standby.description, 'standby replay enabled once');
    this.standby = standby;
    this.addToServer(standby);
  }

  /** Adds a part's environment, mounts and volumes to the server container and its pod. */
  private addToServer(part: { readonly env: readonly k8s.EnvVar[]; readonly volumeMounts: readonly k8s.VolumeMount[]; readonly volumes: readonly k8s.Volume[] }): void {
    this.serverEnv.push(...part.env);
    this.serverMounts.push(...part.volumeMounts);
    this.podVolumes.push(...part.volumes);
  }

  /** Whether the server is a standby site's standby, and what it replays from. */
  public get standbyReplay(): StandbyReplay | undefined {
    return this.standby;
  }

  /** Whether WAL archiving is on, and what it ships to. */
  public get walArchiving(): WalArchiving | undefined {
    return this.archiving;
  }

  /** Every client's most connections, plus the exporter, the maintenance job and reservations. */
  public connectionBudget(): ConnectionBudget {
    const lines: ConnectionBudgetLine[] = [
      ...this.clients.clientLines(),
      { client: `${this.name} exporter`, connections: 1 },
      { client: `${this.name} maintenance (vacuumdb/reindexdb, one job)`, connections: 1 },
      ...this.clients.reservedLines(),
      // Patroni keeps one superuser connection to its own member.
      ...this.failover ? [{ client: `${this.name} patroni (on each member)`, connections: 1 }] : [],
    ];
    return connectionBudget(lines);
  }

  /** `max_connections`: the override when given, else the budget (under Patroni at least 25, the least it accepts). */
  public maxConnections(): number {
    const budget = this.connectionBudget().maxConnections;
    return this.maxConnectionsOverride ?? (this.failover ? Math.max(budget, PATRONI_MIN_MAX_CONNECTIONS) : budget);
  }

  /** Memory settings for the current `max_connections`. */
  public tuning(): PostgresTuning {
    return postgresTuning(this.resources.memoryLimit, this.maxConnections(), this.node.path);
  }

  /** Problems with fitting the clients' connections in the memory limit (empty when they fit). */
  public memoryProblems(): string[] {
    try {
      this.tuning();
      return [];
    } catch (e) {
      if (e instanceof ValidationError) return [e.message];
      throw e;
    }
  }

  /** The server pod, and the maintenance CronJob's pod counted as running alongside everything else. */
  public sizings(): WorkloadSizing[] {
    return [
      { name: this.name, kind: 'StatefulSet', replicas: this.members, containers: [this.resources, this.exporterResources], storagePerReplica: this.storage, ...this.members > 1 ? { onePerNode: true } : {} },
      { name: `${this.name}-maintenance`, kind: 'CronJob', replicas: 1, containers: [this.maintenanceResources] },
    ];
  }
}

/** What `Postgres.enableWalArchiving` adds to the server. */
export interface WalArchiving {
  /** Names the archiver in errors, e.g. "pgBackRest to s3://bucket/prefix". */
  readonly description: string;
  /** postgresql.conf lines (archive_mode, archive_command, …). */
  readonly settings: ReadonlyArray<[string, string | number]>;
  readonly env: readonly k8s.EnvVar[];
  readonly volumeMounts: readonly k8s.VolumeMount[];
  readonly volumes: readonly k8s.Volume[];
}

/** What `Postgres.enableStandbyReplay` adds to the server. */
export interface StandbyReplay {
  /** Names the source in errors, e.g. "pgBackRest stanza x in s3://bucket/prefix/pgbackrest". */
  readonly description: string;
  /** PostgreSQL's restore_command (also Patroni's standby_cluster.restore_command). */
  readonly restoreCommand: string;
  /** Path in the container of the script that builds the data directory from the primary's repository. */
  readonly restoreScript: string;
  readonly env: readonly k8s.EnvVar[];
  readonly volumeMounts: readonly k8s.VolumeMount[];
  readonly volumes: readonly k8s.Volume[];
}

/** Where the server container mounts its ConfigMap. */
const CONFIG_DIR = '/etc/postgresql';
const PATRONI_FILE = 'patroni.yml';
const POST_BOOTSTRAP_FILE = 'post-bootstrap.sh';
/** The least max_connections Patroni 3.0 passes to PostgreSQL (patroni/postgresql/config.py CMDLINE_OPTIONS: `int(v) >= 25`). */
const PATRONI_MIN_MAX_CONNECTIONS = 25;
const PATRONI_DYNAMIC_FILE = 'patroni-dynamic.yml';
const PATRONI_START_FILE = 'patroni-start.sh';

/** The major version in the image's tag ("14.15-2.54" → 14): Patroni needs the binaries' folder. */
function postgresMajorVersion(image: ImageRef, path: string): number {
  const m = /^(\d+)/.exec(image.tag ?? '');
  if (!m) throw new ValidationError(path, 'image', image.toString(), 'with standbys, a tag that starts with the PostgreSQL major version ("14.15-…"), so Patroni finds /usr/lib/postgresql/<major>/bin');
  return Number(m[1]);
}

/**
 * Patroni's per-pod settings, from the pod itself (Patroni docs, "Environment Configuration"):
 * the member is named after its pod and announces its pod IP; the passwords come from the Secret.
 */
function patroniEnv(port: number, superuserPassword: SecretKeyRef, replicationPassword: SecretKeyRef, dataDirectory: string): k8s.EnvVar[] {
  const field = (name: string, fieldPath: string): k8s.EnvVar => ({ name, valueFrom: { fieldRef: { fieldPath } } });
  return [
    field('POD_NAME', 'metadata.name'),
    field('POD_IP', 'status.podIP'),
    field('PATRONI_KUBERNETES_NAMESPACE', 'metadata.namespace'),
    plainEnv('PATRONI_NAME', '$(POD_NAME)'),
    plainEnv('PATRONI_KUBERNETES_POD_IP', '$(POD_IP)'),
    plainEnv('PATRONI_RESTAPI_CONNECT_ADDRESS', `$(POD_IP):${PATRONI_API_PORT}`),
    plainEnv('PATRONI_POSTGRESQL_CONNECT_ADDRESS', `$(POD_IP):${port}`),
    secretEnv('PATRONI_SUPERUSER_PASSWORD', superuserPassword),
    secretEnv('PATRONI_REPLICATION_PASSWORD', replicationPassword),
    // pgBackRest and the scripts run in this container read it.
    plainEnv('PGDATA', dataDirectory),
  ];
}
