/**
 * The ONNX recurrent ops LSTM, GRU and RNN, unrolled over time on TF.js ops so that autodiff
 * yields backpropagation through time: the input projection of every timestep is one matMul
 * (X·Wᵀ over T·B rows), then each step adds one recurrent matMul (H·Rᵀ) and its gates.
 * Forward, reverse and bidirectional; initial states, sequence_lens, layout 0 and 1, the
 * activation list with its alpha/beta, clip, input_forget, peepholes and linear_before_reset.
 * The hidden state of each step passes through OpContext.timestep, where a probe measures the
 * gradient that reaches it (vanishing through time).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Node } from '../../model/ir';
import { nat, type Val } from '../val';
import { aFloat, aInt, aStr, type OpContext, type OpFn } from './opContext';

type Kind = 'LSTM' | 'GRU' | 'RNN';

/** Gate blocks in W/R and activations per direction, with the defaults ONNX gives. */
const SPECS: Record<Kind, { gates: number; acts: number; defaults: string[] }> = {
  LSTM: { gates: 4, acts: 3, defaults: ['Sigmoid', 'Tanh', 'Tanh'] },
  GRU: { gates: 3, acts: 2, defaults: ['Sigmoid', 'Tanh'] },
  RNN: { gates: 1, acts: 1, defaults: ['Tanh'] },
};

/**
 * The activation functions ONNX allows in recurrent ops, by lower-case name: whether each reads
 * alpha and beta, and the defaults of the standalone ONNX op of that name (null: none defined).
 */
const ACTIVATIONS: Record<string, { alpha?: number | null; beta?: number | null }> = {
  relu: {},
  tanh: {},
  sigmoid: {},
  softsign: {},
  softplus: {},
  leakyrelu: { alpha: 0.01 },
  thresholdedrelu: { alpha: 1 },
  elu: { alpha: 1 },
  hardsigmoid: { alpha: 0.2, beta: 0.5 },
  affine: { alpha: null, beta: null },
  scaledtanh: { alpha: null, beta: null },
};

/** One activation with its arguments. */
interface Act {
  name: string;
  alpha: number;
  beta: number;
}

/** The attributes of one recurrent node, read and checked. */
interface RecurrentConfig {
  kind: Kind;
  dirs: number;
  reverse: boolean;
  layout: number;
  hidden: number | undefined;
  /** Activations per direction (f, g, h for LSTM; f, g for GRU; f for RNN). */
  acts: Act[][];
  clip: number | undefined;
  inputForget: boolean;
  linearBeforeReset: boolean;
}

function strings(node: Node, name: string): string[] | undefined {
  const v = node.attributes[name];
  if (v === undefined || v === null) return undefined;
  return (Array.isArray(v) ? v : [v]).map((s) =>
    s instanceof Uint8Array ? new TextDecoder().decode(s) : String(s),
  );
}

function floats(node: Node, name: string): number[] {
  const v = node.attributes[name];
  if (v === undefined || v === null) return [];
  return (Array.isArray(v) ? v : [v]).map(Number);
}

