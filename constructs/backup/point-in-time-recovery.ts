import { k8s } from '../core/k8s';
import { Construct } from 'constructs';
import { ARCHIVE_PUSH_SCRIPT, archiveSettings, PHYSICAL_BACKUP_SCRIPT, PITR_RESTORE_SCRIPT, renderPgBackRestConf } from '../../lib/backup/pgbackrest';
import { resolveS3Location, ResolvedS3Location, S3Location } from '../../lib/backup/s3';
import { ValidationError } from '../../lib/errors';
import { checkArchiveAgeThreshold, WAL_ARCHIVE_ALERT_DEFAULTS } from '../../lib/monitoring/alert-rules';
import { IMAGE_CATALOG, ImageRef } from '../../lib/images';
import { RESOURCE_PRESETS } from '../../lib/presets';
import { ResourceQuantities, resources, ResourceSpec, WorkloadSizing } from '../../lib/sizing';
import { tier as lookupTier, TierName } from '../../lib/tiers';
import { checkCronSchedule } from '../../lib/schedule';
import { ApiServerAddress, checkInteger } from '../../lib/validate';
import { Postgres } from '../data/postgres';
import { plainEnv, podSecurityContext, restrictedContainer, scheduledJobSpec, secretEnv } from '../core/pod-spec';
import { childPath, Workload } from '../core/workload';

/** Props of `PointInTimeRecovery`. */
export interface PointInTimeRecoveryProps {
  /** The server to archive and back up. Its image must contain pgBackRest (IMAGE_CATALOG.postgresPgbackrest). */
  readonly postgres: Postgres;
  /** Repository bucket and prefix (pgBackRest writes under `<prefix>/pgbackrest`). */
  readonly backupStorage: S3Location;
  /** Full backups (seed 002: daily). @default "0 3 * * *" (03:00, after the 02:00 logical backup) */
  readonly fullSchedule?: string;
  /** Incremental backups (seed 002: every 6 hours). @default "0 9,15,21 * * *" (with the full one: every 6 h) */
  readonly incrementalSchedule?: string;
  /** IANA time zone of both schedules. @default "UTC" */
  readonly timeZone?: string;
  /** Days full backups, and the WAL to replay from them, are kept (seed 002: 30). @default 30 */
  readonly fullRetentionDays?: number;
  /** Days incremental backups are kept (seed 002: 7). @default 7 */
  readonly incrementalRetentionDays?: number;
  /** Longest time a quiet server keeps a WAL segment before archiving it: the most data lost with the volume. @default 60 */
  readonly archiveTimeoutSeconds?: number;
  /**
   * Alert (WalArchiveStale) when no segment was archived for longer than this while WAL is
   * written; no shorter than `archiveTimeoutSeconds`, or a quiet server would fire it.
   * @default 600
   */
  readonly archiveAgeAlertSeconds?: number;
  /** Stanza (the cluster's name in the repository). @default - the server's name */
  readonly stanza?: string;
  /** Image of the pods that trigger the backups. @default - the catalog's kubectl */
  readonly kubectlImage?: string;
  /** Tier whose preset sizes the trigger pods. @default "recommended" */
  readonly tier?: TierName;
  /** Requests and limits of a trigger pod (the backup itself runs in the database container). @default - the tier's "backupTrigger" preset */
  readonly resources?: ResourceQuantities;
  /** Where the Kubernetes API server listens. @default - any address on 443 and 6443 */
  readonly apiServer?: ApiServerAddress;
}

/** Where the pgBackRest configuration and scripts are mounted in the database container. */
export const PGBACKREST_DIR = '/etc/pgbackrest';

/**
 * Physical backups and point-in-time recovery with pgBackRest (seed 000 §5.1 WAL archiving;
 * seed 002: full daily kept 30 days, incremental every 6 h kept 7 days, to object storage).
 * Turns on WAL archiving in the server (archive_command → pgBackRest → S3), and schedules full
 * and incremental backups. pgBackRest must read the data directory, so the backup runs inside
 * the database container: the CronJobs' pods `kubectl exec` the backup script there, with a
 * ServiceAccount that may exec into that one pod only (the pattern of the Crunchy operator's
 * backup Jobs). `PointInTimeRestore` restores from the same repository.
 */
