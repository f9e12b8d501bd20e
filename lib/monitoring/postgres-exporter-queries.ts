import { stringify } from '../yaml-text';

/**
 * What postgres_exporter (the pinned v0.16.0) tells about WAL archiving, and the custom query it
 * runs for what it does not.
 *
 * Built in (its default `pg_stat_archiver` map, cmd/postgres_exporter/queries.go and
 * postgres_exporter.go of v0.16.0 — the standalone `stat_archiver` collector came only later):
 * `SELECT *, extract(epoch from now() - last_archived_time) AS last_archive_age FROM pg_stat_archiver`,
 * exported as `pg_stat_archiver_archived_count` and `pg_stat_archiver_failed_count` (counters) and
 * `pg_stat_archiver_last_archive_age` (seconds, a gauge).
 *
 * Not built in: the `.ready` backlog. pgBackRest's archive-push blocks and retries (~38 s a segment)
 * while the storage is unreachable, so `failed_count` can stay 0 through an outage; the segments
 * waiting in pg_wal/archive_status still pile up. pg_ls_archive_statusdir() needs superuser or
 * pg_monitor: the exporter connects as the image's POSTGRES_USER, the bootstrap superuser.
 */

/** The `.ready` backlog and the WAL written (an LSN in bytes), on a primary only (a standby has no current LSN). */
export const WAL_ARCHIVE_BACKLOG_SQL = `SELECT (SELECT count(*) FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready') AS ready_segments,
       pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0') AS written_bytes
 WHERE NOT pg_is_in_recovery()`;

/** The series postgres_exporter exports about WAL archiving: its own, and those of `WAL_ARCHIVE_EXPORTER_QUERIES`. */
export const WAL_ARCHIVE_METRICS = {
  /** Segments archived since the statistics were reset (counter, built in). */
  archived: 'pg_stat_archiver_archived_count',
  /** Failed archive_command runs (counter, built in). */
  failed: 'pg_stat_archiver_failed_count',
  /** Seconds since the last successful archive (gauge, built in; NaN before the first). */
  lastArchiveAge: 'pg_stat_archiver_last_archive_age',
  /** Segments waiting to be archived: `.ready` files in pg_wal/archive_status (gauge, custom query). */
  readySegments: 'pg_wal_archive_ready_segments',
  /** WAL written, as the current LSN in bytes (counter, custom query). */
  writtenBytes: 'pg_wal_archive_written_bytes',
} as const;

/** The file given to postgres_exporter's `--extend.query-path` (PG_EXPORTER_EXTEND_QUERY_PATH): metric = key + "_" + column. */
export const WAL_ARCHIVE_EXPORTER_QUERIES = stringify({
  pg_wal_archive: {
    query: WAL_ARCHIVE_BACKLOG_SQL,
    master: true,
    metrics: [
      { ready_segments: { usage: 'GAUGE', description: 'WAL segments waiting to be archived (.ready files in pg_wal/archive_status)' } },
      { written_bytes: { usage: 'COUNTER', description: 'WAL written: the current WAL LSN in bytes' } },
    ],
  },
}, { lineWidth: 0 });
