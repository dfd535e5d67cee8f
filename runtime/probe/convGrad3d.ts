/**
 * Volumetric (3-D) convolutions and transposed convolutions on the WASM backend as matrix
 * products on its heap, in ONNX's channels-first layout [N, C, D, H, W], so that no tensor is
 * ever transposed around a 3-D conv:
 *
 * - forward: per batch element, the tap matrix cols [C·KD·KH·KW, OD·OH·OW] (wasm im2col3d, in
 *   (c, kd, kh, kw) row order) and y = W · cols, the ONNX weight [CO, C·KD·KH·KW] read as it is;
 * - the weight gradient dW = Σ dy · colsᵀ comes out in ONNX layout; the tap matrix is kept from
 *   the forward pass when it is small enough (volumeSettings.keepTapsFloats), else rebuilt;
 * - the input gradient is col2im3d(Wᵀ · dy);
 * - a transposed convolution is the same three products with the roles exchanged (its forward
 *   pass is a convolution's input gradient), so it needs no zero-inserted copy of its input.
 *
 * Tap matrices that are not kept are made a few output depths at a time (volumeSettings.chunkFloats
 * of tap matrix), each chunk by the thread that multiplies it (the kernels' conv3dForward,
 * conv3dInputGrad and conv3dFilterGrad): the forward pass and the weight gradient by ranges of
 * output depths (the weight gradient into partial sums of fixed blocks of depths, summed in a fixed
 * order), the input gradient by ranges of input channels. So no tap matrix crosses from one core's
 * cache to another's, and every result is the same bits on any thread count. Where one output
 * depth's tap matrix is past volumeSettings.fusedFloats, each step's copy and each product run on
 * all threads in turn instead, with no buffer kept per thread. Groups are row blocks
 * of the same tap matrix. Where the probe's kernels do not run (other backends, engines without
 * WebAssembly SIMD) ops/volumeOps.ts takes TF.js's own 3-D kernels instead.
 */
import * as tf from '@tensorflow/tfjs-core';
import { heapAddress, withScratch, type WasmBackendHeap } from './wasm/heap';
import {
  wasmKernelsIfAvailable,
  type VolumeConvCall,
  type VolumeTapGeometry,
  type WasmKernels,
} from './wasm/wasmKernels';

/** Switches and sizes of the 3-D kernels (tests and benchmarks compare both paths in one process). */
export const volumeSettings = {
  /** Use the probe's own WASM kernels where they run (else TF.js's 3-D kernels). */
  ownKernels: true,
  /** Tap matrices up to this many floats (all batch elements) are kept for the weight gradient. */
  keepTapsFloats: 1 << 24,
  /**
   * Tap-matrix floats of a chunk (a step) of output depths when the matrix is not kept: each
   * thread makes and uses one at a time. unet3d at batch 2, alternating probes: 4 Mi against
   * 1 Mi floats 0.97 on two threads, 0.95 on one; 512 Ki 1.03 and 0.95.
   */
  chunkFloats: 1 << 20,
  /**
   * Most tap-matrix floats of one output depth for a thread to make and multiply its steps itself
   * (fused; each thread keeps a buffer of a step for the life of the process, at most 8 MB here).
   * Convolutions whose one depth holds more (large planes) make each step's tap matrix with all
   * threads, then multiply it with all threads, in scratch freed after.
   */
  fusedFloats: 1 << 21,
};

/** Calls that ran on the probe's own 3-D kernels (tests check that a path was taken). */
export const volumeRuns = { forward: 0, filter: 0, input: 0 };

/** Spatial geometry of one 3-D convolution: kernel, strides, dilations, begin and end pads (D, H, W). */
export interface VolumeGeom {
  kernel: [number, number, number];
  strides: [number, number, number];
  dilations: [number, number, number];
  padBegin: [number, number, number];
  padEnd: [number, number, number];
}

/** Output extent of a convolution along each spatial axis. */
export function convOutSize(inSize: number[], g: VolumeGeom): [number, number, number] {
  return [0, 1, 2].map(
    (i) =>
      Math.floor(
        (inSize[i] + g.padBegin[i] + g.padEnd[i] - ((g.kernel[i] - 1) * g.dilations[i] + 1)) / g.strides[i],
      ) + 1,
  ) as [number, number, number];
}

