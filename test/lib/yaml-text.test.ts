import { parse, stringify as yamlStringify } from 'yaml';
import { alertGroups, walArchiveAlertGroups } from '../../lib/monitoring/alert-rules';
import { renderPrometheusConfig, renderRules, renderRuleTests, ruleObject } from '../../lib/monitoring/prometheus-config';
import { stringify, unfoldedFallbacks } from '../../lib/yaml-text';

describe('stringify (yaml, remembered by value)', () => {
  it.each([
    ['a config with an undefined member', { global: { a: 1 }, alerting: undefined, rules: ['x', 'y: z'] }, { lineWidth: 0 }],
    ['the same config without it', { global: { a: 1 }, rules: ['x', 'y: z'] }, { lineWidth: 0 }],
    ['null kept apart from absent', { global: { a: 1 }, alerting: null, rules: ['x', 'y: z'] }, { lineWidth: 0 }],
    ['a long line, folded by default', { text: 'word '.repeat(40) }, undefined],
    ['the same long line, not folded', { text: 'word '.repeat(40) }, { lineWidth: 0 }],
  ])('%s: what yaml writes, first and again', (_label, value, options) => {
    expect(stringify(value, options)).toBe(yamlStringify(value, options));
    expect(stringify(value, options)).toBe(yamlStringify(value, options));
  });
});

describe('stringify with lineWidth 0 (laid out without yaml, each scalar styled by yaml)', () => {
  const shared = { role: 'node' };
  const tricky: Record<string, unknown> = {
    'YAML 1.1 and 1.2 words and numbers as strings': { a: 'on', b: 'off', c: 'yes', d: 'No', e: 'y', f: 'true', g: 'NULL', h: '~', i: '8000', j: '0x1F', k: '1e3', l: '.inf', m: '2001-12-14', o: '', p: '<<', q: '0o17', r: '+1' },
    'indicators and comments': { a: '- x', b: 'a: b', c: '#c', d: 'a #b', e: 'tr ail ', f: ' lead', g: '*ref', h: '&anchor', i: '!tag', j: '{x}', k: '[x]', l: '@at', m: '`q`', n: "it's", o: '"q"', p: 'a\tb', q: 'é ü 中文', r: '{{ $value | humanize }}', s: 'x{namespace="a", status=~"5.."}' },
    'keys that need quotes': { 'y': 1, 'on': 2, '': 3, 'k y': 4, 'a:b': 5, '-x': 6, '8000': 7, 'app.kubernetes.io/name': 8, 'a\nb': 9 },
    'block scalars at every depth': { a: 'x\ny', b: 'x\ny\n', c: '  lead\nx', d: 'x\n\n\ny', e: [{ f: 'p\nq', g: ['r\ns', ['t\nu']] }], h: { i: { j: 'deep\nlines\n' } } },
    'numbers, booleans, null': { a: 0, b: -0, c: 1.5, d: -3, e: 1e21, f: true, g: false, h: null, i: [0, -0, null, true], j: 1e-7 },
    'empty and nested collections': { a: {}, b: [], c: [{}], d: [[]], e: [[1, [2, []]], { x: [] }], f: { g: { h: {} } }, i: [{ j: 1, k: [{ l: 2 }] }] },
    'undefined members left out, everywhere': { a: undefined, b: { c: undefined, d: 1 }, e: [{ f: undefined, g: 2 }], h: { i: undefined } },
    'undefined items': { a: [1, undefined, 2] },
    'keep-chomped block scalar': { a: 'x\n\n', b: 'after' },
    'an object met twice (yaml anchors it)': { a: shared, b: [shared] },
    'a very long line (never folded)': { a: 'word '.repeat(40), b: ['x '.repeat(100)] },
  };
  it.each(Object.entries(tricky))('%s: what yaml writes', (_label, doc) => {
    expect(stringify(doc, { lineWidth: 0 })).toBe(yamlStringify(doc, { lineWidth: 0 }));
  });

  it('writes the rule files, their promtool tests and prometheus.yml on the fast layout, as yaml does', () => {
    const before = unfoldedFallbacks();
    const groups = [...alertGroups({ namespace: 'yaml-text-probe' }), ...walArchiveAlertGroups({ namespace: 'yaml-text-probe', archiveTimeoutSeconds: 60 })];
    for (const annotations of [true, false]) {
      const doc = { groups: groups.map(g => ({ name: g.alert, rules: g.rules.map(r => ruleObject(r, { annotations })) })) };
      expect(renderRules(groups, { annotations })).toBe(yamlStringify(doc, { lineWidth: 0 }));
    }
    expect(renderRuleTests(groups, 'rules.yml')).toMatch(/^rule_files:\n  - rules.yml\n/);
    const config = { namespace: 'yaml-text-probe', scrapeIntervalSeconds: 15, targets: [{ service: 'api', component: 'api' }, { service: 'gw', component: 'gw', honorLabels: true, path: '/m' }], alertmanager: 'am:9093', scrapeKubelets: true, rulesDir: '/etc/rules' };
    expect(renderPrometheusConfig(config)).toBe(yamlStringify(parse(renderPrometheusConfig(config)), { lineWidth: 0 }));
    expect(unfoldedFallbacks()).toBe(before);
  });
});
