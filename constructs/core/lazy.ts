import { Lazy } from 'cdk8s';

/**
 * A value produced at synth (cdk8s `Lazy.any`), typed as what the producer returns: it fits a
 * field only if the producer's type does, so no cast hides a misspelled field. TypeScript checks
 * an object literal's excess properties only against a declared type, so an inline producer of an
 * object states its return type: `lazy((): k8s.PodSpec => ({ … }))`.
 *
 * The type is what the field holds once synthesized; until then the value is a cdk8s token. Only
 * place it in a field of an object being synthesized — never read it (or its members) in
 * construction code, where it is not a `T` yet.
 */
export function lazy<T>(produce: () => T): T {
  // Lazy.any is typed `any`: the resolver replaces it with produce()'s value at synth.
  return Lazy.any({ produce });
}
