import { CeleryBeat } from '../../constructs/app/celery-beat';
import { CeleryWorker } from '../../constructs/app/celery-worker';
import { Postgres } from '../../constructs/data/postgres';
import { Redis } from '../../constructs/data/redis';
import { k8s } from 'cdk8s-plus-28';
import { ENVIRONMENTS } from '../../lib/environments';
import { deploymentPlan } from '../../lib/deployment-plan';
import { K8sJson } from '../../lib/k8s-objects';
import { envOf, expectValidationError, find, modelClass, podSpec, synth, synthStack, testChart } from '../helpers';

describe('CeleryWorker', () => {
  it('consumes the seed\'s three queues by default', () => {
    const chart = testChart();
    new CeleryWorker(chart, 'Worker');
    const c = podSpec(find(synth(chart), 'Deployment', 'celery-worker')).containers[0];
    expect(c.command.slice(0, 4)).toEqual(['celery', '-A', 'quality_billing', 'worker']);
    expect(c.command[c.command.indexOf('--queues') + 1]).toBe('default,high_priority,low_priority');
  });

  it('generates settings that requeue a killed task: late acks, reject on worker lost, a visibility timeout above the longest task', () => {
    const chart = testChart();
    const w = new CeleryWorker(chart, 'Worker', { queues: ['default'], taskTimeLimitSeconds: 1800 });
    const objects = synth(chart);
    const module = find(objects, 'ConfigMap', 'celery-default-settings').data['celery_worker_settings.py'];
    expect(module).toContain('task_acks_late = True');
    expect(module).toContain('task_reject_on_worker_lost = True');
    expect(module).toContain('task_time_limit = 1800');
    expect(module).toContain('worker_prefetch_multiplier = 1');
    // A reserved task waits up to one limit for a busy child, then runs up to another: 2 x 1800 + 30.
    expect(module).toContain("broker_transport_options = {'visibility_timeout': 3630}");
    expect(w.workerSettings.visibilityTimeoutSeconds).toBe(3630);
    const spec = podSpec(find(objects, 'Deployment', 'celery-default'));
    expect(spec.terminationGracePeriodSeconds).toBe(1860);
    const env = envOf(spec.containers[0]);
    expect(env.CELERY_CONFIG_MODULE).toBe('celery_worker_settings');
    expect(env.PYTHONPATH).toBe('/etc/celery');
    expect(spec.containers[0].volumeMounts).toContainEqual({ name: 'celery-settings', mountPath: '/etc/celery', readOnly: true });
    expect(spec.volumes).toContainEqual({ name: 'celery-settings', configMap: { name: 'celery-default-settings' } });
  });

  it('keeps kombu\'s hour of visibility timeout and a 600 s grace period for the default time limit', () => {
    const chart = testChart();
    const w = new CeleryWorker(chart, 'Worker');
    expect(w.workerSettings).toEqual({ taskTimeLimitSeconds: 540, visibilityTimeoutSeconds: 3600, prefetchMultiplier: 1 });
    expect(podSpec(find(synth(chart), 'Deployment', 'celery-worker')).terminationGracePeriodSeconds).toBe(600);
  });

  it('shuts down warm: SIGTERM lets running tasks finish within a long grace period', () => {
    const chart = testChart();
    new CeleryWorker(chart, 'Worker', { queues: ['high_priority'], shutdownGracePeriodSeconds: 900 });
    const spec = podSpec(find(synth(chart), 'Deployment', 'celery-high-priority'));
    expect(spec.terminationGracePeriodSeconds).toBe(900);
    // No preStop hook or custom stop signal: Celery treats SIGTERM as warm shutdown.
    expect(spec.containers[0].lifecycle).toBeUndefined();
  });

  it('checks liveness with Celery itself and readiness with its queues', () => {
    const chart = testChart();
    new CeleryWorker(chart, 'Worker');
    const c = podSpec(find(synth(chart), 'Deployment', 'celery-worker')).containers[0];
    expect(c.livenessProbe.exec.command.join(' ')).toMatch(/celery -A quality_billing inspect ping --destination "celery@\$HOSTNAME"/);
    expect(c.readinessProbe.exec.command.join(' ')).toMatch(/inspect active_queues/);
  });

  it('sizes concurrency from its CPU limit and counts it in the PostgreSQL budget', () => {
    const chart = testChart();
    const pg = new Postgres(chart, 'Postgres');
    const w = new CeleryWorker(chart, 'Worker', { replicas: 2, resources: { cpuRequest: '500m', cpuLimit: '2', memoryRequest: '1Gi', memoryLimit: '2Gi' } }).connectTo(pg);
    expect(w.concurrency).toBe(4);
    const c = podSpec(find(synth(chart), 'Deployment', 'celery-worker')).containers[0];
    expect(c.command[c.command.indexOf('--concurrency') + 1]).toBe('4');
    expect(w.maxDatabaseConnections()).toBe((2 + 1) * 4 * 2);
  });

  it('gets the broker and result backend from Redis', () => {
    const chart = testChart();
    const redis = new Redis(chart, 'Redis');
    new CeleryWorker(chart, 'Worker').connectTo(redis.broker).connectTo(redis.results);
    const env = envOf(podSpec(find(synth(chart), 'Deployment', 'celery-worker')).containers[0]);
    expect(env.CELERY_BROKER_URL).toBe('redis://:$(REDIS_PASSWORD)@redis:6379/1');
    expect(env.CELERY_RESULT_BACKEND).toBe('redis://:$(REDIS_PASSWORD)@redis:6379/2');
  });
});

