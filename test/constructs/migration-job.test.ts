import { AppService } from '../../constructs/app/app-service';
import { CeleryWorker } from '../../constructs/app/celery-worker';
import { MigrationJob } from '../../constructs/app/migration-job';
import { find, podSpec, synth, testChart } from '../helpers';

describe('MigrationJob', () => {
  it('runs migrate, then init_data (seed 000 §2.4), each only after the one before succeeded', () => {
    const chart = testChart();
    const m = new MigrationJob(chart, 'Migration');
    const spec = podSpec(find(synth(chart), 'Job', m.jobName()));
    expect(spec.initContainers.map((c: any) => c.command)).toEqual([['python', 'manage.py', 'migrate']]);
    expect(spec.containers.map((c: any) => c.command)).toEqual([['python', 'manage.py', 'init_data']]);
    expect(spec.restartPolicy).toBe('Never');
  });

  it('is a new Job for a new image and the same Job for the same one', () => {
    const name = (image: string) => new MigrationJob(testChart(), 'Migration', { settings: { image } }).jobName();
    expect(name('qb:1.0.0')).toBe(name('qb:1.0.0'));
    expect(name('qb:1.0.0')).not.toBe(name('qb:1.0.1'));
    expect(name('qb:1.0.0')).toMatch(/^migrate-[0-9a-f]{10}$/);
  });

  it('lets the waiting pods read this Job and nothing else', () => {
    const chart = testChart();
    const m = new MigrationJob(chart, 'Migration');
    new AppService(chart, 'Api').waitFor(m);
    new CeleryWorker(chart, 'Worker').waitFor(m);
    const objects = synth(chart);
    const role = find(objects, 'Role', m.waiterServiceAccountName);
    expect(role.rules).toEqual([{ apiGroups: ['batch'], resources: ['jobs'], verbs: ['get'], resourceNames: [m.jobName()] }]);
    for (const name of ['api', 'celery-worker']) {
      const spec = podSpec(find(objects, 'Deployment', name));
      expect(spec.serviceAccountName).toBe(m.waiterServiceAccountName);
      expect(spec.initContainers[0].name).toBe('wait-for-migration');
      const egress = find(objects, 'NetworkPolicy', name).spec.egress;
      expect(egress).toContainEqual({ to: [{ ipBlock: { cidr: '0.0.0.0/0' } }], ports: [{ protocol: 'TCP', port: 443 }, { protocol: 'TCP', port: 6443 }] });
    }
  });

  it('gives pods that do not wait no service-account token at all', () => {
    const chart = testChart();
    new AppService(chart, 'Api');
    expect(podSpec(find(synth(chart), 'Deployment', 'api')).automountServiceAccountToken).toBe(false);
  });
});
