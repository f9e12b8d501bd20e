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
