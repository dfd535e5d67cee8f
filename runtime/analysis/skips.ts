/**
 * Classifies every merge (Add/Sum, Concat, Mul with at least two data inputs) by the contract in
 * DESIGN.md: residual (identity or projection shortcut), concat, long, gate or parallel.
 *
 * Per merge, one backward walk from its data inputs labels every ancestor with the set of inputs
 * that reach it (a bitset), visiting values in decreasing topological order so that a label is
 * final when popped. The walk stops once every candidate fork (the values on each input's chain of
 * carry ops) has been passed, so its cost is the size of the fork→merge region, never the whole
 * graph: no ancestor sets are materialised and nothing is quadratic in the node count. A forward
 * pass over the same region measures the longer path (ops, learned ops, resampling).
 */
import type { Shape } from '../model/ir';
import type { DataGraph } from './dataGraph';
import type { LearnedKind, MergeOp } from './opRoles';

/** One skip input of a merge, before ids are assigned. */
export interface RawSkip {
  /** Position of the skip input in the merge node's `inputs`. */
  inputPos: number;
  /** Value id of the fork tensor. */
  fork: number;
  /** Node indices on the skip side between fork and merge, merge side first. */
  skipNodes: number[];
  projection: boolean;
  learnedOps: number;
  ops: number;
  down: number;
  up: number;
  /** What the bypassed learned ops are, when they are all of one kind. */
  bypassedKind?: LearnedKind;
}

/** A classified merge. */
export interface RawMerge {
  node: number;
  op: MergeOp;
  kind: 'residual' | 'concat' | 'long' | 'gate' | 'parallel';
  /** Value ids of the data inputs, in input order. */
  dataInputs: number[];
  skips: RawSkip[];
  /** The fork whose region is the merge's block (the earliest skip fork, or the common fork). */
  blockFork: number;
  /** Node indices strictly inside the fork→merge region, merge included, in topological order. */
  region: number[];
}

/**
 * Merges with more data inputs than this are not classified: the walk labels every ancestor with
 * one bit per input, so its cost grows with inputs × region. No architecture merges a thousand
 * branches in one node; a generated Sum of 100,000 inputs (the adversarial corpus) would take
 * minutes and gigabytes.
 */
export const MAX_MERGE_INPUTS = 1024;

/** One link of an input's chain of carry ops, walking back from the merge. */
interface ChainLink {
  value: number;
  /** Node indices passed from the merge input down to this value: the chain's first `depth`. */
  passed: number[];
  depth: number;
  projection: boolean;
  /** Learned ops on the skip side (0, or 1 for a projection). */
  learned: number;
}

/** A max-heap of value ids keyed by their producer's topological index. */
class ValueHeap {
  private ids = new Int32Array(64);
  size = 0;
  constructor(private readonly key: Int32Array) {}
  clear(): void {
    this.size = 0;
  }
  topKey(): number {
    return this.key[this.ids[0]];
  }
  push(v: number): void {
    if (this.size === this.ids.length) {
      const grown = new Int32Array(this.ids.length * 2);
      grown.set(this.ids);
      this.ids = grown;
    }
    let i = this.size++;
    const k = this.key[v];
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.key[this.ids[parent]] >= k) break;
      this.ids[i] = this.ids[parent];
      i = parent;
    }
    this.ids[i] = v;
  }
  pop(): number {
    const top = this.ids[0];
    const last = this.ids[--this.size];
    const k = this.key[last];
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= this.size) break;
      if (child + 1 < this.size && this.key[this.ids[child + 1]] > this.key[this.ids[child]]) child++;
      if (this.key[this.ids[child]] <= k) break;
      this.ids[i] = this.ids[child];
      i = child;
    }
    this.ids[i] = last;
    return top;
  }
}

/** Reusable per-graph scratch space, stamped per merge so nothing is cleared between merges. */
class Scratch {
  readonly seen: Int32Array;
  readonly slot: Int32Array;
  /** Position of a popped value in the walk's order. */
  readonly pos: Int32Array;
  labels = new Uint32Array(0);
  words = 1;
  readonly heap: ValueHeap;
  readonly dpStamp: Int32Array;
  readonly ops: Int32Array;
  readonly lmax: Int32Array;
  readonly lmin: Int32Array;
  readonly down: Float64Array;
  readonly up: Float64Array;
  epoch = 0;
  dpEpoch = 0;
  constructor(nv: number, key: Int32Array) {
    this.seen = new Int32Array(nv);
    this.slot = new Int32Array(nv);
    this.pos = new Int32Array(nv);
    this.heap = new ValueHeap(key);
    this.dpStamp = new Int32Array(nv);
    this.ops = new Int32Array(nv);
    this.lmax = new Int32Array(nv);
    this.lmin = new Int32Array(nv);
    this.down = new Float64Array(nv);
    this.up = new Float64Array(nv);
  }
}

