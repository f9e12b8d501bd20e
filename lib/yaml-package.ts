import { dirname } from 'path';

type Yaml = typeof import('yaml');

/**
 * The yaml package, loaded once. cdk8s bundles its own copy of yaml and loads it with itself;
 * when that copy is exactly the version this package pins, it is the one used here, rather than
 * loading a second copy of the same code (72 modules, about 20 ms of every synth). The same
 * version writes the same bytes. Without cdk8s, or with another version, our own copy is loaded.
 * Only the location of cdk8s's files is looked up: nothing of cdk8s is imported.
 */
function loadYaml(): Yaml {
  const ours = (require('yaml/package.json') as { version: string }).version;
  try {
    const cdk8sDir = dirname(require.resolve('cdk8s/package.json'));
    const bundled = require.resolve('yaml/package.json', { paths: [cdk8sDir] });
    if (bundled !== require.resolve('yaml/package.json') && (require(bundled) as { version: string }).version === ours) {
      return require(dirname(bundled)) as Yaml;
    }
  } catch { /* no cdk8s here: our own copy */ }
  return require('yaml') as Yaml;
}

/** The yaml package (see `loadYaml`). */
export const yaml: Yaml = loadYaml();
