/**
 * The gradient-flow chart's dead-fraction view: bars on a linear 0–100 % axis with whiskers that
 * span the fraction's spread over batches (clamped to the axis), and none where the spread is 0.
 */
import { strict as assert } from 'node:assert';
import { flowChart } from '../../../runtime/view/flowChart';
import type { FlowLayer } from '../../../runtime/view/flowLayers';
import type { Shape } from '../../../runtime/view/drawing';

function layer(node: string, dead: number, deadSpread: number): FlowLayer {
  return { node, tensor: `${node}:0`, learned: true, actRms: 1, actSpread: 0, dead, deadSpread };
}

describe('flowChart: dead fraction', () => {
  const layers = [layer('a', 0.5, 0.1), layer('b', 0.95, 0.2), layer('c', 0.3, 0)];
  const { drawing, geometry } = flowChart({ layers, metric: 'dead', width: 400, height: 300 });
  const { plot } = geometry;
  const yOf = (v: number) => plot.y1 - Math.max(0, Math.min(1, v)) * (plot.y1 - plot.y0);
  /** The vertical whisker lines (x0 === x1) drawn inside the plot. */
  const whiskers = drawing.shapes.filter(
    (s): s is Extract<Shape, { kind: 'line' }> =>
      s.kind === 'line' &&
      s.points.length === 4 &&
      s.points[0] === s.points[2] &&
      s.points[1] !== s.points[3],
  );

  it('is drawn on a linear axis with 0 %, 50 % and 100 % ticks', () => {
    assert.equal(geometry.log, false);
    const labels = drawing.shapes.filter((s) => s.kind === 'text').map((s) => (s as { text: string }).text);
    for (const t of ['0%', '50%', '100%']) assert.ok(labels.includes(t), t);
  });

  it('has a whisker of ± the spread for each layer with one, clamped to 0–100 %', () => {
    assert.equal(whiskers.length, 2, 'layer c has no spread');
    const spans = whiskers
      .map((w) => [Math.min(w.points[1], w.points[3]), Math.max(w.points[1], w.points[3])])
      .sort((p, q) => q[1] - p[1]);
    const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-9, `${a} vs ${b}`);
    close(spans[0][0], yOf(0.6));
    close(spans[0][1], yOf(0.4));
    close(spans[1][0], yOf(1));
    close(spans[1][1], yOf(0.75));
  });
});
