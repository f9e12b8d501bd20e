import { k8s } from '../core/k8s';
import { Construct } from 'constructs';
import { renderPgBackRestConf, STANDBY_ARCHIVE_GET_SCRIPT, STANDBY_PGBACKREST_DIR, STANDBY_RESTORE_SCRIPT, standbyRestoreCommand } from '../../lib/backup/pgbackrest';
import { resolveS3Location, ResolvedS3Location, S3Location } from '../../lib/backup/s3';
import { ValidationError } from '../../lib/errors';
import { plainEnv, secretEnv } from '../core/pod-spec';
import { Postgres } from '../data/postgres';
import { PointInTimeRecovery } from './point-in-time-recovery';

/** Props of `ArchiveStandby`. */
export interface ArchiveStandbyProps {
  /**
   * This site's own point-in-time recovery: the server archives there (not into the primary's
   * repository) once promoted. Its repository must differ from `primaryRepository`.
   */
  readonly recovery: PointInTimeRecovery;
  /** The primary's pgBackRest repository: bucket and prefix (pgBackRest reads `<prefix>/pgbackrest`) and the keys to read it. */
  readonly primaryRepository: S3Location;
  /** The primary's stanza. @default - the server's name (what the primary's `PointInTimeRecovery` uses) */
  readonly primaryStanza?: string;
}

/**
 * Makes a server a standby site's standby of a primary in another cluster, fed only by the
 * primary's pgBackRest repository in object storage (no network path between the clusters): the
 * data directory is restored from the latest backup set, and `restore_command` fetches each WAL
 * segment with `archive-get` as the primary archives it. The server is read-only until promoted.
 *
 * The primary's repository is read with a configuration file and keys of its own
 * (`/etc/pgbackrest-standby`), and the server's `archive_command` stays the site's own
 * `PointInTimeRecovery`. A standby does not archive (archive_mode "on" archives only on a
 * primary); once promoted, it starts a new timeline and ships it to the site's own repository, so
 * the primary's stanza never receives a second writer's WAL even if the old primary comes back
 * (split brain in one stanza would make its "latest" a mix of two histories).
 */
export class ArchiveStandby extends Construct {
  public readonly postgres: Postgres;
  public readonly primaryRepository: ResolvedS3Location;
  public readonly primaryStanza: string;
  public readonly configMap: k8s.KubeConfigMap;
  /** PostgreSQL's restore_command. */
  public readonly restoreCommand: string;

  constructor(scope: Construct, id: string, props: ArchiveStandbyProps) {
    super(scope, id);
    const path = this.node.path;
    const pg = props.recovery.postgres;
    this.postgres = pg;
    const primary = this.primaryRepository = resolveS3Location(path, 'primaryRepository', props.primaryRepository);
    this.primaryStanza = props.primaryStanza ?? pg.name;
    if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(this.primaryStanza)) throw new ValidationError(path, 'primaryStanza', this.primaryStanza, 'lower-case letters, digits and "-"');
    const own = props.recovery.backupStorage;
    if (sameRepository(own, primary)) {
      throw new ValidationError(path, 'recovery.backupStorage', `s3://${own.bucket}/${own.prefix}`,
        `a repository other than the primary's (s3://${primary.bucket}/${primary.prefix}): once promoted the standby archives a new timeline there, which must not mix with the primary's stanza`);
    }
    this.restoreCommand = standbyRestoreCommand(STANDBY_PGBACKREST_DIR);
    const configMapName = `${pg.name}-standby`;
    this.configMap = new k8s.KubeConfigMap(this, 'Config', {
      metadata: { name: configMapName, labels: props.recovery.labels },
      data: {
        'pgbackrest-primary.conf': renderPgBackRestConf({
          stanza: this.primaryStanza, repository: primary, fullRetentionDays: props.recovery.fullRetentionDays,
          dataDirectory: pg.dataDirectory, port: pg.connection.port, socketDirectory: pg.socketDirectory, user: pg.connection.user,
        }),
        'standby-archive-get.sh': STANDBY_ARCHIVE_GET_SCRIPT,
        'standby-restore.sh': STANDBY_RESTORE_SCRIPT,
      },
    });
    pg.enableStandbyReplay({
      description: `pgBackRest stanza ${this.primaryStanza} in s3://${primary.bucket}/${primary.prefix}/pgbackrest`,
      restoreCommand: this.restoreCommand,
      restoreScript: `${STANDBY_PGBACKREST_DIR}/standby-restore.sh`,
      env: [
        secretEnv('PRIMARY_REPO_S3_KEY', primary.accessKeyId),
        secretEnv('PRIMARY_REPO_S3_KEY_SECRET', primary.secretAccessKey),
        plainEnv('PRIMARY_STANZA', this.primaryStanza),
        plainEnv('PRIMARY_PGBACKREST_CONFIG', `${STANDBY_PGBACKREST_DIR}/pgbackrest-primary.conf`),
        plainEnv('RESTORE_COMMAND', this.restoreCommand),
      ],
      volumeMounts: [{ name: 'pgbackrest-standby', mountPath: STANDBY_PGBACKREST_DIR, readOnly: true }],
      volumes: [{ name: 'pgbackrest-standby', configMap: { name: configMapName, defaultMode: 0o555 } }],
    });
    pg.allowEgressTo({ ipBlock: { cidr: primary.cidr } }, [primary.endpointPort]);
  }
}

/** Whether two locations are one pgBackRest repository (same storage, bucket and prefix). */
function sameRepository(a: ResolvedS3Location, b: ResolvedS3Location): boolean {
  return a.endpointHost === b.endpointHost && a.endpointPort === b.endpointPort && a.bucket === b.bucket && a.prefix.replace(/\/+$/, '') === b.prefix.replace(/\/+$/, '');
}
