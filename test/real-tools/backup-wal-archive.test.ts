import { parse } from 'yaml';
import { find } from '../helpers';
import { BUCKET, useBackupRig } from './backup-rig';

/*
 * WAL archiving to S3 with pgBackRest's archive-push, from the first segment, and through an S3
 * outage: a real PostgreSQL with the prod postgresql.conf and a real S3-compatible server (see
 * backup-rig.ts). The tests run in order on one server.
 */
describe('PostgreSQL backups against a real PostgreSQL, pgBackRest and S3-compatible server: WAL archiving', () => {
  const rig = useBackupRig();

  it('archives WAL from the first segment, before any backup: the archive command creates the stanza', async () => {
    await rig.psql('SELECT pg_switch_wal()');
    let archived = 0;
    for (let i = 0; i < 60 && archived === 0; i++) {
      await new Promise(r => setTimeout(r, 500));
      archived = Number(await rig.psql('SELECT archived_count FROM pg_stat_archiver', 'postgres'));
    }
    expect(archived).toBeGreaterThan(0);
    const keys = (await rig.aws(['s3', 'ls', '--recursive', `s3://${BUCKET}/prod/postgres/pgbackrest/`])).stdout;
    expect(keys).toMatch(/archive\/quality-billing-postgres\/archive\.info/);
    expect(keys).toMatch(/archive\/quality-billing-postgres\/14-1\/|archive\/quality-billing-postgres\/15-1\//);
  }, 60000);

  it('an S3 outage: the WAL backlog the WalArchiveBacklog alert reads passes its threshold while the archive age grows; with S3 back it drains to 0', async () => {
    // What the exporter runs: the custom query from the manifest's ConfigMap, and postgres_exporter
    // v0.16.0's own pg_stat_archiver query (cmd/postgres_exporter/queries.go).
    const backlogSql: string = parse(find(rig.objects, 'ConfigMap', 'quality-billing-postgres-files').data['exporter-queries.yaml']).pg_wal_archive.query;
    const archiverSql = 'SELECT *, extract(epoch from now() - last_archived_time) AS last_archive_age FROM pg_stat_archiver';
    // The thresholds of the shipped rules.
    const rules = parse(find(rig.objects, 'ConfigMap', 'quality-billing-prometheus-rules').data['alerts.yml']).groups.flatMap((g: any) => g.rules);
    const backlogRule = rules.find((r: any) => r.alert === 'WalArchiveBacklog' && r.labels.severity === 'warning');
    expect(backlogRule.expr).toMatch(/^max by \(namespace, pod\) \(pg_wal_archive_ready_segments\{namespace="quality-billing"\}\) > \d+$/);
    const threshold = Number(/> (\d+)$/.exec(backlogRule.expr)![1]);
    const staleRule = rules.find((r: any) => r.alert === 'WalArchiveStale');
    expect(staleRule.expr).toContain('pg_stat_archiver_last_archive_age');
    const read = async () => {
      const [ready, written] = (await rig.psql(backlogSql)).split('|').map(Number);
      const [archived, failed, age] = (await rig.psql(`SELECT archived_count, failed_count, round(last_archive_age::numeric, 1) FROM (${archiverSql}) a`)).split('|').map(Number);
      return { ready, written, archived, failed, age };
    };
    const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));
    const segments = threshold + 2;
    // The churn goes to the postgres database: quality_billing's tables are the backups' fixture.
    const churn = (sql: string) => rig.psql(sql, 'postgres');
    await churn('CREATE TABLE wal_churn (id serial, pad text)');

    const before = await read();
    expect(before.ready).toBe(0);
    await rig.stopS3();
    const outageStarted = Date.now();
    // Each switch closes a segment that has WAL in it (a switch with nothing written is a no-op).
    for (let i = 0; i < segments; i++) await churn(`INSERT INTO wal_churn (pad) SELECT repeat('x', 100) FROM generate_series(1, 1000); SELECT pg_switch_wal()`);
    // Instead of a fixed wait: until the archiver is seen running archive_command (PostgreSQL 15's
    // ArchiveCommand wait event) for a segment it cannot ship, i.e. archiving is tried and blocked.
    const archiverWait = () => rig.psql(`SELECT coalesce(wait_event, '') FROM pg_stat_activity WHERE backend_type = 'archiver'`, 'postgres');
    let waiting = await archiverWait();
    for (let i = 0; i < 120 && waiting !== 'ArchiveCommand'; i++) { await sleep(250); waiting = await archiverWait(); }
    expect(waiting).toBe('ArchiveCommand');
    const during = await read();
    const outageSeconds = (Date.now() - outageStarted) / 1000;
    expect(during.ready).toBeGreaterThan(threshold);
    expect(during.ready).toBeGreaterThanOrEqual(segments - 1);
    expect(during.written - before.written).toBeGreaterThanOrEqual(segments * 16 * 2 ** 20 - 16 * 2 ** 20);
    expect(during.archived).toBe(before.archived);
    expect(during.age).toBeGreaterThanOrEqual(before.age + outageSeconds - 1);

    await rig.startS3();
    const restarted = Date.now();
    // A new segment wakes the archiver, which after failed attempts otherwise waits up to 60 s.
    await churn(`INSERT INTO wal_churn (pad) VALUES ('wake'); SELECT pg_switch_wal()`);
    let after = await read();
    for (let i = 0; i < 240 && after.ready > 0; i++) { await sleep(1000); after = await read(); }
    const drainSeconds = (Date.now() - restarted) / 1000;
    expect(after.ready).toBe(0);
    expect(after.archived).toBeGreaterThanOrEqual(before.archived + segments);
    expect(after.age).toBeLessThan(during.age);
    await churn('DROP TABLE wal_churn');
    // The figures of the note.
    process.stdout.write(`WAL archive outage: threshold ${threshold} segments; before ${JSON.stringify(before)}; after ${outageSeconds.toFixed(1)} s of outage ${JSON.stringify(during)}; `
      + `S3 back: drained in ${drainSeconds.toFixed(1)} s ${JSON.stringify(after)}\n`);
  }, 360000);
});
