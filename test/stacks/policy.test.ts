import { readFileSync } from 'fs';
import { join } from 'path';
import { ENVIRONMENTS } from '../../lib/environments';
import { SEED_EXAMPLE_SECRETS } from '../../lib/secrets';
import { FILEBEAT_HOST_PATHS } from '../../constructs/logging/filebeat';
import { synthAll } from '../../stacks/synth-all';
import { find, K8sObject, podSpec, synthSystem, SYSTEM_VARIANTS, workloads } from '../helpers';
import { SYSTEMS } from '../../stacks/systems';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';

/** Pod Security Standards "restricted", checked field by field on the synthesized pods. */
function restrictedViolations(o: K8sObject): string[] {
  const spec = podSpec(o);
  const problems: string[] = [];
  const podSc = spec.securityContext ?? {};
  for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
    const sc = c.securityContext ?? {};
    const where = `${o.kind}/${o.metadata.name} container ${c.name}`;
    if (sc.runAsNonRoot !== true && podSc.runAsNonRoot !== true) problems.push(`${where}: runAsNonRoot`);
    if ((sc.runAsUser ?? podSc.runAsUser) === 0) problems.push(`${where}: runs as uid 0`);
    if (sc.allowPrivilegeEscalation !== false) problems.push(`${where}: allowPrivilegeEscalation`);
    if (sc.privileged === true) problems.push(`${where}: privileged`);
    if (!(sc.capabilities?.drop ?? []).includes('ALL')) problems.push(`${where}: capabilities not dropped`);
    if ((sc.capabilities?.add ?? []).some((cap: string) => cap !== 'NET_BIND_SERVICE')) problems.push(`${where}: adds capabilities`);
    const seccomp = sc.seccompProfile?.type ?? podSc.seccompProfile?.type;
    if (!['RuntimeDefault', 'Localhost'].includes(seccomp)) problems.push(`${where}: seccomp ${seccomp}`);
    if (sc.readOnlyRootFilesystem !== true) problems.push(`${where}: writable root filesystem`);
  }
  if (spec.hostNetwork || spec.hostPID || spec.hostIPC) problems.push(`${o.kind}/${o.metadata.name}: host namespaces`);
  for (const v of spec.volumes ?? []) if (v.hostPath) problems.push(`${o.kind}/${o.metadata.name}: hostPath volume ${v.name}`);
  return problems;
}

describe('the restricted check itself', () => {
  it('reports a root, privileged, capability-adding container with a writable root filesystem', () => {
    const bad = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'bad' },
      spec: { template: { spec: { hostNetwork: true, containers: [{ name: 'c', image: 'x:1', securityContext: { runAsUser: 0, privileged: true, capabilities: { add: ['SYS_ADMIN'] } } }] } } } };
    expect(restrictedViolations(bad)).toEqual(expect.arrayContaining([
      expect.stringContaining('runAsNonRoot'), expect.stringContaining('uid 0'), expect.stringContaining('allowPrivilegeEscalation'),
      expect.stringContaining('privileged'), expect.stringContaining('capabilities not dropped'), expect.stringContaining('adds capabilities'),
      expect.stringContaining('seccomp'), expect.stringContaining('writable root filesystem'), expect.stringContaining('host namespaces'),
    ]));
  });
});

