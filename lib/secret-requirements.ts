/* eslint-disable @typescript-eslint/no-explicit-any */
import { externalSecretTargets, K8sJson } from './k8s-objects';

// The Secret keys a chart's objects read, and their config keys: plain data (no cdk8s, no Pulumi),
// so the ExternalSecrets construct, the Pulumi program, the docs and tools share one walk.

/** The keys of a `kubernetes.io/tls` Secret (Kubernetes' Secret types: both are required). */
export const TLS_SECRET_KEYS: readonly string[] = ['tls.crt', 'tls.key'];

/** A Secret key a chart reads, and the secret config key that fills it. */
export interface SecretRequirement {
  /** Namespace of the Secret (the reading object's). */
  readonly namespace: string;
  /** Secret name. */
  readonly secret: string;
  /** Key in the Secret. */
  readonly key: string;
  /** Secret type: `kubernetes.io/tls` when the Secret is served as a TLS certificate, else `Opaque`. */
  readonly type: 'Opaque' | 'kubernetes.io/tls';
  /** The config key (in the project's namespace) that sets it: `secretConfigKey(secret, key)`. */
  readonly configKey: string;
  /** What reads it: "<kind>/<name>" of each object, for errors and the README. */
  readonly readBy: readonly string[];
}

/**
 * The config key of a Secret's key: "<secret>-<key>" in lower camel case, every character other
 * than a letter or digit a word break — `db-credentials`/`password` → `dbCredentialsPassword`,
 * `qcat-tls`/`tls.crt` → `qcatTlsTlsCrt`. Deterministic, so the keys a system needs follow from
 * its chart alone (README "Deploy with Pulumi" lists them per system).
 */
export function secretConfigKey(secret: string, key: string): string {
  const words = `${secret}-${key}`.split(/[^A-Za-z0-9]+/).filter(w => w.length > 0);
  return words.map((w, i) => (i === 0 ? w.toLowerCase() : w[0].toUpperCase() + w.slice(1).toLowerCase())).join('');
}

/** Thrown when a chart reads a whole Secret whose keys cannot be known from the reference. */
export class UnknownSecretKeysError extends Error {
  public readonly name = 'UnknownSecretKeysError';

  constructor(
    /** "<namespace>/<secret>". */
    public readonly secret: string,
    /** "<kind>/<name>" of the object that reads it. */
    public readonly readBy: string,
  ) {
    super(`Secret ${secret} is read whole by ${readBy} (envFrom or a volume without items): name its keys (a secretKeyRef or volume items) so they can be filled from config`);
  }
}

/**
 * Every Secret key the chart's objects read, found by walking them: `secretKeyRef`s, Secret
 * volumes (their `items`; projected ones too), `envFrom` Secret references, and the TLS Secrets
 * of Ingresses. A Secret read whole is a TLS Secret (`tls.crt`, `tls.key`) when an Ingress serves
 * it or its name ends in "-tls"; any other must name its keys. Secrets the objects include, or
 * that a cert-manager Certificate or an ExternalSecret among them has written, are not listed.
 */
export function secretRequirementsOf(input: readonly K8sJson[]): SecretRequirement[] {
  const objects = input as ReadonlyArray<K8sJson & Record<string, any>>;
  const made = new Set<string>();
  for (const o of objects) {
    const ns = o.metadata.namespace ?? 'default';
    if (o.kind === 'Secret') made.add(`${ns}/${o.metadata.name}`);
    if (o.kind === 'Certificate' && o.spec?.secretName) made.add(`${ns}/${o.spec.secretName}`);
  }
  for (const secretKey of externalSecretTargets(objects).keys()) {
    const [, ns, ...name] = secretKey.split('/');
    made.add(`${ns === '_' ? 'default' : ns}/${name.join('/')}`);
  }
  const found = new Map<string, { namespace: string; secret: string; keys: Map<string, Set<string>>; whole: Set<string>; tls: boolean }>();
  const entry = (namespace: string, secret: string) => {
    const id = `${namespace}/${secret}`;
    return found.get(id) ?? found.set(id, { namespace, secret, keys: new Map(), whole: new Set(), tls: secret.endsWith('-tls') }).get(id)!;
  };
  const addKey = (namespace: string, secret: string, key: string, by: string) => {
    const e = entry(namespace, secret);
    (e.keys.get(key) ?? e.keys.set(key, new Set()).get(key)!).add(by);
  };
  const addSecret = (namespace: string, secret: string, items: Array<{ key: string }> | undefined, by: string) => {
    if (items?.length) items.forEach(i => addKey(namespace, secret, i.key, by));
    else entry(namespace, secret).whole.add(by);
  };
  const walk = (v: unknown, ns: string, by: string): void => {
    if (Array.isArray(v)) { v.forEach(x => walk(x, ns, by)); return; }
    if (!v || typeof v !== 'object') return;
    const o = v as Record<string, any>;
    if (o.secretKeyRef?.name) addKey(ns, o.secretKeyRef.name, o.secretKeyRef.key, by);
    if (o.secret?.secretName) addSecret(ns, o.secret.secretName, o.secret.items, by); // a volume
    if (o.secret?.name) addSecret(ns, o.secret.name, o.secret.items, by); // a projected volume's source
    if (o.secretRef?.name) addSecret(ns, o.secretRef.name, undefined, by); // envFrom
    Object.values(o).forEach(x => walk(x, ns, by));
  };
  for (const o of objects) {
    const ns = o.metadata.namespace ?? 'default';
    const by = `${o.kind}/${o.metadata.name}`;
    if (o.kind === 'Certificate') continue; // its secretName is written by cert-manager
    if (o.kind === 'Ingress') {
      for (const t of o.spec?.tls ?? []) if (t.secretName) { const e = entry(ns, t.secretName); e.tls = true; e.whole.add(by); }
    }
    walk(o, ns, by);
  }
  const result: SecretRequirement[] = [];
  for (const e of found.values()) {
    if (made.has(`${e.namespace}/${e.secret}`)) continue;
    if (e.whole.size > 0) {
      if (!e.tls) throw new UnknownSecretKeysError(`${e.namespace}/${e.secret}`, [...e.whole][0]);
      for (const k of TLS_SECRET_KEYS) e.whole.forEach(by => addKey(e.namespace, e.secret, k, by));
    }
    for (const [key, by] of e.keys) {
      result.push({ namespace: e.namespace, secret: e.secret, key, type: e.tls ? 'kubernetes.io/tls' : 'Opaque', configKey: secretConfigKey(e.secret, key), readBy: [...by].sort() });
    }
  }
  return result.sort((a, b) => `${a.namespace}/${a.secret}/${a.key}`.localeCompare(`${b.namespace}/${b.secret}/${b.key}`));
}

/** "<secret>/<key>" of a requirement: how values are handed to `StackSecrets`. */
export function secretRef(r: { readonly secret: string; readonly key: string }): string {
  return `${r.secret}/${r.key}`;
}

