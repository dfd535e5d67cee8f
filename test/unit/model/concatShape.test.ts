/**
 * The concat shape rule shared by the ONNX, TF and Keras shape inference: unknown, never wrong.
 */
import { strict as assert } from 'node:assert';
import { concatShape } from '../../../runtime/analysis/shapes';

describe('concatShape', () => {
  it('sums the axis and keeps the other dims, negative axes included', () => {
    assert.deepEqual(
      concatShape(
        [
          ['batch', 8, 4, 4],
          ['batch', 16, 4, 4],
        ],
        1,
      ),
      ['batch', 24, 4, 4],
    );
    assert.deepEqual(
      concatShape(
        [
          [1, 4, 4, 8],
          [1, 4, 4, 8],
        ],
        -1,
      ),
      [1, 4, 4, 16],
    );
  });

  it('takes a dim from whichever input knows it, and leaves an unknown axis sum unknown', () => {
    assert.deepEqual(
      concatShape(
        [
          [null, 'n', 3],
          [2, 5, null],
        ],
        2,
      ),
      [2, 5, null],
    );
  });

  it('is unknown for an unknown or differing rank, or an axis out of range', () => {
    assert.equal(concatShape([[1, 2], null], 0), null);
    assert.equal(
      concatShape(
        [
          [1, 2],
          [1, 2, 3],
        ],
        0,
      ),
      null,
    );
    assert.equal(concatShape([[1, 2]], 2), null);
    assert.equal(concatShape([], 0), null);
  });
});
