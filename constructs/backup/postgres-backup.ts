import { k8s } from '../core/k8s';
import { Construct } from 'constructs';
import { WorkloadSizing } from '../../lib/sizing';
import { checkInteger } from '../../lib/validate';
import { plainEnv } from '../core/pod-spec';
import { LogicalBackupProps, LogicalBackupWorkload, ScheduleProps } from './logical-backup-workload';

/** Props of `PostgresBackup`. */
export interface PostgresBackupProps extends LogicalBackupProps, ScheduleProps {
  /** Days a backup is kept (seed 001/002: 30; seed 004's single-server profile: 7). @default 30 */
  readonly retentionDays?: number;
  /** The newest complete backups never deleted, however old (a month of failures keeps the last good one). @default 3 */
  readonly minKeep?: number;
  /** Deadline of one run, in seconds. @default 21600 (6 h) */
  readonly activeDeadlineSeconds?: number;
}

/**
 * The daily logical backup (seed 001: 02:00, compressed, verified, 30 days): a CronJob whose pod
 * dumps the database in one snapshot with a row-count manifest, reads the dump back completely,
 * checksums it, uploads it to S3 (checksums last) and deletes backups older than the retention.
 * Its name contains "backup", which the BackupMissing alert watches.
 */
export class PostgresBackup extends LogicalBackupWorkload {
  public readonly cronJob: k8s.KubeCronJob;
  public readonly retentionDays: number;

  constructor(scope: Construct, id: string, props: PostgresBackupProps) {
    super(scope, id, props, { name: `${props.postgres.name}-backup`, component: 'backup' });
    const path = this.node.path;
    this.retentionDays = checkInteger(path, 'retentionDays', props.retentionDays ?? 30, 1, 3650);
    const minKeep = checkInteger(path, 'minKeep', props.minKeep ?? 3, 1, 100);
    const dump = this.scriptContainer('dump', 'dump', this.postgresEnv());
    const upload = this.scriptContainer('upload', 'upload', [
      ...this.s3Env(), plainEnv('RETENTION_DAYS', this.retentionDays), plainEnv('MIN_KEEP', minKeep),
    ]);
    this.cronJob = new k8s.KubeCronJob(this, 'CronJob', {
      metadata: { name: this.name, labels: this.labels },
      spec: this.cronJobSpec({
        schedule: props.schedule ?? '0 2 * * *',
        timeZone: props.timeZone ?? 'UTC',
        backoffLimit: 2,
        activeDeadlineSeconds: checkInteger(path, 'activeDeadlineSeconds', props.activeDeadlineSeconds ?? 6 * 3600, 300),
        template: this.podTemplate(dump, upload),
      }),
    });
    // The snapshot session and pg_dump.
    this.postgres.reserveConnections(`${this.name} (snapshot session + pg_dump)`, 2);
  }

  public sizings(): WorkloadSizing[] {
    return [{ name: this.name, kind: 'CronJob', replicas: 1, containers: [this.resources] }];
  }
}
