/**
 * Typed errors. Every message names where the problem is (the construct path), what is wrong
 * (the field and the value) and what would be accepted, so a user can fix a prop without
 * reading our source.
 */

/** Thrown when a prop, a tier or an environment value is not acceptable. */
export class ValidationError extends Error {
  public readonly name = 'ValidationError';

  constructor(
    /** The construct path (or `Environment`, `Tier`) that received the value. */
    public readonly path: string,
    /** The prop or field that holds the bad value. */
    public readonly field: string,
    /** The value as received. */
    public readonly value: unknown,
    /** A description of the values that are allowed. */
    public readonly allowed: string,
  ) {
    super(`${path}: invalid ${field} ${describe(value)}: expected ${allowed}`);
  }
}

/** Thrown when a stack does not fit the hardware of its environment; the message carries the report table. */
export class CapacityError extends Error {
  public readonly name = 'CapacityError';

  constructor(
    /** The environment whose checks failed. */
    public readonly environment: string,
    /** The names of the checks that failed. */
    public readonly failedChecks: readonly string[],
    /** The rendered capacity report (one row per workload, totals, PASS/FAIL per check). */
    public readonly report: string,
  ) {
    super(`environment ${environment} does not fit its tier: ${failedChecks.join(', ')} failed\n\n${report}`);
  }
}

/** Renders a value for an error message without dumping large objects. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === undefined) return '(undefined)';
  try {
    const json = JSON.stringify(value);
    return json.length > 120 ? `${json.slice(0, 117)}...` : json;
  } catch {
    return String(value);
  }
}
