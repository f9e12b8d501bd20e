// First: the modules below load through V8's code cache.
import './compile-cache';
import { environment, ENVIRONMENTS } from '../lib/environments';
import { shippedSystem, SYSTEMS } from '../stacks/systems';
import { SynthResult, synthAll } from '../stacks/synth-all';
import { parseFlags } from './cli';
import { reportError } from './errors';

/** One line per environment: the file, the object count by kind, requests against allocatable. */
export function describeResult(r: SynthResult): string {
  const kinds = Object.entries(r.kinds).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${n} ${k}`).join(', ');
  const cores = (m: number) => (m / 1000).toFixed(2);
  const gib = (b: number) => (b / 2 ** 30).toFixed(2);
  const label = `${r.system}/${r.environment}`;
  const indent = '    ';
  return `${label} ${r.file}\n${indent}${r.objects} objects: ${kinds}\n${indent}requests ${cores(r.cpuRequests)} of ${cores(r.cpuAllocatable)} CPU, ${gib(r.memoryRequests)} of ${gib(r.memoryAllocatable)} GiB memory`;
}

function main(argv: string[]): number {
  const values = parseFlags('synth', argv, {
    env: { type: 'string', multiple: true, short: 'e' },
    out: { type: 'string', short: 'o' },
    system: { type: 'string', multiple: true, short: 's' },
    verbose: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  });
  if (!values) return 1;
  if (values.help) {
    console.log(`usage: npm run synth -- [--system NAME]... [--env NAME]... [--out DIR] [--verbose]\n\nWrites <out>/<system>/<env>/<system>.k8s.yaml for each system and environment (default: all, into dist/).\nsystems: ${SYSTEMS.map(s => s.name).join(', ')}; environments: ${Object.keys(ENVIRONMENTS).join(', ')}`);
    return 0;
  }
  const outdir = values.out ?? (process.env.CDK8S_OUTDIR || 'dist');
  try {
    const systems = values.system ? values.system.map(name => shippedSystem(name)) : SYSTEMS;
    const envs = (values.env ?? Object.keys(ENVIRONMENTS)).map(name => environment(name));
    for (const r of synthAll(outdir, envs, systems)) console.log(describeResult(r));
    return 0;
  } catch (e) {
    return reportError(e, { verbose: values.verbose ?? false, context: `synth failed, ${outdir}/ left unchanged` });
  }
}

if (require.main === module) process.exit(main(process.argv.slice(2)));
