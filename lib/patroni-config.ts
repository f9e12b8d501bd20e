import { yaml } from './yaml-package';
import { ValidationError } from './errors';
import { checkInteger } from './validate';

/**
 * Patroni's configuration (patroni.yml) for a PostgreSQL cluster whose members run as pods of one
 * StatefulSet and keep their cluster state in Kubernetes objects (Patroni's Kubernetes DCS), as
 * Spilo and the Zalando operator do. Pure: the Postgres construct renders it into its ConfigMap and
 * the real-tool test (test/real-tools/postgres-ha.test.ts) runs real Patroni on the same output.
 *
 * What differs per pod (its name, its IP, the passwords) is not in the file: Patroni reads
 * PATRONI_NAME, PATRONI_KUBERNETES_POD_IP, PATRONI_RESTAPI_CONNECT_ADDRESS,
 * PATRONI_POSTGRESQL_CONNECT_ADDRESS, PATRONI_SUPERUSER_PASSWORD and PATRONI_REPLICATION_PASSWORD
 * from the environment (Patroni docs, "Environment Configuration"), so the ConfigMap holds no secret.
 */

/** When a member takes over, and how much a standby may miss and still be promoted. */
export interface PatroniFailoverSettings {
  /**
   * Seconds the leader key lives without renewal; a crashed primary is replaced after at most
   * about `ttl + loopWait` seconds (plus the promotion itself).
   */
  readonly ttlSeconds: number;
  /** Seconds between two runs of Patroni's HA loop on each member. */
  readonly loopWaitSeconds: number;
  /** Seconds Patroni retries the DCS and PostgreSQL before it demotes the primary. */
  readonly retryTimeoutSeconds: number;
  /** A standby that is more than this many bytes of WAL behind the last primary never takes part in the leader race. */
  readonly maximumLagOnFailoverBytes: number;
  /** A commit waits for one standby (Patroni's synchronous_mode); only that standby may be promoted. */
  readonly synchronousMode: boolean;
}

/**
 * The production defaults. ttl 20 / loop_wait 5 / retry_timeout 7 instead of Patroni's 30 / 10 / 10:
 * with those a crashed primary can be replaced only after up to ttl + loop_wait = 40 s, beyond the
 * 30 s target of issue 18; 20 + 5 keeps the worst case at about 27 s, and loop_wait + 2 ×
 * retry_timeout = 19 s ≤ ttl keeps Patroni's rule that a primary notices a lost DCS and demotes
 * itself before its key expires (Patroni docs, "Dynamic Configuration Settings"). A lag limit of
 * 1 MiB is Patroni's own default: on our WAL rates that is well under a second of writes.
 */
export const PATRONI_FAILOVER_DEFAULTS: PatroniFailoverSettings = {
  ttlSeconds: 20,
  loopWaitSeconds: 5,
  retryTimeoutSeconds: 7,
  maximumLagOnFailoverBytes: 1024 * 1024,
  synchronousMode: true,
};

/** Checks the timing rule Patroni states for ttl, loop_wait and retry_timeout; `path` names the construct in errors. */
export function checkFailoverSettings(path: string, s: PatroniFailoverSettings, members: number): PatroniFailoverSettings {
  checkInteger(path, 'ttlSeconds', s.ttlSeconds, 10, 300);
  checkInteger(path, 'loopWaitSeconds', s.loopWaitSeconds, 1, 60);
  checkInteger(path, 'retryTimeoutSeconds', s.retryTimeoutSeconds, 1, 120);
  checkInteger(path, 'maximumLagOnFailoverBytes', s.maximumLagOnFailoverBytes, 0);
  if (s.loopWaitSeconds + 2 * s.retryTimeoutSeconds > s.ttlSeconds) {
    throw new ValidationError(path, 'ttlSeconds', s.ttlSeconds,
      `at least loopWaitSeconds + 2 × retryTimeoutSeconds = ${s.loopWaitSeconds + 2 * s.retryTimeoutSeconds} (Patroni: the primary must notice a lost DCS before its key expires)`);
  }
  if (s.synchronousMode && members < 2) {
    throw new ValidationError(path, 'synchronousMode', s.synchronousMode,
      `false with ${members} member: synchronous replication needs a standby to confirm commits (standbys ≥ 1)`);
  }
  return s;
}

/** Where the cluster keeps its state in Kubernetes. */
export interface PatroniKubernetesDcs {
  /** Labels of every member pod; Patroni lists the members with them and puts them on the ConfigMaps it creates. */
  readonly labels: Readonly<Record<string, string>>;
  /** Label on every member pod whose value is the cluster's name (`scope`). */
  readonly scopeLabel: string;
  /** Label Patroni sets on each pod: "master" on the primary, "replica" on standbys (Patroni 3.0). */
  readonly roleLabel: string;
}

