/**
 * Grouped convolutions (1 < group, not depthwise) on the WASM backend, as one im2col and one job
 * of `group` matrix products per pass, instead of a split, a convolution and a concat per group.
 *
 * The tap matrix of the whole input is [n·oh·ow, c·kh·kw] in (c, kh, kw) order, so each group's
 * taps are a block of cpg·kh·kw columns side by side, and the ONNX weight [co, cpg, kh, kw] read
 * as [co, cpg·kh·kw] holds each group's filters as a block of co/group rows. Every product reads
 * its blocks in place through the SGEMM's strides and writes its own block of the result:
 *
 * - forward: y[:, group g's outputs] = cols_g · W_gᵀ;
 * - weight gradient: dW_g = dy_gᵀ · cols_g, already in ONNX layout;
 * - input gradient: dcols_g = dy_g · W_g, then one col2im of the whole tap matrix.
 *
 * No two products write the same float, and each keeps its single sum over K, so the results do
 * not depend on the number of kernel threads. A RegNet-Y-400MF pass made some 9,400 TF.js kernel
 * calls through the split, two thirds of its time outside any kernel.
 */
import * as tf from '@tensorflow/tfjs-core';
import { convOutHW, extractTaps, scatterTaps, tapKernels, type ConvGeom } from './convGrad';
import { heapAddress } from './wasm/heap';
import type { GemmOp } from './wasm/kernelTasks';

/** Calls that ran here (tests check that the path was taken). */
export const groupedConvRuns = { forward: 0, backward: 0 };

/**
 * The grouped convolution of NHWC `x` [n, h, w, c] with the ONNX weight `w` [co, c/group, kh, kw],
 * with its gradients; undefined where the probe's own WASM kernels do not run (other backends,
 * engines without WebAssembly SIMD), for the caller's split into groups.
 */
export function convGroupedOwn(
  x: tf.Tensor4D,
  w: tf.Tensor4D,
  g: ConvGeom,
  group: number,
  needDx: boolean,
): tf.Tensor4D | undefined {
  const own = tapKernels();
  if (!own || x.dtype !== 'float32' || w.dtype !== 'float32') return undefined;
  const { backend, kernels } = own;
  const [n, h, wd, c] = x.shape;
  const [co, cpg, kh, kw] = w.shape;
  if (cpg * group !== c || co % group !== 0) return undefined;
  const [oh, ow] = convOutHW(h, wd, kh, kw, g);
  const cog = co / group;
  const kg = cpg * kh * kw; // columns of one group's taps
  const kAll = c * kh * kw; // columns of the whole tap matrix
  const m = n * oh * ow;
  const outShape = [n, oh, ow, co];
  const plain = kh * kw === 1 && g.strides[0] === 1 && g.strides[1] === 1 && oh === h && ow === wd;
  const at = (t: tf.TensorInfo) => heapAddress(backend, t);
  const products = (op: (gi: number) => GemmOp) =>
    kernels.sgemmMany(Array.from({ length: group }, (_, gi) => op(gi)));
  const f = tf.customGrad(((xi: tf.Tensor, wi: tf.Tensor, save: (ts: tf.Tensor[]) => void) => {
    groupedConvRuns.forward++;
    const cols = extractTaps(xi as tf.Tensor4D, outShape, kh, kw, g);
    save([cols, wi]);
    const y = backend.makeOutput(outShape, 'float32');
    const [pc, pw, py] = [at(cols), at(wi), at(y)];
    products((gi) => ({
      m,
      n: cog,
      k: kg,
      a: { ptr: pc + 4 * gi * kg, rowStride: kAll, colStride: 1 },
      b: { ptr: pw + 4 * gi * cog * kg, rowStride: 1, colStride: kg },
      c: py + 4 * gi * cog,
      ldc: co,
      acc: false,
    }));
    return {
      value: tf.engine().makeTensorFromTensorInfo(y),
      gradFunc: (dyAny: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        groupedConvRuns.backward++;
        const dy = (Array.isArray(dyAny) ? dyAny[0] : dyAny) as tf.Tensor4D;
        const [cols4, w4] = saved;
        const dwInfo = backend.makeOutput(w4.shape, 'float32');
        const [pdy, pcols, pw4, pdw] = [at(dy), at(cols4), at(w4), at(dwInfo)];
        products((gi) => ({
          m: cog,
          n: kg,
          k: m,
          a: { ptr: pdy + 4 * gi * cog, rowStride: 1, colStride: co },
          b: { ptr: pcols + 4 * gi * kg, rowStride: kAll, colStride: 1 },
          c: pdw + 4 * gi * cog * kg,
          ldc: kg,
          acc: false,
        }));
        const dw = tf.engine().makeTensorFromTensorInfo(dwInfo);
        if (!needDx) return [tf.zeros([n, h, wd, c]), dw];
        const dcolsInfo = backend.makeOutput([n, oh, ow, kAll], 'float32');
        const pdc = at(dcolsInfo);
        products((gi) => ({
          m,
          n: kg,
          k: cog,
          a: { ptr: pdy + 4 * gi * cog, rowStride: co, colStride: 1 },
          b: { ptr: pw4 + 4 * gi * cog * kg, rowStride: kg, colStride: 1 },
          c: pdc + 4 * gi * kg,
          ldc: kAll,
          acc: false,
        }));
        const dcols = tf.engine().makeTensorFromTensorInfo(dcolsInfo);
        if (plain) return [tf.reshape(dcols, [n, h, wd, c]), dw];
        const dx = scatterTaps(dcols, [n, h, wd, c], outShape, kh, kw, g);
        dcols.dispose();
        return [dx, dw];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x, w) as tf.Tensor4D;
}
