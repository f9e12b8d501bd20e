import { App, Chart } from 'cdk8s';
import { k8s } from '../../constructs/core/k8s';
import { objectJsonOnce } from '../../constructs/core/workload';
import { ENVIRONMENTS } from '../../lib/environments';
import { MerchantAnalysisStack } from '../../stacks/merchant-analysis-stack';

describe('what one synth of a chart costs per object', () => {
  afterEach(() => jest.restoreAllMocks());

  it('resolves each CronJob once for the maintenance-window and capacity checks together, and once for the output', () => {
    const toJson = jest.spyOn(k8s.KubeCronJob.prototype, 'toJson');
    // merchant-analysis has a maintenance window: its check and the capacity planner both read the CronJobs.
    const stack = new MerchantAnalysisStack(new App(), 'merchant-analysis', { environment: ENVIRONMENTS.prod });
    const docs = stack.toJson();
    const cronJobs = docs.filter((d: { kind: string }) => d.kind === 'CronJob');
    expect(cronJobs.length).toBeGreaterThan(2);
    const calls = new Map<unknown, number>();
    for (const self of toJson.mock.contexts) calls.set(self, (calls.get(self) ?? 0) + 1);
    expect(calls.size).toBe(cronJobs.length);
    expect([...calls.values()].every(n => n === 2)).toBe(true);
  });

  it('objectJsonOnce gives each object\'s toJson, computed once', () => {
    const app = new App();
    const chart = new Chart(app, 'c');
    const map = new k8s.KubeConfigMap(chart, 'm', { metadata: { name: 'm' }, data: { a: 'b' } });
    const toJson = jest.spyOn(map, 'toJson');
    const json = objectJsonOnce();
    expect(json(map)).toEqual(map.toJson());
    expect(json(map)).toBe(json(map));
    expect(toJson).toHaveBeenCalledTimes(2);
  });
});
