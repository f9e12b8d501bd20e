import { Lazy } from 'cdk8s';

/**
 * A value produced at synth (cdk8s `Lazy.any`), typed as what the producer returns: it fits a
 * field only if the producer's type does, so no cast hides a misspelled field. TypeScript checks
 * an object literal's excess properties only against a declared type, so an inline producer of an
 * object states its return type: `lazy((): k8s.PodSpec => ({ … }))`.
 */
export function lazy<T>(produce: () => T): T {
  // Lazy.any is typed `any`: the resolver replaces it with produce()'s value at synth.
  return Lazy.any({ produce });
}