/** Reads the node's attributes; a problem is returned as the end of a sentence naming the attribute. */
function readConfig(node: Node): RecurrentConfig | string {
  const kind = node.op as Kind;
  const spec = SPECS[kind];
  const direction = aStr(node, 'direction', 'forward');
  if (!['forward', 'reverse', 'bidirectional'].includes(direction))
    return `has direction "${direction}"; ONNX allows forward, reverse or bidirectional`;
  const dirs = direction === 'bidirectional' ? 2 : 1;
  const layout = aInt(node, 'layout', 0);
  if (layout !== 0 && layout !== 1) return `has layout ${layout}; ONNX allows 0 or 1`;
  const hiddenAttr = node.attributes.hidden_size;
  const hidden = hiddenAttr === undefined || hiddenAttr === null ? undefined : aInt(node, 'hidden_size', 0);
  if (hidden !== undefined && hidden < 1) return `has hidden_size ${hidden}`;
  const names = strings(node, 'activations') ?? spec.defaults;
  // A bidirectional node may list one direction's activations: both directions use them.
  const perDir =
    names.length === spec.acts * dirs
      ? names
      : names.length === spec.acts
        ? [...names, ...names].slice(0, spec.acts * dirs)
        : undefined;
  if (!perDir)
    return `lists ${names.length} activations; a ${direction} ${kind} takes ${spec.acts}${dirs === 2 ? ` or ${spec.acts * 2}` : ''}`;
  const alphas = floats(node, 'activation_alpha');
  const betas = floats(node, 'activation_beta');
  let ai = 0;
  let bi = 0;
  const acts: Act[] = [];
  for (const raw of perDir) {
    const name = raw.toLowerCase();
    const args = ACTIVATIONS[name];
    if (!args)
      return `has activation "${raw}" in attribute activations; ONNX allows Relu, Tanh, Sigmoid, Affine, LeakyRelu, ThresholdedRelu, ScaledTanh, HardSigmoid, Elu, Softsign, Softplus`;
    // As onnxruntime does: alpha and beta values are consumed only by the functions that take them.
    const take = (
      list: number[],
      i: number,
      dflt: number | null | undefined,
      what: string,
    ): number | string => {
      if (dflt === undefined) return 0;
      if (i < list.length) return list[i];
      if (dflt === null)
        return `has activation ${raw} without a value in activation_${what} (ONNX defines no default for it)`;
      return dflt;
    };
    const alpha = take(alphas, ai, args.alpha, 'alpha');
    if (typeof alpha === 'string') return alpha;
    if (args.alpha !== undefined) ai++;
    const beta = take(betas, bi, args.beta, 'beta');
    if (typeof beta === 'string') return beta;
    if (args.beta !== undefined) bi++;
    acts.push({ name, alpha, beta });
  }
  const clipAttr = node.attributes.clip;
  const clip = clipAttr === undefined || clipAttr === null ? undefined : aFloat(node, 'clip', 0);
  if (clip !== undefined && !(clip > 0)) return `has clip ${clip}; the threshold must be positive`;
  const inputForget = kind === 'LSTM' && aInt(node, 'input_forget', 0) !== 0;
  const linearBeforeReset = kind === 'GRU' && aInt(node, 'linear_before_reset', 0) !== 0;
  return {
    kind,
    dirs,
    reverse: direction === 'reverse',
    layout,
    hidden,
    acts: Array.from({ length: dirs }, (_, d) => acts.slice(d * spec.acts, (d + 1) * spec.acts)),
    clip,
    inputForget,
    linearBeforeReset,
  };
}

/** What is wrong with a recurrent node's attributes (the end of a sentence naming the node), if anything. */
export function recurrentProblem(node: Node): string | undefined {
  const cfg = readConfig(node);
  return typeof cfg === 'string' ? cfg : undefined;
}

/**
 * tf.unstack along axis 0, except that one slice is a squeeze: TF.js hands a single-output op's
 * gradient function a tensor, not a list, and Unpack's gradient then fails.
 */
function unstack(t: tf.Tensor): tf.Tensor[] {
  return t.shape[0] === 1 ? [tf.squeeze(t, [0])] : tf.unstack(t);
}

function activate(a: Act, x: tf.Tensor): tf.Tensor {
  switch (a.name) {
    case 'sigmoid':
      return tf.sigmoid(x);
    case 'tanh':
      return tf.tanh(x);
    case 'relu':
      return tf.relu(x);
    case 'softsign':
      return tf.div(x, tf.add(tf.abs(x), 1));
    case 'softplus':
      return tf.softplus(x);
    case 'leakyrelu':
      return tf.leakyRelu(x, a.alpha);
    case 'thresholdedrelu':
      return tf.mul(x, tf.cast(tf.greater(x, a.alpha), 'float32'));
    case 'elu':
      return a.alpha === 1 ? tf.elu(x) : tf.where(tf.greaterEqual(x, 0), x, tf.mul(tf.expm1(x), a.alpha));
    case 'hardsigmoid':
      return tf.clipByValue(tf.add(tf.mul(x, a.alpha), a.beta), 0, 1);
    case 'affine':
      return tf.add(tf.mul(x, a.alpha), a.beta);
    case 'scaledtanh':
      return tf.mul(tf.tanh(tf.mul(x, a.beta)), a.alpha);
    default:
      throw new Error(`unknown activation ${a.name}`);
  }
}

