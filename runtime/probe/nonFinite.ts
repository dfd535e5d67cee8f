/**
 * Where NaN or ±Infinity first appeared in a probe pass, named for people: a node output of the
 * forward pass (the model's own float32 arithmetic overflowed), the loss itself, or the gradient
 * at a node output on the way back (the backward pass overflowed). Shared by the three runners;
 * each finds the forward node its own way and passes it in.
 */
import type { NonFiniteReport } from './probeTypes';
import type { PassStats } from './gradPass';

/** Where it happened in one pass (a NonFiniteReport without the batch). */
export type NonFiniteOrigin = Omit<NonFiniteReport, 'batch'>;

/** What the origin reads of a runner: its nodes (in graph order) and which node uses each parameter. */
export interface OriginGraph {
  params: { name: string; node: string }[];
  nodes: { name: string; outputs: string[] }[];
}

/** True when the loss or any recorded gradient holds NaN or ±Infinity. */
export function passHasNonFinite(s: PassStats): boolean {
  return (
    !Number.isFinite(s.loss) ||
    s.params.some((p) => p.nonFinite > 0) ||
    [...s.activations.values()].some((a) => a.nonFinite > 0)
  );
}

/**
 * The origin of the NaN/Inf in pass `s`: `forward`, the first node whose output is not finite in
 * the forward pass (undefined when every output is finite), else the loss, else the first node
 * output whose gradient is not finite in the order the gradients arrived, else the first
 * parameter whose gradient is not. Undefined when everything is finite.
 */
export function nonFiniteOrigin(
  g: OriginGraph,
  s: PassStats,
  forward: { name: string; op?: string } | undefined,
): NonFiniteOrigin | undefined {
  const lossNote = Number.isFinite(s.loss) ? '' : ` and the loss is ${s.loss}`;
  if (forward)
    return {
      pass: 'forward',
      node: forward.name,
      message: `node "${forward.name}"${forward.op ? ` (${forward.op})` : ''} is the first to output NaN or Infinity in the forward pass: the model's own float32 arithmetic overflows on this batch${lossNote}`,
    };
  if (!Number.isFinite(s.loss))
    return {
      pass: 'loss',
      message: `every node output is finite, but the loss itself is ${s.loss}: it overflows float32`,
    };
  const producer = new Map(g.nodes.flatMap((n) => n.outputs.map((o) => [o, n.name] as const)));
  for (const [value, a] of s.activations) {
    if (a.nonFinite === 0) continue;
    const node = producer.get(value) ?? value;
    return {
      pass: 'backward',
      node,
      message: `the gradient first holds NaN or Infinity (${a.nonFinite} of ${a.size} elements) at the output of node "${node}" on the way back: the backward pass overflows float32`,
    };
  }
  const i = s.params.findIndex((p) => p.nonFinite > 0);
  if (i < 0) return undefined;
  const p = g.params[i];
  return {
    pass: 'backward',
    node: p.node,
    message: `the gradient of parameter "${p.name}" (node "${p.node}") holds NaN or Infinity (${s.params[i].nonFinite} of ${s.params[i].size} elements), though the gradient at every node output is finite`,
  };
}
