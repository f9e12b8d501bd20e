import { k8s } from '../core/k8s';
import { Construct } from 'constructs';
import { ValidationError } from '../../lib/errors';
import { MONGO_RESTORE_SCRIPT } from '../../lib/backup/mongorestore-scripts';
import { resolveS3Location, ResolvedS3Location, S3Location } from '../../lib/backup/s3';
import { RESOURCE_PRESETS } from '../../lib/presets';
import { SecretKeyRef } from '../../lib/secrets';
import { ResourceQuantities, resources, ResourceSpec, WorkloadSizing } from '../../lib/sizing';
import { tier as lookupTier, TierName } from '../../lib/tiers';
import { IMongoReplicaSet } from '../data/mongo-replica-set';
import { plainEnv } from '../core/pod-spec';
import { Workload } from '../core/workload';
import { fetchRestoreJob } from './fetch-restore-job';
import { mongoRootEnv } from './mongo-backup';
import { serverIngressPolicy } from './server-ingress';

/** Props of `MongoRestore`. */
export interface MongoRestoreProps {
  /** The replica set restored into; its dumps are those of its `MongoBackup`. */
  readonly mongo: IMongoReplicaSet;
  /** Where the dumps are: the `MongoBackup`'s storage (`<prefix>/mongodb/<UTC id>/`). */
  readonly backupStorage: S3Location;
  /** "latest" (the newest complete dump) or a dump id such as "20261125T020000Z". @default "latest" */
  readonly backupId?: string;
  /** Database the application database's collections are restored into. @default - the replica set's application database */
  readonly targetDatabase?: string;
  /** Drop a target that holds documents first; otherwise such a target is refused. @default false */
  readonly replace?: boolean;
  /** Name of the Job (Jobs are immutable: each restore gets its own). @default "<replica set>-restore" */
  readonly jobName?: string;
  /** Root user mongorestore connects as. @default - key "root-user" of Secret "mongo-credentials" */
  readonly rootUserSecret?: SecretKeyRef;
  /** Root password. @default - key "root-password" of Secret "mongo-credentials" */
  readonly rootPasswordSecret?: SecretKeyRef;
  /** Tier whose "backup" preset sizes the containers. @default "recommended" */
  readonly tier?: TierName;
  /** Requests and limits of each container. @default - the tier's "backup" preset */
  readonly resources?: ResourceQuantities;
}

/**
 * A one-off Job restoring a MongoDB dump of `MongoBackup` (seed 003: mongorestore): downloads it,
 * checks its checksums (twice: after download, before restoring), reads the archive whole, then
 * restores the application database's collections into the target — refused when the target holds
 * documents unless `replace`, which drops it first — and checks that nothing failed and that the
 * target holds the documents restored (lib/backup/mongorestore-scripts.ts). Users and roles are
 * not restored. Emitted on demand by `npm run restore -- --system merchant-analysis`, with its
 * scripts' ConfigMap and its NetworkPolicies (egress to the members and the storage, ingress on
 * the members from it), not part of the deployed stack.
 */
export class MongoRestore extends Workload {
  public readonly job: k8s.KubeJob;
  public readonly backupStorage: ResolvedS3Location;
  public readonly resources: ResourceSpec;
  /** The database restored into. */
  public readonly targetDatabase: string;

  constructor(scope: Construct, id: string, props: MongoRestoreProps) {
    const m = props.mongo;
    super(scope, id, { name: `${m.name}-restore`, component: 'restore', version: m.image.version });
    const path = this.node.path;
    this.backupStorage = resolveS3Location(path, 'backupStorage', props.backupStorage);
    const backupId = props.backupId ?? 'latest';
    if (backupId !== 'latest' && !/^\d{8}T\d{6}Z$/.test(backupId)) {
      throw new ValidationError(path, 'backupId', backupId, '"latest" or a dump id such as "20261125T020000Z"');
    }
    this.targetDatabase = props.targetDatabase ?? m.database;
    if (!/^[A-Za-z0-9_-]{1,63}$/.test(this.targetDatabase)) {
      throw new ValidationError(path, 'targetDatabase', this.targetDatabase, 'a MongoDB database name of letters, digits, "_" and "-" (at most 63)');
    }
    const t = lookupTier(props.tier ?? 'recommended', path).name;
    this.resources = resources(props.resources ?? RESOURCE_PRESETS[t].backup, path, 'resources');
    const rootUser = props.rootUserSecret ?? SecretKeyRef.of('mongo-credentials', 'root-user', path);
    const rootPassword = props.rootPasswordSecret ?? SecretKeyRef.of('mongo-credentials', 'root-password', path);

    // Egress here, and the rule on the members' own policy for a chart that deploys this Job with them;
    // applied alone, the Job's own ingress policy on the members admits it.
    m.acceptTrafficFrom(this, m.port);
    if (m instanceof Workload) serverIngressPolicy(this, m, m.port);
    this.job = fetchRestoreJob(this, {
      kind: 'mongodb', backupStorage: this.backupStorage, backupId, jobName: props.jobName ?? this.name,
      resources: this.resources, scratchSize: m.storage.toString(),
      restore: {
        image: m.image, shell: 'sh', script: MONGO_RESTORE_SCRIPT,
        env: [
          ...mongoRootEnv(m, rootUser, rootPassword),
          plainEnv('SOURCE_DATABASE', m.database), plainEnv('TARGET_DATABASE', this.targetDatabase), plainEnv('REPLACE', props.replace === true),
          // mongosh writes its history and logs under $HOME: the /tmp emptyDir, on a read-only root filesystem.
          plainEnv('HOME', '/tmp'),
        ],
      },
    });
  }

  public sizings(): WorkloadSizing[] {
    return [{ name: this.name, kind: 'Job', replicas: 1, containers: [this.resources], initContainers: [this.resources] }];
  }
}
