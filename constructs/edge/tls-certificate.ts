import { ApiObject } from 'cdk8s';
import type { Certificate } from '@kubernetes-models/cert-manager/cert-manager.io/v1';
import { Construct } from 'constructs';
import { ValidationError } from '../../lib/errors';
import { checkDnsSubdomain, checkOneOf } from '../../lib/validate';

/** Props of `TlsCertificate`. */
export interface TlsCertificateProps {
  /** Secret cert-manager writes tls.crt and tls.key into (what the edge or Ingress reads). */
  readonly secretName: string;
  /** Host names on the certificate. */
  readonly dnsNames: readonly string[];
  /** The cert-manager issuer (e.g. a Let's Encrypt ClusterIssuer). */
  readonly issuerName: string;
  /** Kind of the issuer. @default "ClusterIssuer" */
  readonly issuerKind?: 'ClusterIssuer' | 'Issuer';
}

/**
 * A cert-manager `Certificate` that keeps the TLS Secret issued and renewed (30 days before
 * expiry, ECDSA P-256, key rotated on renewal). Validated against cert-manager's CRD schema.
 */
export class TlsCertificate extends Construct {
  public readonly certificate: ApiObject;
  public readonly secretName: string;

  constructor(scope: Construct, id: string, props: TlsCertificateProps) {
    super(scope, id);
    const path = this.node.path;
    this.secretName = checkDnsSubdomain(path, 'secretName', props.secretName);
    checkDnsSubdomain(path, 'issuerName', props.issuerName);
    const issuerKind = checkOneOf(path, 'issuerKind', props.issuerKind ?? 'ClusterIssuer', ['ClusterIssuer', 'Issuer'] as const);
    if (props.dnsNames.length === 0) throw new ValidationError(path, 'dnsNames', props.dnsNames, 'at least one host name');
    for (const d of props.dnsNames) checkDnsSubdomain(path, 'dnsNames', d.replace(/^\*\./, ''));
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { Certificate: Model } = require('@kubernetes-models/cert-manager/cert-manager.io/v1') as { Certificate: typeof Certificate };
    const model = new Model({
      metadata: { name: this.secretName },
      spec: {
        secretName: this.secretName,
        dnsNames: [...props.dnsNames],
        issuerRef: { name: props.issuerName, kind: issuerKind, group: 'cert-manager.io' },
        renewBefore: '720h',
        privateKey: { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Always' },
      },
    });
    try {
      model.validate();
    } catch (e) {
      throw new ValidationError(path, 'Certificate', (e as Error).message, 'an object valid against the cert-manager CRD schema');
    }
    const { apiVersion, kind, metadata, spec } = model.toJSON() as unknown as { apiVersion: string; kind: string; metadata: Record<string, unknown>; spec: unknown };
    this.certificate = new ApiObject(this, 'Certificate', { apiVersion, kind, metadata, spec });
  }
}
