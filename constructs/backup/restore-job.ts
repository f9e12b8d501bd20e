import { k8s } from '../core/k8s';
import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { ValidationError } from '../../lib/errors';
import { checkDnsLabel } from '../../lib/validate';
import { Workload } from '../core/workload';

/**
 * Pieces the restore Jobs of the Redis backup and the MinIO mirror share: finding the backup in a
 * synthesized chart, the Job's default name, its objects as JSON, and its own path to a server.
 */

/** What a restore factory (`redisRestoreObjects`, `minioRestoreObjects`) is told. */
export interface RestoreJobOptions {
  /** Name of the Job. @default "<server>-restore-<UTC time>" */
  readonly jobName?: string;
  /** The time the default Job name carries. @default - now */
  readonly now?: Date;
}

/** The chart's one construct of class `kind` (the backup a restore reads), or undefined. */
export function backupInChart<B extends Construct>(stack: Construct, kind: abstract new (...args: any[]) => B): B | undefined {
  return stack.node.findAll().find((c): c is B => c instanceof kind);
}

/**
 * The objects of the restore `add` builds under `stack` (undefined when the chart has no backup
 * of `store`: a ValidationError naming `store` and `which` systems have one).
 */
export function restoreObjectsFromBackup(stack: Construct, store: string, which: string, add: () => Construct | undefined): Record<string, any>[] {
  const restore = add();
  if (!restore) throw new ValidationError(stack.node.path, 'store', store, `a system and environment that ${which}: this chart has none`);
  return restore.node.findAll().filter((c): c is ApiObject => c instanceof ApiObject).map(a => a.toJson());
}

/**
 * Lets `restore` reach `server`'s pods on `port`: egress in its own policy, and a NetworkPolicy of
 * its own on the server's pods, so the Job's objects work applied alone (the server's own policy
 * was applied with the stack, before the restore existed).
 */
export function restoreReaches(restore: Workload, server: Workload, port: number): void {
  restore.allowEgressTo(server.peerFor(restore), [port]);
  new k8s.KubeNetworkPolicy(restore, `Ingress-${server.node.id}`, {
    metadata: { name: `${restore.name}-to-${server.name}`.slice(0, 63).replace(/-+$/, ''), labels: restore.labels, namespace: server.explicitNamespace },
    spec: {
      podSelector: { matchLabels: server.selector },
      policyTypes: ['Ingress'],
      ingress: [{ from: [restore.peerFor(server)], ports: [{ protocol: 'TCP', port: k8s.IntOrString.fromNumber(port) }] }],
    },
  });
}

/**
 * The Job of a restore, run on demand: one try (a failed restore is read and understood before it
 * runs again), `activeDeadlineSeconds` to finish, deleted a week after it finished.
 */
export function restoreJob(w: Workload, jobName: string, activeDeadlineSeconds: number, template: k8s.PodTemplateSpec): k8s.KubeJob {
  return new k8s.KubeJob(w, 'Job', {
    metadata: { name: checkDnsLabel(w.node.path, 'jobName', jobName), labels: w.labels },
    spec: { backoffLimit: 0, activeDeadlineSeconds, ttlSecondsAfterFinished: 7 * 86400, template },
  });
}
