'use strict';
// Loaded into every Node process of a bench run (NODE_OPTIONS=--require): at exit it appends the
// process's peak resident memory and CPU time to the file QBI_BENCH_PROBE names, so the bench sees
// npm, cdk8s-cli and the synth child alike.
const { appendFileSync } = require('fs');
const file = process.env.QBI_BENCH_PROBE;
if (file) {
  process.on('exit', () => {
    const u = process.resourceUsage();
    try { appendFileSync(file, `${JSON.stringify({ pid: process.pid, maxRssKiB: u.maxRSS, cpuUs: u.userCPUTime + u.systemCPUTime })}\n`); } catch { /* the bench reports no memory */ }
  });
}
