import { k8s } from '../core/k8s';
import { Construct } from 'constructs';
import { UPLOAD_SCRIPT } from '../../lib/backup/logical-scripts';
import { resolveS3Location, ResolvedS3Location, S3Location } from '../../lib/backup/s3';
import { DrillKind, drillSteps, SERVICE_DRILL_PY, SWITCHOVER_DRILL_SCRIPT } from '../../lib/drill/kinds';
import { DRILL_BUDGET_SCRIPT, DRILL_RECORD_RESERVE_SECONDS, DRILL_RECORD_SCRIPT } from '../../lib/drill/record';
import { ValidationError } from '../../lib/errors';
import { IMAGE_CATALOG, ImageRef } from '../../lib/images';
import { RESOURCE_PRESETS } from '../../lib/presets';
import { checkCronSchedule } from '../../lib/schedule';
import { DATABASE_IMAGE_UID } from '../../lib/security';
import { ResourceQuantities, resources, ResourceSpec, WorkloadSizing } from '../../lib/sizing';
import { tier as lookupTier, TierName } from '../../lib/tiers';
import { ApiServerAddress, checkDnsLabel, checkInteger } from '../../lib/validate';
import { AppService } from '../app/app-service';
import { emptyDir, plainEnv, restrictedContainer, runOncePodSpec, scheduledJobSpec, secretEnv } from '../core/pod-spec';
import { Workload } from '../core/workload';
import { PATRONI_API_PORT, Postgres } from '../data/postgres';
import { s3ClientEnv } from '../backup/logical-backup-workload';

/** Where every drill pod keeps its checks (`DRILL_DIR`) and the record before upload. */
export const DRILL_WORK_DIR = '/drill';
/** Where the drill's scripts are mounted. */
const SCRIPTS_DIR = '/opt/drill';
/** Where the switchover drill mounts the members' ConfigMap (patroni.yml). */
const PATRONI_CONFIG_DIR = '/etc/patroni';
/** Seconds the switchover drill waits at each of its three waits (promotion, writes, rejoin). */
const SWITCH_TIMEOUT_SECONDS = 120;
/** Seconds the switchover drill needs besides its waits (backup check, patronictl list and switchover). */
const SWITCHOVER_OTHER_SECONDS = 60;
/** Least seconds a service drill gives one Deployment's rollout. */
const MIN_ROLLOUT_SECONDS = 60;
/** Seconds kept for each health check of a service drill (10 s request timeout). */
const HEALTH_CHECK_SECONDS = 15;

/** Where a drill writes its record and what it says about the system. */
export interface DrillRecordOptions {
  /** The system's name, in the record. */
  readonly system: string;
  /** The environment's name, in the record. */
  readonly environment: string;
  /** The backup bucket; records go to `<prefix>/drills/<kind>/<UTC start>/` of it, beside the backups. */
  readonly storage: S3Location;
  /** Days a record is kept; the newest 3 are always kept. @default 730 (two years: four quarters' records compared with the year before) */
  readonly retentionDays?: number;
}

/** Props of `Drill`. */
export interface DrillProps {
  /** "switchover" or "service" (the restore drill is `RestoreTest`'s pod). */
  readonly kind: Exclude<DrillKind, 'restore'>;
  /** The record's system, environment and bucket. */
  readonly record: DrillRecordOptions;
  /** switchover: the Patroni-run server (it must have standbys). @default - none (required for a switchover) */
  readonly postgres?: Postgres;
  /** switchover: the member to hand the primary to. @default - the synchronous standby Patroni lists when the drill runs */
  readonly candidate?: string;
  /** service: names of the Deployments restarted, in order. @default - none (required for a service drill) */
  readonly deployments?: readonly string[];
  /** service: the HTTP applications whose `/health` must answer 200 afterwards (through their Service). @default - none */
  readonly healthChecks?: readonly AppService[];
  /** A CronJob on this schedule; exactly one of `schedule` and `jobName`. @default - none */
  readonly schedule?: string;
  /** IANA time zone of `schedule`. @default "UTC" */
  readonly timeZone?: string;
  /** A one-off Job of this name (`npm run drill`); exactly one of `schedule` and `jobName`. @default - none */
  readonly jobName?: string;
  /** Deadline of one run, in seconds. @default - switchover 900 (15 min), service 1800 (30 min) */
  readonly activeDeadlineSeconds?: number;
  /** Tier whose "backup" preset sizes the containers. @default "recommended" */
  readonly tier?: TierName;
  /** Requests and limits of each container. @default - the tier's "backup" preset */
  readonly resources?: ResourceQuantities;
  /** Where the Kubernetes API server listens. @default - any address on 443 and 6443 */
  readonly apiServer?: ApiServerAddress;
}

