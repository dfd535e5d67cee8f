/**
 * Number printing as C++ to_chars does it: the text reads back as the same float32, and no
 * shorter decimal would (checked on seeded random values over the whole float32 range; the exact
 * layout is checked against ONNX's own printer in onnxPrinter.test.ts).
 */
import { strict as assert } from 'node:assert';
import { formatFloat32, formatFloat64 } from '../../../runtime/text/printNumber';

function digitCount(text: string): number {
  const mantissa = text.replace(/^-/, '').split('e')[0].replace('.', '').replace(/^0+/, '');
  return mantissa.replace(/0+$/, '').length || 1;
}

describe('to_chars number printing', () => {
  let seed = 12345;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const bits = new Uint32Array(1);
  const asFloat = new Float32Array(bits.buffer);

  it('prints float32 values that read back exactly, with no shorter decimal that would', () => {
    for (let i = 0; i < 20_000; i++) {
      bits[0] = Math.floor(random() * 2 ** 32);
      const x = asFloat[0];
      if (!Number.isFinite(x)) continue;
      const text = formatFloat32(x);
      assert.equal(Math.fround(Number(text)), x, `${x} printed as ${text}`);
      const n = digitCount(text);
      // An integral value in fixed notation keeps all its digits, as printf("%.0f") does.
      if (n > 1 && /[.e]/.test(text)) {
        const shorter = Math.abs(x).toExponential(n - 2);
        assert.notEqual(
          Math.fround(Number(shorter)),
          Math.abs(x),
          `${text} is not the shortest (${shorter})`,
        );
      }
    }
  });

  it('prints float64 values with the shortest digits that read back', () => {
    for (let i = 0; i < 5_000; i++) {
      const x = (random() - 0.5) * 10 ** Math.floor(random() * 40 - 20);
      const text = formatFloat64(x);
      assert.equal(Number(text), x);
      // JavaScript's own shortest digits are the same digits (the layout may differ).
      const shortest = Math.abs(x).toExponential().split('e')[0].replace('.', '');
      if (/[.e]/.test(text)) assert.equal(digitCount(text), shortest.length, `${x} printed as ${text}`);
    }
  });

  it('prefers fixed notation unless scientific is shorter', () => {
    assert.equal(formatFloat32(0.001), '0.001');
    assert.equal(formatFloat32(0.0001), '1e-04');
    assert.equal(formatFloat32(100000), '1e+05');
    assert.equal(formatFloat32(123456), '123456');
    assert.equal(formatFloat32(2 ** 30), '1073741824');
  });
});
