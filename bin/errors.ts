import { CapacityError, ValidationError } from '../lib/errors';

/**
 * Prints an error as one block on stderr and returns the exit code 1. Validation and capacity
 * errors already name the construct path, field, value and what is allowed; a stack trace is
 * shown only with --verbose (or for an error we did not expect, where it is the useful part).
 */
export function reportError(e: unknown, o: { verbose: boolean; context: string }): number {
  const known = e instanceof ValidationError || e instanceof CapacityError;
  const message = e instanceof Error ? e.message : String(e);
  console.error(`${o.context}:\n${message}`);
  if (o.verbose && e instanceof Error && e.stack) console.error(`\n${e.stack}`);
  else if (!known && e instanceof Error && !message.startsWith('unknown --')) console.error('(run with --verbose for the stack trace)');
  return 1;
}