/** Walks back from input `v` of a merge through carry ops (and, for Add, one projection). */
function chainOf(dg: DataGraph, v: number, allowProjection: boolean): ChainLink[] {
  // All links share one `passed` array; each knows how much of it lies above it.
  const passed: number[] = [];
  const links: ChainLink[] = [{ value: v, passed, depth: 0, projection: false, learned: 0 }];
  let projection = false;
  let normAllowed = allowProjection;
  let cur = v;
  for (;;) {
    const p = dg.producer[cur];
    if (p < 0) break;
    const role = dg.roles[p];
    if (dg.inputStart[p + 1] - dg.inputStart[p] !== 1) break;
    if (role.role === 'carry') {
      // fine: parameter-free
    } else if (role.role === 'norm' && normAllowed) {
      normAllowed = false; // one normalization, on the merge side of the projection
    } else if (role.role === 'learned' && role.projection && allowProjection && !projection) {
      projection = true;
      normAllowed = false;
    } else {
      break;
    }
    passed.push(p);
    cur = dg.inputIds[dg.inputStart[p]];
    links.push({ value: cur, passed, depth: passed.length, projection, learned: projection ? 1 : 0 });
  }
  return links;
}

/** True when `label` (at `off`, `w` words) has a bit other than `j`. */
/**
 * True when a value of shape `input` is known to be broadcast to `output` by an elementwise merge:
 * a lower rank, or an axis of 1 where the output's axis is larger or symbolic. A residual shortcut
 * carries a tensor of the merge's own shape; a broadcast addend (an additive attention mask
 * [B, 1, 1, S] added to the scores [B, H, S, S] of every block) is a bias, not a skip, even though
 * it reaches the merge's other input through earlier blocks. Unknown shapes decide nothing.
 */
export function broadcastsInto(input: Shape, output: Shape): boolean {
  if (!input || !output) return false;
  if (input.length < output.length) return true;
  const off = input.length - output.length;
  for (let i = 0; i < output.length; i++) {
    const o = output[i];
    if (input[i + off] === 1 && o !== 1 && o !== null) return true;
  }
  return false;
}

function hasOther(labels: Uint32Array, off: number, w: number, j: number): boolean {
  for (let i = 0; i < w; i++) {
    let word = labels[off + i];
    if (i === j >>> 5) word &= ~(1 << (j & 31));
    if (word !== 0) return true;
  }
  return false;
}

function isFull(labels: Uint32Array, off: number, w: number, k: number): boolean {
  for (let i = 0; i < w; i++) {
    const bitsHere = Math.min(32, k - i * 32);
    const mask = bitsHere === 32 ? 0xffffffff : (1 << bitsHere) - 1;
    if ((labels[off + i] & mask) >>> 0 !== mask >>> 0) return false;
  }
  return true;
}

/** The merge classifier for one graph. */
export class SkipClassifier {
  private readonly key: Int32Array;
  private readonly s: Scratch;
  /** Values popped plus values visited by forward passes: the work done, for scaling tests. */
  work = 0;
  /** Values popped by the current walk (the first `orderLen`), in decreasing topological order. */
  private order = new Int32Array(256);
  private orderLen = 0;
  private nSlots = 0;

  constructor(private readonly dg: DataGraph) {
    const nv = dg.valueNames.length;
    this.key = new Int32Array(nv);
    for (let i = 0; i < nv; i++) this.key[i] = dg.producer[i];
    this.s = new Scratch(nv, this.key);
  }

  /** Classifies every merge node of the graph, in topological order. */
  classifyAll(): RawMerge[] {
    const out: RawMerge[] = [];
    for (let n = 0; n < this.dg.roles.length; n++) {
      if (this.dg.roles[n].role !== 'merge') continue;
      const m = this.classify(n);
      if (m) out.push(m);
    }
    return out;
  }

  private labelOffset(v: number): number {
    return this.s.slot[v] * this.s.words;
  }

