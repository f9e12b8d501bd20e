import { ApiObject, Chart } from 'cdk8s';
import type { ExternalSecret } from '@kubernetes-models/external-secrets/external-secrets.io/v1beta1';
import { Construct } from 'constructs';
import { ValidationError } from '../../lib/errors';
import { RemoteRef, remoteRefs } from '../../lib/external-secrets';
import { K8sJson } from '../../lib/k8s-objects';
import { secretRef, SecretRequirement, secretRequirementsOf } from '../../lib/secret-requirements';
import { checkDnsSubdomain, checkOneOf } from '../../lib/validate';
import { validateAtSynth } from './validation';

/** The kinds of store an ExternalSecret can read from. */
export type SecretStoreKind = 'SecretStore' | 'ClusterSecretStore';

/** Annotation that makes the Pulumi provider await a custom resource's condition (pulumi-kubernetes 4.18+). */
export const PULUMI_WAIT_FOR_ANNOTATION = 'pulumi.com/waitFor';

/** Options of `ExternalSecrets` that an installation chooses (`SystemStackProps.externalSecrets`). */
export interface ExternalSecretsOptions {
  /** The SecretStore or ClusterSecretStore (installed with the External Secrets Operator, out of band) that reads the secret manager. */
  readonly storeName: string;
  /** Its kind: a ClusterSecretStore serves every namespace; a SecretStore must exist in each namespace that has Secrets. @default "ClusterSecretStore" */
  readonly storeKind?: SecretStoreKind;
  /**
   * Where each Secret key is kept, by "<Secret>/<key>": it must then name every key the chart reads.
   * @default - the convention: secret "<system>/<environment>/<Secret>", property "<key>"
   */
  readonly remoteKeys?: Readonly<Record<string, RemoteRef>>;
  /** How often the operator reads the secret manager again (a Go duration). @default "1h" */
  readonly refreshInterval?: string;
}

/** Props of `ExternalSecrets`. */
export interface ExternalSecretsProps extends ExternalSecretsOptions {
  /** System name: first segment of the remote key convention. */
  readonly system: string;
  /** Environment name: second segment of the remote key convention. */
  readonly environment: string;
}

/**
 * One ExternalSecret (external-secrets.io/v1beta1) per Secret the chart reads and does not make,
 * with one `data` entry per key it reads, each from the store `storeName`. The set is computed when
 * the chart is synthesized (a cdk8s validation), from the chart's objects as they are then, so
 * workloads added after construction count. Each object is validated against the operator's CRD
 * schema (@kubernetes-models/external-secrets). The operator owns the Secret it writes
 * (`creationPolicy: Owner`); the Secret exists only once it has reconciled the ExternalSecret, so
 * each carries `pulumi.com/waitFor: condition=Ready` and the deployment plan makes its readers wait.
 */
export class ExternalSecrets extends Construct {
  /** The store every ExternalSecret reads. */
  public readonly storeName: string;
  public readonly storeKind: SecretStoreKind;
  private readonly props: ExternalSecretsProps;
  private objects: ApiObject[] = [];

  constructor(scope: Construct, id: string, props: ExternalSecretsProps) {
    super(scope, id);
    const path = this.node.path;
    this.storeName = checkDnsSubdomain(path, 'storeName', props.storeName);
    this.storeKind = checkOneOf(path, 'storeKind', props.storeKind ?? 'ClusterSecretStore', ['SecretStore', 'ClusterSecretStore'] as const);
    const refresh = props.refreshInterval ?? '1h';
    if (!/^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$/.test(refresh)) throw new ValidationError(path, 'refreshInterval', refresh, 'a Go duration such as "1h" or "15m"');
    this.props = { ...props, refreshInterval: refresh };
    validateAtSynth(this, () => { this.refresh(); });
  }

  /** The ExternalSecret objects of the last synth (made again at each). */
  public get externalSecrets(): readonly ApiObject[] {
    return this.objects;
  }

  /** The Secret keys of the chart the ExternalSecrets fill: what its other objects read. */
  public requirements(): SecretRequirement[] {
    const mine = new Set<ApiObject>(this.objects);
    const chart = Chart.of(this);
    const objects = chart.node.findAll().filter((c): c is ApiObject => c instanceof ApiObject && !mine.has(c)).map(o => o.toJson() as K8sJson);
    return secretRequirementsOf(objects);
  }

  /**
   * Replaces the ExternalSecrets with one per Secret the chart's objects read now. Synth calls it;
   * a reader of the chart's objects before synth (the Pulumi program's secret requirements) may too.
   */
  public refresh(): void {
    for (const o of this.objects) this.node.tryRemoveChild(o.node.id);
    const requirements = this.requirements();
    const refs = remoteRefs(this.node.path, requirements, this.props);
    const bySecret = new Map<string, SecretRequirement[]>();
    for (const r of requirements) {
      const id = `${r.namespace}/${r.secret}`;
      (bySecret.get(id) ?? bySecret.set(id, []).get(id)!).push(r);
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { ExternalSecret: Model } = require('@kubernetes-models/external-secrets/external-secrets.io/v1beta1') as { ExternalSecret: typeof ExternalSecret };
    this.objects = [...bySecret.values()].map(keys => {
      const { namespace, secret, type } = keys[0];
      const model = new Model({
        metadata: { name: secret, namespace, annotations: { [PULUMI_WAIT_FOR_ANNOTATION]: 'condition=Ready' } },
        spec: {
          secretStoreRef: { name: this.storeName, kind: this.storeKind },
          refreshInterval: this.props.refreshInterval,
          target: { name: secret, creationPolicy: 'Owner', deletionPolicy: 'Retain', ...(type === 'Opaque' ? {} : { template: { type } }) },
          data: keys.map(r => ({ secretKey: r.key, remoteRef: { ...refs.get(secretRef(r))! } })),
        },
      });
      try {
        model.validate();
      } catch (e) {
        throw new ValidationError(`${this.node.path}/${namespace}.${secret}`, 'ExternalSecret', (e as Error).message, 'an object valid against the External Secrets Operator CRD schema');
      }
      const { apiVersion, kind, metadata, spec } = model.toJSON() as unknown as { apiVersion: string; kind: string; metadata: Record<string, unknown>; spec: unknown };
      return new ApiObject(this, `${namespace}.${secret}`, { apiVersion, kind, metadata, spec });
    });
  }
}