/** The WASM backend's heap and the probe's kernels on it, where they run and are switched on. */
function ownKernels(): { backend: WasmBackendHeap; kernels: WasmKernels } | undefined {
  if (!volumeSettings.ownKernels || tf.getBackend() !== 'wasm') return undefined;
  const backend = tf.backend() as unknown as WasmBackendHeap;
  const kernels = backend.wasm && wasmKernelsIfAvailable(backend.wasm);
  return kernels ? { backend, kernels } : undefined;
}

/** Whether 3-D convolutions run on the probe's own WASM kernels here. */
export function volumeKernelsHere(): boolean {
  return !!ownKernels();
}

/**
 * One convolution from an input [n, ci, d, h, w] to an output [n, co, od, oh, ow] with weight
 * [co, ci/group, kd, kh, kw]; a transposed convolution is described by the convolution it is
 * the adjoint of (input = its output).
 */
export interface VolumeConv {
  n: number;
  ci: number;
  co: number;
  group: number;
  inSize: [number, number, number];
  outSize: [number, number, number];
  g: VolumeGeom;
}

const prod = (a: number[]) => a.reduce((x, y) => x * y, 1);

/** Rows of one group's tap matrix: (ci/group)·kd·kh·kw. */
const groupRows = (v: VolumeConv) => (v.ci / v.group) * prod(v.g.kernel);

/** A 1×1×1 stride-1 unpadded convolution: the input is its own tap matrix. */
function plain(v: VolumeConv): boolean {
  return (
    prod(v.g.kernel) === 1 &&
    v.g.strides.every((s) => s === 1) &&
    v.g.padBegin.every((p) => p === 0) &&
    v.outSize.every((o, i) => o === v.inSize[i])
  );
}

/** The tap kernels' geometry for output depths od0 … od0 + odn − 1. */
function tapGeom(v: VolumeConv, od0: number, odn: number): VolumeTapGeometry {
  const { kernel: k, strides: s, dilations: d, padBegin: p } = v.g;
  const [dd, hh, ww] = v.inSize;
  return {
    c: v.ci,
    d: dd,
    h: hh,
    w: ww,
    od0,
    odn,
    oh: v.outSize[1],
    ow: v.outSize[2],
    kd: k[0],
    kh: k[1],
    kw: k[2],
    sd: s[0],
    sh: s[1],
    sw: s[2],
    dd: d[0],
    dh: d[1],
    dw: d[2],
    front: p[0],
    top: p[1],
    left: p[2],
  };
}

/**
 * Output depths a step of the fused kernels: as many as keep a step's tap matrix, `rows` rows a
 * depth, within volumeSettings.chunkFloats (at least one). Fixed by the convolution alone, not by
 * the thread count, so that the input gradient's sums run in the same order on any.
 */
function depthStep(v: VolumeConv, rows: number): number {
  const perDepth = rows * v.outSize[1] * v.outSize[2];
  return Math.max(1, Math.min(v.outSize[0], Math.floor(volumeSettings.chunkFloats / perDepth)));
}

/** The kernels' call of the fused products: input x, output y (or their gradients). */
function fusedCall(v: VolumeConv, step: number, x: number, w: number, y: number): VolumeConvCall {
  return { g: tapGeom(v, 0, v.outSize[0]), n: v.n, co: v.co, group: v.group, step, w, x, y };
}

/** Tap-matrix floats of one output depth, every group. */
const depthFloats = (v: VolumeConv) => v.ci * prod(v.g.kernel) * v.outSize[1] * v.outSize[2];

/**
 * Whether the convolution's tap matrices are made and multiplied step by step by one thread each
 * (the kernels' fused calls), or (a depth's tap matrix past fusedFloats) step by step with all
 * threads on each copy and each product. Fixed by the convolution alone, as every result must be
 * the same bits on any thread count.
 */
const fused = (v: VolumeConv) => depthFloats(v) <= volumeSettings.fusedFloats;

/** Ranges [od0, odn) of output depths, `step` at a time. */
function depthSteps(v: VolumeConv, step: number): [number, number][] {
  const out: [number, number][] = [];
  for (let od0 = 0; od0 < v.outSize[0]; od0 += step) out.push([od0, Math.min(step, v.outSize[0] - od0)]);
  return out;
}

/**
 * The unfused steps of a convolution whose tap matrices are neither kept nor fused: per batch
 * element and step, the step's tap matrix [ci·kvol, odn·oh·ow] in scratch (im2col3d, unless
 * `build` is false: the input gradient's, which `f` writes), and `f` with its address.
 */
