/**
 * A layered top-to-bottom graph layout, linear-ish in the graph size so that 10,000 nodes lay out
 * in well under a second: longest-path layering, long edges routed through shared dummy chains,
 * barycentric crossing reduction (a few sweeps) and x placement by isotonic regression.
 */

/** What the layout needs: node sizes and edges as node indices, nodes in (near) topological order. */
export interface LayoutInput {
  widths: Float64Array;
  heights: Float64Array;
  from: Int32Array;
  to: Int32Array;
}

/** Node centres, edge polylines (flat x,y pairs; edge i is points[offsets[i] .. offsets[i+1])), size. */
export interface LayoutOutput {
  x: Float64Array;
  y: Float64Array;
  points: Float64Array;
  offsets: Int32Array;
  width: number;
  height: number;
}

/** Spacing between nodes in a layer, between layers, and the width a dummy (edge lane) reserves. */
export interface LayoutOptions {
  nodeGap: number;
  layerGap: number;
  laneWidth: number;
  sweeps: number;
}

const DEFAULTS: LayoutOptions = { nodeGap: 24, layerGap: 44, laneWidth: 12, sweeps: 4 };

/** Compressed adjacency: neighbours of v are idx[start[v] .. start[v+1]). */
interface Csr {
  start: Int32Array;
  idx: Int32Array;
}

function csr(n: number, a: ArrayLike<number>, b: ArrayLike<number>, m: number): Csr {
  const start = new Int32Array(n + 1);
  for (let i = 0; i < m; i++) start[a[i] + 1]++;
  for (let v = 0; v < n; v++) start[v + 1] += start[v];
  const fill = start.slice(0, n);
  const idx = new Int32Array(m);
  for (let i = 0; i < m; i++) idx[fill[a[i]]++] = b[i];
  return { start, idx };
}

/**
 * Places each node of a non-overlapping row as close as possible to its target (weighted least
 * squares), keeping the order: pool-adjacent-violators on x minus the cumulative minimum spacing.
 */
export function placeRow(
  targets: Float64Array,
  gaps: Float64Array,
  out: Float64Array,
  weights?: Float64Array,
): void {
  const n = targets.length;
  if (n === 0) return;
  const offset = new Float64Array(n);
  for (let i = 1; i < n; i++) offset[i] = offset[i - 1] + gaps[i - 1];
  const sums = new Float64Array(n);
  const wts = new Float64Array(n);
  const counts = new Int32Array(n);
  let top = -1;
  for (let i = 0; i < n; i++) {
    const w = weights ? weights[i] : 1;
    top++;
    sums[top] = w * (targets[i] - offset[i]);
    wts[top] = w;
    counts[top] = 1;
    while (top > 0 && sums[top - 1] / wts[top - 1] > sums[top] / wts[top]) {
      sums[top - 1] += sums[top];
      wts[top - 1] += wts[top];
      counts[top - 1] += counts[top];
      top--;
    }
  }
  let i = 0;
  for (let b = 0; b <= top; b++) {
    const v = sums[b] / wts[b];
    for (let k = 0; k < counts[b]; k++, i++) out[i] = v + offset[i];
  }
}