export class PointInTimeRecovery extends Workload {
  public readonly postgres: Postgres;
  public readonly backupStorage: ResolvedS3Location;
  public readonly stanza: string;
  public readonly fullRetentionDays: number;
  public readonly incrementalRetentionDays: number;
  public readonly configMap: k8s.KubeConfigMap;
  public readonly fullBackup: k8s.KubeCronJob;
  public readonly incrementalBackup: k8s.KubeCronJob;
  public readonly resources: ResourceSpec;
  /** The server's archive_timeout, in seconds. */
  public readonly archiveTimeoutSeconds: number;
  /** The WAL archiving alerts' age threshold, in seconds (see `Monitoring.alertOnWalArchiving`). */
  public readonly archiveAgeAlertSeconds: number;

  constructor(scope: Construct, id: string, props: PointInTimeRecoveryProps) {
    const path = childPath(scope, id);
    const kubectlImage = ImageRef.parse(props.kubectlImage ?? IMAGE_CATALOG.kubectl.toString(), path, 'kubectlImage');
    super(scope, id, { name: `${props.postgres.name}-backup-physical`, component: 'backup', version: kubectlImage.version });
    const pg = props.postgres;
    this.postgres = pg;
    this.backupStorage = resolveS3Location(path, 'backupStorage', props.backupStorage);
    this.stanza = props.stanza ?? pg.name;
    if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(this.stanza)) throw new ValidationError(path, 'stanza', this.stanza, 'lower-case letters, digits and "-"');
    this.fullRetentionDays = checkInteger(path, 'fullRetentionDays', props.fullRetentionDays ?? 30, 1, 3650);
    this.incrementalRetentionDays = checkInteger(path, 'incrementalRetentionDays', props.incrementalRetentionDays ?? 7, 1, this.fullRetentionDays);
    const archiveTimeout = checkInteger(path, 'archiveTimeoutSeconds', props.archiveTimeoutSeconds ?? 60, 30, 3600);
    this.archiveTimeoutSeconds = archiveTimeout;
    this.archiveAgeAlertSeconds = checkArchiveAgeThreshold(path, 'archiveAgeAlertSeconds', props.archiveAgeAlertSeconds ?? WAL_ARCHIVE_ALERT_DEFAULTS.maxArchiveAgeSeconds, archiveTimeout);
    const t = lookupTier(props.tier ?? 'recommended', path).name;
    this.resources = resources(props.resources ?? RESOURCE_PRESETS[t].backupTrigger, path, 'resources');
    const timeZone = props.timeZone ?? 'UTC';
    const fullSchedule = checkCronSchedule(path, 'fullSchedule', props.fullSchedule ?? '0 3 * * *');
    const incrementalSchedule = checkCronSchedule(path, 'incrementalSchedule', props.incrementalSchedule ?? '0 9,15,21 * * *');

    const configMapName = `${pg.name}-pgbackrest`;
    this.configMap = new k8s.KubeConfigMap(this, 'Config', {
      metadata: { name: configMapName, labels: this.labels },
      data: {
        'pgbackrest.conf': renderPgBackRestConf({
          stanza: this.stanza, repository: this.backupStorage, fullRetentionDays: this.fullRetentionDays,
          dataDirectory: pg.dataDirectory, port: pg.connection.port, socketDirectory: pg.socketDirectory, user: pg.connection.user,
        }),
        'pgbackrest-archive-push.sh': ARCHIVE_PUSH_SCRIPT,
        'backup.sh': PHYSICAL_BACKUP_SCRIPT,
        'restore.sh': PITR_RESTORE_SCRIPT,
      },
    });
    pg.enableWalArchiving({
      description: `pgBackRest to s3://${this.backupStorage.bucket}/${this.backupStorage.prefix}/pgbackrest`,
      settings: archiveSettings(PGBACKREST_DIR, archiveTimeout),
      env: pgBackRestEnv(this.backupStorage, this.stanza, this.incrementalRetentionDays),
      volumeMounts: [{ name: 'pgbackrest', mountPath: PGBACKREST_DIR, readOnly: true }],
      volumes: [{ name: 'pgbackrest', configMap: { name: configMapName, defaultMode: 0o555 } }],
    });
    // archive-push and the backups run in the server's pod: it reaches the storage itself.
    pg.allowEgressTo({ ipBlock: { cidr: this.backupStorage.cidr } }, [this.backupStorage.endpointPort]);
    this.allowEgressToApiServer(props.apiServer);