function eachStep(
  k: WasmKernels,
  heap: WasmBackendHeap,
  v: VolumeConv,
  x: number,
  build: boolean,
  f: (b: number, od0: number, odn: number, cols: number, first: boolean) => void,
): void {
  const step = depthStep(v, v.ci * prod(v.g.kernel));
  for (let b = 0; b < v.n; b++)
    depthSteps(v, step).forEach(([od0, odn], i) =>
      withScratch(heap.wasm, (alloc) => {
        const cols = alloc(v.ci * prod(v.g.kernel) * odn * v.outSize[1] * v.outSize[2]);
        if (build) k.im2col3d(x + 4 * b * v.ci * prod(v.inSize), cols, tapGeom(v, od0, odn));
        f(b, od0, odn, cols, i === 0);
      }),
    );
}

/** Whether the whole tap matrix (every batch element) is kept from the forward pass. */
function keepsTaps(v: VolumeConv): boolean {
  return !plain(v) && v.n * v.ci * prod(v.g.kernel) * prod(v.outSize) <= volumeSettings.keepTapsFloats;
}

/**
 * The tap matrix of batch element `b` where it lies already: the input itself when plain (row
 * stride: the whole volume), or its slice of the kept matrix. Returns the address and the row
 * stride in floats.
 */
function tapsAt(v: VolumeConv, x: number, kept: number | undefined, b: number): { ptr: number; ld: number } {
  const sIn = prod(v.inSize);
  const sOut = prod(v.outSize);
  if (plain(v)) return { ptr: x + 4 * b * v.ci * sIn, ld: sIn };
  return { ptr: kept! + 4 * b * v.ci * prod(v.g.kernel) * sOut, ld: sOut };
}

/**
 * y = conv(x, W) at byte addresses (channels-first tensors, the ONNX weight): per batch element,
 * W · cols. With `keep`, the tap matrix of every batch element is written there
 * ([n, ci·kvol, od·oh·ow]) and left for conv3dFilterGradAt; else the tap matrices are made a few
 * output depths at a time and multiplied at once, by the thread that made them (the kernels'
 * conv3dForward; past fusedFloats, each step's copy and product on all threads in turn); a plain
 * convolution reads its input as its tap matrix.
 */
export function conv3dForwardAt(
  k: WasmKernels,
  heap: WasmBackendHeap,
  v: VolumeConv,
  x: number,
  w: number,
  y: number,
  keep?: number,
): void {
  volumeRuns.forward++;
  const rows = groupRows(v);
  const cog = v.co / v.group;
  const sOut = prod(v.outSize);
  const plane = v.outSize[1] * v.outSize[2];
  if (keep === undefined && !plain(v)) {
    const step = depthStep(v, v.ci * prod(v.g.kernel));
    // Tap matrices a few depths at a time, each made and multiplied by one thread.
    if (fused(v)) withScratch(heap.wasm, (alloc) => k.conv3dForward(fusedCall(v, step, x, w, y), alloc));
    else
      eachStep(k, heap, v, x, true, (b, od0, odn, cols) => {
        for (let gi = 0; gi < v.group; gi++)
          k.sgemm(
            cog,
            odn * plane,
            rows,
            { ptr: w + 4 * gi * cog * rows, rowStride: rows, colStride: 1 },
            { ptr: cols + 4 * gi * rows * odn * plane, rowStride: odn * plane, colStride: 1 },
            y + 4 * ((b * v.co + gi * cog) * sOut + od0 * plane),
            sOut,
          );
      });
    return;
  }
  // The kept tap matrices of all batch elements in one call: [n, ci·kvol, sOut] is the tap matrix
  // of the n·ci channels of x [n, ci, …] (one job for the threads, cut by channels).
  if (keep !== undefined) k.im2col3d(x, keep, { ...tapGeom(v, 0, v.outSize[0]), c: v.n * v.ci });
  for (let b = 0; b < v.n; b++) {
    const taps = tapsAt(v, x, keep, b);
    for (let gi = 0; gi < v.group; gi++)
      k.sgemm(
        cog,
        sOut,
        rows,
        { ptr: w + 4 * gi * cog * rows, rowStride: rows, colStride: 1 },
        { ptr: taps.ptr + 4 * gi * rows * taps.ld, rowStride: taps.ld, colStride: 1 },
        y + 4 * (b * v.co + gi * cog) * sOut,
        sOut,
      );
  }
}

