import { strict as assert } from 'node:assert';
import { buildViewModel } from '../../../runtime/view/buildViewModel';
import { summarize } from '../../../runtime/view/summary';
import { tinyResidual } from './tinyModel';

describe('status bar summary', () => {
  it('names the format, the drawn nodes and the skips by kind', () => {
    const { model, analysis } = tinyResidual();
    const view = buildViewModel(model, analysis);
    const s = summarize(view);
    // 6 nodes, one of them a hidden Constant.
    assert.equal(s.text, '$(type-hierarchy) ONNX · 5 nodes · 1 residual merge');
    assert.match(s.tooltip, /5 nodes \(1 constants\/shape ops hidden\)/);
    view.skips = { ...view.skips, counts: { ...view.skips.counts, residual: 8, projection: 3, concat: 2 } };
    view.format = 'tfjs-layers';
    assert.equal(
      summarize(view).text,
      '$(type-hierarchy) TF.js layers · 5 nodes · 8 residual merges (3 projection), 2 concat merges',
    );
  });
});
