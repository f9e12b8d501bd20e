import { k8s } from '../core/k8s';
import { Construct } from 'constructs';
import { ValidationError } from '../../lib/errors';
import { RESOURCE_PRESETS } from '../../lib/presets';
import { DATABASE_IMAGE_UID } from '../../lib/security';
import { resources, ResourceSpec, WorkloadSizing } from '../../lib/sizing';
import { checkDnsLabel } from '../../lib/validate';
import { emptyDir, plainEnv, restrictedContainer, runOncePodSpec } from '../core/pod-spec';
import { Workload } from '../core/workload';
import { PGBACKREST_DIR, pgBackRestEnv, PointInTimeRecovery } from './point-in-time-recovery';

/** Props of `PointInTimeRestore`. */
export interface PointInTimeRestoreProps {
  /** The point-in-time recovery setup of the server to restore. */
  readonly recovery: PointInTimeRecovery;
  /**
   * "latest" (replay all archived WAL), "set:<label>" (a backup, e.g. "set:20261125-030000F"),
   * or "time:<timestamp with zone>" (e.g. "time:2026-11-25 10:00:00+08").
   * @default "latest"
   */
  readonly target?: string;
  /** Name of the Job. @default "<server>-pitr-restore" */
  readonly jobName?: string;
}

/**
 * A one-off Job that restores the server's data directory from the pgBackRest repository to the
 * latest state, a backup or a point in time. It mounts the server's volume, so the StatefulSet
 * must be scaled to 0 first, and the server must have no standbys (a Patroni cluster is brought to
 * one member by hand first: the ValidationError lists the steps); at the next start PostgreSQL replays the archived WAL up to the
 * target and promotes. Emitted by `npm run restore -- --pitr` (README: restore runbook).
 */
export class PointInTimeRestore extends Workload {
  public readonly job: k8s.KubeJob;
  public readonly resources: ResourceSpec;

  constructor(scope: Construct, id: string, props: PointInTimeRestoreProps) {
    const r = props.recovery;
    const pg = r.postgres;
    super(scope, id, { name: `${pg.name}-pitr-restore`, component: 'restore', version: pg.image.version });
    const path = this.node.path;
    const target = props.target ?? 'latest';
    if (!/^(latest|set:\d{8}-\d{6}F(_\d{8}-\d{6}[DI])?|time:\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}(:?\d{2})?|Z| UTC))$/.test(target)) {
      throw new ValidationError(path, 'target', target, '"latest", "set:<backup label>" or "time:<YYYY-MM-DD HH:MM:SS+zone>"');
    }
    // The Job writes member 0's volume alone. Under Patroni the cluster's state (leader, timeline,
    // system id) is in the DCS and the standbys keep the old timeline: the restored member would be
    // overwritten from the leader, or rewound, rather than become the primary.
    if (pg.members > 1) {
      throw new ValidationError(path, 'recovery.postgres.standbys', pg.members - 1,
        `0: a point-in-time restore writes data-${pg.name}-0 only. For a Patroni cluster, first make it one member: ` +
        `scale StatefulSet ${pg.name} to 0, run \`patronictl -c /etc/postgresql/patroni.yml remove ${pg.name}\` (drops the DCS state), ` +
        `delete the standbys' claims data-${pg.name}-1…, emit the restore for the environment with postgresStandbys: 0 (and survivesNodeLoss: false, which a lone server needs), ` +
        `run it, then deploy the environment as it was (the standbys copy the restored primary)`);
    }
    this.resources = resources(RESOURCE_PRESETS.minimum.backup, path, 'resources');
    this.allowEgressTo({ ipBlock: { cidr: r.backupStorage.cidr } }, [r.backupStorage.endpointPort]);
    this.job = new k8s.KubeJob(this, 'Job', {
      metadata: { name: checkDnsLabel(path, 'jobName', props.jobName ?? this.name), labels: this.labels },
      spec: {
        backoffLimit: 0,
        activeDeadlineSeconds: 12 * 3600,
        ttlSecondsAfterFinished: 7 * 86400,
        template: {
          metadata: { labels: this.labels },
          spec: runOncePodSpec(DATABASE_IMAGE_UID, {
            containers: [restrictedContainer({
              name: 'restore',
              image: pg.image,
              uid: DATABASE_IMAGE_UID,
              resources: this.resources,
              command: ['bash', `${PGBACKREST_DIR}/restore.sh`],
              env: [...pgBackRestEnv(r.backupStorage, r.stanza, r.incrementalRetentionDays), plainEnv('PGDATA', pg.dataDirectory), plainEnv('RESTORE_TARGET', target)],
              volumeMounts: [
                { name: 'data', mountPath: '/var/lib/postgresql/data' },
                { name: 'pgbackrest', mountPath: PGBACKREST_DIR, readOnly: true },
                { name: 'tmp', mountPath: '/tmp' },
              ],
            })],
            volumes: [
              // The StatefulSet's claim of its only replica.
              { name: 'data', persistentVolumeClaim: { claimName: `data-${pg.name}-0` } },
              { name: 'pgbackrest', configMap: { name: r.configMap.name, defaultMode: 0o555 } },
              emptyDir('tmp', '1Gi'),
            ],
          }),
        },
      },
    });
  }

  public sizings(): WorkloadSizing[] {
    return [{ name: this.name, kind: 'Job', replicas: 1, containers: [this.resources] }];
  }
}
