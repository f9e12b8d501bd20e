import { AssertionError } from 'assert';

/*
 * @pulumi/pulumi records `new Error().stack` on every promise it makes (runtime/debuggable.js),
 * read only when PULUMI_DEBUG_PROMISE_LEAKS prints a leak. Under jest each such stack went through
 * jest's source-map formatter, frame by frame: about 45 of the 61 s of CPU of
 * test/pulumi/program.test.ts (a CPU profile of one run). Those stacks get V8's plain format here;
 * every other error keeps jest's formatter, which lives on the worker's own Error (this file runs in
 * the test file's realm, whose Error is another one: a node module's class reaches the worker's).
 */
const WorkerError = Object.getPrototypeOf(AssertionError) as ErrorConstructor;
const PULUMI_DEBUGGABLE = /[\\/]@pulumi[\\/]pulumi[\\/]runtime[\\/]debuggable\.js$/;
const plain = (error: Error, frames: NodeJS.CallSite[]) => `${error}${frames.map(f => `\n    at ${f}`).join('')}`;

Error.prepareStackTrace = (error, frames) => {
  if (PULUMI_DEBUGGABLE.test(frames[0]?.getFileName() ?? '')) return plain(error, frames);
  const jest = WorkerError.prepareStackTrace;
  return jest && jest !== Error.prepareStackTrace ? jest(error, frames) : plain(error, frames);
};