/**
 * dW [co, ci/group·kvol] from the input x (or the kept tap matrix) and the output gradient dy;
 * tap matrices not kept are rebuilt a few output depths at a time, as in conv3dForwardAt (fused:
 * the kernels' conv3dFilterGrad, into partial sums).
 */
export function conv3dFilterGradAt(
  k: WasmKernels,
  heap: WasmBackendHeap,
  v: VolumeConv,
  x: number,
  kept: number | undefined,
  dy: number,
  dw: number,
) {
  volumeRuns.filter++;
  const rows = groupRows(v);
  const cog = v.co / v.group;
  const sOut = prod(v.outSize);
  const plane = v.outSize[1] * v.outSize[2];
  if (kept === undefined && !plain(v)) {
    const step = depthStep(v, v.ci * prod(v.g.kernel));
    // Tap matrices a few depths at a time, each made and multiplied by one thread, into partial sums.
    if (fused(v))
      withScratch(heap.wasm, (alloc) => k.conv3dFilterGrad(fusedCall(v, step, x, 0, dy), dw, alloc));
    else {
      let first = true;
      eachStep(k, heap, v, x, true, (b, od0, odn, cols) => {
        for (let gi = 0; gi < v.group; gi++)
          k.sgemm(
            cog,
            rows,
            odn * plane,
            { ptr: dy + 4 * ((b * v.co + gi * cog) * sOut + od0 * plane), rowStride: sOut, colStride: 1 },
            { ptr: cols + 4 * gi * rows * odn * plane, rowStride: 1, colStride: odn * plane },
            dw + 4 * gi * cog * rows,
            rows,
            !first,
          );
        first = false;
      });
    }
    return;
  }
  for (let b = 0; b < v.n; b++) {
    const taps = tapsAt(v, x, kept, b);
    for (let gi = 0; gi < v.group; gi++)
      k.sgemm(
        cog,
        rows,
        sOut,
        { ptr: dy + 4 * (b * v.co + gi * cog) * sOut, rowStride: sOut, colStride: 1 },
        { ptr: taps.ptr + 4 * gi * rows * taps.ld, rowStride: 1, colStride: taps.ld },
        dw + 4 * gi * cog * rows,
        rows,
        b > 0,
      );
  }
}

/**
 * dx [n, ci, d, h, w] from the output gradient dy and the weight: col2im3d(Wᵀ · dy), a few output
 * depths at a time, by ranges of input channels (the kernels' conv3dInputGrad; past fusedFloats,
 * each step's product and scatter on all threads in turn); a plain convolution's Wᵀ · dy is dx
 * itself.
 */
export function conv3dInputGradAt(
  k: WasmKernels,
  heap: WasmBackendHeap,
  v: VolumeConv,
  dy: number,
  w: number,
  dx: number,
) {
  volumeRuns.input++;
  const rows = groupRows(v);
  const cog = v.co / v.group;
  const sIn = prod(v.inSize);
  const sOut = prod(v.outSize);
  const plane = v.outSize[1] * v.outSize[2];
  if (!plain(v)) {
    if (fused(v))
      withScratch(heap.wasm, (alloc) =>
        k.conv3dInputGrad(fusedCall(v, depthStep(v, rows), dx, w, dy), alloc),
      );
    else
      eachStep(k, heap, v, 0, false, (b, od0, odn, dcols, first) => {
        for (let gi = 0; gi < v.group; gi++)
          k.sgemm(
            rows,
            odn * plane,
            cog,
            { ptr: w + 4 * gi * cog * rows, rowStride: 1, colStride: rows },
            { ptr: dy + 4 * ((b * v.co + gi * cog) * sOut + od0 * plane), rowStride: sOut, colStride: 1 },
            dcols + 4 * gi * rows * odn * plane,
            odn * plane,
          );
        k.col2im3d(dcols, dx + 4 * b * v.ci * sIn, tapGeom(v, od0, odn), first);
      });
    return;
  }
  for (let b = 0; b < v.n; b++)
    for (let gi = 0; gi < v.group; gi++)
      k.sgemm(
        rows,
        sOut,
        cog,
        { ptr: w + 4 * gi * cog * rows, rowStride: 1, colStride: rows },
        { ptr: dy + 4 * (b * v.co + gi * cog) * sOut, rowStride: sOut, colStride: 1 },
        dx + 4 * (b * v.ci + gi * rows) * sIn,
        sIn,
      );
}

type Backend = WasmBackendHeap;