describe.each(SYSTEM_VARIANTS)('policy, %s', (_name, sys, env, props) => {
  const { stack, objects } = synthSystem(sys, env, props);
  // The service the edge fronts: the API, or merchant-analysis's gateway.
  const fronted = stack as unknown as { api?: { name: string; port: number }; gateway?: { name: string; port: number } };
  const api = (fronted.api ?? fronted.gateway)!;
  const pods = workloads(objects);
  const containers = pods.flatMap(o => [...(podSpec(o).initContainers ?? []), ...podSpec(o).containers].map(c => [`${o.kind}/${o.metadata.name}/${c.name}`, c, o] as const));
  const longRunning = pods.filter(o => ['Deployment', 'StatefulSet', 'DaemonSet'].includes(o.kind))
    .flatMap(o => podSpec(o).containers.map((c: any) => [`${o.kind}/${o.metadata.name}/${c.name}`, c] as const));

  it('has workloads to check', () => {
    expect(pods.length).toBeGreaterThanOrEqual(6);
  });

  const isShipper = (o: K8sObject) => o.kind === 'DaemonSet' && o.metadata.name === `${sys}-filebeat`;

  it.each(pods.filter(o => !isShipper(o)).map(o => [`${o.kind}/${o.metadata.name}`, o] as const))('%s meets Pod Security Standards restricted', (_id, o) => {
    expect(restrictedViolations(o)).toEqual([]);
  });

  it('writes to the node only in Filebeat\'s registry folder: every other host path is mounted read-only', () => {
    const writable = pods.flatMap(o => {
      const spec = podSpec(o);
      const hostPaths = new Map<string, string>((spec.volumes ?? []).filter((v: any) => v.hostPath).map((v: any) => [v.name, v.hostPath.path]));
      return [...(spec.initContainers ?? []), ...spec.containers].flatMap((c: any) => (c.volumeMounts ?? [])
        .filter((m: any) => hostPaths.has(m.name) && m.readOnly !== true)
        .map((m: any) => `${o.kind}/${o.metadata.name}/${c.name}: ${hostPaths.get(m.name)}`));
    });
    expect(writable).toEqual(env.logging ? [`DaemonSet/${sys}-filebeat/filebeat: /var/lib/${sys}-filebeat-data`] : []);
  });

  it('departs from restricted only where the log shipper is documented to: uid 0 and read-only node log folders', () => {
    const shippers = pods.filter(isShipper);
    expect(shippers.length).toBe(env.logging ? 1 : 0);
    for (const f of shippers) {
      const spec = podSpec(f);
      expect(restrictedViolations(f).sort()).toEqual([
        `DaemonSet/${sys}-filebeat container filebeat: runAsNonRoot`,
        `DaemonSet/${sys}-filebeat container filebeat: runs as uid 0`,
        ...FILEBEAT_HOST_PATHS.map((_p, i) => `DaemonSet/${sys}-filebeat: hostPath volume host-logs-${i}`),
        `DaemonSet/${sys}-filebeat: hostPath volume data`,
      ].sort());
      expect(spec.volumes.filter((v: any) => v.hostPath).map((v: any) => v.hostPath)).toEqual([
        ...FILEBEAT_HOST_PATHS.map(path => ({ path, type: 'Directory' })),
        { path: `/var/lib/${sys}-filebeat-data`, type: 'DirectoryOrCreate' },
      ]);
      const mounts = spec.containers[0].volumeMounts.filter((m: any) => m.name.startsWith('host-logs-'));
      expect(mounts.every((m: any) => m.readOnly === true)).toBe(true);
      // It runs in its own namespace, where admission allows hostPath; audit and warn stay restricted.
      const ns = objects.find(o => o.kind === 'Namespace' && o.metadata.name === f.metadata.namespace)!;
      expect(ns.metadata.labels).toMatchObject({ 'pod-security.kubernetes.io/enforce': 'privileged', 'pod-security.kubernetes.io/audit': 'restricted', 'pod-security.kubernetes.io/warn': 'restricted' });
    }
  });

  it.each(containers)('%s has requests and limits for CPU and memory, limits >= requests', (_id, c) => {
    for (const r of ['cpu', 'memory']) {
      expect(c.resources?.requests?.[r]).toBeDefined();
      expect(c.resources?.limits?.[r]).toBeDefined();
    }
  });

  it.each(containers)('%s uses a pinned image', (_id, c) => {
    expect(c.image).toMatch(/(:[A-Za-z0-9_][A-Za-z0-9_.-]*|@sha256:[a-f0-9]{64})$/);
    expect(c.image).not.toMatch(/:latest$/);
  });

  it.each(longRunning)('%s has liveness and readiness probes that differ', (_id, c) => {
    expect(c.livenessProbe).toBeDefined();
    expect(c.readinessProbe).toBeDefined();
    expect(c.livenessProbe).not.toEqual(c.readinessProbe);
  });

  it('puts every namespaced object in the namespace, which enforces restricted (the log shipper\'s aside)', () => {
    const ns = objects.find(o => o.kind === 'Namespace' && o.metadata.name === sys)!;
    expect(ns.metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
    const clusterScoped = ['Namespace', 'ClusterRole', 'ClusterRoleBinding'];
    for (const o of objects.filter(x => clusterScoped.includes(x.kind))) expect(o.metadata.namespace).toBeUndefined();
    const elsewhere = objects.filter(x => !clusterScoped.includes(x.kind) && x.metadata.namespace !== ns.metadata.name);
    // Only Filebeat's own objects and its namespace's default policies live in the shipper namespace,
    // and, in external-secrets mode, the ExternalSecrets of the Secrets Filebeat reads there.
    const shipper = objects.find(o => o.kind === 'DaemonSet' && o.metadata.name === `${sys}-filebeat`);
    const shipperSecrets = shipper ? podSpec(shipper).containers.flatMap((c: any) => (c.env ?? []).map((e: any) => e.valueFrom?.secretKeyRef?.name).filter(Boolean)) : [];
    for (const o of elsewhere) {
      expect(o.metadata.namespace).toBe(`${sys}-logging`);
      if (o.kind === 'ExternalSecret') expect(shipperSecrets).toContain(o.spec.target.name);
      else expect(o.metadata.name).toMatch(new RegExp(`^(${sys}-filebeat|default-deny|allow-dns)`));
    }
  });

  it('grants cluster-wide rights only to Prometheus, only to read nodes and their metrics', () => {
    const roles = objects.filter(o => o.kind === 'ClusterRole');
    if (props.monitoringMode === 'prometheus-operator') { expect(roles).toEqual([]); return; }
    expect(roles.map(r => r.metadata.name)).toEqual([`${sys}-${sys}-prometheus-kubelets`]);
    for (const rule of roles[0].rules) {
      expect(rule.apiGroups).toEqual(['']);
      expect(rule.resources.every((r: string) => ['nodes', 'nodes/metrics', 'nodes/stats'].includes(r))).toBe(true);
      expect(rule.verbs.every((v: string) => ['get', 'list', 'watch'].includes(v))).toBe(true);
    }
  });

  it('grants nodes/proxy to no role: its GET runs commands in any container of the node (kubernetes/kubernetes#83465)', () => {
    const rules = objects.filter(o => ['Role', 'ClusterRole'].includes(o.kind)).flatMap(o => (o.rules ?? []).map((r: any) => ({ role: `${o.kind}/${o.metadata.name}`, ...r })));
    const proxy = rules.filter((r: any) => (r.resources ?? []).some((res: string) => res === 'nodes/proxy' || res === '*' || res === 'nodes/*'));
    expect(proxy).toEqual([]);
  });

  it('denies all traffic by default and allows DNS', () => {
    const policies = objects.filter(o => o.kind === 'NetworkPolicy');
    const deny = policies.find(p => JSON.stringify(p.spec.podSelector) === '{}' && !p.spec.ingress && !p.spec.egress);
    expect(deny?.spec.policyTypes).toEqual(expect.arrayContaining(['Ingress', 'Egress']));
    const dns = policies.find(p => p.spec.egress?.some((r: any) => r.ports?.some((port: any) => port.port === 53 && port.protocol === 'UDP')));
    expect(dns).toBeDefined();
  });

  it('gives every workload a NetworkPolicy that selects its pods', () => {
    const policies = objects.filter(o => o.kind === 'NetworkPolicy');
    for (const w of pods) {
      const labels = (w.kind === 'CronJob' ? w.spec.jobTemplate.spec.template.metadata.labels : w.spec.template.metadata.labels) as Record<string, string>;
      const selecting = policies.filter(p => Object.entries(p.spec.podSelector.matchLabels ?? {}).every(([k, v]) => labels[k] === v) && p.spec.podSelector.matchLabels);
      expect(selecting.length).toBeGreaterThan(0);
    }
  });

  it('states each NetworkPolicy rule once', () => {
    // Keys sorted, so a peer written in another field order still counts as the same rule.
    const canonical = (v: unknown): string => JSON.stringify(v, (_k, x) => (x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => a.localeCompare(b))) : x));
    for (const p of objects.filter(o => o.kind === 'NetworkPolicy')) {
      for (const rules of [p.spec.ingress ?? [], p.spec.egress ?? []]) {
        const repeated = rules.map(canonical).filter((r: string, i: number, all: string[]) => all.indexOf(r) !== i);
        expect({ policy: p.metadata.name, repeated }).toEqual({ policy: p.metadata.name, repeated: [] });
      }
    }
  });

  it('puts only public ports on LoadBalancer and NodePort Services, never a metrics port', () => {
    const exposed = objects.filter(o => o.kind === 'Service' && ['LoadBalancer', 'NodePort'].includes(o.spec.type));
    const scrapedPorts = new Set(objects.filter(o => o.kind === 'Service').flatMap(o => o.spec.ports.filter((p: any) => p.name === 'metrics').map((p: any) => p.port)));
    for (const svc of exposed) {
      for (const port of svc.spec.ports) {
        expect(`${svc.metadata.name}:${port.name}`).not.toMatch(/:metrics$/);
        expect(port.targetPort).not.toBe('metrics');
        expect({ service: svc.metadata.name, port: port.port, scraped: scrapedPorts.has(port.port) }).toEqual({ service: svc.metadata.name, port: port.port, scraped: false });
      }
    }
  });

  it('has no Secret objects and no secret values inline', () => {
    expect(objects.filter(o => o.kind === 'Secret')).toEqual([]);
    for (const [, c] of containers) {
      for (const e of c.env ?? []) {
        if (/PASSWORD|SECRET|TOKEN|_KEY$|PASS$/.test(e.name)) expect(e.valueFrom?.secretKeyRef).toBeDefined();
      }
    }
  });

  it('gives replicated Deployments a PodDisruptionBudget and topology spread, and never drops below replicas on rollout', () => {
    // An autoscaled Deployment leaves `replicas` to its HorizontalPodAutoscaler.
    const replicas = (d: K8sObject) => d.spec.replicas ?? objects.find(o => o.kind === 'HorizontalPodAutoscaler' && o.spec.scaleTargetRef.name === d.metadata.name)?.spec.minReplicas;
    const replicated = objects.filter(o => o.kind === 'Deployment' && replicas(o) > 1);
    expect(replicated.length).toBeGreaterThan(env.name === 'dev' ? -1 : 0);
    for (const d of replicated) {
      const pdb = objects.find(o => o.kind === 'PodDisruptionBudget' && JSON.stringify(o.spec.selector.matchLabels) === JSON.stringify(d.spec.selector.matchLabels));
      expect(pdb).toBeDefined();
      expect(d.spec.template.spec.topologySpreadConstraints?.length).toBeGreaterThan(0);
      expect(d.spec.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
    }
  });

  it('scales the API and workers on CPU at the 70 % SLO, never below their replicas, and never the singleton beat', () => {
    const hpas = objects.filter(o => o.kind === 'HorizontalPodAutoscaler');
    if (env.autoscaleFactor === 1) { expect(hpas).toEqual([]); return; }
    // finance-ai runs the seed's fixed 3 replicas; ai-bookkeeping's primary/standby pair is not scaled.
    if (['quality-billing', 'qcat'].includes(sys)) expect(hpas.map(h => h.spec.scaleTargetRef.name)).toEqual(expect.arrayContaining([`${sys}-api`]));
    else expect(hpas).toEqual([]);
    expect(hpas.map(h => h.spec.scaleTargetRef.name)).not.toContain('quality-billing-celery-beat');
    for (const h of hpas) {
      expect(h.spec.metrics).toEqual([{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }]);
      expect(h.spec.maxReplicas).toBeGreaterThanOrEqual(h.spec.minReplicas);
      expect(h.spec.behavior.scaleDown.stabilizationWindowSeconds).toBeGreaterThan(0);
      expect(find(objects, 'Deployment', h.spec.scaleTargetRef.name).spec.replicas).toBeUndefined();
    }
  });

  it('lets only the edge (or the ingress controller, or seed 002\'s load balancer) reach the API\'s HTTP port', () => {
    const policy = find(objects, 'NetworkPolicy', api.name);
    const httpRules = policy.spec.ingress.filter((r: any) => r.ports.some((p: any) => p.port === api.port));
    const peers = httpRules.flatMap((r: any) => r.from);
    const edge = stack.environment.edge;
    const expected: object[] = edge === 'nginx'
      ? [{ podSelector: { matchLabels: expect.objectContaining({ 'app.kubernetes.io/name': `${sys}-edge` }) } }]
      : [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } } }];
    if (sys === 'finance-ai') expected.push({ ipBlock: { cidr: '0.0.0.0/0' } });
    expect(peers).toEqual(expect.arrayContaining(expected));
    expect(peers).toHaveLength(expected.length);
  });
});

describe('no secret in dist/', () => {
  const outdir = mkdtempSync(join(tmpdir(), 'qb-policy-'));
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it('contains none of the seeds\' example passwords and no Secret data in any environment', () => {
    const files = synthAll(join(outdir, 'dist')).map(r => r.file);
    expect(files).toHaveLength(Object.keys(ENVIRONMENTS).length * SYSTEMS.length);
    for (const f of files) {
      const text = readFileSync(f, 'utf8');
      for (const example of SEED_EXAMPLE_SECRETS) expect(text).not.toContain(example);
      expect(text).not.toMatch(/^kind: Secret$/m);
      expect(text).not.toMatch(/postgresql:\/\/[^:\s]+:[^@$\s]+@/);
      expect(text).not.toMatch(/redis:\/\/:[^$@\s][^@\s]*@/);
      expect(text).not.toMatch(/mongodb:\/\/[^:\s]+:[^@$\s][^@\s]*@/);
    }
  });
});