    // With standbys the backup runs on the primary, whichever member it is: `kubectl exec
    // service/<name>` execs into the first pod the primary Service selects (kubectl exec --help),
    // which needs the Service, and a list of pods (a list cannot be narrowed to names).
    const members = Array.from({ length: pg.members }, (_, i) => `${pg.name}-${i}`);
    const target = pg.members > 1 ? `service/${pg.service.name}` : members[0];
    new k8s.KubeServiceAccount(this, 'ServiceAccount', { metadata: { name: this.name, labels: this.labels }, automountServiceAccountToken: false });
    new k8s.KubeRole(this, 'Role', {
      metadata: { name: this.name, labels: this.labels },
      rules: [
        ...pg.members > 1
          ? [{ apiGroups: [''], resources: ['services'], verbs: ['get'], resourceNames: [pg.service.name] }, { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }]
          : [{ apiGroups: [''], resources: ['pods'], verbs: ['get'], resourceNames: members }],
        // create: exec over SPDY; get: exec over WebSocket (kubectl 1.30+ clients).
        { apiGroups: [''], resources: ['pods/exec'], verbs: ['create', 'get'], resourceNames: members },
      ],
    });
    new k8s.KubeRoleBinding(this, 'RoleBinding', {
      metadata: { name: this.name, labels: this.labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: this.name },
      subjects: [{ kind: 'ServiceAccount', name: this.name }],
    });

    const cronJob = (cid: string, type: 'full' | 'incr', schedule: string) => new k8s.KubeCronJob(this, cid, {
      metadata: { name: `${pg.name}-backup-${type}`, labels: this.labels },
      spec: scheduledJobSpec({
        schedule,
        timeZone,
        backoffLimit: 1,
        activeDeadlineSeconds: 8 * 3600,
        template: {
          metadata: { labels: this.labels },
          spec: {
            restartPolicy: 'Never',
            serviceAccountName: this.name,
            automountServiceAccountToken: true,
            enableServiceLinks: false,
            securityContext: podSecurityContext(65532),
            containers: [restrictedContainer({
              name: 'trigger',
              image: kubectlImage,
              uid: 65532,
              resources: this.resources,
              // The image's entrypoint is kubectl; the script's output and exit code come back.
              args: ['exec', target, '--namespace', this.namespace, '--container', 'postgres', '--',
                'bash', `${PGBACKREST_DIR}/backup.sh`, type],
            })],
          },
        },
      }),
    });
    this.fullBackup = cronJob('Full', 'full', fullSchedule);
    this.incrementalBackup = cronJob('Incremental', 'incr', incrementalSchedule);
    pg.reserveConnections(`${this.name} (pgBackRest backup)`, 2);
  }

  /** The trigger pods (the backup's own work is inside the database container's limits). */
  public sizings(): WorkloadSizing[] {
    return [
      { name: this.fullBackup.name, kind: 'CronJob', replicas: 1, containers: [this.resources] },
      { name: this.incrementalBackup.name, kind: 'CronJob', replicas: 1, containers: [this.resources] },
    ];
  }
}

/** pgBackRest's environment: the repository keys from the Secret, the stanza, the incremental retention. */
export function pgBackRestEnv(storage: ResolvedS3Location, stanza: string, incrementalRetentionDays: number): k8s.EnvVar[] {
  return [
    secretEnv('PGBACKREST_REPO1_S3_KEY', storage.accessKeyId),
    secretEnv('PGBACKREST_REPO1_S3_KEY_SECRET', storage.secretAccessKey),
    plainEnv('STANZA', stanza),
    plainEnv('INCR_RETENTION_DAYS', incrementalRetentionDays),
  ];
}
