import { k8s } from '../core/k8s';
import { ValidationError } from '../../lib/errors';
import { Construct } from 'constructs';
import { DUMP_SCRIPT, FETCH_SCRIPT, RESTORE_DRILL_SCRIPT, RESTORE_SCRIPT, UPLOAD_SCRIPT } from '../../lib/backup/logical-scripts';
import { resolveS3Location, ResolvedS3Location, S3Location } from '../../lib/backup/s3';
import { DRILL_CHECK_SCRIPT, DRILL_RECORD_SCRIPT } from '../../lib/drill/record';
import { IMAGE_CATALOG, ImageRef } from '../../lib/images';
import { RESOURCE_PRESETS } from '../../lib/presets';
import { ByteQuantity } from '../../lib/quantity';
import { DATABASE_IMAGE_UID } from '../../lib/security';
import { ResourceQuantities, resources, ResourceSpec } from '../../lib/sizing';
import { tier as lookupTier, TierName } from '../../lib/tiers';
import { checkCronSchedule } from '../../lib/schedule';
import { IPostgres } from '../data/postgres-reference';
import { emptyDir, plainEnv, restrictedContainer, runOncePodSpec, ScheduledJobOptions, scheduledJobSpec, secretEnv } from '../core/pod-spec';
import { childPath, Workload } from '../core/workload';
import { serverIngressPolicy } from './server-ingress';

/** Props shared by the logical backup, restore and restore-test constructs. */
export interface LogicalBackupProps {
  /** The database server, run by this chart (`Postgres`) or not (`Postgres.fromConnection`); its connection, credentials and image are used. */
  readonly postgres: IPostgres;
  /** The bucket and prefix backups live under. */
  readonly backupStorage: S3Location;
  /** Object name. @default - derived from the server's name */
  readonly name?: string;
  /** Tier whose resource preset applies. @default "recommended" */
  readonly tier?: TierName;
  /** Requests and limits of each container. @default - the tier's "backup" preset */
  readonly resources?: ResourceQuantities;
  /** Image with pg_dump/pg_restore/psql. @default - the server's image, so the client matches the server */
  readonly postgresImage?: string;
  /** Image with the AWS CLI. @default - the catalog's aws-cli */
  readonly awsCliImage?: string;
  /** Size limit of the scratch volume the dump is written to. @default - the server's volume size (required for a server this chart does not run) */
  readonly scratchSize?: string;
}

/** Where the scripts are mounted in every logical backup pod. */
export const SCRIPTS_DIR = '/opt/backup';
/** The scratch volume the dump is written to and read from. */
export const WORK_DIR = '/backup';

/** CronJob settings shared by the scheduled jobs. */
export interface ScheduleProps {
  /** Cron schedule. @default - each job's own (backup "0 2 * * *", restore test "0 4 1 * *") */
  readonly schedule?: string;
  /** IANA time zone of the schedule (`spec.timeZone`). @default "UTC" */
  readonly timeZone?: string;
}

/**
 * Base of `PostgresBackup`, `RestoreTest` and `PostgresRestore`: pods of two containers sharing an
 * emptyDir — one from the postgres image (pg_dump/pg_restore/psql), one from the aws-cli image
 * (S3) — running the scripts of lib/backup/logical-scripts.ts from a ConfigMap. Each gets its own
 * NetworkPolicy: egress to the server and to the storage, and ingress on the server from it.
 */
export abstract class LogicalBackupWorkload extends Workload {
  public readonly postgres: IPostgres;
  public readonly backupStorage: ResolvedS3Location;
  public readonly resources: ResourceSpec;
  protected readonly postgresImage: ImageRef;
  protected readonly awsCliImage: ImageRef;
  protected readonly scratchSize: ByteQuantity;
  /** Name of the ConfigMap holding the scripts (one per server, shared). */
  public readonly scriptsConfigMapName: string;

  /**
   * `identity.serverAccess: false` (the restore drill, which runs its own server) opens no network
   * path to the server: no egress towards it and no ingress policy on it.
   */
  protected constructor(scope: Construct, id: string, props: LogicalBackupProps, identity: { name: string; component: string; serverAccess?: boolean }) {
    const path = childPath(scope, id);
    const postgresImage = ImageRef.parse(props.postgresImage ?? props.postgres.image.toString(), path, 'postgresImage');
    super(scope, id, { name: props.name ?? identity.name, component: identity.component, version: postgresImage.version });
    this.postgres = props.postgres;
    this.postgresImage = postgresImage;
    this.awsCliImage = ImageRef.parse(props.awsCliImage ?? IMAGE_CATALOG.awsCli.toString(), path, 'awsCliImage');
    this.backupStorage = resolveS3Location(path, 'backupStorage', props.backupStorage);
    const t = lookupTier(props.tier ?? 'recommended', path).name;
    this.resources = resources(props.resources ?? RESOURCE_PRESETS[t].backup, path, 'resources');
    const scratchSize = props.scratchSize ? ByteQuantity.parse(props.scratchSize, path, 'scratchSize') : props.postgres.storage;
    if (!scratchSize) throw new ValidationError(path, 'scratchSize', undefined, `a size for the dump's scratch volume: ${props.postgres.node.path} is not run by this chart, so its volume size is unknown`);
    this.scratchSize = scratchSize;
    this.scriptsConfigMapName = ensureScripts(props.postgres, this);

    const serverAccess = identity.serverAccess !== false;
    const pgPort = this.postgres.connection.port;
    if (serverAccess) this.allowEgressTo(this.postgres.peerFor(this), [pgPort]);
    this.allowEgressTo({ ipBlock: { cidr: this.backupStorage.cidr } }, [this.backupStorage.endpointPort]);
    // A policy of its own on the server's pods, so this construct's objects work applied alone
    // (the restore Job is emitted on demand, after the server's policy was applied). A server
    // this chart does not run has no pods here to select.
    const server = this.postgres.workload;
    if (server && serverAccess) serverIngressPolicy(this, server, pgPort);
  }

