import { chmodSync, chownSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { ENVIRONMENTS } from '../../lib/environments';
import { synthStack } from '../helpers';
import { asUser, debianBinary, freePort, run } from './tools';

// PostgreSQL from Debian started with the postgresql.conf each environment synthesizes: the
// server must accept the file and run with the values we computed.
describe.each(Object.values(ENVIRONMENTS).map(e => [e.name, e] as const))('PostgreSQL with the %s configuration', (_name, env) => {
  const { stack, objects } = synthStack(env);
  // Standalone (dev) or under Patroni (staging, prod), whose ConfigMap is named "-files".
  const conf: string = objects.find(o => o.kind === 'ConfigMap' && /^quality-billing-postgres-(config|files)$/.test(o.metadata.name))!.data['postgresql.conf'];
  const tuning = stack.postgres.tuning();
  let dir: string;
  let started = false;
  let port: number;
  const psql = (sql: string) => run(...asUser('postgres', debianBinary('psql'), ['-h', dir, '-p', String(port), '-U', 'postgres', '-d', 'postgres', '-Atc', sql])).trim();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'qb-pg-'));
    chmodSync(dir, 0o700);
    writeFileSync(join(dir, 'postgresql.conf.generated'), conf, { mode: 0o644 });
    if (process.getuid?.() === 0) {
      // As root the server runs as Debian's postgres user, which must own its directory.
      const [uid, gid] = ['-u', '-g'].map(flag => Number(run('id', [flag, 'postgres']).trim()));
      for (const p of [dir, join(dir, 'postgresql.conf.generated')]) chownSync(p, uid, gid);
    }
    run(...asUser('postgres', debianBinary('initdb'), ['-D', join(dir, 'data'), '-U', 'postgres', '--auth=trust', '--no-sync']));
    port = await freePort();
    // Only the socket directory and port are overridden: this machine is not a pod.
    const options = [`-c config_file=${join(dir, 'postgresql.conf.generated')}`, `-c hba_file=${join(dir, 'data', 'pg_hba.conf')}`,
      `-c port=${port}`, `-c unix_socket_directories=${dir}`, '-c listen_addresses=127.0.0.1'].join(' ');
    run(...asUser('postgres', debianBinary('pg_ctl'), ['-D', join(dir, 'data'), '-o', options, '-l', join(dir, 'server.log'), '-w', '-t', '60', 'start']));
    started = true;
  }, 60000);

  afterAll(() => {
    if (started) run(...asUser('postgres', debianBinary('pg_ctl'), ['-D', join(dir, 'data'), '-m', 'fast', '-w', 'stop']));
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts and runs with the computed max_connections', () => {
    expect(Number(psql('show max_connections'))).toBe(tuning.maxConnections);
  });

  it('runs with the computed memory settings', () => {
    const bytes = (setting: string) => Number(psql(`select setting::bigint * pg_size_bytes(case when unit ~ '^[0-9]' then unit else '1' || unit end) from pg_settings where name = '${setting}'`));
    expect(bytes('shared_buffers')).toBe(tuning.sharedBuffers.bytes);
    expect(bytes('effective_cache_size')).toBe(tuning.effectiveCacheSize.bytes);
    expect(bytes('work_mem')).toBe(Math.floor(tuning.workMem.bytes / 1024) * 1024);
  });

  it('hashes passwords with SCRAM, keeps WAL ready for archiving and logs slow statements', () => {
    expect(psql('show password_encryption')).toBe('scram-sha-256');
    expect(psql('show wal_level')).toBe('replica');
    expect(psql('show log_min_duration_statement')).toBe('1s');
  });

  it('has pg_stat_statements preloaded for the exporter', () => {
    psql('create extension if not exists pg_stat_statements');
    expect(psql('select count(*) >= 0 from pg_stat_statements')).toBe('t');
  });
});