  /** Adds `bits` (a label at `srcOff`, or the single input bit `j` when srcOff < 0) to value v. */
  private reach(v: number, srcOff: number, j: number): void {
    const s = this.s;
    const w = s.words;
    if (s.seen[v] !== s.epoch) {
      s.seen[v] = s.epoch;
      s.slot[v] = this.nSlots++;
      const need = this.nSlots * w;
      if (need > s.labels.length) {
        const grown = new Uint32Array(Math.max(need, s.labels.length * 2, 256));
        grown.set(s.labels);
        s.labels = grown;
      }
      const off = (this.nSlots - 1) * w;
      s.labels.fill(0, off, off + w);
      s.heap.push(v);
    }
    const off = this.labelOffset(v);
    if (srcOff < 0) s.labels[off + (j >>> 5)] |= 1 << (j & 31);
    else for (let i = 0; i < w; i++) s.labels[off + i] |= s.labels[srcOff + i];
  }

  /** Pops one value and propagates its label to its producer's data inputs. */
  private step(): number {
    const v = this.s.heap.pop();
    if (this.orderLen === this.order.length) {
      const grown = new Int32Array(this.order.length * 2);
      grown.set(this.order);
      this.order = grown;
    }
    this.work++;
    this.s.pos[v] = this.orderLen;
    this.order[this.orderLen++] = v;
    const p = this.dg.producer[v];
    if (p >= 0) {
      const off = this.labelOffset(v);
      const { inputStart, inputIds } = this.dg;
      for (let e = inputStart[p]; e < inputStart[p + 1]; e++) this.reach(inputIds[e], off, 0);
    }
    return v;
  }

  /**
   * Longest paths from `fork` over the walked region (values popped before it): op count, most
   * and fewest learned ops, and down/up-sampling products. Returns the region's node indices.
   */
  private forwardFrom(fork: number): number[] {
    const { dg, s } = this;
    s.dpEpoch++;
    const e = s.dpEpoch;
    s.dpStamp[fork] = e;
    s.ops[fork] = 0;
    s.lmax[fork] = 0;
    s.lmin[fork] = 0;
    s.down[fork] = 1;
    s.up[fork] = 1;
    const region: number[] = [];
    let prevNode = -2;
    const start = s.seen[fork] === s.epoch && this.order[s.pos[fork]] === fork ? s.pos[fork] : this.orderLen;
    this.work += start;
    for (let i = start - 1; i >= 0; i--) {
      const v = this.order[i];
      const p = dg.producer[v];
      if (p < 0) continue;
      let ops = -1;
      let lmax = 0;
      let lmin = Infinity;
      let down = 1;
      let up = 1;
      for (let ei = dg.inputStart[p]; ei < dg.inputStart[p + 1]; ei++) {
        const u = dg.inputIds[ei];
        if (s.dpStamp[u] !== e) continue;
        ops = Math.max(ops, s.ops[u]);
        lmax = Math.max(lmax, s.lmax[u]);
        lmin = Math.min(lmin, s.lmin[u]);
        down = Math.max(down, s.down[u]);
        up = Math.max(up, s.up[u]);
      }
      if (ops < 0) continue;
      const role = dg.roles[p];
      const learned = role.role === 'learned' ? 1 : 0;
      s.dpStamp[v] = e;
      s.ops[v] = ops + 1;
      s.lmax[v] = lmax + learned;
      s.lmin[v] = lmin + learned;
      s.down[v] = down * role.down;
      s.up[v] = up * role.up;
      if (p !== prevNode) {
        region.push(p);
        prevNode = p;
      }
    }
    // Outputs of one node are popped together, so each node appears once, in topological order.
    return region;
  }

  /** The shape of value id `v` (null when unknown). */
  private shapeOf(v: number): Shape {
    return v < 0 ? null : (this.dg.graph.values.get(this.dg.valueNames[v])?.shape ?? null);
  }

