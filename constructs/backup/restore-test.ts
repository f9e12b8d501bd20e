import { k8s } from '../core/k8s';
import { Construct } from 'constructs';
import { ByteQuantity } from '../../lib/quantity';
import { WorkloadSizing } from '../../lib/sizing';
import { checkDnsLabel, checkInteger } from '../../lib/validate';
import { plainEnv } from '../core/pod-spec';
import { DRILL_RECORD_RESERVE_SECONDS } from '../../lib/drill/record';
import { drillRecordContainer } from '../drill/drill';
import { LogicalBackupProps, LogicalBackupWorkload, ScheduleProps, SCRIPTS_DIR, WORK_DIR } from './logical-backup-workload';

/** Props of `RestoreTest`. */
export interface RestoreTestProps extends LogicalBackupProps, ScheduleProps {
  /**
   * Size limit of the drill's scratch volume (an emptyDir, replacing `scratchSize`), which holds
   * the downloaded dump and the throwaway server's data directory.
   * @default - half of `scratchSize`, i.e. of the server's volume: the restored database (without the live one's bloat, WAL and free space) and its compressed dump; a database that fills more than half its volume needs this set to its size
   */
  readonly scratchStorage?: string;
  /** Deadline of one run, in seconds. @default 21600 (6 h) */
  readonly activeDeadlineSeconds?: number;
  /** What the drill's record says and how long it is kept (it goes to `<prefix without "/postgres">/drills/restore/` of the bucket). @default - see RestoreTestRecord */
  readonly record?: RestoreTestRecord;
  /** Run once as a Job of this name (`npm run drill -- --kind restore`) instead of the monthly CronJob. @default - the CronJob */
  readonly jobName?: string;
}

/** The restore drill's record (lib/drill/record.ts). */
export interface RestoreTestRecord {
  /** The system, in the record. @default - the chart's `app.kubernetes.io/part-of` label, else its namespace */
  readonly system?: string;
  /** The environment, in the record. @default - the first folder of the backup prefix ("prod/postgres" → "prod") */
  readonly environment?: string;
  /** Days a record is kept; the newest 3 are always kept. @default 730 */
  readonly retentionDays?: number;
}

/** Where the throwaway server's data directory and socket live: on the scratch volume, beside the dump. */
export const DRILL_SCRATCH_DIR = `${WORK_DIR}/server`;

/** Where the restore drill's steps write their checks (DRILL_DIR), on the scratch volume. */
const DRILL_WORK_DIR = `${WORK_DIR}/drill`;
const DRILL_CHECKS_DIR = `${DRILL_WORK_DIR}/checks`;
/** The check wrapper's file in the scripts ConfigMap. */
const SCRIPT_FILES_DRILL = 'drill-check.sh';

/** A finished drill's Job and pod are deleted after this long: time to read a failure's logs. */
const FINISHED_TTL_SECONDS = 7 * 86400;

/**
 * The monthly restore drill (seed 001): downloads the latest complete backup and verifies its
 * checksums (init container, aws-cli image); then the restore container, from the server's own
 * pinned image, starts a throwaway PostgreSQL in the pod (`initdb` into an emptyDir, `pg_ctl`,
 * Unix socket only), restores the backup into it, compares every table's row count and every
 * sequence and index with the backup's manifest, and stops it (lib/backup/logical-scripts.ts
 * RESTORE_DRILL_SCRIPT). It never connects to the live server: no connection settings, no
 * password, no reserved connection, no NetworkPolicy path to it. The finished Job and its pod
 * are deleted after 7 days (`ttlSecondsAfterFinished`), their emptyDirs with them.
 *
 * Why the restore container runs the server itself rather than a native sidecar (an init
 * container with `restartPolicy: Always`): sidecars are beta in Kubernetes 1.28, which this
 * library targets (DESIGN.md), and a sidecar would need a readiness handshake and a way to be told
 * the check is over; one container that starts, uses and stops its own server works on every
 * version and fails as one unit. Its CPU and memory are the container's `resources`; its scratch
 * space (one emptyDir for the dump and the data directory, and /tmp) is requested as `ephemeral-storage`, so the scheduler
 * places it only where the node's disk has room, and counted by the capacity planner.
 *
 * It is the restore drill of issue 21 §5: both steps run as checks (`drill-check.sh`), and a last
 * container (aws-cli) writes the drill's record (lib/drill/record.ts) and uploads it beside the
 * backups under `drills/restore/`, failing the Job after the upload when a step failed. With
 * `jobName` it runs once, as a Job (`npm run drill -- --kind restore`).
 *
 * The result metric: a failure fails the Job (one try), and the CronJob's status as
 * kube-state-metrics reports it (`kube_cronjob_status_last_successful_time` against
 * `kube_cronjob_status_last_schedule_time`) is what the RestoreTestFailed and RestoreTestMissing
 * alerts read; it outlives the deleted Job. No system with a restore drill has a Pushgateway
 * (only merchant-analysis runs one, for MongoDB), so nothing is pushed; the row counts checked
 * are in the container's log.
 */
export class RestoreTest extends LogicalBackupWorkload {
  /** The monthly CronJob (absent when run once, with `jobName`). */
  public readonly cronJob?: k8s.KubeCronJob;
  /** The one-off Job, with `jobName`. */
  public readonly job?: k8s.KubeJob;
  /** Where the drill records go: `s3://bucket/<prefix>/drills/restore/`. */
  public readonly recordDestination: string;
  /** Size limit of the scratch volume holding the dump and the throwaway server's data. */
  public readonly scratchStorage: ByteQuantity;
  /** Node-disk space the pod may fill: the size limits of all its emptyDirs. */
  public readonly scratchSpace: ByteQuantity;

