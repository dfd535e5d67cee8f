import { strict as assert } from 'node:assert';
import { layered, placeRow, type LayoutInput } from '../../../runtime/view/layered';

/** A residual chain of `blocks` blocks (fork → conv → relu → conv → add ← fork), as layout input. */
function residualChain(blocks: number): LayoutInput {
  const from: number[] = [];
  const to: number[] = [];
  let fork = 0;
  let n = 1;
  for (let b = 0; b < blocks; b++) {
    const c1 = n++;
    const r = n++;
    const c2 = n++;
    const add = n++;
    from.push(fork, c1, r, c2, fork);
    to.push(c1, r, c2, add, add);
    fork = add;
  }
  return {
    widths: new Float64Array(n).fill(80),
    heights: new Float64Array(n).fill(30),
    from: Int32Array.from(from),
    to: Int32Array.from(to),
  };
}

describe('layered layout', () => {
  it('places rows without overlap, as close to the targets as the order allows', () => {
    const out = new Float64Array(3);
    placeRow(Float64Array.of(0, 0, 100), Float64Array.of(10, 10), out);
    assert.deepEqual(Array.from(out), [-5, 5, 100]);
  });

  it('puts every edge target below its source and keeps rows apart', () => {
    const input = residualChain(20);
    const r = layered(input);
    for (let i = 0; i < input.from.length; i++) assert.ok(r.y[input.to[i]] > r.y[input.from[i]]);
    const byRow = new Map<number, number[]>();
    r.y.forEach((y, v) => byRow.set(y, [...(byRow.get(y) ?? []), v]));
    for (const row of byRow.values()) {
      const xs = row.map((v) => r.x[v]).sort((a, b) => a - b);
      for (let i = 1; i < xs.length; i++) assert.ok(xs[i] - xs[i - 1] >= 80);
    }
  });

  it('keeps the main path straight and routes the skip beside it', () => {
    const input = residualChain(3);
    const r = layered(input);
    // The convs of one block share a column; the skip edge (fork → add) bends around them.
    assert.ok(Math.abs(r.x[1] - r.x[3]) < 1);
    const skip = 4;
    const pts = r.points.slice(r.offsets[skip], r.offsets[skip + 1]);
    assert.ok(pts.length > 4, 'a long edge runs through lanes');
    const laneX = pts[2];
    assert.ok(Math.abs(laneX - r.x[1]) >= 40, 'the lane clears the conv column');
    // Polylines start at the source's bottom and end at the target's top.
    assert.equal(pts[1], r.y[0] + 15);
    assert.equal(pts[pts.length - 1], r.y[4] - 15);
  });

  it('draws backward edges from their source to their target', () => {
    const r = layered({
      widths: Float64Array.of(50, 50),
      heights: Float64Array.of(20, 20),
      from: Int32Array.of(1),
      to: Int32Array.of(0),
    });
    const pts = Array.from(r.points);
    assert.deepEqual(pts, [r.x[1], r.y[1] - 10, r.x[0], r.y[0] + 10]);
  });

  it('lays out 10,000 nodes', () => {
    const r = layered(residualChain(2500));
    assert.equal(r.x.length, 10001);
    assert.ok(Number.isFinite(r.width) && r.height > 0);
  });
});
