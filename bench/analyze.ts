/**
 * How long the skip analysis takes: synthetic 10,000-node graphs built in IR directly — a residual
 * chain (ResNet-like), a dense variant (DenseNet-style dense blocks whose concats read every
 * earlier feature map, so blocks nest), a U-Net whose long skips span the whole network — and
 * every ONNX fixture (opening excluded). Also times graphs of 20,000 and 40,000 nodes so that
 * growth can be read as a ratio (linear ≈ 2× per doubling). Prints JSON with medians.
 *
 * Target (issue 4): under 500 ms for 10,000 nodes.
 *
 * Run: npx tsx bench/analyze.ts
 */
import { readdirSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { analyzeSkips } from '../runtime/analysis/analyzeSkips';
import type { Model } from '../runtime/model/ir';
import { openModel } from '../runtime/analysis/openModel';
import { GraphBuilder } from '../test/unit/helpers/graphBuilder';

const RUNS = 7;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/**
 * Median wall time, and median CPU time of this process (user + system), which a machine shared
 * with other jobs inflates far less than wall time.
 */
function time(model: Model): { medianMs: number; medianCpuMs: number; counts: object } {
  analyzeSkips(model); // warm-up
  const ms: number[] = [];
  const cpu: number[] = [];
  let counts: object = {};
  for (let i = 0; i < RUNS; i++) {
    const c = process.cpuUsage();
    const t = performance.now();
    counts = analyzeSkips(model).counts;
    ms.push(performance.now() - t);
    const d = process.cpuUsage(c);
    cpu.push((d.user + d.system) / 1000);
  }
  return { medianMs: +median(ms).toFixed(2), medianCpuMs: +median(cpu).toFixed(2), counts };
}

/** Conv → Relu → Conv → Add(skip) → Relu blocks: 5 nodes each. */
function residualChain(nodes: number): Model {
  const b = new GraphBuilder();
  let h = b.op('Relu', [b.conv(b.input('x'))]);
  for (let i = 0; b.nodes.length < nodes; i++) {
    const br = b.conv(b.op('Relu', [b.conv(h, 3, { name: `/l${i}/conv1/Conv` })]), 3, {
      name: `/l${i}/conv2/Conv`,
    });
    h = b.op('Relu', [b.op('Add', [h, br], { name: `/l${i}/Add` })]);
  }
  return b.output(h).model();
}

/** Dense blocks of 12 layers; each layer concatenates every earlier feature map (torchvision style). */
function denseVariant(nodes: number): Model {
  const b = new GraphBuilder();
  let h = b.op('Relu', [b.conv(b.input('x'))]);
  while (b.nodes.length < nodes) {
    const feats = [h];
    for (let l = 0; l < 12; l++) {
      const cat = feats.length > 1 ? b.op('Concat', [...feats]) : feats[0];
      feats.push(b.conv(b.op('Relu', [b.conv(b.op('Relu', [cat]), 1)])));
    }
    h = b.op('AveragePool', [b.conv(b.op('Concat', feats), 1)], { attrs: { strides: [2, 2] } });
  }
  return b.output(h).model();
}

/** A U-Net of 4 levels whose stages are residual chains: every long skip spans most of the graph. */
function unet(nodes: number): Model {
  const b = new GraphBuilder();
  const perStage = Math.max(1, Math.floor(nodes / 9 / 5));
  const stage = (x: string): string => {
    let h = x;
    for (let i = 0; i < perStage; i++)
      h = b.op('Relu', [b.op('Add', [h, b.conv(b.op('Relu', [b.conv(h)]))])]);
    return h;
  };
  const skips: string[] = [];
  let h = stage(b.op('Relu', [b.conv(b.input('x'))]));
  for (let l = 0; l < 4; l++) {
    skips.push(h);
    h = stage(b.op('MaxPool', [h], { attrs: { strides: [2, 2] } }));
  }
  for (let l = 3; l >= 0; l--) {
    const up = b.op('ConvTranspose', [h, b.init(`up${l}`, [4, 4, 2, 2])], { attrs: { strides: [2, 2] } });
    h = stage(b.op('Concat', [skips[l], up]));
  }
  return b.output(h).model();
}

async function main(): Promise<void> {
  const synthetic: Record<string, object> = {};
  const ratios: Record<string, number> = {};
  for (const [name, make] of Object.entries({ residualChain, denseVariant, unet })) {
    const sizes: Record<string, object> = {};
    const t: number[] = [];
    for (const n of [10_000, 20_000, 40_000]) {
      const model = make(n);
      const r = time(model);
      t.push(r.medianMs);
      sizes[n] = { nodes: model.graph.nodes.length, ...r };
    }
    synthetic[name] = sizes;
    ratios[name] = +(t[2] / t[0]).toFixed(2);
  }
  const fixtures: Record<string, object> = {};
  const dir = join(__dirname, '..', 'test', 'fixtures', 'onnx');
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.onnx'))) {
    const model = await openModel(join(dir, f));
    fixtures[f] = { nodes: model.graph.nodes.length, ...time(model) };
  }
  const target = 500;
  const at10k = Object.values(synthetic).map(
    (s) => (s as Record<string, { medianMs: number; medianCpuMs: number }>)['10000'],
  );
  const worst10k = Math.max(...at10k.map((r) => r.medianMs));
  const worstCpu10k = Math.max(...at10k.map((r) => r.medianCpuMs));
  console.log(
    JSON.stringify(
      {
        bench: 'analyze',
        runs: RUNS,
        targetMs10k: target,
        worstMedianMs10k: worst10k,
        worstMedianCpuMs10k: worstCpu10k,
        loadAverage1m: os.loadavg()[0],
        meetsTarget: worst10k < target,
        growth40kOver10k: ratios,
        synthetic,
        fixtures,
      },
      null,
      2,
    ),
  );
}

void main();