function output(backend: Backend, shape: number[]): tf.TensorInfo {
  return backend.makeOutput(shape, 'float32');
}

function asTensor(info: tf.TensorInfo): tf.Tensor {
  return tf.engine().makeTensorFromTensorInfo(info);
}

/**
 * A 3-D convolution of x [n, ci, d, h, w] with the ONNX weight [co, ci/group, kd, kh, kw] on the
 * probe's WASM kernels, with its gradients (tf.customGrad). `needDx` false skips the input
 * gradient (a conv reading the graph input). Call only where volumeKernelsHere() holds.
 */
export function conv3dOwn(
  x: tf.Tensor,
  w: tf.Tensor,
  g: VolumeGeom,
  group: number,
  needDx: boolean,
): tf.Tensor {
  const own = ownKernels()!;
  const [n, ci, ...inSize] = x.shape;
  const co = w.shape[0];
  const v: VolumeConv = {
    n,
    ci,
    co,
    group,
    inSize: inSize as [number, number, number],
    outSize: convOutSize(inSize, g),
    g,
  };
  const keep = keepsTaps(v);
  const f = tf.customGrad(((xi: tf.Tensor, wi: tf.Tensor, save: (ts: tf.Tensor[]) => void) => {
    const { backend, kernels: k } = own;
    const at = (t: tf.TensorInfo) => heapAddress(backend, t);
    const y = output(backend, [n, co, ...v.outSize]);
    let cols: tf.TensorInfo | undefined;
    if (keep) cols = output(backend, [n, ci * prod(g.kernel), prod(v.outSize)]);
    conv3dForwardAt(k, backend, v, at(xi), at(wi), at(y), cols && at(cols));
    save(cols ? [xi, wi, asTensor(cols)] : [xi, wi]);
    return {
      value: asTensor(y),
      gradFunc: (dyAny: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const dy = Array.isArray(dyAny) ? dyAny[0] : dyAny;
        const [xs, ws, kept] = saved;
        const dw = output(backend, ws.shape);
        conv3dFilterGradAt(k, backend, v, at(xs), kept && at(kept), at(dy), at(dw));
        if (!needDx) return [tf.zerosLike(xs), asTensor(dw)];
        const dx = output(backend, xs.shape);
        conv3dInputGradAt(k, backend, v, at(dy), at(ws), at(dx));
        return [asTensor(dx), asTensor(dw)];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x, w) as tf.Tensor;
}

/**
 * A 3-D transposed convolution of x [n, c, d, h, w] with the ONNX weight [c, m/group, kd, kh, kw]
 * into [n, m, ...outSize] on the probe's WASM kernels: the input gradient of the convolution
 * from outSize to x's size with the same weight and geometry. Output padding is in `outSize`
 * (rows no window reaches stay zero). Call only where volumeKernelsHere() holds.
 */
export function convTranspose3dOwn(
  x: tf.Tensor,
  w: tf.Tensor,
  g: VolumeGeom,
  group: number,
  outSize: [number, number, number],
  needDx: boolean,
): tf.Tensor {
  const own = ownKernels()!;
  const [n, c, ...inSize] = x.shape;
  const m = w.shape[1]! * group;
  // The convolution this is the adjoint of: from [n, m, ...outSize] to [n, c, ...inSize].
  const v: VolumeConv = {
    n,
    ci: m,
    co: c,
    group,
    inSize: outSize,
    outSize: inSize as [number, number, number],
    g,
  };
  const f = tf.customGrad(((xi: tf.Tensor, wi: tf.Tensor, save: (ts: tf.Tensor[]) => void) => {
    const { backend, kernels: k } = own;
    const at = (t: tf.TensorInfo) => heapAddress(backend, t);
    const y = output(backend, [n, m, ...outSize]);
    conv3dInputGradAt(k, backend, v, at(xi), at(wi), at(y));
    save([xi, wi]);
    return {
      value: asTensor(y),
      gradFunc: (dyAny: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const dy = Array.isArray(dyAny) ? dyAny[0] : dyAny;
        const [xs, ws] = saved;
        const dw = output(backend, ws.shape);
        conv3dFilterGradAt(k, backend, v, at(dy), undefined, at(xs), at(dw));
        if (!needDx) return [tf.zerosLike(xs), asTensor(dw)];
        const dx = output(backend, xs.shape);
        conv3dForwardAt(k, backend, v, at(dy), at(ws), at(dx));
        return [asTensor(dx), asTensor(dw)];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x, w) as tf.Tensor;
}
