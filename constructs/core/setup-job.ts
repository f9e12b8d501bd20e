import { createHash } from 'crypto';
import { k8s } from './k8s';
import { ContainerOptions, podSecurityContext, restrictedContainer } from './pod-spec';
import { Workload } from './workload';

/** What differs between the one-off setup Jobs (log setup, MinIO bootstrap). */
export interface SetupJobOptions {
  /** Files the Job runs, mounted read-only at `mountPath` from a ConfigMap. */
  readonly files: Readonly<Record<string, string>>;
  /** Construct id and object name of that ConfigMap. */
  readonly filesConfigMap: { readonly id: string; readonly name: string };
  /** Where the files are mounted in the container. */
  readonly mountPath: string;
  /** The one container (its `files` mount is added). */
  readonly container: ContainerOptions;
  /** Pod volumes besides the files. @default - none */
  readonly volumes?: k8s.Volume[];
}

/**
 * A Job that installs something once per version of its files: its name carries their hash, so a
 * change runs it again and re-applying the same files does nothing. Retried for half an hour,
 * kept a day, no API token.
 */
export function setupJob(w: Workload, o: SetupJobOptions): k8s.KubeJob {
  const digest = createHash('sha256').update(JSON.stringify(o.files)).digest('hex').slice(0, 10);
  new k8s.KubeConfigMap(w, o.filesConfigMap.id, { metadata: { name: o.filesConfigMap.name, labels: w.labels }, data: { ...o.files } });
  return new k8s.KubeJob(w, 'Job', {
    metadata: { name: `${w.name}-${digest}`, labels: w.labels },
    spec: {
      backoffLimit: 10,
      activeDeadlineSeconds: 1800,
      ttlSecondsAfterFinished: 86400,
      template: {
        metadata: { labels: w.labels },
        spec: {
          restartPolicy: 'OnFailure',
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: podSecurityContext(o.container.uid),
          containers: [restrictedContainer({
            ...o.container,
            volumeMounts: [{ name: 'files', mountPath: o.mountPath, readOnly: true }, ...o.container.volumeMounts ?? []],
          })],
          volumes: [{ name: 'files', configMap: { name: o.filesConfigMap.name } }, ...o.volumes ?? []],
        },
      },
    },
  });
}
