import { k8s } from '../core/k8s';
import { Construct } from 'constructs';
import { IMAGE_CATALOG } from '../../lib/images';
import { indexTemplate, LOG_INDEX_PREFIX, lifecyclePolicy } from '../../lib/logging/elasticsearch';
import { RESOURCE_PRESETS } from '../../lib/presets';
import { SecretKeyRef } from '../../lib/secrets';
import { resources, ResourceSpec, WorkloadSizing } from '../../lib/sizing';
import { TierName } from '../../lib/tiers';
import { checkDnsLabel } from '../../lib/validate';
import { plainEnv, secretEnv } from '../core/pod-spec';
import { setupJob } from '../core/setup-job';
import { RestrictedNamespace } from '../core/restricted-namespace';
import { Workload } from '../core/workload';
import { Elasticsearch, ElasticsearchProps } from './elasticsearch';
import { Filebeat } from './filebeat';
import { Kibana } from './kibana';
import { LogSnapshots, LogSnapshotsProps } from './log-snapshots';
import { S3Location } from '../../lib/backup/s3';

/** Props of `Logging`. */
export interface LoggingProps {
  /** Namespace whose logs are shipped (the chart's). */
  readonly sourceNamespace: string;
  /** Namespace of the log shipper, the one Pod Security exception. @default - "<sourceNamespace>-logging" */
  readonly shipperNamespace?: string;
  /** Nodes in the cluster (one Filebeat each). */
  readonly clusterNodes: number;
  /** Prefix of every object name. @default - none */
  readonly namePrefix?: string;
  /** Hardware tier whose presets apply. @default "recommended" */
  readonly tier?: TierName;
  /** Elasticsearch settings (nodes, storage, retention, daily volume). @default - Elasticsearch's defaults */
  readonly elasticsearch?: Omit<ElasticsearchProps, 'name' | 'tier'>;
  /** Password Kibana logs in with (kibana_system); the setup Job sets it. @default - key "kibana-password" of Secret "elasticsearch-credentials" */
  readonly kibanaPasswordSecret?: SecretKeyRef;
  /** Node folder of Filebeat's registry (see `FilebeatProps.dataHostPath`). @default "/var/lib/<namePrefix>-filebeat-data" */
  readonly filebeatDataHostPath?: string;
  /** Archive the log indices to object storage as snapshots (`LogSnapshots`). @default - no archive */
  readonly snapshots?: LogArchiveOptions;
}

/** Where and how long the log archive keeps its snapshots (`LoggingProps.snapshots`). */
export interface LogArchiveOptions extends Omit<LogSnapshotsProps, 'elasticsearch' | 'name' | 'tier'> {
  /** The bucket and folder of the snapshot repository, and the Secret with its keys. */
  readonly storage: S3Location;
}

const SETUP_UID = 100;

/**
 * Elasticsearch, Kibana and Filebeat (seed 000 §7.2, seed 003), plus a setup Job that installs
 * the index lifecycle policy (delete after the retention), the index template for the seed's
 * daily `quality-billing-YYYY.MM.DD` indices, Kibana's password and its index pattern; with
 * `snapshots`, the log archive to object storage (`LogSnapshots`).
 * Logstash is not used: Filebeat decodes the app's JSON itself, so a Logstash hop would only add
 * a JVM to size and run (README).
 */
export class Logging extends Construct {
  public readonly elasticsearch: Elasticsearch;
  public readonly kibana: Kibana;
  public readonly filebeat: Filebeat;
  public readonly shipperNamespace: RestrictedNamespace;
  public readonly setup: LogSetupJob;
  /** The snapshot repository and lifecycle policy, when `snapshots` is given. */
  public readonly snapshots?: LogSnapshots;

  constructor(scope: Construct, id: string, props: LoggingProps) {
    super(scope, id);
    const name = (n: string) => (props.namePrefix ? `${props.namePrefix}-${n}` : n);
    const source = checkDnsLabel(this.node.path, 'sourceNamespace', props.sourceNamespace);
    const shipperNs = checkDnsLabel(this.node.path, 'shipperNamespace', props.shipperNamespace ?? `${source}-logging`);
    this.shipperNamespace = new RestrictedNamespace(this, 'ShipperNamespace', { name: shipperNs, enforce: 'privileged' });
    const { storage: snapshotStorage, ...archive } = props.snapshots ?? { storage: undefined };
    this.elasticsearch = new Elasticsearch(this, 'Elasticsearch', { ...props.elasticsearch, name: name('elasticsearch'), tier: props.tier, snapshotStorage });
    this.kibana = new Kibana(this, 'Kibana', { name: name('kibana'), tier: props.tier, elasticsearch: this.elasticsearch, passwordSecret: props.kibanaPasswordSecret });
    this.filebeat = new Filebeat(this, 'Filebeat', {
      name: name('filebeat'), tier: props.tier, elasticsearch: this.elasticsearch, sourceNamespace: source, namespace: shipperNs, nodes: props.clusterNodes,
      dataHostPath: props.filebeatDataHostPath,
    });
    this.setup = new LogSetupJob(this, 'Setup', { name: name('log-setup'), tier: props.tier, elasticsearch: this.elasticsearch, kibana: this.kibana });
    if (snapshotStorage) this.snapshots = new LogSnapshots(this, 'Snapshots', { ...archive, elasticsearch: this.elasticsearch, name: name('log-snapshots'), tier: props.tier });
  }
}

