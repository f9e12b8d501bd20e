import { dump } from 'js-yaml';
import * as manifestYaml from '../../lib/manifest-yaml';
import { SYSTEM_VARIANTS, synthChart } from '../helpers';

const jsYaml = (doc: unknown) => dump(doc, { lineWidth: -1, noRefs: true });

describe('manifestDocument writes what js-yaml writes', () => {
  it.each(SYSTEM_VARIANTS)('every object of %s, byte for byte, on its own fast path', (_label, system, env, props) => {
    const before = manifestYaml.manifestFallbacks();
    const { objects } = synthChart(system, env, props);
    for (const o of objects) expect(manifestYaml.manifestDocument(o)).toBe(jsYaml(o));
    // The whole chart at once (its scalars styled in batches), as the synth writes it.
    expect(manifestYaml.manifestDocuments(objects)).toBe(objects.map(jsYaml).join('---\n'));
    expect(manifestYaml.manifestFallbacks()).toBe(before);
  });

  const tricky: Record<string, unknown> = {
    'YAML 1.1 words and numbers as strings': { a: 'on', b: 'off', c: 'yes', d: 'No', e: 'y', n: 'N', f: 'true', g: 'NULL', h: '~', i: '8000', j: '0x1F', k: '1e3', l: '.inf', m: '2001-12-14', o: '', p: '<<' },
    'indicators and comments': { a: '- x', b: 'a: b', c: '#c', d: 'a #b', e: 'tr ail ', f: ' lead', g: '*ref', h: '&anchor', i: '!tag', j: '{x}', k: '[x]', l: '@at', m: '`q`', n: "it's", o: '"q"', p: 'a\tb', q: 'é ü 中文' },
    'keys that need quotes': { 'y': 1, 'on': 2, '': 3, 'k y': 4, 'a:b': 5, '-x': 6, '8000': 7, 'app.kubernetes.io/name': 8 },
    'block scalars at every depth': { a: 'x\ny', b: 'x\ny\n', c: '  lead\nx', d: 'x\n\n\ny', e: [{ f: 'p\nq', g: ['r\ns', ['t\nu']] }], h: { i: { j: 'deep\nlines\n' } } },
    'numbers, booleans, null': { a: 0, b: -0, c: 1.5, d: -3, e: 1e21, f: true, g: false, h: null, i: [0, -0, null, true] },
    'empty and nested collections': { a: {}, b: [], c: [{}], d: [[]], e: [[1, [2, []]], { x: [] }], f: { g: { h: {} } }, i: [{ j: 1, k: [{ l: 2 }] }] },
    'keep-chomped block scalar (js-yaml writes the document)': { a: 'x\n\n', b: 'after' },
  };
  it.each(Object.entries(tricky))('%s', (_label, doc) => {
    expect(manifestYaml.manifestDocument(doc)).toBe(jsYaml(doc));
  });

  it('all the tricky documents at once, styled in batches', () => {
    const docs = Object.values(tricky).map(d => JSON.parse(JSON.stringify(d)) as unknown);
    // -0 does not survive JSON: put it back.
    (docs[4] as Record<string, unknown>).b = -0;
    expect(manifestYaml.manifestDocuments(docs)).toBe(docs.map(jsYaml).join('---\n'));
  });
});
