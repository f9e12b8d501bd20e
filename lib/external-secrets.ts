import { ValidationError } from './errors';
import { secretRef, SecretRequirement } from './secret-requirements';

/**
 * Where the Secrets a chart reads come from: Kubernetes Secrets made out of band (by hand, or by
 * the Pulumi program from secret config), or ExternalSecrets that the External Secrets Operator
 * fills from a secret manager.
 */
export type SecretsMode = 'kubernetes' | 'external-secrets';

/** The modes `SecretsMode` allows, for validation. */
export const SECRETS_MODES: readonly SecretsMode[] = ['kubernetes', 'external-secrets'];

/** Where one Secret key's value is kept in the secret manager (an ExternalSecret's `remoteRef`). */
export interface RemoteRef {
  /** The secret's key (name or path) in the secret manager. */
  readonly key: string;
  /** The field of that secret holding the value. @default - the whole secret */
  readonly property?: string;
}

/**
 * The remote reference of a Secret key by the documented convention: one secret-manager secret per
 * Kubernetes Secret, named "<system>/<environment>/<Secret>", one property per key.
 * `db-credentials`/`password` of quality-billing's prod → key "quality-billing/prod/db-credentials",
 * property "password".
 */
export function conventionalRemoteRef(system: string, environment: string, secret: string, key: string): RemoteRef {
  return { key: `${system}/${environment}/${secret}`, property: key };
}

/** What `remoteRefs` resolves against. */
export interface RemoteRefOptions {
  /** The system (first segment of the convention). */
  readonly system: string;
  /** The environment (second segment of the convention). */
  readonly environment: string;
  /**
   * Explicit remote references by "<Secret>/<key>". When given it must name every Secret key the
   * chart reads and nothing else. @default - the convention (`conventionalRemoteRef`)
   */
  readonly remoteKeys?: Readonly<Record<string, RemoteRef>>;
}

/**
 * The remote reference of every requirement, by "<Secret>/<key>": from `remoteKeys` when given,
 * else by the convention. A map that misses a key the chart reads, names one it does not read, or
 * gives an empty remote key throws a ValidationError at `path` naming the key and what is allowed.
 */
export function remoteRefs(path: string, requirements: readonly SecretRequirement[], o: RemoteRefOptions): Map<string, RemoteRef> {
  const needed = [...new Set(requirements.map(secretRef))].sort();
  const refs = new Map<string, RemoteRef>();
  if (o.remoteKeys === undefined) {
    for (const r of requirements) refs.set(secretRef(r), conventionalRemoteRef(o.system, o.environment, r.secret, r.key));
    return refs;
  }
  const given = Object.keys(o.remoteKeys);
  const list = needed.map(k => `"${k}"`).join(', ');
  const missing = needed.filter(k => !given.includes(k));
  if (missing.length > 0) {
    const readers = missing.map(k => `${k} (read by ${requirements.filter(r => secretRef(r) === k).flatMap(r => r.readBy).join(', ')})`).join('; ');
    throw new ValidationError(path, 'remoteKeys', missing.length === 1 ? missing[0] : missing,
      `an entry for every Secret key the chart reads — missing ${readers}; the keys read are ${list} (or leave remoteKeys unset for the convention "<system>/<environment>/<Secret>", property "<key>")`);
  }
  for (const k of given) {
    if (!needed.includes(k)) throw new ValidationError(path, 'remoteKeys key', k, `a "<Secret>/<key>" the chart reads: ${list}`);
    const ref = o.remoteKeys[k];
    if (!ref || typeof ref.key !== 'string' || ref.key.trim() === '') throw new ValidationError(path, `remoteKeys["${k}"].key`, ref?.key, 'the non-empty name of the secret in the secret manager');
    if (ref.property !== undefined && (typeof ref.property !== 'string' || ref.property === '')) {
      throw new ValidationError(path, `remoteKeys["${k}"].property`, ref.property, 'a non-empty property name, or none for the whole secret');
    }
    refs.set(k, ref);
  }
  return refs;
}