  /** Classifies merge node `n`; undefined when it is none of the contract's kinds. */
  classify(n: number): RawMerge | undefined {
    const { dg, s } = this;
    const op = dg.roles[n].merge!;
    const ins = Array.from(dg.inputIds.subarray(dg.inputStart[n], dg.inputStart[n + 1]));
    const k = ins.length;
    if (k < 2 || k > MAX_MERGE_INPUTS) return undefined;
    s.epoch++;
    s.words = Math.ceil(k / 32);
    s.heap.clear();
    this.orderLen = 0;
    this.nSlots = 0;
    const chains = ins.map((v) => chainOf(dg, v, op === 'add'));
    let minKey = Infinity;
    for (const c of chains) for (const l of c) minKey = Math.min(minKey, this.key[l.value]);
    for (let j = 0; j < k; j++) this.reach(ins[j], -1, j);
    // Phase 1: walk until every chain value's label is final.
    while (s.heap.size > 0 && s.heap.topKey() >= minKey) this.step();

    const skips: RawSkip[] = [];
    const outShape = this.shapeOf(dg.valueId.get(dg.graph.nodes[n].outputs[0]) ?? -1);
    for (let j = 0; j < k; j++) {
      // A tensor read twice by one merge (Concat(x, x, f(x))) is one skip, not two.
      if (ins.indexOf(ins[j]) < j) continue;
      if (op === 'add' && broadcastsInto(this.shapeOf(ins[j]), outShape)) continue;
      const link = chains[j].find(
        (l) => s.seen[l.value] === s.epoch && hasOther(s.labels, this.labelOffset(l.value), s.words, j),
      );
      if (!link) continue;
      const branchNodes = this.forwardFrom(link.value);
      let ops = 0;
      let lmax = 0;
      let down = 1;
      let up = 1;
      for (let i = 0; i < k; i++) {
        const u = ins[i];
        if (i === j || u === ins[j] || s.dpStamp[u] !== s.dpEpoch) continue;
        ops = Math.max(ops, s.ops[u]);
        lmax = Math.max(lmax, s.lmax[u]);
        down = Math.max(down, s.down[u]);
        up = Math.max(up, s.up[u]);
      }
      // The bypassed side must hold a learned op — more than the projection itself holds.
      if (lmax < 1 + link.learned) continue;
      const skipNodes = link.passed.slice(0, link.depth);
      let bypassedKind: LearnedKind | undefined;
      let mixed = false;
      for (const p of branchNodes) {
        const learned = dg.roles[p].learned;
        if (!learned || skipNodes.includes(p)) continue;
        // A transposed conv is a conv for words: a U-Net's long skip "bypasses 10 convs".
        const kind = learned === 'deconv' ? 'conv' : learned;
        if (bypassedKind !== undefined && kind !== bypassedKind) mixed = true;
        bypassedKind = kind;
      }
      skips.push({
        bypassedKind: mixed ? undefined : bypassedKind,
        inputPos: dg.inputPos[dg.inputStart[n] + j],
        fork: link.value,
        skipNodes,
        projection: link.projection,
        learnedOps: lmax,
        ops: Math.max(ops, link.depth),
        down,
        up,
      });
    }

    if (skips.length > 0) {
      const long = skips.some((sk) => sk.down > 1 && sk.up > 1);
      const kind = op === 'mul' ? 'gate' : long ? 'long' : op === 'add' ? 'residual' : 'concat';
      // The block is the widest region: from the earliest fork.
      let blockFork = skips[0].fork;
      for (const sk of skips) if (this.key[sk.fork] < this.key[blockFork]) blockFork = sk.fork;
      const region = this.forwardFrom(blockFork);
      region.push(n);
      return { node: n, op, kind, dataInputs: ins, skips, blockFork, region };
    }
    return op === 'mul' ? undefined : this.parallel(n, op, ins, chains);
  }

  /**
   * An Add/Concat with no skip input is parallel when its inputs share a fork and every path from
   * that fork to each input passes a learned op. Inputs whose carry chain reaches a graph input
   * cannot qualify (nothing learned between them and any fork), so the walk is skipped for them.
   */
  private parallel(n: number, op: MergeOp, ins: number[], chains: ChainLink[][]): RawMerge | undefined {
    const { dg, s } = this;
    for (const c of chains) if (dg.producer[c[c.length - 1].value] < 0) return undefined;
    const k = ins.length;
    let common = -1;
    // Any value popped so far with a full label is the nearest common fork.
    for (let i = 0; i < this.orderLen; i++) {
      const v = this.order[i];
      if (isFull(s.labels, this.labelOffset(v), s.words, k)) {
        common = v;
        break;
      }
    }
    while (common < 0 && s.heap.size > 0) {
      const v = this.step();
      if (isFull(s.labels, this.labelOffset(v), s.words, k)) common = v;
    }
    if (common < 0) return undefined;
    const region = this.forwardFrom(common);
    for (const u of ins) if (s.dpStamp[u] !== s.dpEpoch || s.lmin[u] < 1) return undefined;
    region.push(n);
    return { node: n, op, kind: 'parallel', dataInputs: ins, skips: [], blockFork: common, region };
  }
}
