import { k8s } from '../core/k8s';
import { Construct } from 'constructs';
import { ValidationError } from '../../lib/errors';
import { WorkloadSizing } from '../../lib/sizing';
import { checkDnsLabel } from '../../lib/validate';
import { checkIdentifier } from '../data/postgres-reference';
import { plainEnv } from '../core/pod-spec';
import { LogicalBackupProps, LogicalBackupWorkload } from './logical-backup-workload';

/** Props of `PostgresRestore`. */
export interface PostgresRestoreProps extends LogicalBackupProps {
  /** "latest" (the newest complete backup) or a backup id such as "20261125T020000Z". @default "latest" */
  readonly backupId?: string;
  /** Database restored into. @default - the server's database */
  readonly targetDatabase?: string;
  /**
   * Drop and recreate a target that already has tables; otherwise such a target is refused. Either
   * way, sessions connected to a target that is dropped (the exporter sidecar's, apps not scaled
   * down) are terminated after a log line naming them, with new connections refused until the drop.
   * @default false
   */
  readonly replace?: boolean;
  /** Name of the Job (Jobs are immutable: each restore gets its own). @default "<server>-restore" */
  readonly jobName?: string;
}

/**
 * A one-off Job restoring a logical backup: downloads it, verifies its checksums, restores it in
 * one transaction and checks the result against the backup's manifest. Emitted on demand by
 * `npm run restore` (see the README's restore runbook), not part of the deployed stack.
 */
export class PostgresRestore extends LogicalBackupWorkload {
  public readonly job: k8s.KubeJob;

  constructor(scope: Construct, id: string, props: PostgresRestoreProps) {
    super(scope, id, props, { name: `${props.postgres.name}-restore`, component: 'restore' });
    const path = this.node.path;
    const backupId = props.backupId ?? 'latest';
    if (backupId !== 'latest' && !/^\d{8}T\d{6}Z$/.test(backupId)) {
      throw new ValidationError(path, 'backupId', backupId, '"latest" or a backup id such as "20261125T020000Z"');
    }
    const target = checkIdentifier(path, 'targetDatabase', props.targetDatabase ?? this.postgres.connection.database);
    const fetch = this.scriptContainer('fetch', 'fetch', [...this.s3Env(), plainEnv('BACKUP_ID', backupId)]);
    const restore = this.scriptContainer('restore', 'restore', [
      ...this.postgresEnv(), plainEnv('TARGET_DATABASE', target), plainEnv('REPLACE', props.replace === true), plainEnv('DROP_AFTER', 'false'),
    ]);
    this.job = new k8s.KubeJob(this, 'Job', {
      metadata: { name: checkDnsLabel(path, 'jobName', props.jobName ?? this.name), labels: this.labels },
      spec: {
        // One try: a failed restore is read and understood before it runs again.
        backoffLimit: 0,
        activeDeadlineSeconds: 12 * 3600,
        ttlSecondsAfterFinished: 7 * 86400,
        template: this.podTemplate(fetch, restore),
      },
    });
  }

  public sizings(): WorkloadSizing[] {
    return [{ name: this.name, kind: 'Job', replicas: 1, containers: [this.resources] }];
  }
}
