import { ValidationError } from './errors';
import { checkDnsSubdomain } from './validate';

/**
 * A reference to one key of a Kubernetes Secret. Constructs take these instead of values, so no
 * secret ever reaches a manifest (DESIGN.md §4): the Secret is created out of band
 * (`kubectl create secret`, an ExternalSecret, or the Pulumi program).
 */
export class SecretKeyRef {
  /** References `key` in the Secret named `secretName` in the workload's namespace. */
  public static of(secretName: string, key: string, path = 'SecretKeyRef'): SecretKeyRef {
    checkDnsSubdomain(path, 'secretName', secretName);
    if (typeof key !== 'string' || !/^[-._a-zA-Z0-9]{1,253}$/.test(key)) {
      throw new ValidationError(path, 'key', key, 'a Secret key: letters, digits, "-", "_" or "."');
    }
    return new SecretKeyRef(secretName, key);
  }

  private constructor(public readonly secretName: string, public readonly key: string) {}

  /** "<secret>/<key>", for errors and logs (never a value). */
  public toString(): string {
    return `${this.secretName}/${this.key}`;
  }
}

/**
 * Example credentials from the seeds that must never ship: a policy test greps every synthesized
 * manifest for them.
 */
export const SEED_EXAMPLE_SECRETS: readonly string[] = [
  'your-secret-key-here', 'your-secret-key', 'your-redis-password', 'secure-password',
  'your-production-secret', 'your-api-key', 'your-api-secret', 'your-llm-api-key',
  'postgres:password@', 'user:password@',
];
