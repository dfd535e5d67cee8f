/**
 * WebAssembly text of the volumetric (3-D) convolution tap copies and the products fused with
 * them, on one batch element of a channels-first tensor [C, D, H, W] (ONNX's own layout, so no
 * transposes around a 3-D conv):
 *
 * - `im2col3d`: the tap matrix [C·KD·KH·KW, odn·OH·OW] of output depths od0 … od0 + odn − 1, rows
 *   in (c, kd, kh, kw) order (the ONNX weight [CO, C, KD, KH, KW] read as [CO, K] multiplies it
 *   as it is), each row the input seen by one tap over the output voxels. Every (row, output
 *   depth, output row) is one run of OW floats: zeros where the tap falls in the padding,
 *   otherwise a copy of one input row (four floats at a time at stride 1, one by one at larger
 *   strides) between zero heads and tails. Every output float is written once.
 * - `col2im3d`: its adjoint: the same runs added back onto the input gradient, optionally zeroed
 *   first (`zero` = 1), so that the caller can scatter a volume in chunks of output depths.
 * - `conv3dDepths`, `conv3dFilterDepths`, `conv3dGradChannels`: a convolution's forward product,
 *   weight gradient and input gradient with their tap copies, a few output depths at a time, for
 *   one kernel-thread task each (the tap matrix made and used by the same thread).
 *
 * Geometry parameters: input c, d, h, w; output depth range od0, odn and output rows oh, ow;
 * kernel kd, kh, kw; strides sd, sh, sw; dilations dd, dh, dw; front, top and left pads pf, pt,
 * pl (negative: a crop).
 */
import { add, get, i32, min, mul, repeat, set, sub } from './wat.mjs';

const locals = (type, names) => names.map((n) => `(local $${n} ${type})`).join(' ');
const params = (names) => names.map((n) => `(param $${n} i32)`).join(' ');
const inc = (n, v) => set(n, add(get(n), v));
const lts = (a, b) => `(i32.lt_s ${a} ${b})`;
const ltu = (a, b) => `(i32.lt_u ${a} ${b})`;
const maxS = (a, b) => `(select ${a} ${b} (i32.gt_s ${a} ${b}))`;
const minS = (a, b) => `(select ${a} ${b} (i32.lt_s ${a} ${b}))`;

/** The geometry parameters shared by both kernels. */
const geomParams = [
  'c',
  'd',
  'h',
  'w',
  'od0',
  'odn',
  'oh',
  'ow',
  'kd',
  'kh',
  'kw',
  'sd',
  'sh',
  'sw',
  'dd',
  'dh',
  'dw',
  'pf',
  'pt',
  'pl',
];

const loopLocals = [
  'ci',
  'i',
  'j',
  'k',
  'oz',
  'oy',
  'z',
  'y',
  'x0',
  'lo',
  'hi',
  'o',
  'src',
  'q',
  'e',
  'ok',
  'planeB',
  'rowB',
  'chB',
  'sw4',
  'owB',
];

/**
 * Loops over the tap matrix: rows (ci, i, j, k), then output depths and output rows. Per row,
 * `x0` is the input column of output column 0 and [lo, hi) the output columns whose tap lies
 * inside the input row; per (depth, row), `ok` says whether the tap's input row exists and
 * `src` is the byte address of input column x0 on it; `o` walks the tap matrix a run (OW floats)
 * at a time. `run` is the body for one run.
 */
const overRuns = (run) => `
  ${set('rowB', mul(get('w'), i32(4)))}
  ${set('planeB', mul(get('h'), get('rowB')))}
  ${set('chB', mul(get('d'), get('planeB')))}
  ${set('sw4', mul(get('sw'), i32(4)))}
  ${set('owB', mul(get('ow'), i32(4)))}
  ${repeat(
    'ci',
    get('c'),
    `${repeat(
      'i',
      get('kd'),
      `${repeat(
        'j',
        get('kh'),
        `${repeat(
          'k',
          get('kw'),
          `;; input column of output column 0, and the output columns [lo, hi) that read inside the row
          ${set('x0', sub(mul(sub(get('kw'), get('k')), get('dw')), get('pl')))}
          ${set('lo', i32(0))}
          (if ${lts(get('x0'), i32(0))} (then
            ${set('lo', `(i32.div_u ${sub(add(sub(i32(0), get('x0')), get('sw')), i32(1))} ${get('sw')})`)}))
          ${set('hi', i32(0))}
          (if ${lts(get('x0'), get('w'))} (then
            ${set('hi', `(i32.div_u ${sub(add(sub(get('w'), get('x0')), get('sw')), i32(1))} ${get('sw')})`)}))
          ${set('hi', minS(get('hi'), get('ow')))}
          ${set('lo', minS(get('lo'), get('ow')))}
          ${set('hi', maxS(get('hi'), get('lo')))}
          ${set('z', sub(add(mul(get('od0'), get('sd')), mul(sub(get('kd'), get('i')), get('dd'))), get('pf')))}
          ${repeat(
            'oz',
            get('odn'),
            `${set('y', sub(mul(sub(get('kh'), get('j')), get('dh')), get('pt')))}
            ${repeat(
              'oy',
              get('oh'),
              `${set('ok', `(i32.and ${ltu(get('z'), get('d'))} ${ltu(get('y'), get('h'))})`)}
              ${set(
                'src',
                add(
                  add(add(get('xc'), mul(get('z'), get('planeB'))), mul(get('y'), get('rowB'))),
                  mul(get('x0'), i32(4)),
                ),
              )}
              ${run}
              ${inc('o', get('owB'))}
              ${inc('y', get('sh'))}`,
              'vy',
            )}
            ${inc('z', get('sd'))}`,
            'vz',
          )}`,
          'vk',
        )}`,
        'vj',
      )}`,
      'vi',
    )}
    ${inc('xc', get('chB'))}`,
    'vc',
  )}`;