/**
 * A drill (seed 002: switchover and service recovery, each with a written record) as a CronJob or
 * a one-off Job "<system>-drill-<kind>": an init container runs the drill's steps as checks
 * (lib/drill/kinds.ts) within a time budget `DRILL_RECORD_RESERVE_SECONDS` below the Job's deadline
 * (drill-budget.sh records a step that runs out as "timed out"), then the record container (aws-cli) writes record.json and record.md and
 * uploads them with the backups' verified upload under `drills/<kind>/` (lib/drill/record.ts); it
 * fails the Job only after the upload, so a failed drill leaves a record too.
 *
 * switchover: first refuses while a backup Job of the system is active (a switchover breaks a running
 * backup; its Role may list Jobs), then the server's own image runs `patronictl switchover` with the members' patroni.yml,
 * as a ServiceAccount that may read pods and read and write ConfigMaps (Patroni's Kubernetes DCS;
 * patronictl writes the failover key there when the leader's REST API does not answer), with
 * network paths to the members' PostgreSQL and REST API ports. Then the write check goes through
 * the Service clients use. service: a python image patches each Deployment's pod template as
 * `kubectl rollout restart` does and waits for the rollout; its Role may get and patch only those
 * Deployments.
 *
 * Component "drill": in a system with a maintenance window, its schedule must start and end
 * inside the window (SystemChart's check), as maintenance does.
 */
export class Drill extends Workload {
  public readonly kind: Exclude<DrillKind, 'restore'>;
  /** The CronJob, when `schedule` was given. */
  public readonly cronJob?: k8s.KubeCronJob;
  /** The CronJob's spec as built, when `schedule` was given: DrillOverdue reads it without resolving the CronJob again. */
  public readonly cronJobSpec?: k8s.CronJobSpec;
  /** The Job, when `jobName` was given. */
  public readonly job?: k8s.KubeJob;
  public readonly resources: ResourceSpec;
  /** Where the records go: `s3://bucket/prefix/drills/<kind>/`. */
  public readonly recordDestination: string;
  /** The drill's steps in words, in the order the pod runs them. */
  public readonly steps: readonly string[];
  private readonly storage: ResolvedS3Location;

