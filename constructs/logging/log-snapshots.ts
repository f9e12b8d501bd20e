import { k8s } from '../core/k8s';
import { Construct } from 'constructs';
import { ValidationError } from '../../lib/errors';
import { IMAGE_CATALOG } from '../../lib/images';
import {
  checkElasticsearchCron, checkSnapshotName, DEFAULT_SNAPSHOT_MIN_COUNT, DEFAULT_SNAPSHOT_REPOSITORY, DEFAULT_SNAPSHOT_SCHEDULE,
  LogSnapshotPlan, restoreRequestBody, s3RepositoryBody, slmPolicyBody, SNAPSHOT_SETUP_SCRIPT, validateS3RepositoryBody, validateSlmPolicyBody,
} from '../../lib/logging/snapshots';
import { RESOURCE_PRESETS } from '../../lib/presets';
import { resources, ResourceSpec, WorkloadSizing } from '../../lib/sizing';
import { TierName } from '../../lib/tiers';
import { checkInteger } from '../../lib/validate';
import { plainEnv, secretEnv } from '../core/pod-spec';
import { setupJob } from '../core/setup-job';
import { Workload } from '../core/workload';
import { Elasticsearch } from './elasticsearch';

/** Props of `LogSnapshots`. */
export interface LogSnapshotsProps {
  /** The cluster whose log indices are archived; it must have been given `snapshotStorage`. */
  readonly elasticsearch: Elasticsearch;
  /** Days a snapshot is kept in object storage (`retention.expire_after`). @default 30 (seed 002 keeps full backups 30 days) */
  readonly retentionDays?: number;
  /** When snapshots are taken: an Elasticsearch cron expression (seconds first; UTC). @default "0 30 1 * * ?" (01:30 UTC daily, after the UTC day's index closed) */
  readonly schedule?: string;
  /** Snapshots kept whatever their age. @default 3 */
  readonly minCount?: number;
  /** Snapshots kept at most. @default - twice `retentionDays` (a daily snapshot plus a manual one a day) */
  readonly maxCount?: number;
  /** Name of the repository and of its SLM policy. @default "log-archive" */
  readonly repository?: string;
  /** Base object name; the Job's name adds a hash of what it installs. @default "log-snapshots" */
  readonly name?: string;
  /** Tier whose "logSetup" preset sizes the Job. @default "recommended" */
  readonly tier?: TierName;
}

const SETUP_UID = 100;
const FILES_DIR = '/setup';

/**
 * The log archive of seed 002 (§11.2: logs archived to object storage): an S3 snapshot repository
 * under `<prefix>` of the cluster's `snapshotStorage` and a snapshot lifecycle policy that
 * snapshots the daily log indices on its schedule and expires snapshots after the retention
 * (never below `minCount`). A setup Job registers both once per version of the bodies (idempotent
 * PUTs); the bodies are checked at synth by the rules of Elastic's API reference. The restore body
 * (indices renamed `restored-…`) ships in the same ConfigMap for the README's restore command.
 */
export class LogSnapshots extends Workload {
  public readonly job: k8s.KubeJob;
  public readonly resources: ResourceSpec;
  /** Repository and policy, as checked. */
  public readonly plan: LogSnapshotPlan;
  /** Files the Job mounts: the request bodies, the restore body and the script. */
  public readonly files: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, props: LogSnapshotsProps) {
    super(scope, id, { name: props.name ?? 'log-snapshots', component: 'logging-setup', version: IMAGE_CATALOG.curl.version });
    const path = this.node.path;
    const es = props.elasticsearch;
    const storage = es.snapshotStorage;
    if (!storage) throw new ValidationError(path, 'elasticsearch', es.node.path, 'an Elasticsearch given snapshotStorage (its keystore holds the S3 keys the repository uses)');
    const retentionDays = checkInteger(path, 'retentionDays', props.retentionDays ?? 30, 1, 3650);
    const minCount = checkInteger(path, 'minCount', props.minCount ?? DEFAULT_SNAPSHOT_MIN_COUNT, 1, 10000);
    const maxCount = checkInteger(path, 'maxCount', props.maxCount ?? Math.max(2 * retentionDays, minCount), 1, 10000);
    if (minCount > maxCount) throw new ValidationError(path, 'minCount', minCount, `at most maxCount (${maxCount})`);
    this.plan = {
      repository: checkSnapshotName(path, 'repository', props.repository ?? DEFAULT_SNAPSHOT_REPOSITORY),
      bucket: storage.bucket,
      basePath: storage.prefix,
      schedule: checkElasticsearchCron(path, 'schedule', props.schedule ?? DEFAULT_SNAPSHOT_SCHEDULE),
      retentionDays, minCount, maxCount,
    };
    const repositoryBody = s3RepositoryBody(this.plan);
    const policyBody = slmPolicyBody(this.plan);
    validateS3RepositoryBody(path, repositoryBody);
    validateSlmPolicyBody(path, policyBody);
    this.resources = resources(RESOURCE_PRESETS[props.tier ?? 'recommended'].logSetup, path, 'resources');
    es.acceptTrafficFrom(this, es.port);
    this.files = {
      'repository.json': JSON.stringify(repositoryBody),
      'slm-policy.json': JSON.stringify(policyBody),
      'restore.json': JSON.stringify(restoreRequestBody(undefined, es.indexReplicas)),
      'setup.sh': SNAPSHOT_SETUP_SCRIPT,
    };
    this.job = setupJob(this, {
      files: this.files,
      filesConfigMap: { id: 'Files', name: `${this.name}-files` },
      mountPath: FILES_DIR,
      container: {
        name: 'setup',
        image: IMAGE_CATALOG.curl,
        uid: SETUP_UID,
        resources: this.resources,
        command: ['sh', `${FILES_DIR}/setup.sh`],
        env: [
          plainEnv('ES_URL', es.url),
          plainEnv('REPOSITORY', this.plan.repository),
          plainEnv('FILES_DIR', FILES_DIR),
          secretEnv('ELASTIC_PASSWORD', es.passwordSecret),
        ],
      },
    });
  }

  public sizings(): WorkloadSizing[] {
    return [{ name: this.name, kind: 'Job', replicas: 1, containers: [this.resources] }];
  }
}
