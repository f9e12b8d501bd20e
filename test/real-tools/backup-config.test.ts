import { mkdirSync, readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import { ENVIRONMENTS } from '../../lib/environments';
import { SecretKeyRef } from '../../lib/secrets';
import { find, K8sObject, synthSystem } from '../helpers';
import { BUCKET, containerEnv, containerOf, exec, useBackupRig } from './backup-rig';
import { freePort } from './tools';

/*
 * QCAT's weekly configuration export to the backup bucket, against a real S3-compatible server
 * (see backup-rig.ts; no PostgreSQL needed).
 */
describe('PostgreSQL backups against a real PostgreSQL, pgBackRest and S3-compatible server', () => {
  const rig = useBackupRig({ postgres: false });

  describe('the weekly configuration backup (QCAT)', () => {
    // A stand-in Kubernetes API over TLS answers the export's list requests with the token it
    // expects; the export and upload scripts are the ones QCAT's CronJob mounts.
    let api: import('https').Server;
    let apiPort: number;
    let cronJob: K8sObject;
    const served: string[] = [];
    const failing = new Set<string>();

    beforeAll(async () => {
      const storage = {
        bucket: BUCKET, prefix: 'prod/postgres', region: 'us-east-1', endpoint: `https://localhost:${rig.s3Port}`,
        accessKeyId: SecretKeyRef.of('backup-s3-credentials', 'access-key-id'), secretAccessKey: SecretKeyRef.of('backup-s3-credentials', 'secret-access-key'),
      };
      const qcat = synthSystem('qcat', ENVIRONMENTS.prod, { backupStorage: storage }).objects;
      cronJob = find(qcat, 'CronJob', 'qcat-config-backup');
      const files = find(qcat, 'ConfigMap', 'qcat-config-backup-scripts').data;
      writeFileSync(join(rig.work, 'scripts', 'config-export.sh'), files['export.sh'], { mode: 0o755 });
      writeFileSync(join(rig.work, 'scripts', 'config-upload.sh'), files['upload.sh'], { mode: 0o755 });
      mkdirSync(join(rig.work, 'sa'), { recursive: true });
      writeFileSync(join(rig.work, 'sa', 'token'), 'sa-token');
      writeFileSync(join(rig.work, 'sa', 'ca.crt'), readFileSync(join(rig.work, 'tls', 'cert.pem')));
      const { createServer } = await import('https');
      api = createServer({ cert: readFileSync(join(rig.work, 'tls', 'cert.pem')), key: readFileSync(join(rig.work, 'tls', 'key.pem')) }, (req, res) => {
        served.push(req.url!);
        const kind = req.url!.split('/').pop()!;
        if (req.headers.authorization !== 'Bearer sa-token') { res.writeHead(401).end(); return; }
        if (failing.has(kind) || !req.url!.includes('/namespaces/qcat/')) { res.writeHead(500).end('{}'); return; }
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'List', items: [{ metadata: { name: `${kind}-1`, namespace: 'qcat' } }] }));
      });
      apiPort = await freePort();
      await new Promise<void>(r => api.listen(apiPort, 'localhost', r));
    });
    afterAll(() => api.close());

    const runConfigBackup = async (dir: string) => {
      const env = { API_SERVER: `https://localhost:${apiPort}`, TOKEN_DIR: join(rig.work, 'sa'), BACKUP_DIR: dir };
      const exported = await exec('/bin/sh', [join(rig.work, 'scripts', 'config-export.sh')], { ...containerEnv(containerOf(cronJob, 'export')), ...env, PATH: '/usr/bin:/bin', TZ: 'UTC' });
      if (exported.code !== 0) return { step: 'export', ...exported };
      const uploaded = await rig.runScript('config-upload.sh', { ...containerEnv(containerOf(cronJob, 'upload')), BACKUP_DIR: dir });
      return { step: 'upload', ...uploaded };
    };
    const configKeys = async () => (await rig.aws(['s3', 'ls', '--recursive', `s3://${BUCKET}/prod/config/`])).stdout.split('\n').filter(Boolean).map(l => l.trim().split(/\s+/).pop() as string);

    it('exports every configuration kind of the namespace (no Secrets) and uploads it with checksums, beside the database backups', async () => {
      const r = await runConfigBackup(rig.backupDir('config-1'));
      expect(r.stderr).toContain('uploaded');
      expect(r.code).toBe(0);
      const keys = await configKeys();
      const names = keys.map(k => k.split('/').pop()!).sort();
      expect(names).toContain('SHA256SUMS');
      expect(names).toContain('api_v1_configmaps.json');
      expect(names).toContain('apis_apps_v1_deployments.json');
      expect(names.filter(n => n.endsWith('.json'))).toHaveLength(13);
      expect(served.some(u => /secrets/.test(u))).toBe(false);
      const id = keys[0].split('/')[2];
      const body = (await rig.aws(['s3', 'cp', `s3://${BUCKET}/prod/config/${id}/api_v1_configmaps.json`, '-'])).stdout;
      expect(JSON.parse(body).items[0].metadata.name).toBe('configmaps-1');
    }, 300000);

    it('uploads nothing when a kind cannot be read', async () => {
      const before = await configKeys();
      failing.add('networkpolicies');
      const r = await runConfigBackup(rig.backupDir('config-2'));
      failing.delete('networkpolicies');
      expect(r.step).toBe('export');
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('could not export networkpolicies');
      expect(await configKeys()).toEqual(before);
    }, 300000);
  });
});