describe('CeleryWorker.autoscaleOnQueue', () => {
  const scaled = () => {
    const chart = testChart();
    const redis = new Redis(chart, 'Redis');
    const w = new CeleryWorker(chart, 'Worker', { queues: ['high_priority', 'low_priority'], replicas: 2, concurrency: 4 })
      .connectTo(redis.broker)
      .autoscaleOnQueue({ broker: redis.broker, maxReplicas: 5 });
    return { chart, w, objects: synth(chart) };
  };

  it('emits a KEDA ScaledObject with one redis trigger per queue, on the broker database, valid against KEDA\'s schema', () => {
    const { objects } = scaled();
    const so = find(objects, 'ScaledObject', 'celery-worker');
    expect(so.apiVersion).toBe('keda.sh/v1alpha1');
    expect(so.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'celery-worker' });
    expect(so.spec.minReplicaCount).toBe(2);
    expect(so.spec.maxReplicaCount).toBe(5);
    expect(so.spec.triggers.map((t: any) => t.metadata)).toEqual(['high_priority', 'low_priority'].map(listName => ({
      // KEDA's operator resolves the address from its own namespace: the Service's full name.
      address: 'redis.test.svc:6379', databaseIndex: '1', listName, listLength: '4', enableTLS: 'false',
    })));
    for (const t of so.spec.triggers) {
      expect(t.type).toBe('redis');
      expect(t.authenticationRef).toEqual({ name: 'celery-worker-redis' });
      // No password in the manifest: the TriggerAuthentication reads the Secret.
      expect(JSON.stringify(t.metadata)).not.toMatch(/password/i);
    }
    const auth = find(objects, 'TriggerAuthentication', 'celery-worker-redis');
    expect(auth.spec.secretTargetRef).toEqual([{ parameter: 'password', name: 'redis-credentials', key: 'password' }]);
    for (const o of [so, auth]) {
      const Model = modelClass(o);
      expect(() => new Model(o).validate()).not.toThrow();
    }
    // The schema rejects what KEDA would: a trigger without its type.
    const Model = modelClass(so);
    expect(() => new Model({ ...so, spec: { ...so.spec, triggers: [{ metadata: {} }] } }).validate()).toThrow();
  });

  it('leaves the replica count to KEDA, has no HPA of its own, and waits longer than the grace period before scaling down', () => {
    const { objects } = scaled();
    expect(find(objects, 'Deployment', 'celery-worker').spec.replicas).toBeUndefined();
    expect(objects.filter(o => o.kind === 'HorizontalPodAutoscaler')).toEqual([]);
    const so = find(objects, 'ScaledObject', 'celery-worker');
    const grace = podSpec(find(objects, 'Deployment', 'celery-worker')).terminationGracePeriodSeconds;
    expect(grace).toBe(600);
    // KEDA's cooldownPeriod only governs scaling to 0 (KEDA ScaledObject spec); with at least one
    // pod, scale-down from N is the HPA's, so the wait is the HPA's scale-down stabilization window.
    expect(so.spec.minReplicaCount).toBeGreaterThanOrEqual(1);
    expect(so.spec.cooldownPeriod).toBeUndefined();
    expect(so.spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.stabilizationWindowSeconds).toBeGreaterThanOrEqual(grace);
  });

  it('lets the KEDA operator reach Redis through the default-deny policy', () => {
    const { objects } = scaled();
    const np = find(objects, 'NetworkPolicy', 'redis');
    expect(np.spec.ingress).toContainEqual({
      from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'keda' } }, podSelector: { matchLabels: { app: 'keda-operator' } } }],
      ports: [{ port: 6379, protocol: 'TCP' }],
    });
  });

  it('counts the maximum in capacity and the database budget', () => {
    const { w } = scaled();
    expect(w.sizings()[0]).toMatchObject({ replicas: 2, maxReplicas: 5 });
    expect(w.maxDatabaseConnections()).toBe((5 + 1) * 4 * 2);
  });

  it('expects KEDA\'s replicas: ceil(longest queue / listLength), between min and max', () => {
    const { w } = scaled();
    // listLength 4, min 2, max 5; worked by hand.
    const table: Array<[number[], number]> = [[[0, 0], 2], [[8, 0], 2], [[9, 0], 3], [[0, 16], 4], [[17, 3], 5], [[100, 100], 5]];
    for (const [lengths, replicas] of table) expect([lengths, w.queueScaler!.expectedReplicas(lengths)]).toEqual([lengths, replicas]);
  });

  it('is refused by the deployment plan when an HPA also scales the Deployment', () => {
    const { chart } = scaled();
    new k8s.KubeHorizontalPodAutoscalerV2(chart, 'ExtraHpa', {
      metadata: { name: 'extra' },
      spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'celery-worker' }, maxReplicas: 3 },
    });
    expectValidationError(() => deploymentPlan(synth(chart) as unknown as K8sJson[]), {
      path: 'DeploymentPlan', field: 'autoscalers', value: 'ScaledObject celery-worker and HorizontalPodAutoscaler extra both scale Deployment celery-worker', allowed: /one autoscaler per workload/,
    });
  });

  it('applies the ScaledObject after its Deployment and TriggerAuthentication, and that after the Secret it reads', () => {
    const { objects } = scaled();
    const plan = deploymentPlan(objects as unknown as K8sJson[]);
    expect(plan.waits['ScaledObject/test/celery-worker'].map(w => w.on)).toEqual(expect.arrayContaining(['Deployment/test/celery-worker', 'TriggerAuthentication/test/celery-worker-redis']));
    expect(plan.waits['TriggerAuthentication/test/celery-worker-redis'].map(w => w.on)).toEqual(['Secret/test/redis-credentials']);
  });
});

