import * as vega from 'vega';
import * as vl from 'vega-lite';
import { CapacityPlan } from '../lib/capacity';

/** One bar segment: a workload's total requests or limits of one resource. */
interface Segment { resource: string; measure: 'requests' | 'limits'; workload: string; value: number }
/** A vertical line: what the nodes offer. */
interface Line { resource: string; label: string; value: number }

const CPU = 'CPU (cores)';
const MEMORY = 'Memory (GiB)';

/**
 * The capacity plan as a Vega-Lite chart: for CPU and memory, the environment's total requests
 * and total limits as bars stacked by workload (replicas included), against the nodes'
 * allocatable capacity — and, where the environment must survive losing a node, against what
 * one node fewer offers (the N-1 line). Limits may exceed allocatable (overcommit); requests may not.
 */
export function capacityChartSpec(plan: CapacityPlan): vl.TopLevelSpec {
  const gib = (bytes: number) => Math.round((bytes / 2 ** 30) * 100) / 100;
  // The namespace already says which system this is: drop the common name prefix from the legend.
  const names = plan.rows.map(r => r.workload.name);
  const prefix = names.every(n => n.startsWith('quality-billing-')) ? 'quality-billing-' : '';
  const segments: Segment[] = plan.rows.flatMap(r => {
    const n = r.workload.replicas;
    const workload = r.workload.name.slice(prefix.length);
    return [
      { resource: CPU, measure: 'requests', workload, value: (r.perPod.cpuRequest.millicores * n) / 1000 },
      { resource: CPU, measure: 'limits', workload, value: (r.perPod.cpuLimit.millicores * n) / 1000 },
      { resource: MEMORY, measure: 'requests', workload, value: gib(r.perPod.memoryRequest.bytes * n) },
      { resource: MEMORY, measure: 'limits', workload, value: gib(r.perPod.memoryLimit.bytes * n) },
    ] as Segment[];
  });
  const nodes = plan.environment.nodes;
  const lines: Line[] = [
    { resource: CPU, label: `allocatable, ${nodes} node(s)`, value: (plan.node.cpu.millicores * nodes) / 1000 },
    { resource: MEMORY, label: `allocatable, ${nodes} node(s)`, value: gib(plan.node.memory.bytes * nodes) },
  ];
  if (plan.environment.survivesNodeLoss) {
    lines.push(
      { resource: CPU, label: `N-1: ${nodes - 1} node(s)`, value: (plan.node.cpu.millicores * (nodes - 1)) / 1000 },
      { resource: MEMORY, label: `N-1: ${nodes - 1} node(s)`, value: gib(plan.node.memory.bytes * (nodes - 1)) },
    );
  }
  const panel = (resource: string) => ({
    title: resource,
    width: 560,
    height: 70,
    layer: [
      {
        data: { values: segments.filter(s => s.resource === resource) },
        mark: { type: 'bar', stroke: 'white', strokeWidth: 0.5 },
        encoding: {
          y: { field: 'measure', type: 'nominal', title: null, sort: ['requests', 'limits'] },
          x: { aggregate: 'sum', field: 'value', type: 'quantitative', title: resource },
          color: { field: 'workload', type: 'nominal', title: prefix ? `workload (${prefix}…)` : 'workload', scale: { scheme: 'tableau20' }, sort: 'ascending' },
          order: { field: 'workload', sort: 'ascending' },
        },
      },
      {
        data: { values: lines.filter(l => l.resource === resource) },
        mark: { type: 'rule', color: '#c0392b', strokeWidth: 2, strokeDash: [6, 3] },
        encoding: { x: { field: 'value', type: 'quantitative' } },
      },
      {
        data: { values: lines.filter(l => l.resource === resource) },
        mark: { type: 'text', align: 'right', dx: -4, dy: -40, color: '#c0392b', fontSize: 10 },
        encoding: { x: { field: 'value', type: 'quantitative' }, text: { field: 'label' } },
      },
    ],
  });
  // Plain JSON (vega-lite's literal types are too narrow for a spec built in code); vl.compile checks it.
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: `Capacity — ${plan.environment.name}: ${nodes} × ${plan.tier.name} node(s)`, subtitle: 'requests and limits, stacked by workload (all replicas), against allocatable' },
    background: 'white',
    padding: 12,
    vconcat: [panel(CPU), panel(MEMORY)],
    config: { font: 'DejaVu Sans, Helvetica, Arial, sans-serif', legend: { columns: 2, labelLimit: 260, titleLimit: 400, symbolSize: 80 } },
  };
  return spec as unknown as vl.TopLevelSpec;
}

/** The chart as SVG, rendered headless by Vega (no browser). */
export async function capacityChartSvg(plan: CapacityPlan): Promise<string> {
  const view = new vega.View(vega.parse(vl.compile(capacityChartSpec(plan)).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return `${svg}\n`;
}
