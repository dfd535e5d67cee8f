/**
 * Where the editor's hover card goes: beside the pointer when it fits (right first), else above or
 * below it, and never over the pointer (a card with an action takes the pointer; over the pointer
 * it would also hide the node hovered).
 */
import { strict as assert } from 'node:assert';
import { placeCard } from '../../../webview/panels/hoverCard';

function covers(p: { left: number; top: number }, w: number, h: number, x: number, y: number): boolean {
  return x >= p.left && x <= p.left + w && y >= p.top && y <= p.top + h;
}

describe('hover card placement', () => {
  it('goes right of the pointer, else left, shifted up to stay inside', () => {
    assert.deepEqual(placeCard(100, 100, 200, 80, 800, 600), { left: 116, top: 116 });
    assert.deepEqual(placeCard(700, 100, 200, 80, 800, 600), { left: 484, top: 116 });
    assert.deepEqual(placeCard(100, 580, 200, 80, 800, 600), { left: 116, top: 520 });
  });

  it('never covers the pointer, even when the card is wider than either side', () => {
    for (const [x, y] of [
      [345, 300],
      [345, 20],
      [345, 590],
      [10, 300],
      [680, 300],
    ])
      for (const [w, h] of [
        [420, 200],
        [300, 120],
        [600, 250],
      ]) {
        const p = placeCard(x, y, w, h, 690, 600);
        assert.ok(!covers(p, w, h, x, y), `a ${w}×${h} card at (${p.left}, ${p.top}) covers (${x}, ${y})`);
      }
  });
});
