const { availableParallelism } = require('os');

/** @type {import('jest').Config} */
module.exports = {
  // Two test files at a time even on a 2-core machine (jest's default there is one, in band): the
  // real-tool files spend much of their time waiting on servers and tools in other processes.
  maxWorkers: Math.max(2, availableParallelism() - 1),
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // Type checking is done once by `npm run typecheck`; ts-jest only transpiles, which keeps
  // the suite fast on small CI machines.
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.jest.json' }] },
  testTimeout: 120000,
};
