const { availableParallelism } = require('os');

/** @type {import('jest').Config} */
module.exports = {
  // One test file more than there are cores (jest's default is one fewer): the real-tool files
  // spend much of their time waiting on servers and tools in other processes. On this 2-core
  // machine, fresh clone, CI=true: 3 workers 287.7 s of jest, 2 workers 338.7 s (one run each).
  maxWorkers: Math.max(3, availableParallelism() + 1),
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // Type checking is done once, by test/typecheck.test.ts (`npm run typecheck` in a worker, beside
  // the other files); ts-jest only transpiles, which keeps the suite fast on small CI machines.
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.jest.json' }] },
  testTimeout: 120000,
  setupFiles: ['<rootDir>/test/setup/pulumi-promise-stacks.ts'],
  // Longest files first, also in a fresh clone without jest's cache of durations.
  testSequencer: '<rootDir>/test/sequencer.js',
};
