import { IConstruct } from 'constructs';

/**
 * Runs `check` when the chart is synthesized: cdk8s runs every construct's validations before
 * `App.synth()` writes a file and before `Chart.toJson()` (and so `Testing.synth`) returns, so
 * props and connections added after construction count. A validation that *returns* strings
 * reaches the caller as one plain Error ("Validation failed with the following errors: …");
 * `check` throws instead, so the caller gets our typed error (ValidationError, CapacityError) with
 * its field, value and report — cdk8s 2.70's `validate()` does not catch it.
 */
export function validateAtSynth(scope: IConstruct, check: () => void): void {
  scope.node.addValidation({ validate: () => { check(); return []; } });
}

/**
 * Runs every validation under `scope` as cdk8s's synth does, for a path that reads the objects
 * one by one instead of synthesizing the chart (the Pulumi adapter): a check that throws a typed
 * error propagates it; returned messages become one Error in cdk8s's wording.
 */
export function validateTree(scope: IConstruct): void {
  const errors = scope.node.findAll().flatMap(c => c.node.validate().map(e => `[${c.node.path}] ${e}`));
  if (errors.length > 0) throw new Error(`Validation failed with the following errors:\n  ${errors.join('\n  ')}`);
}