/** Lays out the graph. Edges that point backwards in the node order are drawn reversed. */
export function layered(input: LayoutInput, options: Partial<LayoutOptions> = {}): LayoutOutput {
  const opt = { ...DEFAULTS, ...options };
  const n = input.widths.length;
  const m0 = input.from.length;
  // Orient every edge forward in the node order (which is topological for a DAG).
  const ef = new Int32Array(m0);
  const et = new Int32Array(m0);
  const reversed = new Uint8Array(m0);
  for (let i = 0; i < m0; i++) {
    const a = input.from[i];
    const b = input.to[i];
    if (a < b) {
      ef[i] = a;
      et[i] = b;
    } else {
      ef[i] = b;
      et[i] = a;
      reversed[i] = 1;
    }
  }
  const preds = csr(n, et, ef, m0);
  const succs = csr(n, ef, et, m0);
  // Longest-path layering, then sources sink next to their first consumer.
  const layer = new Int32Array(n);
  for (let v = 0; v < n; v++) {
    let l = 0;
    for (let k = preds.start[v]; k < preds.start[v + 1]; k++) {
      const u = preds.idx[k];
      if (u !== v && layer[u] + 1 > l) l = layer[u] + 1;
    }
    layer[v] = l;
  }
  for (let v = 0; v < n; v++) {
    if (preds.start[v] !== preds.start[v + 1] || succs.start[v] === succs.start[v + 1]) continue;
    let l = Infinity;
    for (let k = succs.start[v]; k < succs.start[v + 1]; k++) l = Math.min(l, layer[succs.idx[k]] - 1);
    if (l !== Infinity && l > layer[v]) layer[v] = l;
  }
  // Dummy chains: all long edges out of one node share a chain, so fan-out costs its longest span.
  const nodeLayer: number[] = Array.from(layer);
  const segA: number[] = [];
  const segB: number[] = [];
  const edgePath: number[][] = new Array(m0);
  const chainOf = new Map<number, number[]>();
  for (let i = 0; i < m0; i++) {
    const u = ef[i];
    const v = et[i];
    if (u === v) {
      edgePath[i] = [];
      continue;
    }
    const span = layer[v] - layer[u];
    if (span <= 1) {
      edgePath[i] = [u, v];
      segA.push(u);
      segB.push(v);
      continue;
    }
    let chain = chainOf.get(u);
    if (!chain) {
      chain = [];
      chainOf.set(u, chain);
    }
    while (chain.length < span - 1) {
      const d = nodeLayer.length;
      nodeLayer.push(layer[u] + chain.length + 1);
      segA.push(chain.length ? chain[chain.length - 1] : u);
      segB.push(d);
      chain.push(d);
    }
    const path = [u, ...chain.slice(0, span - 1), v];
    segA.push(chain[span - 2]);
    segB.push(v);
    edgePath[i] = path;
  }
  const total = nodeLayer.length;
  const isDummy = (v: number) => v >= n;
  const up = csr(total, segB, segA, segA.length);
  const down = csr(total, segA, segB, segA.length);
  // Layers in node order; the initial order follows node (topological) order.
  let layerCount = 0;
  for (let v = 0; v < total; v++) layerCount = Math.max(layerCount, nodeLayer[v] + 1);
  const rows: number[][] = Array.from({ length: layerCount }, () => []);
  for (let v = 0; v < total; v++) rows[nodeLayer[v]].push(v);
  const pos = new Float64Array(total);
  const setPos = () => {
    for (const row of rows) for (let i = 0; i < row.length; i++) pos[row[i]] = i;
  };
  setPos();
  const key = new Float64Array(total);
  const sweep = (adj: Csr, range: number[]) => {
    for (const l of range) {
      const row = rows[l];
      for (let i = 0; i < row.length; i++) {
        const v = row[i];
        const s = adj.start[v];
        const e = adj.start[v + 1];
        if (s === e) {
          key[v] = i;
          continue;
        }
        let sum = 0;
        for (let k = s; k < e; k++) sum += pos[adj.idx[k]];
        // Scaled to this row's index range so nodes without neighbours keep their place.
        key[v] = sum / (e - s);
      }
      row.sort((a, b) => key[a] - key[b] || pos[a] - pos[b]);
      for (let i = 0; i < row.length; i++) pos[row[i]] = i;
    }
  };
  const downRange = Array.from({ length: layerCount }, (_, i) => i);
  const upRange = downRange.slice().reverse();
  for (let s = 0; s < opt.sweeps; s++) {
    sweep(up, downRange.slice(1));
    sweep(down, upRange.slice(1));
  }
  sweep(up, downRange.slice(1));
  // x: pack, then pull each row towards its neighbours' barycentres, alternately down and up.
  const width = (v: number) => (isDummy(v) ? opt.laneWidth : input.widths[v]);
  const x = new Float64Array(total);
  const rowGaps = rows.map((row) => {
    const gaps = new Float64Array(Math.max(0, row.length - 1));
    for (let i = 0; i + 1 < row.length; i++) {
      const a = row[i];
      const b = row[i + 1];
      const gap = isDummy(a) && isDummy(b) ? opt.laneWidth / 2 : opt.nodeGap;
      gaps[i] = (width(a) + width(b)) / 2 + gap;
    }
    return gaps;
  });
  for (let l = 0; l < layerCount; l++) {
    const row = rows[l];
    let acc = 0;
    for (let i = 0; i < row.length; i++) {
      x[row[i]] = acc;
      if (i < row.length - 1) acc += rowGaps[l][i];
    }
    for (const v of row) x[v] -= acc / 2;
  }
  const pull = (adjs: Csr[], range: number[]) => {
    for (const l of range) {
      const row = rows[l];
      const targets = new Float64Array(row.length);
      for (let i = 0; i < row.length; i++) {
        const v = row[i];
        // A lane follows its neighbours (other lanes hardest, so long edges run straight); a node
        // follows the nodes next to it and looks at lanes only when it has no node neighbour.
        let sum = 0;
        let wsum = 0;
        let laneSum = 0;
        let laneCount = 0;
        for (const adj of adjs) {
          for (let k = adj.start[v]; k < adj.start[v + 1]; k++) {
            const u = adj.idx[k];
            if (isDummy(u) && !isDummy(v)) {
              laneSum += x[u];
              laneCount++;
              continue;
            }
            const w = isDummy(u) ? 4 : 1;
            sum += w * x[u];
            wsum += w;
          }
        }
        targets[i] = wsum ? sum / wsum : laneCount ? laneSum / laneCount : x[v];
      }
      const out = new Float64Array(row.length);
      // Lanes give way to nodes.
      const weights = new Float64Array(row.length);
      for (let i = 0; i < row.length; i++) weights[i] = isDummy(row[i]) ? 0.001 : 1;
      placeRow(targets, rowGaps[l], out, weights);
      for (let i = 0; i < row.length; i++) x[row[i]] = out[i];
    }
  };
  for (let s = 0; s < opt.sweeps; s++) {
    pull([up], downRange.slice(1));
    pull([down], upRange.slice(1));
  }
  pull([up, down], downRange);
  // y: each layer as tall as its tallest node.
  const layerTop = new Float64Array(layerCount);
  const layerHeight = new Float64Array(layerCount);
  for (let v = 0; v < n; v++) layerHeight[layer[v]] = Math.max(layerHeight[layer[v]], input.heights[v]);
  let yAcc = 0;
  for (let l = 0; l < layerCount; l++) {
    layerTop[l] = yAcc;
    yAcc += layerHeight[l] + opt.layerGap;
  }
  let minX = Infinity;
  let maxX = -Infinity;
  for (let v = 0; v < total; v++) {
    minX = Math.min(minX, x[v] - width(v) / 2);
    maxX = Math.max(maxX, x[v] + width(v) / 2);
  }
  if (total === 0) minX = maxX = 0;
  const outX = new Float64Array(n);
  const outY = new Float64Array(n);
  for (let v = 0; v < n; v++) {
    outX[v] = x[v] - minX;
    outY[v] = layerTop[layer[v]] + layerHeight[layer[v]] / 2;
  }
  // Polylines: out of the bottom of the source, straight through each lane, into the top of the target.
  const offsets = new Int32Array(m0 + 1);
  const pts: number[] = [];
  for (let i = 0; i < m0; i++) {
    const path = edgePath[i];
    const start = pts.length;
    if (path.length >= 2) {
      const u = path[0];
      const v = path[path.length - 1];
      pts.push(outX[u], outY[u] + input.heights[u] / 2);
      for (let k = 1; k < path.length - 1; k++) {
        const d = path[k];
        const l = nodeLayer[d];
        pts.push(x[d] - minX, layerTop[l], x[d] - minX, layerTop[l] + layerHeight[l]);
      }
      pts.push(outX[v], outY[v] - input.heights[v] / 2);
      if (reversed[i]) {
        // Pairs are reversed so the arrow points from the original source to the original target.
        const seg = pts.splice(start);
        for (let k = seg.length - 2; k >= 0; k -= 2) pts.push(seg[k], seg[k + 1]);
      }
    }
    offsets[i + 1] = pts.length;
  }
  return {
    x: outX,
    y: outY,
    points: Float64Array.from(pts),
    offsets,
    width: maxX - minX,
    height: Math.max(0, yAcc - opt.layerGap),
  };
}
