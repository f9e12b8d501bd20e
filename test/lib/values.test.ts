import { defineEnvironment, ENVIRONMENTS, environment } from '../../lib/environments';
import { ImageRef } from '../../lib/images';
import { recommendedLabels, sanitizeLabelValue } from '../../lib/labels';
import { ByteQuantity, CpuQuantity } from '../../lib/quantity';
import { checkCronSchedule } from '../../lib/schedule';
import { SecretKeyRef } from '../../lib/secrets';
import { resources } from '../../lib/sizing';
import { expectValidationError } from '../helpers';

describe('quantities', () => {
  it.each([['500m', 500], ['1', 1000], ['1.5', 1500], ['0.25', 250]])('parses CPU %s as %i millicores', (q, m) => {
    expect(CpuQuantity.parse(q).millicores).toBe(m);
  });
  it.each([['512Mi', 512 * 2 ** 20], ['1Gi', 2 ** 30], ['100G', 100e9], ['64k', 64000], ['1024', 1024]])('parses bytes %s', (q, b) => {
    expect(ByteQuantity.parse(q).bytes).toBe(b);
  });
  it.each([[CpuQuantity.millis(500), '500m'], [CpuQuantity.cores(2), '2'], [ByteQuantity.gibibytes(1), '1Gi'], [ByteQuantity.mebibytes(1536), '1536Mi']])('renders %p as %s', (q, s) => {
    expect(q.toString()).toBe(s);
  });
  it.each(['1.5 cores', '-1', '0', '0.0001', ''])('refuses the CPU quantity %p', q => {
    expect(() => CpuQuantity.parse(q, 'X', 'cpu')).toThrow(/X: invalid cpu/);
  });
  it.each(['10 gigs', '1GB', '-5Mi', 'Mi'])('refuses the byte quantity %p', q => {
    expect(() => ByteQuantity.parse(q, 'X', 'memory')).toThrow(/X: invalid memory/);
  });
  it('refuses a limit below its request, naming the limit field', () => {
    expectValidationError(() => resources({ cpuRequest: '1', cpuLimit: '1', memoryRequest: '1Gi', memoryLimit: '512Mi' }, 'X', 'resources'),
      { path: 'X', field: 'resources.memoryLimit', value: '512Mi', allowed: /at or above the request 1Gi/ });
  });
});

describe('image references', () => {
  it.each([
    ['postgres:14.15-bookworm', 'postgres', '14.15-bookworm'],
    ['registry.example:5000/team/app:2.0.1', 'registry.example:5000/team/app', '2.0.1'],
    [`app@sha256:${'a'.repeat(64)}`, 'app', 'aaaaaaaaaaaa'],
  ])('accepts the pinned %s', (ref, repository, version) => {
    const image = ImageRef.parse(ref);
    expect([image.repository, image.version, image.toString()]).toEqual([repository, version, ref]);
  });
  it.each(['postgres', 'postgres:latest', 'postgres:LATEST', 'registry.example:5000/app', 'app@sha256:abc', 'App:1', ' app:1'])('refuses %p', ref => {
    expectValidationError(() => ImageRef.parse(ref, 'X', 'image'), { path: 'X', field: 'image', value: ref, allowed: /pinned image/ });
  });
});

describe('cron schedules', () => {
  it.each(['0 2 * * *', '30 3 * * 0', '*/15 * * * 1-5', '@daily', '@monthly'])('accepts %p', s => {
    expect(checkCronSchedule('X', 'schedule', s)).toBe(s);
  });
  it.each(['every day', '0 2 * * * *', '0 25 * * *', '61 2 * * *', '0 2 * *', 'CRON_TZ=UTC 0 2 * * *', '@sometimes'])('refuses %p', s => {
    expectValidationError(() => checkCronSchedule('X', 'schedule', s), { path: 'X', field: 'schedule', value: s, allowed: /five-field cron/ });
  });
});

describe('environments', () => {
  it('ships prod on the recommended tier with 3 API replicas that survives a node loss (seed 000 §4.2)', () => {
    expect(ENVIRONMENTS.prod).toMatchObject({ tier: 'recommended', appReplicas: 3, survivesNodeLoss: true });
    expect(ENVIRONMENTS.prod.nodes).toBeGreaterThanOrEqual(2);
    expect(ENVIRONMENTS.dev.tier).toBe('minimum');
  });
  it('fills a user-defined environment from its base', () => {
    const perf = defineEnvironment({ name: 'perf', appReplicas: 6, nodes: 4 }, ENVIRONMENTS.prod);
    expect(perf).toMatchObject({ name: 'perf', tier: 'recommended', appReplicas: 6, nodes: 4, survivesNodeLoss: true });
  });
  it.each([
    [{ name: 'Perf' }, 'name', 'Perf', /DNS-1123/],
    [{ name: 'x', tier: 'big' as never }, 'tier', 'big', /"minimum", "recommended"/],
    [{ name: 'x', nodes: 0 }, 'nodes', 0, /integer from 1/],
    [{ name: 'x', appReplicas: 0 }, 'appReplicas', 0, /integer from 1/],
    [{ name: 'x', timeZone: 'Mars/Olympus' }, 'timeZone', 'Mars/Olympus', /IANA time zone/],
    [{ name: 'x', nodes: 1, survivesNodeLoss: true }, 'nodes', 1, /at least 2 nodes/],
  ])('refuses %p', (spec, field, value, allowed) => {
    expectValidationError(() => defineEnvironment(spec), { path: /^Environment /, field, value, allowed });
  });
  it('looks up shipped environments by name and refuses others', () => {
    expect(environment('staging').name).toBe('staging');
    expectValidationError(() => environment('qa'), { path: 'Environment', field: 'name', value: 'qa', allowed: /"dev", "staging", "prod"/ });
  });
});

describe('secret references and labels', () => {
  it('refuses a Secret name that is not a DNS-1123 subdomain and a malformed key', () => {
    expectValidationError(() => SecretKeyRef.of('DB Credentials', 'url'), { path: 'SecretKeyRef', field: 'secretName', value: 'DB Credentials', allowed: /DNS-1123 subdomain/ });
    expectValidationError(() => SecretKeyRef.of('db', 'a key'), { path: 'SecretKeyRef', field: 'key', value: 'a key', allowed: /Secret key/ });
  });
  it('renders all six recommended labels', () => {
    expect(Object.keys(recommendedLabels({ name: 'api', instance: 'qb', component: 'api', version: '1.0' })).sort()).toEqual([
      'app.kubernetes.io/component', 'app.kubernetes.io/instance', 'app.kubernetes.io/managed-by',
      'app.kubernetes.io/name', 'app.kubernetes.io/part-of', 'app.kubernetes.io/version',
    ]);
  });
  it.each([['1.0.0', '1.0.0'], ['sha:abc', 'sha-abc'], ['-x-', 'x'], ['a'.repeat(70), 'a'.repeat(63)]])('makes %p a valid label value', (v, expected) => {
    expect(sanitizeLabelValue(v)).toBe(expected);
  });
});