// The repeat() counters count down: tap indices are (kd − i), (kh − j), (kw − k) for i, j, k
// running from kd, kh, kw down to 1, which is why the offsets above subtract from the counts.

/** Zeros from byte address `q` up to `e` (a run's head or tail: a few floats, stored inline). */
const zeros = (label) => `
                  (block $${label}4_end (loop $${label}4
                    (br_if $${label}4_end (i32.gt_u ${add(get('q'), i32(16))} ${get('e')}))
                    (v128.store ${get('q')} (v128.const i32x4 0 0 0 0))
                    ${inc('q', i32(16))}
                    (br $${label}4)))
                  (block $${label}1_end (loop $${label}1
                    (br_if $${label}1_end (i32.ge_u ${get('q')} ${get('e')}))
                    (f32.store ${get('q')} (f32.const 0))
                    ${inc('q', i32(4))}
                    (br $${label}1)))`;

function im2col3d() {
  // One run: zeros before lo, the input row from lo to hi, zeros after hi (or all zeros). The
  // zeros are stored inline: memory.fill is a call, too dear for runs of a few floats.
  const run = `(if ${get('ok')}
                (then
                  ${set('q', get('o'))}
                  ${set('e', add(get('o'), mul(get('lo'), i32(4))))}
                  ${zeros('zh')}
                  ${set('e', add(get('o'), mul(get('hi'), i32(4))))}
                  ${set('s', add(get('src'), mul(get('lo'), get('sw4'))))}
                  (if (i32.eq ${get('sw')} ${i32(1)})
                    (then
                      (block $c4_end (loop $c4
                        (br_if $c4_end (i32.gt_u ${add(get('q'), i32(16))} ${get('e')}))
                        (v128.store ${get('q')} (v128.load ${get('s')}))
                        ${inc('q', i32(16))} ${inc('s', i32(16))}
                        (br $c4)))))
                  (block $c1_end (loop $c1
                    (br_if $c1_end (i32.ge_u ${get('q')} ${get('e')}))
                    (f32.store ${get('q')} (f32.load ${get('s')}))
                    ${inc('q', i32(4))} ${inc('s', get('sw4'))}
                    (br $c1)))
                  ${set('e', add(get('o'), get('owB')))}
                  ${zeros('zt')})
                (else
                  ${set('q', get('o'))}
                  ${set('e', add(get('o'), get('owB')))}
                  ${zeros('zr')}))`;
  return `
(func $im2col3d (export "im2col3d") ${params(['x', 'out', ...geomParams])}
  ${locals('i32', [...loopLocals, 'xc', 's'])}
  ${set('xc', get('x'))}
  ${set('o', get('out'))}
  ${overRuns(run)}
)`;
}

function col2im3d() {
  // One run: the tap matrix from lo to hi added onto the input row (nothing for taps in the padding).
  const run = `(if ${get('ok')}
                (then
                  ${set('q', add(get('o'), mul(get('lo'), i32(4))))}
                  ${set('e', add(get('o'), mul(get('hi'), i32(4))))}
                  ${set('s', add(get('src'), mul(get('lo'), get('sw4'))))}
                  (if (i32.eq ${get('sw')} ${i32(1)})
                    (then
                      (block $a4_end (loop $a4
                        (br_if $a4_end (i32.gt_u ${add(get('q'), i32(16))} ${get('e')}))
                        (v128.store ${get('s')} (f32x4.add (v128.load ${get('s')}) (v128.load ${get('q')})))
                        ${inc('q', i32(16))} ${inc('s', i32(16))}
                        (br $a4)))))
                  (block $a1_end (loop $a1
                    (br_if $a1_end (i32.ge_u ${get('q')} ${get('e')}))
                    (f32.store ${get('s')} (f32.add (f32.load ${get('s')}) (f32.load ${get('q')})))
                    ${inc('q', i32(4))} ${inc('s', get('sw4'))}
                    (br $a1)))))`;
  return `
(func $col2im3d (export "col2im3d") ${params(['cols', 'dx', ...geomParams, 'zero'])}
  ${locals('i32', [...loopLocals, 'xc', 's'])}
  (if ${get('zero')} (then
    (memory.fill ${get('dx')} ${i32(0)} ${mul(mul(mul(get('c'), get('d')), mul(get('h'), get('w'))), i32(4))})))
  ${set('xc', get('dx'))}
  ${set('o', get('cols'))}
  ${overRuns(run)}
)`;
}