  constructor(scope: Construct, id: string, props: RestoreTestProps) {
    super(scope, id, props, { name: `${props.postgres.name}-restore-test`, component: 'restore-test', serverAccess: false });
    const path = this.node.path;
    // Half the server's volume by default: a full volume's worth beside every member's volume does
    // not fit staging's two minimum-tier nodes once PostgreSQL has a standby (the planner's disk check).
    this.scratchStorage = props.scratchStorage ? ByteQuantity.parse(props.scratchStorage, path, 'scratchStorage') : this.scratchSize.times(0.5);
    // Each step runs as a check of the drill (drill-check.sh always exits 0); the record container
    // then writes and uploads the record, and fails the Job when a step failed.
    const asCheck = (c: k8s.Container, check: string): k8s.Container => ({ ...c, command: ['bash', `${SCRIPTS_DIR}/${SCRIPT_FILES_DRILL}`, check, ...c.command!] });
    const activeDeadlineSeconds = checkInteger(path, 'activeDeadlineSeconds', props.activeDeadlineSeconds ?? 6 * 3600, 300);
    // The steps share the deadline less the record's reserve, counted from the first step's start:
    // the deadline kills the whole pod, and a record must still be written when a step hangs.
    const drillEnv = [plainEnv('DRILL_DIR', DRILL_CHECKS_DIR), plainEnv('DRILL_BUDGET_SECONDS', activeDeadlineSeconds - DRILL_RECORD_RESERVE_SECONDS)];
    const fetch = asCheck(this.scriptContainer('fetch', 'fetch', [...this.s3Env(), plainEnv('BACKUP_ID', 'latest'), ...drillEnv]), 'download and verify the latest complete backup');
    const drill = asCheck(this.scriptContainer('restore', 'drill', [
      plainEnv('BACKUP_DIR', WORK_DIR),
      plainEnv('SCRATCH_DIR', DRILL_SCRATCH_DIR),
      // The database's own name: the server it is restored into holds nothing else.
      plainEnv('TARGET_DATABASE', this.postgres.connection.database),
      ...drillEnv,
    ]), 'restore it into a throwaway server and compare with its manifest');
    this.scratchSpace = this.scratchVolumes(this.scratchStorage).map(v => ByteQuantity.parse(String(v.emptyDir!.sizeLimit!.value), path, 'volumes')).reduce((a, b) => a.plus(b));
    const requests = { ...drill.resources!.requests, 'ephemeral-storage': k8s.Quantity.fromString(this.scratchSpace.toString()) };
    const steps = this.podTemplate(fetch, { ...drill, resources: { ...drill.resources, requests } }, this.scratchStorage);
    // Beside the backups: "<environment>/postgres" → "<environment>/drills/restore/<id>/".
    const recordPrefix = this.backupStorage.prefix.replace(/\/postgres$/, '') || this.backupStorage.prefix;
    this.recordDestination = `s3://${this.backupStorage.bucket}/${recordPrefix}/drills/restore/`;
    const restoreStep = steps.spec!.containers[0];
    const record = drillRecordContainer({
      image: this.awsCliImage, resources: this.resources, storage: { ...this.backupStorage, prefix: recordPrefix }, kind: 'restore',
      system: checkDnsLabel(path, 'record.system', props.record?.system ?? this.labels['app.kubernetes.io/part-of'] ?? this.namespace),
      environment: checkDnsLabel(path, 'record.environment', props.record?.environment ?? this.backupStorage.prefix.split('/')[0]),
      retentionDays: checkInteger(path, 'record.retentionDays', props.record?.retentionDays ?? 730, 90, 3650),
      scriptsDir: SCRIPTS_DIR, workDir: DRILL_WORK_DIR, mounts: restoreStep.volumeMounts!,
    });
    const template: k8s.PodTemplateSpec = { ...steps, spec: { ...steps.spec!, initContainers: [...steps.spec!.initContainers!, restoreStep], containers: [record] } };
    if (props.jobName !== undefined) {
      this.job = new k8s.KubeJob(this, 'Job', {
        metadata: { name: checkDnsLabel(path, 'jobName', props.jobName), labels: this.labels },
        spec: { backoffLimit: 0, activeDeadlineSeconds, ttlSecondsAfterFinished: FINISHED_TTL_SECONDS, template },
      });
      return;
    }
    this.cronJob = new k8s.KubeCronJob(this, 'CronJob', {
      metadata: { name: this.name, labels: this.labels },
      spec: this.cronJobSpec({
        // The 1st of the month at 04:00: after the 02:00 backup, before the working day.
        schedule: props.schedule ?? '0 4 1 * *',
        timeZone: props.timeZone ?? 'UTC',
        backoffLimit: 0,
        activeDeadlineSeconds,
        template,
        ttlSecondsAfterFinished: FINISHED_TTL_SECONDS,
      }),
    });
  }

  public sizings(): WorkloadSizing[] {
    // Both steps are init containers now (the record container runs last); the pod needs the larger of them.
    return [{ name: this.name, kind: this.cronJob ? 'CronJob' : 'Job', replicas: 1, containers: [this.resources], initContainers: [this.resources], scratchStorage: this.scratchSpace }];
  }
}
