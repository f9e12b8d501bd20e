import { stringify as yamlStringify } from 'yaml';
import { stringify } from '../../lib/yaml-text';

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