/**
 * The geometry arguments of im2col3d / col2im3d read from a record of the 20 words at $g (in
 * geomParams order), with some replaced (`over`: name → expression).
 */
const geomFrom = (over) => geomParams.map((name) => over[name] ?? geomWord(name)).join(' ');

/** Word `name` of the geometry record at $g. */
function geomWord(name) {
  return `(i32.load offset=${4 * geomParams.indexOf(name)} ${get('g')})`;
}

/** Sets locals plane (oh·ow), cog (co / group) and rows ((c / group)·kd·kh·kw) from the record at $g. */
const groupSizes = () => `
  ${set('plane', mul(geomWord('oh'), geomWord('ow')))}
  ${set('cog', `(i32.div_u ${get('co')} ${get('group')})`)}
  ${set('rows', mul(`(i32.div_u ${geomWord('c')} ${get('group')})`, mul(geomWord('kd'), mul(geomWord('kh'), geomWord('kw')))))}`;

/**
 * The loop over output depths od from local od0 to od1, `step` at a time: per step, odn (its
 * depths) and cols (its output voxels, odn·plane), then `body`.
 */
const overSteps = (body) => `
  ${set('od', get('od0'))}
  (block $end (loop $depths
    (br_if $end (i32.ge_s ${get('od')} ${get('od1')}))
    ${set('odn', min(get('step'), sub(get('od1'), get('od'))))}
    ${set('cols', mul(get('odn'), get('plane')))}
    ${body}
    ${set('od', add(get('od'), get('odn')))}
    (br $depths)))`;

/** Per group gi: `body`. */
const overGroups = (body) => `
    ${set('gi', i32(0))}
    (block $gend (loop $groups
      (br_if $gend (i32.ge_u ${get('gi')} ${get('group')}))
      ${body}
      ${set('gi', add(get('gi'), i32(1)))}
      (br $groups)))`;

/** The step's tap matrix from input $x into $taps (im2col3d). */
const stepTaps = () =>
  `(call $im2col3d ${get('x')} ${get('taps')} ${geomFrom({ od0: get('od'), odn: get('odn') })})`;

/**
 * A convolution's forward product on a range of output depths of one batch element, for one
 * kernel-thread task (convGrad3d.ts): `step` depths at a time, the tap matrix of those depths into
 * the thread's own buffer `taps` (im2col3d), then y[:, depths] = W · taps per group (`$sgemm`,
 * the same bits as the whole product, which no column's value depends on). The taps stay in the
 * cache of the thread that made them, from the copy to the product. Arguments: the geometry
 * record (od0 and odn unread), the input of the batch element, the depth range [od0, od1), the
 * step, the weight [co, c/group·kvol], the output of the batch element and its row stride (all
 * output voxels), co and the groups; then the thread's GEMM scratch and the taps buffer.
 */
function convDepths() {
  return `
(func $conv3dDepths (export "conv3dDepths") ${params(['g', 'x', 'od0', 'od1', 'step', 'w', 'y', 'ldy', 'co', 'group', 'pa', 'pb', 'tmp', 'taps'])}
  ${locals('i32', ['od', 'odn', 'cols', 'rows', 'cog', 'gi', 'plane'])}
  ${groupSizes()}
  ${overSteps(`${stepTaps()}
    ${overGroups(`(call $sgemm ${get('cog')} ${get('cols')} ${get('rows')}
        ${add(get('w'), mul(mul(mul(get('gi'), get('cog')), get('rows')), i32(4)))} ${get('rows')} ${i32(1)}
        ${add(get('taps'), mul(mul(mul(get('gi'), get('rows')), get('cols')), i32(4)))} ${get('cols')} ${i32(1)}
        ${add(get('y'), mul(add(mul(mul(get('gi'), get('cog')), get('ldy')), mul(get('od'), get('plane'))), i32(4)))}
        ${get('ldy')} ${i32(0)} ${get('pa')} ${get('pb')} ${get('tmp')})`)}`)}
)`;
}

