// First: the modules below load through V8's code cache.
import './compile-cache';
import { mkdirSync, writeFileSync } from 'fs';
import { join } from 'path';
import { App } from 'cdk8s';
import { Construct } from 'constructs';
import { AppService } from '../constructs/app/app-service';
import { defineEnvironment } from '../lib/environments';
import { manifestYaml } from '../stacks/synth-all';
import { SystemStack, SystemStackProps } from '../stacks/system-stack';
import { parseFlags } from './cli';

/**
 * The bench's scale series: a generated system of `services` AppServices, each connected to
 * PostgreSQL and Redis (so each has its NetworkPolicies and its connection budget) and monitored,
 * on the shared base with its namespace, edge, policies and capacity check. One replica, one
 * worker and a pool of 1 each, no autoscaling, on enough nodes, so every size passes the capacity and connection
 * checks and the cost measured is the synth's, not a failure's.
 */
class ScaleStack extends SystemStack {
  constructor(scope: Construct, id: string, props: SystemStackProps, services: number) {
    super(scope, id, props, { name: 'scale', title: 'Scale', database: 'scale' });
    const apps = Array.from({ length: services }, (_, i) => new AppService(this, `Service${i}`, {
      name: `scale-svc-${i}`, replicas: 1, workers: 1, databasePoolSize: 1, settings: this.settings,
    }).connectTo(this.postgres).connectTo(this.redis.cache));
    this.addEdge(apps[0]);
    this.addMonitoring(apps);
  }
}

/** Synthesizes the scale chart of `--services N` into `--out DIR`; prints its object count. */
function main(argv: string[]): number {
  const values = parseFlags('bench-scale', argv, { services: { type: 'string' }, out: { type: 'string' } });
  if (!values) return 1;
  const services = Number(values.services);
  if (!Number.isInteger(services) || services < 1 || services > 2000) {
    console.error(`bench-scale: --services must be an integer from 1 to 2000, got ${values.services}`);
    return 1;
  }
  // Nodes enough for the services' requests and a release's surge pod of each (the capacity check
  // "room for a release's rolling update"); backups and logging off: they do not grow with the services.
  const environment = defineEnvironment({ name: 'scale', tier: 'recommended', nodes: Math.min(1000, 2 + Math.ceil(services / 6)), autoscaleFactor: 1, backup: false, logging: false });
  const stack = new ScaleStack(new App(), 'scale', { environment }, services);
  const yaml = manifestYaml(stack);
  if (values.out) {
    mkdirSync(values.out, { recursive: true });
    writeFileSync(join(values.out, 'scale.k8s.yaml'), yaml);
  }
  console.log(JSON.stringify({ services, objects: (yaml.match(/^kind: /gm) ?? []).length }));
  return 0;
}

if (require.main === module) process.exit(main(process.argv.slice(2)));