/** What patroni.yml says. */
export interface PatroniConfigOptions {
  /** The cluster's name (Patroni's scope); names the ConfigMaps Patroni creates. */
  readonly scope: string;
  /** PostgreSQL's port. */
  readonly port: number;
  /** Port of Patroni's REST API (health checks, the members talking to each other). */
  readonly restApiPort: number;
  /** The data directory (a subdirectory of the volume). */
  readonly dataDirectory: string;
  /** Where the PostgreSQL binaries are in the image. */
  readonly binDirectory: string;
  /** The generated postgresql.conf; Patroni uses it instead of postgresql.base.conf and adds its own settings. */
  readonly customConf: string;
  /** A file Patroni may write the members' passwords into (a writable, private emptyDir). */
  readonly pgpass: string;
  /** Superuser Patroni bootstraps and runs pg_rewind with; the application's owner, as with the official image. */
  readonly superuser: string;
  /** User the standbys stream WAL as. */
  readonly replicationUser: string;
  /** Database created right after the cluster is bootstrapped. */
  readonly database: string;
  /** Where `postBootstrapScript` is mounted. */
  readonly postBootstrapPath: string;
  /** `max_connections`: Patroni passes it on the command line and requires it equal on every member. */
  readonly maxConnections: number;
  /** Failover timing and durability. */
  readonly failover: PatroniFailoverSettings;
  /** The Kubernetes DCS. */
  readonly kubernetes: PatroniKubernetesDcs;
  /** Bootstrap the cluster as a Patroni standby cluster replaying another cluster's WAL archive. @default - a normal cluster */
  readonly standbyCluster?: PatroniStandbyCluster;
}

/**
 * A Patroni standby cluster (Patroni docs, "Standby cluster"): its standby leader replays WAL
 * with `restore_command` instead of streaming from a remote host, and is built by
 * `create_replica_methods` (here one custom method, Patroni docs "Building replicas"); the other
 * members stream from the standby leader. Removing `standby_cluster` from the dynamic
 * configuration (`patronictl edit-config -s standby_cluster=null`) promotes the standby leader.
 */
export interface PatroniStandbyCluster {
  /** PostgreSQL's restore_command. */
  readonly restoreCommand: string;
  /** The command that builds the standby leader's data directory (run without Patroni's parameters). */
  readonly createReplicaCommand: string;
}

/** Name of the replica method that restores the standby leader from the primary's repository. */
const STANDBY_REPLICA_METHOD = 'pgbackrest_standby';

/**
 * The configuration as an object (the test replaces the DCS and the loopback addresses; the
 * construct renders it with `renderPatroniYaml`).
 */
export function patroniConfig(o: PatroniConfigOptions): Record<string, unknown> {
  return {
    scope: o.scope,
    restapi: { listen: `0.0.0.0:${o.restApiPort}` },
    kubernetes: {
      // ConfigMaps, not Endpoints: the primary's Service selects pods by the role label, which
      // Patroni sets; with Endpoints Patroni would write the Service's endpoints itself and a
      // selector on that Service would fight it (Patroni docs, "Kubernetes").
      use_endpoints: false,
      labels: { ...o.kubernetes.labels },
      scope_label: o.kubernetes.scopeLabel,
      role_label: o.kubernetes.roleLabel,
    },
    bootstrap: {
      // Read once, when the cluster is created; `patroniStartScript` keeps the cluster in step later.
      // standby_cluster lives in bootstrap.dcs only, never in the dynamic file patroni-start.sh
      // applies at each start: a restart after promotion must not turn the cluster back into a standby.
      dcs: o.standbyCluster
        ? { ...patroniDynamicConfig(o), standby_cluster: { restore_command: o.standbyCluster.restoreCommand, create_replica_methods: [STANDBY_REPLICA_METHOD] } }
        : patroniDynamicConfig(o),
      // Data checksums let pg_rewind and the standbys detect torn pages; wal_log_hints is on as well.
      initdb: [{ encoding: 'UTF8' }, 'data-checksums'],
      post_bootstrap: `sh ${o.postBootstrapPath}`,
    },
    postgresql: {
      listen: `0.0.0.0:${o.port}`,
      data_dir: o.dataDirectory,
      bin_dir: o.binDirectory,
      pgpass: o.pgpass,
      custom_conf: o.customConf,
      // A new or replaced standby copies the primary right away: the spread checkpoint
      // pg_basebackup asks for by default would make it wait up to 0.9 × checkpoint_timeout.
      basebackup: [{ checkpoint: 'fast' }],
      // no_leader: the standby leader has no member to clone from; without it Patroni 3.0 skips the
      // method ("failed to bootstrap clone from remote member None", Patroni docs "Building replicas").
      ...o.standbyCluster ? { [STANDBY_REPLICA_METHOD]: { command: o.standbyCluster.createReplicaCommand, no_params: true, no_leader: true } } : {},
      // No "rewind" entry: Patroni then runs pg_rewind with the superuser's credentials, password
      // included (patroni/postgresql/config.py rewind_credentials). One naming the superuser without
      // a password would make pg_rewind connect with none, and the old primary could not rejoin.
      authentication: {
        superuser: { username: o.superuser },
        replication: { username: o.replicationUser },
      },
      // As the official image: trust inside the pod only; every other connection with SCRAM.
      pg_hba: [
        'local all all trust',
        'host all all 127.0.0.1/32 trust',
        'host all all ::1/128 trust',
        `host replication ${o.replicationUser} all scram-sha-256`,
        'host all all all scram-sha-256',
      ],
    },
    watchdog: { mode: 'off' },
  };
}

