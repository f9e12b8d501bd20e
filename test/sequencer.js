'use strict';
const Sequencer = require('@jest/test-sequencer').default;
const { relative } = require('path');

/*
 * Longest files first, so that no worker starts a long file while the others have finished: jest
 * does that itself from the durations it cached on an earlier run, but a fresh clone has none, and
 * jest then orders by file size, which puts the slow real-tool and packaging files anywhere.
 * Without a cached duration a file's expected seconds come from EXPECTED (rough figures from runs
 * on the 2-core machine with 3 workers: only their order matters); a file not listed there is
 * assumed to take as long as its size suggests, or, under test/real-tools (which start servers),
 * at least REAL_TOOL_SECONDS.
 */
const EXPECTED = {
  'test/typecheck.test.ts': 30,
  'test/package.test.ts': 80,
  'test/pulumi/program.test.ts': 75,
  'test/pulumi/plan.test.ts': 45,
  'test/real-tools/celery.test.ts': 60,
  'test/real-tools/postgres-ha.test.ts': 65,
  'test/real-tools/backup-retention.test.ts': 45,
  'test/real-tools/drills.test.ts': 60,
  'test/real-tools/standby-site.test.ts': 55,
  'test/real-tools/mongo-restore.test.ts': 40,
  'test/real-tools/backup-models.test.ts': 40,
  'test/restore-cli.test.ts': 30,
  'test/drill-cli.test.ts': 25,
  'test/lib/switchover-drill.test.ts': 25,
  'test/real-tools/redis-backup.test.ts': 25,
  'test/real-tools/minio-backup.test.ts': 20,
  'test/real-tools/backup-config.test.ts': 40,
  'test/real-tools/backup-logical.test.ts': 40,
  'test/real-tools/backup-damaged.test.ts': 40,
  'test/real-tools/backup-wal-archive.test.ts': 35,
  'test/real-tools/backup-pitr.test.ts': 35,
  'test/docs/api-docs.test.ts': 35,
  'test/lib/rehearsal.test.ts': 25,
  'test/pulumi/layer.test.ts': 20,
  'test/compile-cache.test.ts': 20,
  'test/real-tools/redis-sentinel.test.ts': 20,
  'test/real-tools/monitoring.test.ts': 20,
  'test/stacks/manifest-yaml.test.ts': 15,
  'test/real-tools/postgres.test.ts': 15,
  'test/real-tools/pgbouncer.test.ts': 12,
  'test/real-tools/restore-drill.test.ts': 10,
  'test/real-tools/redis.test.ts': 6,
  'test/real-tools/nginx.test.ts': 5,
  'test/real-tools/log-snapshot-setup.test.ts': 5,
  'test/real-tools/maintenance-window.test.ts': 5,
  'test/real-tools/debian-tools.test.ts': 2,
};
const REAL_TOOL_SECONDS = 30;
/** Seconds per byte of a file not listed: about a second per 3 kB of test source. */
const SECONDS_PER_BYTE = 1 / 3000;

class LongestFirstSequencer extends Sequencer {
  /** The file's expected duration in ms: jest's cached one, else the estimate above. */
  expected(test) {
    const cached = this.time(test);
    if (cached != null) return cached;
    const file = relative(test.context.config.rootDir, test.path).split('\\').join('/');
    if (EXPECTED[file] !== undefined) return EXPECTED[file] * 1000;
    const bySize = (test.context.hasteFS.getSize(test.path) ?? 0) * SECONDS_PER_BYTE * 1000;
    return file.startsWith('test/real-tools/') ? Math.max(bySize, REAL_TOOL_SECONDS * 1000) : bySize;
  }

  sort(tests) {
    const ms = new Map(tests.map(t => [t, this.expected(t)]));
    // Files that failed last time first (their result matters most), then the longest first.
    return [...tests].sort((a, b) => (this.hasFailed(b) - this.hasFailed(a)) || (ms.get(b) - ms.get(a)) || (a.path < b.path ? -1 : 1));
  }
}

module.exports = LongestFirstSequencer;