/** Per-direction inputs of one recurrent node. */
interface DirInputs {
  w: tf.Tensor2D;
  r: tf.Tensor2D;
  /** Wb and Rb ([G·H] each), when B is given. */
  wb?: tf.Tensor1D;
  rb?: tf.Tensor1D;
  h0?: tf.Tensor2D;
  c0?: tf.Tensor2D;
  /** Peepholes P[i, o, f] ([H] each). */
  p?: tf.Tensor1D[];
}

function runRecurrent(c: OpContext): Val[] {
  const cfg = readConfig(c.node);
  if (typeof cfg === 'string') return c.fail(cfg);
  const spec = SPECS[cfg.kind];
  const G = spec.gates;
  let x = c.nat(0);
  if (x.rank !== 3) return c.fail(`expects a 3-D input X, got shape [${x.shape}]`);
  if (x.dtype !== 'float32') x = tf.cast(x, 'float32');
  if (cfg.layout === 1) x = tf.transpose(x, [1, 0, 2]);
  const [T, B, I] = x.shape as [number, number, number];
  const W = c.nat(1);
  const R = c.nat(2);
  const H = cfg.hidden ?? R.shape[2] ?? 0;
  const D = cfg.dirs;
  const shape = (t: tf.Tensor) => `[${t.shape.join(', ')}]`;
  if (W.rank !== 3 || W.shape[0] !== D || W.shape[1] !== G * H || W.shape[2] !== I)
    return c.fail(
      `has W of shape ${shape(W)}; hidden size ${H} and input size ${I} need [${D}, ${G * H}, ${I}]`,
    );
  if (R.rank !== 3 || R.shape[0] !== D || R.shape[1] !== G * H || R.shape[2] !== H)
    return c.fail(`has R of shape ${shape(R)}; hidden size ${H} needs [${D}, ${G * H}, ${H}]`);
  const expect = (i: number, name: string, want: number[]): tf.Tensor | undefined => {
    if (!c.has(i)) return undefined;
    let t = c.nat(i);
    // Initial states in layout 1 are [batch, directions, hidden].
    if (cfg.layout === 1 && (i === 5 || i === 6) && t.rank === 3) t = tf.transpose(t, [1, 0, 2]);
    if (t.rank !== want.length || t.shape.some((d, k) => d !== want[k])) {
      const state = i === 5 || i === 6;
      // Exporters often bake the example's batch into computed initial states.
      const batchOnly = state && t.rank === 3 && t.shape[0] === want[0] && t.shape[2] === want[2];
      return c.fail(
        `has ${name} of shape ${shape(c.nat(i))}; it should hold [${want.join(', ')}]${cfg.layout === 1 && state ? ' in layout 1 order (batch first)' : ''}${batchOnly ? `: the state was made for a batch of ${t.shape[1]} (an exporter may have fixed it from its example input), so probe with batch ${t.shape[1]}` : ''}`,
      );
    }
    return t.dtype === 'float32' ? t : tf.cast(t, 'float32');
  };
  const bias = expect(3, 'B', [D, 2 * G * H]);
  const h0 = expect(5, 'initial_h', [D, B, H]);
  const c0 = cfg.kind === 'LSTM' ? expect(6, 'initial_c', [D, B, H]) : undefined;
  const peep = cfg.kind === 'LSTM' ? expect(7, 'P', [D, 3 * H]) : undefined;
  const lens = c.ints(4);
  if (lens) {
    if (lens.length !== B) c.fail(`has sequence_lens of length ${lens.length} for a batch of ${B}`);
    const bad = lens.find((l) => l < 0 || l > T);
    if (bad !== undefined) c.fail(`has sequence_lens ${bad} for a sequence of ${T} steps`);
  }
  // Masks only when some sequence is shorter than the input.
  const masks =
    lens && lens.some((l) => l !== T)
      ? Array.from({ length: T }, (_, t) =>
          tf.tensor2d(
            lens.map((l) => (t < l ? 1 : 0)),
            [B, 1],
          ),
        )
      : undefined;

  const ws = unstack(W) as tf.Tensor2D[];
  const rs = unstack(R) as tf.Tensor2D[];
  const bs = bias ? (unstack(bias) as tf.Tensor1D[]) : undefined;
  const h0s = h0 ? (unstack(h0) as tf.Tensor2D[]) : undefined;
  const c0s = c0 ? (unstack(c0) as tf.Tensor2D[]) : undefined;
  const ps = peep ? (unstack(peep) as tf.Tensor1D[]) : undefined;
  const xFlat = tf.reshape(x, [T * B, I]) as tf.Tensor2D;

  const ys: tf.Tensor[] = [];
  const hs: tf.Tensor[] = [];
  const cs: tf.Tensor[] = [];
  for (let d = 0; d < D; d++) {
    const [wb, rb] = bs ? (tf.split(bs[d], 2) as tf.Tensor1D[]) : [undefined, undefined];
    const inp: DirInputs = {
      w: ws[d],
      r: rs[d],
      wb,
      rb,
      h0: h0s?.[d],
      c0: c0s?.[d],
      p: ps ? (tf.split(ps[d], 3) as tf.Tensor1D[]) : undefined,
    };
    const reverse = cfg.reverse || d === 1;
    const out = runDirection(cfg, cfg.acts[d], inp, xFlat, T, B, H, reverse, masks, (t, h) =>
      c.timestep ? c.timestep(reverse ? 'reverse' : 'forward', t, h) : h,
    );
    ys.push(out.y);
    hs.push(out.h);
    if (out.c) cs.push(out.c);
  }
  // Y [T, D, B, H]; Y_h, Y_c [D, B, H] (layout 1: [B, T, D, H] and [B, D, H]).
  const wants = (i: number) => i < c.node.outputs.length && !!c.node.outputs[i];
  let y = wants(0) ? tf.stack(ys, 1) : undefined;
  let yh = wants(1) ? tf.stack(hs, 0) : undefined;
  let yc = wants(2) && cs.length ? tf.stack(cs, 0) : undefined;
  if (cfg.layout === 1) {
    y = y && tf.transpose(y, [2, 0, 1, 3]);
    yh = yh && tf.transpose(yh, [1, 0, 2]);
    yc = yc && tf.transpose(yc, [1, 0, 2]);
  }
  const none = tf.zeros([0]);
  return [nat(y ?? none), nat(yh ?? none), nat(yc ?? none)].slice(0, Math.max(1, c.node.outputs.length));
}

