import { k8s } from '../core/k8s';
import { Construct } from 'constructs';
import { CONFIG_EXPORT_SCRIPT, CONFIG_RESOURCES } from '../../lib/backup/config-scripts';
import { resolveS3Location, ResolvedS3Location, S3Location } from '../../lib/backup/s3';
import { ValidationError } from '../../lib/errors';
import { IMAGE_CATALOG } from '../../lib/images';
import { RESOURCE_PRESETS } from '../../lib/presets';
import { ResourceQuantities, resources, ResourceSpec, WorkloadSizing } from '../../lib/sizing';
import { checkCronSchedule } from '../../lib/schedule';
import { tier as lookupTier, TierName } from '../../lib/tiers';
import { ApiServerAddress, checkInteger } from '../../lib/validate';
import { plainEnv } from '../core/pod-spec';
import { uploadBackupCronJob } from './upload-backup-job';
import { Workload } from '../core/workload';

/** Props of `ConfigBackup`. */
export interface ConfigBackupProps {
  /** Where the exports go: `<prefix>/config/<UTC id>/`. */
  readonly backupStorage: S3Location;
  /** Object name. @default "config-backup" */
  readonly name?: string;
  /** Cron schedule (seed 001: weekly). @default "0 5 * * 0" (Sunday 05:00, after the nightly jobs) */
  readonly schedule?: string;
  /** IANA time zone of the schedule. @default "UTC" */
  readonly timeZone?: string;
  /** Days an export is kept; the newest 3 complete ones are always kept. @default 90 */
  readonly retentionDays?: number;
  /** Tier whose "backup" preset sizes the containers. @default "recommended" */
  readonly tier?: TierName;
  /** Requests and limits of each container. @default - the tier's "backup" preset */
  readonly resources?: ResourceQuantities;
  /** Where the Kubernetes API server listens. @default - any address on 443 and 6443 */
  readonly apiServer?: ApiServerAddress;
}

/**
 * The weekly configuration backup (seed 001): a CronJob whose pod exports the namespace's
 * configuration objects (ConfigMaps, Services, workloads, policies, RBAC — never Secrets) from the
 * API with a read-only Role, checksums them, and uploads them with the logical backup's verified
 * upload and retention. Its CronJob name ends in "config-backup", which ConfigBackupMissing watches.
 */
export class ConfigBackup extends Workload {
  public readonly cronJob: k8s.KubeCronJob;
  public readonly backupStorage: ResolvedS3Location;
  public readonly resources: ResourceSpec;
  public readonly retentionDays: number;

  constructor(scope: Construct, id: string, props: ConfigBackupProps) {
    const curl = IMAGE_CATALOG.curl;
    super(scope, id, { name: props.name ?? 'config-backup', component: 'backup', version: curl.version });
    const path = this.node.path;
    if (!this.name.endsWith('config-backup')) throw new ValidationError(path, 'name', this.name, 'a name ending in "config-backup" (the ConfigBackupMissing alert matches it)');
    this.backupStorage = resolveS3Location(path, 'backupStorage', props.backupStorage);
    this.retentionDays = checkInteger(path, 'retentionDays', props.retentionDays ?? 90, 7, 3650);
    const t = lookupTier(props.tier ?? 'recommended', path).name;
    this.resources = resources(props.resources ?? RESOURCE_PRESETS[t].backup, path, 'resources');
    const schedule = checkCronSchedule(path, 'schedule', props.schedule ?? '0 5 * * 0');
    this.allowEgressToApiServer(props.apiServer);

    new k8s.KubeServiceAccount(this, 'ServiceAccount', { metadata: { name: this.name, labels: this.labels }, automountServiceAccountToken: false });
    const groups = [...new Set(CONFIG_RESOURCES.map(([prefix]) => (prefix === 'api/v1' ? '' : prefix.split('/')[1])))];
    new k8s.KubeRole(this, 'Role', {
      metadata: { name: this.name, labels: this.labels },
      rules: groups.map(g => ({
        apiGroups: [g],
        resources: CONFIG_RESOURCES.filter(([prefix]) => (prefix === 'api/v1' ? '' : prefix.split('/')[1]) === g).map(([, r]) => r),
        verbs: ['list'],
      })),
    });
    new k8s.KubeRoleBinding(this, 'RoleBinding', {
      metadata: { name: this.name, labels: this.labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: this.name },
      subjects: [{ kind: 'ServiceAccount', name: this.name }],
    });

    this.cronJob = uploadBackupCronJob(this, {
      kind: 'config', backupStorage: this.backupStorage, retentionDays: this.retentionDays, schedule, timeZone: props.timeZone ?? 'UTC',
      activeDeadlineSeconds: 3600, resources: this.resources, scratchSize: '256Mi', serviceAccountName: this.name,
      produce: { name: 'export', image: curl, shell: 'sh', script: CONFIG_EXPORT_SCRIPT, env: [plainEnv('NAMESPACE', this.namespace)] },
    });
  }

  public sizings(): WorkloadSizing[] {
    return [{ name: this.name, kind: 'CronJob', replicas: 1, containers: [this.resources], initContainers: [this.resources] }];
  }
}