  constructor(scope: Construct, id: string, props: DrillProps) {
    const image = props.kind === 'switchover' ? props.postgres?.image ?? IMAGE_CATALOG.postgresPgbackrest : IMAGE_CATALOG.pythonBase;
    super(scope, id, { name: `${props.record.system}-drill-${props.kind}`, component: 'drill', version: image.version });
    const path = this.node.path;
    this.kind = props.kind;
    if ((props.schedule === undefined) === (props.jobName === undefined)) {
      throw new ValidationError(path, 'schedule', props.schedule, 'exactly one of schedule (a CronJob) and jobName (a one-off Job)');
    }
    this.storage = resolveS3Location(path, 'record.storage', props.record.storage);
    this.recordDestination = `s3://${this.storage.bucket}/${this.storage.prefix}/drills/${props.kind}/`;
    const t = lookupTier(props.tier ?? 'recommended', path).name;
    this.resources = resources(props.resources ?? RESOURCE_PRESETS[t].backup, path, 'resources');
    const retentionDays = checkInteger(path, 'record.retentionDays', props.record.retentionDays ?? 730, 90, 3650);
    const deadline = checkInteger(path, 'activeDeadlineSeconds', props.activeDeadlineSeconds ?? (props.kind === 'switchover' ? 900 : 1800), 300, 86400);
    // The steps run within a budget below the deadline (drill-budget.sh), so a hung step is recorded
    // as timed out and the record container still uploads; the deadline kills the whole pod.
    const stepBudget = deadline - DRILL_RECORD_RESERVE_SECONDS;

    const mounts = [{ name: 'work', mountPath: DRILL_WORK_DIR }, { name: 'scripts', mountPath: SCRIPTS_DIR, readOnly: true }, { name: 'tmp', mountPath: '/tmp' }];
    const common = [plainEnv('DRILL_DIR', `${DRILL_WORK_DIR}/checks`)];
    let step: k8s.Container;
    let stepScript: Record<string, string>;
    const volumes: k8s.Volume[] = [];
    if (props.kind === 'switchover') {
      const pg = props.postgres;
      if (!pg) throw new ValidationError(path, 'postgres', undefined, 'the Postgres server a switchover drill switches');
      if (!pg.failover || pg.members < 2) {
        throw new ValidationError(path, 'kind', props.kind, `"service": ${pg.node.path} runs without Patroni standbys (${pg.members} member), so there is no standby to switch over to`);
      }
      const scope = pg.name;
      const c = pg.connection;
      // The system's backup Jobs (every backup construct is component "backup"); all of them in a chart without part-of.
      const partOf = this.labels['app.kubernetes.io/part-of'];
      const backupSelector = `app.kubernetes.io/component=backup${partOf ? `,app.kubernetes.io/part-of=${partOf}` : ''}`;
      if (props.candidate !== undefined && !new RegExp(`^${scope}-[0-9]+$`).test(props.candidate)) {
        throw new ValidationError(path, 'candidate', props.candidate, `a member of ${scope}: "${scope}-<ordinal>", ordinals 0 to ${pg.members - 1}`);
      }
      if (props.candidate !== undefined && Number(props.candidate.slice(scope.length + 1)) >= pg.members) {
        throw new ValidationError(path, 'candidate', props.candidate, `a member of ${scope}: ordinals 0 to ${pg.members - 1}`);
      }
      const needed = 3 * SWITCH_TIMEOUT_SECONDS + SWITCHOVER_OTHER_SECONDS;
      if (stepBudget < needed) {
        throw new ValidationError(path, 'activeDeadlineSeconds', deadline, `at least ${needed + DRILL_RECORD_RESERVE_SECONDS} for a switchover drill: its steps need ${needed} s (three waits of ${SWITCH_TIMEOUT_SECONDS} s and ${SWITCHOVER_OTHER_SECONDS} s besides) and the record ${DRILL_RECORD_RESERVE_SECONDS} s`);
      }
            stepScript = { 'switchover.sh': SWITCHOVER_DRILL_SCRIPT };
      volumes.push({ name: 'patroni', configMap: { name: pg.configMap.name, items: [{ key: 'patroni.yml', path: 'patroni.yml' }] } });
      step = restrictedContainer({
        name: 'switchover', image: pg.image, uid: DATABASE_IMAGE_UID, resources: this.resources,
        command: ['bash', `${SCRIPTS_DIR}/drill-budget.sh`, String(stepBudget), 'bash', `${SCRIPTS_DIR}/switchover.sh`],
        env: [
          ...common, plainEnv('SWITCH_TIMEOUT_SECONDS', SWITCH_TIMEOUT_SECONDS),
          plainEnv('BACKUP_SELECTOR', backupSelector),
          plainEnv('PATRONI_CONFIG', `${PATRONI_CONFIG_DIR}/patroni.yml`), plainEnv('SCOPE', scope),
          { name: 'PATRONI_KUBERNETES_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
          ...props.candidate ? [plainEnv('CANDIDATE', props.candidate)] : [],
          plainEnv('PGHOST', c.host), plainEnv('PGPORT', c.port), plainEnv('PGUSER', c.user),
          secretEnv('PGPASSWORD', c.passwordSecret), plainEnv('PGDATABASE', c.database),
        ],
        volumeMounts: [...mounts, { name: 'patroni', mountPath: PATRONI_CONFIG_DIR, readOnly: true }],
      });
      // patronictl asks the leader's REST API to switch over; the write check goes to PostgreSQL.
      this.allowEgressTo(pg.peerFor(this), [c.port, PATRONI_API_PORT]);
      this.admitOn(pg, [c.port, PATRONI_API_PORT]);
      this.allowEgressToApiServer(props.apiServer);
      this.rbac([
        { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch', 'create', 'patch', 'update'] },
        { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] },
        // The first step refuses while a backup Job runs: list only, no other verb on Jobs.
        { apiGroups: ['batch'], resources: ['jobs'], verbs: ['list'] },
      ]);
      this.steps = drillSteps('switchover', { ...this.context(props), postgres: scope, candidate: props.candidate });
    } else {
      const deployments = (props.deployments ?? []).map((d, i) => checkDnsLabel(path, `deployments[${i}]`, d));
      if (deployments.length === 0) throw new ValidationError(path, 'deployments', props.deployments, 'the names of the Deployments a service drill restarts (one or more)');
      const health = props.healthChecks ?? [];
      const urls = health.map(a => `http://${a.name}:${a.servicePort}/health`);
      for (const a of health) {
        this.allowEgressTo(a.peerFor(this), [a.port]);
        this.admitOn(a, [a.port]);
      }
      // Each Deployment's rollout gets an equal share of the budget left after the health checks.
      const rollout = Math.floor((stepBudget - HEALTH_CHECK_SECONDS * urls.length) / deployments.length);
      if (rollout < MIN_ROLLOUT_SECONDS) {
        throw new ValidationError(path, 'activeDeadlineSeconds', deadline, `at least ${MIN_ROLLOUT_SECONDS * deployments.length + HEALTH_CHECK_SECONDS * urls.length + DRILL_RECORD_RESERVE_SECONDS} for ${deployments.length} Deployments and ${urls.length} health checks: ${MIN_ROLLOUT_SECONDS} s per rollout, ${HEALTH_CHECK_SECONDS} s per health check and ${DRILL_RECORD_RESERVE_SECONDS} s for the record`);
      }
            stepScript = { 'service_drill.py': SERVICE_DRILL_PY };
      step = restrictedContainer({
        name: 'service', image: IMAGE_CATALOG.pythonBase, uid: DATABASE_IMAGE_UID, resources: this.resources,
        command: ['bash', `${SCRIPTS_DIR}/drill-budget.sh`, String(stepBudget), 'python', `${SCRIPTS_DIR}/service_drill.py`],
        env: [...common, plainEnv('DEPLOYMENTS', deployments.join(' ')), plainEnv('HEALTH_URLS', urls.join(' ')),
          plainEnv('ROLLOUT_TIMEOUT_SECONDS', rollout), plainEnv('PYTHONDONTWRITEBYTECODE', '1')],
        volumeMounts: mounts,
      });
      this.allowEgressToApiServer(props.apiServer);
      this.rbac([
        { apiGroups: ['apps'], resources: ['deployments'], resourceNames: deployments, verbs: ['get', 'patch'] },
      ]);
      this.steps = drillSteps('service', { ...this.context(props), deployments, healthUrls: urls });
    }

    const scripts = new k8s.KubeConfigMap(this, 'Scripts', {
      metadata: { name: `${this.name}-scripts`, labels: this.labels },
      data: { ...stepScript, 'drill-budget.sh': DRILL_BUDGET_SCRIPT, 'drill-record.sh': DRILL_RECORD_SCRIPT, 'upload.sh': UPLOAD_SCRIPT },
    });
    const record = drillRecordContainer({
      image: IMAGE_CATALOG.awsCli, resources: this.resources, storage: this.storage, kind: props.kind,
      system: props.record.system, environment: props.record.environment, retentionDays,
      scriptsDir: SCRIPTS_DIR, workDir: DRILL_WORK_DIR, mounts,
    });
    this.allowEgressTo({ ipBlock: { cidr: this.storage.cidr } }, [this.storage.endpointPort]);
    const template: k8s.PodTemplateSpec = {
      metadata: { labels: this.labels },
      spec: runOncePodSpec(DATABASE_IMAGE_UID, {
        serviceAccountName: this.name,
        automountServiceAccountToken: true,
        initContainers: [step],
        containers: [record],
        volumes: [emptyDir('work', '64Mi'), { name: 'scripts', configMap: { name: scripts.name, defaultMode: 0o555 } }, emptyDir('tmp', '64Mi'), ...volumes],
      }),
    };
    if (props.schedule !== undefined) {
      this.cronJobSpec = scheduledJobSpec({
        schedule: checkCronSchedule(path, 'schedule', props.schedule), timeZone: props.timeZone ?? 'UTC',
        // One try: a second switchover right after a failed one would hide what went wrong.
        backoffLimit: 0, activeDeadlineSeconds: deadline, template, ttlSecondsAfterFinished: 7 * 86400,
      });
      this.cronJob = new k8s.KubeCronJob(this, 'CronJob', { metadata: { name: this.name, labels: this.labels }, spec: this.cronJobSpec });
    } else {
      this.job = new k8s.KubeJob(this, 'Job', {
        metadata: { name: checkDnsLabel(path, 'jobName', props.jobName!), labels: this.labels },
        spec: { backoffLimit: 0, activeDeadlineSeconds: deadline, ttlSecondsAfterFinished: 7 * 86400, template },
      });
    }
  }

  public sizings(): WorkloadSizing[] {
    return [{ name: this.name, kind: this.cronJob ? 'CronJob' : 'Job', replicas: 1, containers: [this.resources], initContainers: [this.resources] }];
  }

  private context(props: DrillProps) {
    return { system: props.record.system, environment: props.record.environment, namespace: this.namespace, recordDestination: this.recordDestination };
  }

  /**
   * A NetworkPolicy of its own on `target`'s pods admitting this drill on `ports`, so the drill's
   * objects work applied alone (`npm run drill` emits them on demand), as the restore Job's do.
   */
  private admitOn(target: Workload, ports: readonly number[]): void {
    new k8s.KubeNetworkPolicy(this, `To-${target.node.id}`, {
      metadata: { name: `${this.name}-to-${target.name}`.slice(0, 63).replace(/-+$/, ''), labels: this.labels, namespace: target.explicitNamespace },
      spec: {
        podSelector: { matchLabels: target.selector },
        policyTypes: ['Ingress'],
        ingress: [{ from: [this.peerFor(target)], ports: ports.map(port => ({ protocol: 'TCP', port: k8s.IntOrString.fromNumber(port) })) }],
      },
    });
  }

  /** The drill's ServiceAccount, with a Role of `rules` in its namespace. */
  private rbac(rules: k8s.PolicyRule[]): void {
    new k8s.KubeServiceAccount(this, 'ServiceAccount', { metadata: { name: this.name, labels: this.labels }, automountServiceAccountToken: false });
    new k8s.KubeRole(this, 'Role', { metadata: { name: this.name, labels: this.labels }, rules });
    new k8s.KubeRoleBinding(this, 'RoleBinding', {
      metadata: { name: this.name, labels: this.labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: this.name },
      subjects: [{ kind: 'ServiceAccount', name: this.name }],
    });
  }
}

/** What the record container of a drill pod needs. */
export interface DrillRecordContainerOptions {
  /** The aws-cli image. */
  readonly image: ImageRef;
  /** Requests and limits. */
  readonly resources: ResourceSpec;
  /** The bucket and the prefix `drills/<kind>/` goes under. */
  readonly storage: ResolvedS3Location;
  /** The drill's kind, in the record and its folder. */
  readonly kind: DrillKind;
  /** The system's name, in the record. */
  readonly system: string;
  /** The environment's name, in the record. */
  readonly environment: string;
  /** Days a record is kept (the newest 3 always are). */
  readonly retentionDays: number;
  /** Where drill-record.sh and upload.sh are mounted. */
  readonly scriptsDir: string;
  /** The emptyDir the steps wrote `checks/` into; the record is written under `record/` of it. */
  readonly workDir: string;
  /** The container's mounts: the work volume, the scripts and /tmp. */
  readonly mounts: k8s.VolumeMount[];
}

/**
 * The last container of every drill pod (aws-cli image): drill-record.sh writes the record from the
 * checks and uploads it with upload.sh to `<prefix>/drills/<kind>/`, then fails when the drill did.
 */
export function drillRecordContainer(o: DrillRecordContainerOptions): k8s.Container {
  return restrictedContainer({
    name: 'record', image: o.image, uid: DATABASE_IMAGE_UID, resources: o.resources,
    command: ['bash', `${o.scriptsDir}/drill-record.sh`],
    env: [
      ...s3ClientEnv(o.storage, `${o.workDir}/record`),
      plainEnv('DRILL_DIR', `${o.workDir}/checks`),
      plainEnv('DRILL_SYSTEM', o.system), plainEnv('DRILL_ENVIRONMENT', o.environment), plainEnv('DRILL_KIND', o.kind),
      { name: 'DRILL_JOB', valueFrom: { fieldRef: { fieldPath: "metadata.labels['job-name']" } } },
      plainEnv('BACKUP_KIND', `drills/${o.kind}`), plainEnv('RETENTION_DAYS', o.retentionDays), plainEnv('MIN_KEEP', 3),
    ],
    volumeMounts: o.mounts,
  });
}