/**
 * One direction over all T steps. `xFlat` is X as [T·B, I]; `tap` wraps the hidden state of step
 * t (in sequence order). Returns Y ([T, B, H]) and the final states.
 */
function runDirection(
  cfg: RecurrentConfig,
  acts: Act[],
  inp: DirInputs,
  xFlat: tf.Tensor2D,
  T: number,
  B: number,
  H: number,
  reverse: boolean,
  masks: tf.Tensor[] | undefined,
  tap: (t: number, h: tf.Tensor) => tf.Tensor,
): { y: tf.Tensor; h: tf.Tensor; c?: tf.Tensor } {
  const G = SPECS[cfg.kind].gates;
  const gru = cfg.kind === 'GRU';
  // The input projection of every step at once; biases folded in, except GRU's Rbh when the
  // reset gate multiplies the recurrent projection (linear_before_reset).
  let proj: tf.Tensor = tf.matMul(xFlat, inp.w, false, true);
  let rbh: tf.Tensor | undefined;
  if (inp.wb && inp.rb) {
    if (gru && cfg.linearBeforeReset) {
      const [rzr, rh] = tf.split(inp.rb, [2 * H, H]);
      rbh = rh;
      proj = tf.add(proj, tf.add(inp.wb, tf.concat([rzr, tf.zeros([H])])));
    } else proj = tf.add(proj, tf.add(inp.wb, inp.rb));
  }
  const proj3 = tf.reshape(proj, [T, B, G * H]);
  // GRU: the update/reset part and the candidate part are used apart; split once, not per step.
  const [projA, projB] = gru ? tf.split(proj3, [2 * H, H], 2) : [proj3, undefined];
  const stepsA = unstack(projA);
  const stepsB = projB ? unstack(projB) : undefined;
  const [rA, rB] = gru ? (tf.split(inp.r, [2 * H, H], 0) as tf.Tensor2D[]) : [inp.r, undefined];
  const f = acts[0];
  const g = acts[1];
  const hAct = acts[2];
  const clip = (t: tf.Tensor) => (cfg.clip === undefined ? t : tf.clipByValue(t, -cfg.clip, cfg.clip));

  let h: tf.Tensor = inp.h0 ?? tf.zeros([B, H]);
  let cell: tf.Tensor | undefined = cfg.kind === 'LSTM' ? (inp.c0 ?? tf.zeros([B, H])) : undefined;
  const ys: tf.Tensor[] = new Array(T);
  for (let s = 0; s < T; s++) {
    const t = reverse ? T - 1 - s : s;
    let hNew: tf.Tensor;
    let cNew: tf.Tensor | undefined;
    if (cfg.kind === 'LSTM') {
      const gates = tf.add(stepsA[t], tf.matMul(h, inp.r, false, true));
      const prev = cell!;
      if (!inp.p && !cfg.inputForget && f.name === 'sigmoid') {
        // Common case: one activation over the i, o, f block.
        const [iof, cc] = tf.split(clip(gates), [3 * H, H], 1);
        const [i, o, fg] = tf.split(activate(f, iof), 3, 1);
        cNew = tf.add(tf.mul(fg, prev), tf.mul(i, activate(g, cc)));
        hNew = tf.mul(o, activate(hAct, cNew));
      } else {
        const parts = tf.split(gates, 4, 1);
        let [i, o, fg] = parts;
        const cc = parts[3];
        const [pi, po, pf] = inp.p ?? [];
        if (pi) i = tf.add(i, tf.mul(pi, prev));
        i = activate(f, clip(i));
        if (cfg.inputForget) fg = tf.sub(1, i);
        else {
          if (pf) fg = tf.add(fg, tf.mul(pf, prev));
          fg = activate(f, clip(fg));
        }
        cNew = tf.add(tf.mul(fg, prev), tf.mul(i, activate(g, clip(cc))));
        if (po) o = tf.add(o, tf.mul(po, cNew));
        o = activate(f, clip(o));
        hNew = tf.mul(o, activate(hAct, cNew));
      }
    } else if (gru) {
      const [z, r] = tf.split(activate(f, clip(tf.add(stepsA[t], tf.matMul(h, rA, false, true)))), 2, 1);
      const rec = cfg.linearBeforeReset
        ? tf.mul(r, rbh ? tf.add(tf.matMul(h, rB!, false, true), rbh) : tf.matMul(h, rB!, false, true))
        : tf.matMul(tf.mul(r, h), rB!, false, true);
      const cand = activate(g, clip(tf.add(stepsB![t], rec)));
      // (1 − z)·h̃ + z·h
      hNew = tf.add(cand, tf.mul(z, tf.sub(h, cand)));
    } else {
      hNew = activate(f, clip(tf.add(stepsA[t], tf.matMul(h, inp.r, false, true))));
    }
    hNew = tap(t, hNew);
    const m = masks?.[t];
    if (m) {
      ys[t] = tf.mul(hNew, m);
      h = tf.add(h, tf.mul(tf.sub(hNew, h), m));
      if (cNew) cell = tf.add(cell!, tf.mul(tf.sub(cNew, cell!), m));
    } else {
      ys[t] = hNew;
      h = hNew;
      if (cNew) cell = cNew;
    }
  }
  return { y: tf.stack(ys), h, c: cell };
}

/** The recurrent ops by ONNX name. */
export const recurrentOps: Record<string, OpFn> = {
  LSTM: runRecurrent,
  GRU: runRecurrent,
  RNN: runRecurrent,
};