/**
 * Patroni's dynamic configuration (Patroni docs, "Dynamic Configuration Settings"): the settings
 * every member must share, kept in the DCS. Patroni copies `bootstrap.dcs` there only when it
 * creates the cluster; afterwards the DCS copy rules (max_connections even goes on PostgreSQL's
 * command line from it), so `patroniStartScript` applies this object at each member start.
 */
export function patroniDynamicConfig(o: Pick<PatroniConfigOptions, 'failover' | 'maxConnections'>): Record<string, unknown> {
  const f = o.failover;
  return {
    ttl: f.ttlSeconds,
    loop_wait: f.loopWaitSeconds,
    retry_timeout: f.retryTimeoutSeconds,
    maximum_lag_on_failover: f.maximumLagOnFailoverBytes,
    synchronous_mode: f.synchronousMode,
    postgresql: {
      // A crashed primary comes back as a standby of the new one instead of needing a new copy.
      use_pg_rewind: true,
      use_slots: true,
      parameters: { max_connections: o.maxConnections, wal_log_hints: 'on', hot_standby: 'on' },
    },
  };
}

/** The dynamic configuration as the ConfigMap holds it (YAML, what `patronictl edit-config --apply` reads). */
export function renderPatroniDynamicYaml(o: Pick<PatroniConfigOptions, 'failover' | 'maxConnections'>): string {
  return '# Generated by quality-billing-infra: applied to the running cluster at each member start.\n' + yaml.stringify(patroniDynamicConfig(o));
}

/**
 * The member's entrypoint. Patroni reads `bootstrap.dcs` only when it creates the cluster, so a
 * later change of max_connections, ttl, loop_wait, retry_timeout, synchronous_mode or
 * maximum_lag_on_failover would never reach it. Before Patroni starts, `patronictl edit-config
 * --apply` merges the rendered settings into the cluster's DCS configuration (it writes only when
 * they differ, and prints the diff), so the member starting now already runs with them; the
 * members still running pick them up in their next loop, and Patroni marks a setting that needs
 * a restart (max_connections) `pending_restart` on them (`patronictl restart <scope> --pending`, or
 * the StatefulSet's rolling update a config change causes anyway). Before the first bootstrap there
 * is nothing to edit yet (bootstrap.dcs carries the settings) and an unreachable DCS must not keep
 * the member from starting: a failed edit is logged and Patroni starts regardless.
 */
export function patroniStartScript(patroniYamlPath: string, dynamicYamlPath: string): string {
  return [
    'set -u',
    `if ! timeout 30 patronictl -c ${patroniYamlPath} edit-config --apply ${dynamicYamlPath} --force; then`,
    `  echo "patroni-start: the cluster's dynamic configuration was not updated from ${dynamicYamlPath} (not bootstrapped yet, or the DCS did not answer)" >&2`,
    'fi',
    `exec patroni ${patroniYamlPath}`,
    '',
  ].join('\n');
}

/**
 * The post-bootstrap script: Patroni runs it once on the member that initialised the cluster with
 * a superuser connection string as its argument; it creates the application's database, as the
 * official image does from POSTGRES_DB. `database` is a checked identifier.
 */
export function postBootstrapScript(database: string): string {
  return ['set -eu', `psql --no-psqlrc -v ON_ERROR_STOP=1 -d "$1" -c 'CREATE DATABASE "${database}"'`, ''].join('\n');
}

/** patroni.yml as the ConfigMap holds it. */
export function renderPatroniYaml(o: PatroniConfigOptions): string {
  return '# Generated by quality-billing-infra: edit the Postgres construct props, not this file.\n' + yaml.stringify(patroniConfig(o));
}