describe('QualityBillingStack autoscaling', () => {
  it.each([['staging', 1, 2], ['prod', 2, 3]] as const)('scales %s workers on their queues (min %i, max %i), never with an HPA', (envName, min, max) => {
    const { objects } = synthStack(ENVIRONMENTS[envName]);
    const scaledObjects = objects.filter(o => o.kind === 'ScaledObject');
    expect(scaledObjects.map(o => o.spec.triggers.map((t: any) => t.metadata.listName))).toEqual([['default'], ['high_priority'], ['low_priority']]);
    for (const so of scaledObjects) expect([so.spec.minReplicaCount, so.spec.maxReplicaCount]).toEqual([min, max]);
    const hpaTargets = objects.filter(o => o.kind === 'HorizontalPodAutoscaler').map(o => o.spec.scaleTargetRef.name);
    for (const so of scaledObjects) expect(hpaTargets).not.toContain(so.spec.scaleTargetRef.name);
  });

  it('scales dev workers on CPU', () => {
    const { objects } = synthStack(ENVIRONMENTS.dev);
    expect(objects.filter(o => o.kind === 'ScaledObject')).toEqual([]);
    expect(objects.filter(o => o.kind === 'HorizontalPodAutoscaler').map(o => o.spec.scaleTargetRef.name)).toContain('quality-billing-celery-worker');
  });
});

describe('CeleryBeat', () => {
  it('is a singleton that never runs twice: one replica, Recreate, no PDB', () => {
    const chart = testChart();
    new CeleryBeat(chart, 'Beat');
    const objects = synth(chart);
    const d = find(objects, 'Deployment', 'celery-beat');
    expect(d.spec.replicas).toBe(1);
    expect(d.spec.strategy).toEqual({ type: 'Recreate' });
    expect(objects.filter(o => o.kind === 'PodDisruptionBudget')).toEqual([]);
    expect(podSpec(d).containers[0].command).toEqual(expect.arrayContaining(['celery', 'beat']));
  });
});