/**
 * A convolution's weight gradient on a range of output depths of one batch element, for one
 * kernel-thread task: `step` depths at a time, the tap matrix of those depths into the thread's
 * own buffer `taps` (im2col3d), then dy[:, depths] · tapsᵀ per group onto a partial sum of the
 * weight gradient. The depths from od0 fall into blocks of `block` depths (whole steps), each
 * with its own partial at `part` + its index · co·rows floats (the first step of a block writes
 * it, the others add onto it); the caller sums the partials in a fixed order. Arguments: the
 * geometry record (od0 and odn unread), the input of the batch element, the depth range
 * [od0, od1), the step, the output gradient of the batch element and its row stride (all output
 * voxels), the partials, the block, co and the groups; then the thread's GEMM scratch and the
 * taps buffer.
 */
function filterDepths() {
  return `
(func $conv3dFilterDepths (export "conv3dFilterDepths") ${params(['g', 'x', 'od0', 'od1', 'step', 'dy', 'ldy', 'part', 'block', 'co', 'group', 'pa', 'pb', 'tmp', 'taps'])}
  ${locals('i32', ['od', 'odn', 'cols', 'rows', 'cog', 'gi', 'plane', 'p', 'acc'])}
  ${groupSizes()}
  ${overSteps(`${stepTaps()}
    ;; this step's block: its partial, and whether the step adds onto it
    ${set('p', add(get('part'), mul(mul(`(i32.div_u ${sub(get('od'), get('od0'))} ${get('block')})`, mul(get('co'), get('rows'))), i32(4))))}
    ${set('acc', `(i32.ne (i32.rem_u ${sub(get('od'), get('od0'))} ${get('block')}) ${i32(0)})`)}
    ${overGroups(`(call $sgemm ${get('cog')} ${get('rows')} ${get('cols')}
        ${add(get('dy'), mul(add(mul(mul(get('gi'), get('cog')), get('ldy')), mul(get('od'), get('plane'))), i32(4)))} ${get('ldy')} ${i32(1)}
        ${add(get('taps'), mul(mul(mul(get('gi'), get('rows')), get('cols')), i32(4)))} ${i32(1)} ${get('cols')}
        ${add(get('p'), mul(mul(mul(get('gi'), get('cog')), get('rows')), i32(4)))}
        ${get('rows')} ${get('acc')} ${get('pa')} ${get('pb')} ${get('tmp')})`)}`)}
)`;
}

/**
 * A convolution's input gradient on a range of input channels of one batch element (all in one
 * group), for one kernel-thread task: over all output depths, `step` at a time, those channels'
 * rows of the tap-matrix gradient Wᵀ · dy into the thread's own buffer `dcols` ($sgemm: the
 * same bits as the whole product, which no row's value depends on), then added onto their input
 * gradient (col2im3d, zeroed at the first step). A channel's gradient takes only its own rows, so
 * no two tasks add onto the same float; the steps are fixed by the caller, not by the cut, so the
 * sums run in the same order on any thread count. Arguments: the geometry record (its c and od0
 * unread, its odn the output depth), A = the channels' rows of Wᵀ (row stride 1, column stride
 * csa), their rows m and the product's depth k (output channels of the group), dy's rows of the
 * group at b with row stride ldb, the channels' input gradient dx and their count nc, the step;
 * then the thread's GEMM scratch and the dcols buffer.
 */
function convGradChannels() {
  return `
(func $conv3dGradChannels (export "conv3dGradChannels") ${params(['g', 'a', 'csa', 'm', 'k', 'b', 'ldb', 'dx', 'nc', 'step', 'pa', 'pb', 'tmp', 'dcols'])}
  ${locals('i32', ['od', 'odn', 'od0', 'od1', 'cols', 'plane'])}
  ;; every output depth, from od0 = 0
  ${set('plane', mul(geomWord('oh'), geomWord('ow')))}
  ${set('od1', geomWord('odn'))}
  ${overSteps(`(call $sgemm ${get('m')} ${get('cols')} ${get('k')} ${get('a')} ${i32(1)} ${get('csa')}
      ${add(get('b'), mul(mul(get('od'), get('plane')), i32(4)))} ${get('ldb')} ${i32(1)}
      ${get('dcols')} ${get('cols')} ${i32(0)} ${get('pa')} ${get('pb')} ${get('tmp')})
    (call $col2im3d ${get('dcols')} ${get('dx')} ${geomFrom({ c: get('nc'), od0: get('od'), odn: get('odn') })} (i32.eqz ${get('od')}))`)}
)`;
}

/** The volumetric part of the module (the same in both builds). */
export function volumeText() {
  return `${im2col3d()}
${col2im3d()}
${convDepths()}
${filterDepths()}
${convGradChannels()}`;
}
