import { dirname } from 'path';
import { yaml } from '../../lib/yaml-package';

describe('the yaml package the renderers use', () => {
  it('is the copy cdk8s bundles when it is the version we pin, so a synth loads yaml once', () => {
    const bundled = require.resolve('yaml/package.json', { paths: [dirname(require.resolve('cdk8s/package.json'))] });
    const versions = [require(bundled).version, require('yaml/package.json').version];
    expect(bundled).not.toBe(require.resolve('yaml/package.json'));
    if (versions[0] === versions[1]) expect(yaml).toBe(require(dirname(bundled)));
    else expect(yaml).toBe(require('yaml'));
    expect(yaml.stringify({ a: ['b', 'on'] }, { lineWidth: 0 })).toBe('a:\n  - b\n  - on\n');
  });
});
