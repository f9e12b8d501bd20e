import { spawnSync } from 'child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { AppService } from '../../constructs/app/app-service';
import { MinIO, minioBootstrapScript } from '../../constructs/data/minio';
import { Monitoring } from '../../constructs/monitoring/monitoring';
import { PLACEHOLDER_RECEIVERS } from '../../stacks/quality-billing-stack';
import { envOf, find, podSpec, synth, testChart } from '../helpers';

describe('MinIO', () => {
  const chart = testChart();
  const minio = new MinIO(chart, 'Files', { name: 'files', tier: 'minimum', buckets: ['invoices', 'receipts'] });
  const api = new AppService(chart, 'Api').connectTo(minio);
  new Monitoring(chart, 'Monitoring', { receivers: PLACEHOLDER_RECEIVERS, tier: 'minimum' }).monitor(minio);
  const objects = synth(chart);
  const sts = find(objects, 'StatefulSet', 'files');
  const server = podSpec(sts).containers[0];

  it('serves S3 on 9000 and the console on 9001 from a persistent volume, as a non-root user', () => {
    expect(server.args).toEqual(['server', '/data', '--address', ':9000', '--console-address', ':9001', '--certs-dir', '/tmp/certs']);
    expect(find(objects, 'Service', 'files').spec.ports.map((p: any) => [p.name, p.port])).toEqual([['s3', 9000], ['console', 9001]]);
    expect(sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe('10Gi');
    expect(podSpec(sts).securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, fsGroup: 1000 });
    expect(server.securityContext.readOnlyRootFilesystem).toBe(true);
  });

  it('takes the root credentials from Secret references only', () => {
    expect(envOf(server)).toMatchObject({ MINIO_ROOT_USER: 'secret:minio-credentials/root-user', MINIO_ROOT_PASSWORD: 'secret:minio-credentials/root-password' });
  });

  it('is live and ready on MinIO\'s own health endpoints', () => {
    expect(server.livenessProbe.httpGet.path).toBe('/minio/health/live');
    expect(server.readinessProbe.httpGet.path).toBe('/minio/health/ready');
  });

  it('gives clients the endpoint, the first bucket and the application keys, and opens 9000 to them', () => {
    expect(envOf(podSpec(find(objects, 'Deployment', api.name)).containers[0])).toMatchObject({
      S3_ENDPOINT_URL: 'http://files:9000', S3_BUCKET: 'invoices', S3_ACCESS_KEY: 'secret:minio-credentials/app-access-key', S3_SECRET_KEY: 'secret:minio-credentials/app-secret-key',
    });
    const policy = find(objects, 'NetworkPolicy', 'files');
    const from = policy.spec.ingress.filter((r: any) => r.ports.some((p: any) => p.port === 9000)).flatMap((r: any) => r.from.map((f: any) => f.podSelector?.matchLabels['app.kubernetes.io/name']));
    expect(from).toEqual(expect.arrayContaining(['api', 'files-bootstrap', 'prometheus']));
  });

  it('is scraped on its cluster metrics path without a token', () => {
    expect(envOf(server).MINIO_PROMETHEUS_AUTH_TYPE).toBe('public');
    expect(find(objects, 'ConfigMap', 'prometheus-config').data['prometheus.yml']).toContain('/minio/v2/metrics/cluster');
  });

  it('bootstraps with a Job whose name follows its script, so new buckets run it again', () => {
    const job = objects.find(o => o.kind === 'Job' && o.metadata.name.startsWith('files-bootstrap-'))!;
    const other = synth((() => { const c = testChart(); new MinIO(c, 'Files', { name: 'files', buckets: ['invoices'] }); return c; })())
      .find(o => o.kind === 'Job')!;
    expect(job.metadata.name).not.toBe(other.metadata.name);
    expect(envOf(podSpec(job).containers[0])).toMatchObject({ MINIO_URL: 'http://files:9000', APP_ACCESS_KEY: 'secret:minio-credentials/app-access-key' });
    expect(find(objects, 'ConfigMap', 'files-bootstrap-script').data['bootstrap.sh']).toBe(minio.bootstrap.script);
  });

  it('limits the application user\'s policy to the buckets', () => {
    const policy = JSON.parse(/<<'POLICY'\n([\s\S]*?)\nPOLICY/.exec(minio.bootstrap.script)![1]);
    const resources = policy.Statement.flatMap((s: any) => s.Resource);
    expect(resources.sort()).toEqual(['arn:aws:s3:::invoices', 'arn:aws:s3:::invoices/*', 'arn:aws:s3:::receipts', 'arn:aws:s3:::receipts/*']);
    expect(policy.Statement.flatMap((s: any) => s.Action)).not.toContain('s3:*');
  });
});

describe('the MinIO bootstrap script (run by sh against a recording stand-in for mc)', () => {
  // No MinIO server or mc binary can be installed here: the script's own logic (order, retries,
  // idempotence) is run by a real sh, with `mc` a stub that logs its calls and fails on cue.
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'qb-mc-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function run(attachOutput: string, attachStatus: number): { status: number | null; calls: string[]; stderr: string } {
    const mc = join(dir, 'mc');
    writeFileSync(mc, `#!/bin/sh
echo "$*" >> "${dir}/calls"
case "$1 $2 $3" in
  "admin policy attach") echo "${attachOutput}"; exit ${attachStatus} ;;
esac
exit 0
`);
    chmodSync(mc, 0o755);
    const script = join(dir, 'bootstrap.sh');
    writeFileSync(script, minioBootstrapScript(['invoices', 'receipts'], 'files-app'));
    const r = spawnSync('sh', [script], {
      encoding: 'utf8',
      env: { PATH: `${dir}:/usr/bin:/bin`, MINIO_URL: 'http://files:9000', MINIO_ROOT_USER: 'root', MINIO_ROOT_PASSWORD: 'root-pw', APP_ACCESS_KEY: 'app', APP_SECRET_KEY: 'app-pw' },
    });
    return { status: r.status, calls: readFileSync(join(dir, 'calls'), 'utf8').trim().split('\n'), stderr: r.stderr };
  }

  it('creates each bucket if missing with versioning, then the policy, the user and the attachment', () => {
    const r = run('Attached Policies: [files-app]', 0);
    expect(r.status).toBe(0);
    expect(r.calls).toEqual([
      'alias set local http://files:9000 root root-pw', 'ready local',
      'mb --ignore-existing local/invoices', 'version enable local/invoices',
      'mb --ignore-existing local/receipts', 'version enable local/receipts',
      'admin policy create local files-app /tmp/policy.json',
      'admin user add local app app-pw',
      'admin policy attach local files-app --user app',
    ]);
  });

  it('succeeds on a second run where the policy is already attached', () => {
    const r = run('mc: <ERROR> The specified policy change is already in effect.', 1);
    expect(r.status).toBe(0);
  });

  it('fails on any other attachment error, showing it', () => {
    const r = run('mc: <ERROR> Access Denied.', 1);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('Access Denied');
  });
});