  /** libpq environment of the postgres-image container. */
  protected postgresEnv(): k8s.EnvVar[] {
    const c = this.postgres.connection;
    return [
      plainEnv('PGHOST', c.host), plainEnv('PGPORT', c.port), plainEnv('PGUSER', c.user),
      secretEnv('PGPASSWORD', c.passwordSecret), plainEnv('PGDATABASE', c.database),
      plainEnv('BACKUP_DIR', WORK_DIR),
    ];
  }

  /** AWS CLI environment of the aws-cli container: bucket, prefix, region and keys (from the Secret). */
  protected s3Env(): k8s.EnvVar[] {
    return s3ClientEnv(this.backupStorage, WORK_DIR);
  }

  /** A container running one of the scripts, from the postgres or the aws-cli image. */
  protected scriptContainer(name: string, script: keyof typeof SCRIPT_FILES, env: k8s.EnvVar[]): k8s.Container {
    const image = script === 'upload' || script === 'fetch' ? this.awsCliImage : this.postgresImage;
    return restrictedContainer({
      name,
      image,
      uid: DATABASE_IMAGE_UID,
      resources: this.resources,
      command: ['bash', `${SCRIPTS_DIR}/${SCRIPT_FILES[script]}`],
      env,
      volumeMounts: [
        { name: 'work', mountPath: WORK_DIR },
        { name: 'scripts', mountPath: SCRIPTS_DIR, readOnly: true },
        { name: 'tmp', mountPath: '/tmp' },
      ],
    });
  }

  /** The emptyDirs of every logical backup pod: the scratch volume (`workSize`) at WORK_DIR and /tmp. */
  protected scratchVolumes(workSize: ByteQuantity = this.scratchSize): k8s.Volume[] {
    return [emptyDir('work', workSize.toString()), emptyDir('tmp', TMP_SIZE)];
  }

  /** The pod template: `first` as init container, `second` as the container, a scratch volume of `workSize`. */
  protected podTemplate(first: k8s.Container, second: k8s.Container, workSize: ByteQuantity = this.scratchSize): k8s.PodTemplateSpec {
    const [work, tmp] = this.scratchVolumes(workSize);
    return {
      metadata: { labels: this.labels },
      spec: runOncePodSpec(DATABASE_IMAGE_UID, {
        initContainers: [first],
        containers: [second],
        volumes: [
          work,
          { name: 'scripts', configMap: { name: this.scriptsConfigMapName, defaultMode: 0o555 } },
          tmp,
        ],
      }),
    };
  }

  /** The CronJob spec of the scheduled jobs, with the schedule checked. */
  protected cronJobSpec(o: ScheduledJobOptions): k8s.CronJobSpec {
    return scheduledJobSpec({ ...o, schedule: checkCronSchedule(this.node.path, 'schedule', o.schedule) });
  }
}

/** The scripts and their file names in the ConfigMap. */
export const SCRIPT_FILES = { dump: 'dump.sh', upload: 'upload.sh', fetch: 'fetch.sh', restore: 'restore.sh', drill: 'restore-drill.sh' } as const;

/** Size limit of the /tmp emptyDir of every logical backup pod. */
const TMP_SIZE = '256Mi';

/**
 * The ConfigMap with the scripts, created once per server (under it) and shared: labelled as the
 * server's, or, for a server this chart does not run, as the first backup workload's.
 */
function ensureScripts(postgres: IPostgres, first: Workload): string {
  const name = `${postgres.name}-backup-scripts`;
  if (!postgres.node.tryFindChild('BackupScripts')) {
    const owner = postgres.workload ?? first;
    new k8s.KubeConfigMap(postgres, 'BackupScripts', {
      metadata: { name, labels: { ...owner.labels, 'app.kubernetes.io/component': 'backup' }, namespace: owner.explicitNamespace },
      data: {
        [SCRIPT_FILES.dump]: DUMP_SCRIPT, [SCRIPT_FILES.upload]: UPLOAD_SCRIPT, [SCRIPT_FILES.fetch]: FETCH_SCRIPT,
        [SCRIPT_FILES.restore]: RESTORE_SCRIPT, [SCRIPT_FILES.drill]: RESTORE_DRILL_SCRIPT,
        // The restore test is a drill that leaves a record (lib/drill/record.ts).
        'drill-check.sh': DRILL_CHECK_SCRIPT, 'drill-record.sh': DRILL_RECORD_SCRIPT,
      },
    });
  }
  return name;
}

/** The AWS CLI environment of an upload or fetch container: bucket, prefix, region and keys (from the Secret). */
export function s3ClientEnv(s: ResolvedS3Location, backupDir: string): k8s.EnvVar[] {
  return [
    plainEnv('BACKUP_DIR', backupDir),
    plainEnv('S3_BUCKET', s.bucket), plainEnv('S3_PREFIX', s.prefix),
    ...(s.endpoint ? [plainEnv('S3_ENDPOINT', s.endpoint.replace(/\/$/, ''))] : []),
    plainEnv('AWS_DEFAULT_REGION', s.region),
    plainEnv('AWS_S3_ADDRESSING_STYLE', s.pathStyle ? 'path' : 'virtual'),
    secretEnv('AWS_ACCESS_KEY_ID', s.accessKeyId), secretEnv('AWS_SECRET_ACCESS_KEY', s.secretAccessKey),
    // No instance metadata lookups, and a writable home on the read-only root filesystem.
    plainEnv('AWS_EC2_METADATA_DISABLED', 'true'), plainEnv('HOME', '/tmp'),
  ];
}
