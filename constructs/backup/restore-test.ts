import { k8s } from '../core/k8s';
import { Construct } from 'constructs';
import { ValidationError } from '../../lib/errors';
import { WorkloadSizing } from '../../lib/sizing';
import { checkInteger } from '../../lib/validate';
import { checkIdentifier } from '../data/postgres-reference';
import { plainEnv } from '../core/pod-spec';
import { LogicalBackupProps, LogicalBackupWorkload, ScheduleProps } from './logical-backup-workload';

/** Props of `RestoreTest`. */
export interface RestoreTestProps extends LogicalBackupProps, ScheduleProps {
  /** Scratch database the backup is restored into, and dropped after. @default "<database>_restore_test" */
  readonly scratchDatabase?: string;
  /** Deadline of one run, in seconds. @default 21600 (6 h) */
  readonly activeDeadlineSeconds?: number;
}

/**
 * The monthly restore test (seed 001): downloads the latest complete backup, verifies its
 * checksums, restores it into a scratch database on the same server, compares every table's row
 * count and every sequence and index with the backup's manifest, and drops the scratch database.
 * A failure fails the Job (one try), which kube-state-metrics reports as
 * `kube_job_status_failed`; the RestoreTestFailed and RestoreTestMissing alerts watch it.
 * The server needs the free space of one more copy of the database while it runs.
 */
export class RestoreTest extends LogicalBackupWorkload {
  public readonly cronJob: k8s.KubeCronJob;
  public readonly scratchDatabase: string;

  constructor(scope: Construct, id: string, props: RestoreTestProps) {
    super(scope, id, props, { name: `${props.postgres.name}-restore-test`, component: 'restore-test' });
    const path = this.node.path;
    this.scratchDatabase = checkIdentifier(path, 'scratchDatabase', props.scratchDatabase ?? `${this.postgres.connection.database}_restore_test`);
    if (this.scratchDatabase === this.postgres.connection.database) {
      throw new ValidationError(path, 'scratchDatabase', this.scratchDatabase, 'a database other than the one backed up');
    }
    const fetch = this.scriptContainer('fetch', 'fetch', [...this.s3Env(), plainEnv('BACKUP_ID', 'latest')]);
    const restore = this.scriptContainer('restore', 'restore', [
      ...this.postgresEnv(),
      plainEnv('TARGET_DATABASE', this.scratchDatabase),
      // A scratch database left by an interrupted run is replaced; the check ends by dropping it.
      plainEnv('REPLACE', 'true'), plainEnv('DROP_AFTER', 'true'),
    ]);
    this.cronJob = new k8s.KubeCronJob(this, 'CronJob', {
      metadata: { name: this.name, labels: this.labels },
      spec: this.cronJobSpec({
        // The 1st of the month at 04:00: after the 02:00 backup, before the working day.
        schedule: props.schedule ?? '0 4 1 * *',
        timeZone: props.timeZone ?? 'UTC',
        backoffLimit: 0,
        activeDeadlineSeconds: checkInteger(path, 'activeDeadlineSeconds', props.activeDeadlineSeconds ?? 6 * 3600, 300),
        template: this.podTemplate(fetch, restore),
      }),
    });
    this.postgres.reserveConnections(`${this.name} (pg_restore + psql)`, 2);
  }

  public sizings(): WorkloadSizing[] {
    return [{ name: this.name, kind: 'CronJob', replicas: 1, containers: [this.resources] }];
  }
}