/** Props of `LogSetupJob`. */
export interface LogSetupJobProps {
  /** The cluster whose index template and lifecycle policy are set up. */
  readonly elasticsearch: Elasticsearch;
  /** The Kibana whose data view is created. */
  readonly kibana: Kibana;
  /** Base object name; the Job's name adds a hash of what it installs. @default "log-setup" */
  readonly name?: string;
  /** Tier whose "logSetup" preset sizes the Job. @default "recommended" */
  readonly tier?: TierName;
}

/** The Job that installs the lifecycle policy, the index template, Kibana's password and index pattern (idempotent). */
export class LogSetupJob extends Workload {
  public readonly job: k8s.KubeJob;
  public readonly resources: ResourceSpec;
  /** Files the Job sends: the ILM policy, the index template and the index pattern. */
  public readonly files: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, props: LogSetupJobProps) {
    const baseName = props.name ?? 'log-setup';
    super(scope, id, { name: baseName, component: 'logging-setup', version: IMAGE_CATALOG.curl.version });
    const es = props.elasticsearch;
    const kibana = props.kibana;
    this.resources = resources(RESOURCE_PRESETS[props.tier ?? 'recommended'].logSetup, this.node.path, 'resources');
    es.acceptTrafficFrom(this, es.port);
    kibana.acceptTrafficFrom(this, kibana.port);
    this.files = {
      'ilm-policy.json': JSON.stringify(lifecyclePolicy(es.retentionDays)),
      'index-template.json': JSON.stringify(indexTemplate(es.indexReplicas)),
      'index-pattern.json': JSON.stringify({ attributes: { title: `${LOG_INDEX_PREFIX}-*`, timeFieldName: '@timestamp' } }),
      'setup.sh': [
        'set -eu',
        'auth="elastic:$ELASTIC_PASSWORD"',
        'until curl -sf -u "$auth" "$ES_URL/_cluster/health?wait_for_status=yellow&timeout=10s" >/dev/null; do echo "waiting for Elasticsearch"; sleep 5; done',
        `curl -sSf -u "$auth" -X PUT "$ES_URL/_ilm/policy/${LOG_INDEX_PREFIX}" -H 'Content-Type: application/json' -d @/setup/ilm-policy.json`,
        `curl -sSf -u "$auth" -X PUT "$ES_URL/_index_template/${LOG_INDEX_PREFIX}" -H 'Content-Type: application/json' -d @/setup/index-template.json`,
        // The password is URL-safe hex (README), so it can sit in JSON unescaped.
        'curl -sSf -u "$auth" -X POST "$ES_URL/_security/user/kibana_system/_password" -H \'Content-Type: application/json\' -d "{\\"password\\":\\"$KIBANA_PASSWORD\\"}"',
        'until curl -sf -u "$auth" "$KIBANA_URL/api/status" >/dev/null; do echo "waiting for Kibana"; sleep 5; done',
        `curl -sSf -u "$auth" -X POST "$KIBANA_URL/api/saved_objects/index-pattern/${LOG_INDEX_PREFIX}?overwrite=true" -H 'kbn-xsrf: true' -H 'Content-Type: application/json' -d @/setup/index-pattern.json`,
        'echo "logging set up"',
      ].join('\n'),
    };
    this.job = setupJob(this, {
      files: this.files,
      filesConfigMap: { id: 'Files', name: `${this.name}-files` },
      mountPath: '/setup',
      container: {
        name: 'setup',
        image: IMAGE_CATALOG.curl,
        uid: SETUP_UID,
        resources: this.resources,
        command: ['sh', '/setup/setup.sh'],
        env: [
          plainEnv('ES_URL', es.url),
          plainEnv('KIBANA_URL', `http://${kibana.name}:${kibana.port}`),
          secretEnv('ELASTIC_PASSWORD', es.passwordSecret),
          secretEnv('KIBANA_PASSWORD', kibana.passwordSecret),
        ],
      },
    });
    kibana.readyAfter(this.job);
  }

  public sizings(): WorkloadSizing[] {
    return [{ name: this.name, kind: 'Job', replicas: 1, containers: [this.resources] }];
  }
}
