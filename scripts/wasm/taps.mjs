/**
 * WebAssembly text of the convolution tap copies and the max-pool gradient, on NHWC tensors:
 *
 * - `im2col`: the tap matrix [N·OH·OW, C·KH·KW] in (c, kh, kw) order. Per output pixel a table
 *   holds the address of each tap's run of C input channels (a zeroed scratch run for taps in
 *   the padding); four taps × four channels at a time go through a 4×4 transpose in registers
 *   and leave as four vector stores (one per channel, four consecutive taps). Every output float
 *   is written once: no zero fill.
 * - `im2colPlanar`: the same matrix for inputs of fewer than four channels (an RGB image under a
 *   7×7 stem), where the above has no block of four channels: the image first becomes
 *   zero-padded planes, and each (output pixel, channel, kernel row) is one run of kw plane floats.
 * - `col2im`: its adjoint: the output zeroed, then per output pixel the same tap table, four
 *   channels × four taps loaded as rows, transposed into one vector per tap and added onto the
 *   tap's input position (taps in the padding add onto a scratch run). Each input float gets its
 *   terms in increasing output-pixel order, as in the JS scatter it replaces.
 * - `maxPoolGrad`: each window's gradient to its first maximum in row-major window order,
 *   padding skipped, four channels at a time with lane masks.
 */
import { add, get, i32, mul, range, repeat, set, sub } from './wat.mjs';

/** i8x16.shuffle picking 32-bit lanes (0–3 from a, 4–7 from b). */
const lanes = (a, b, ls) =>
  `(i8x16.shuffle ${ls.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]).join(' ')} ${a} ${b})`;
const ltu = (a, b) => `(i32.lt_u ${a} ${b})`;
const locals = (type, names) => names.map((n) => `(local $${n} ${type})`).join(' ');
const params = (names) => names.map((n) => `(param $${n} i32)`).join(' ');
/** Adds `v` to local `n`. */
const inc = (n, v) => set(n, add(get(n), v));

/** The geometry parameters shared by the kernels. */
const geomParams = ['n', 'h', 'w', 'c', 'oh', 'ow', 'kh', 'kw', 'sh', 'sw', 'dh', 'dw', 'pt', 'pl'];

/**
 * Fills the tap table at `tab` for the output pixel whose window starts at input row y0, column
 * x0 (negative in the padding) of the image at byte address `xb`: one address per tap (of its
 * run of c channels), row-major over the window, `zero` for taps outside the input.
 */
export const tapTable = `
    ${set('tp', get('tab'))}
    ${set('y', get('y0'))}
    ${repeat(
      'i',
      get('kh'),
      `${set('rowOk', ltu(get('y'), get('h')))}
      ${set('src', add(get('xb'), mul(get('y'), get('rowB'))))}
      ${set('xx', get('x0'))}
      ${repeat(
        'j',
        get('kw'),
        `(i32.store ${get('tp')} (select ${add(get('src'), mul(get('xx'), get('c4')))} ${get('zero')}
          (i32.and ${get('rowOk')} ${ltu(get('xx'), get('w'))})))
        ${inc('tp', i32(4))}
        ${inc('xx', get('dw'))}`,
        'tj',
      )}
      ${inc('y', get('dh'))}`,
      'ti',
    )}`;

/** Loops over output pixels (b, oy, ox) with y0/x0 the window's top-left input position and xb the image. */
export const overOutputPixels = (body, base = 'x') => `
  ${set('xb', get(base))}
  ${repeat(
    'b',
    get('n'),
    `${set('y0', sub(i32(0), get('pt')))}
    ${repeat(
      'oy',
      get('oh'),
      `${set('x0', sub(i32(0), get('pl')))}
      ${repeat('ox', get('ow'), `${body} ${inc('x0', get('sw'))}`, 'pox')}
      ${inc('y0', get('sh'))}`,
      'poy',
    )}
    ${inc('xb', mul(get('h'), get('rowB')))}`,
    'pb',
  )}`;

/**
 * A 4×4 transpose in registers: v0…v3, through t0…t3 (transposeSteps), into the four rows of
 * `transposed()`, row k holding lane k of each.
 */
const transposed = () => [
  lanes(get('t0'), get('t1'), [0, 1, 4, 5]),
  lanes(get('t0'), get('t1'), [2, 3, 6, 7]),
  lanes(get('t2'), get('t3'), [0, 1, 4, 5]),
  lanes(get('t2'), get('t3'), [2, 3, 6, 7]),
];
const transposeSteps = `${set('t0', lanes(get('v0'), get('v1'), [0, 4, 1, 5]))}
          ${set('t1', lanes(get('v2'), get('v3'), [0, 4, 1, 5]))}
          ${set('t2', lanes(get('v0'), get('v1'), [2, 6, 3, 7]))}
          ${set('t3', lanes(get('v2'), get('v3'), [2, 6, 3, 7]))}`;

function im2col() {
  // Four taps (tap-table entries p0…p3) × four channels, transposed into four rows of four taps.
  const quad = `${range(4)
    .map((k) => set(`v${k}`, `(v128.load ${get(`p${k}`)})`))
    .join(' ')}
          ${transposeSteps}
          ${transposed()
            .map((e, k) => `(v128.store ${k ? add(get('d'), get(k > 1 ? `TB${k}` : 'TB')) : get('d')} ${e})`)
            .join('\n          ')}`;
  return `
(func $im2col (export "im2col") ${params(['x', 'out', ...geomParams, 'tab', 'zero'])}
  ${locals('i32', ['T', 'TB', 'TB2', 'TB3', 'TB4', 'PB', 'cb', 'c4', 'rowB', 'xb', 'b', 'oy', 'ox', 'y0', 'x0'])}
  ${locals('i32', ['i', 'j', 'y', 'xx', 'rowOk', 'src', 'tp', 'o', 'q', 'k', 'r', 'tt', 'ch4', 'd'])}
  ${locals('i32', ['p0', 'p1', 'p2', 'p3'])}
  ${locals('v128', ['v0', 'v1', 'v2', 'v3', 't0', 't1', 't2', 't3'])}
  ${set('T', mul(get('kh'), get('kw')))}
  ${set('TB', mul(get('T'), i32(4)))}
  ${set('TB2', mul(get('T'), i32(8)))}
  ${set('TB3', mul(get('T'), i32(12)))}
  ${set('TB4', mul(get('T'), i32(16)))}
  ${set('PB', mul(get('c'), get('TB')))}
  ${set('c4', mul(get('c'), i32(4)))}
  ${set('cb', `(i32.shr_u ${get('c')} ${i32(2)})`)}
  ${set('rowB', mul(get('w'), get('c4')))}
  (memory.fill ${get('zero')} ${i32(0)} ${get('c4')})
  ${set('o', get('out'))}
  ${overOutputPixels(`
    ${tapTable}
    (if (i32.eq ${get('T')} ${i32(1)})
      (then
        ${set('p0', `(i32.load ${get('tab')})`)}
        ${set('d', get('o'))}
        ${repeat(
          'k',
          get('cb'),
          `(v128.store ${get('d')} (v128.load ${get('p0')})) ${inc('p0', i32(16))} ${inc('d', i32(16))}`,
          'c1',
        )})
      (else
        ${set('tt', i32(0))}
        ${repeat(
          'q',
          `(i32.shr_u ${get('T')} ${i32(2)})`,
          `${range(4)
            .map((k) => set(`p${k}`, `(i32.load offset=${4 * k} ${add(get('tab'), get('tt'))})`))
            .join(' ')}
          ${set('d', add(get('o'), get('tt')))}
          ${repeat(
            'k',
            get('cb'),
            `${quad}
            ${range(4)
              .map((k) => inc(`p${k}`, i32(16)))
              .join(' ')}
            ${inc('d', get('TB4'))}`,
            'cq',
          )}
          ${inc('tt', i32(16))}`,
          'tq',
        )}
        ${repeat(
          'q',
          `(i32.and ${get('T')} ${i32(3)})`,
          `${set('p0', `(i32.load ${add(get('tab'), get('tt'))})`)}
          ${set('d', add(get('o'), get('tt')))}
          ${repeat(
            'k',
            get('cb'),
            `${set('v0', `(v128.load ${get('p0')})`)}
            (v128.store32_lane 0 ${get('d')} ${get('v0')})
            (v128.store32_lane 1 ${add(get('d'), get('TB'))} ${get('v0')})
            (v128.store32_lane 2 ${add(get('d'), get('TB2'))} ${get('v0')})
            (v128.store32_lane 3 ${add(get('d'), get('TB3'))} ${get('v0')})
            ${inc('p0', i32(16))}
            ${inc('d', get('TB4'))}`,
            'c1r',
          )}
          ${inc('tt', i32(4))}`,
          'tr',
        )}))
    ;; channels past the last block of four: (c, t) in order, contiguous in the output
    ${set('ch4', mul(get('cb'), i32(16)))}
    ${set('d', add(get('o'), mul(get('cb'), get('TB4'))))}
    ${repeat(
      'r',
      `(i32.and ${get('c')} ${i32(3)})`,
      `${set('tp', get('tab'))}
      ${repeat(
        'k',
        get('T'),
        `(f32.store ${get('d')} (f32.load ${add(`(i32.load ${get('tp')})`, get('ch4'))}))
        ${inc('tp', i32(4))} ${inc('d', i32(4))}`,
        'rt',
      )}
      ${inc('ch4', i32(4))}`,
      'rc',
    )}
    ${inc('o', get('PB'))}`)}
)`;
}

/**
 * im2col for few channels: the image first becomes zero-padded planes (one per channel), then
 * each (output pixel, channel, kernel row) is one run of kw plane floats (at stride dw): with
 * dw = 1 and kw ≥ 4 copied four at a time (the last four overlapping when kw is not a multiple
 * of four), else one by one.
 */
function im2colPlanar() {
  const copyRun = `(if (i32.and (i32.eq ${get('dw')} ${i32(1)}) (i32.ge_u ${get('kw')} ${i32(4)}))
          (then
            ${set('j', i32(0))}
            (block $cr_end (loop $cr
              (br_if $cr_end (i32.gt_s ${add(get('j'), i32(4))} ${get('kw')}))
              (v128.store ${add(get('d'), mul(get('j'), i32(4)))} (v128.load ${add(get('s'), mul(get('j'), i32(4)))}))
              ${inc('j', i32(4))}
              (br $cr)))
            (if (i32.lt_s ${get('j')} ${get('kw')}) (then
              (v128.store ${add(get('d'), get('kwB4'))} (v128.load ${add(get('s'), get('kwB4'))})))))
          (else
            ${set('q', get('s'))}
            ${repeat(
              'j',
              get('kw'),
              `(f32.store ${get('d')} (f32.load ${get('q')}))
              ${inc('d', i32(4))} ${inc('q', mul(get('dw'), i32(4)))}`,
              'cs',
            )}
            ${set('d', sub(get('d'), get('kwB')))}))
        ${inc('d', get('kwB'))}`;
  return `
(func $im2colPlanar (export "im2colPlanar") ${params(['x', 'out', ...geomParams, 'plane'])}
  ${locals('i32', ['Hp', 'Wp', 'WpB', 'planeB', 'b', 'ch', 'r', 'q', 'y', 'xx', 'r0', 'r1', 'q0', 'q1', 'd', 's', 'pb', 'pc'])}
  ${locals('i32', ['oy', 'ox', 'i', 'j', 'k', 'kwB', 'kwB4', 'rowS', 'colS', 'xi'])}
  ${set('Hp', add(add(mul(sub(get('oh'), i32(1)), get('sh')), mul(sub(get('kh'), i32(1)), get('dh'))), i32(1)))}
  ${set('Wp', add(add(mul(sub(get('ow'), i32(1)), get('sw')), mul(sub(get('kw'), i32(1)), get('dw'))), i32(1)))}
  ${set('WpB', mul(get('Wp'), i32(4)))}
  ${set('planeB', mul(get('Hp'), get('WpB')))}
  ${set('kwB', mul(get('kw'), i32(4)))}
  ${set('kwB4', sub(get('kwB'), i32(16)))}
  (memory.fill ${get('plane')} ${i32(0)} ${mul(mul(get('n'), get('c')), get('planeB'))})
  ;; rows r0 … r1 − 1 and columns q0 … q1 − 1 of a plane hold the image (y = r − pt, x = q − pl)
  ${set('r0', `(select ${get('pt')} ${i32(0)} (i32.gt_s ${get('pt')} ${i32(0)}))`)}
  ${set('r1', add(get('h'), get('pt')))}
  ${set('r1', `(select ${get('r1')} ${get('Hp')} (i32.lt_s ${get('r1')} ${get('Hp')}))`)}
  ${set('q0', `(select ${get('pl')} ${i32(0)} (i32.gt_s ${get('pl')} ${i32(0)}))`)}
  ${set('q1', add(get('w'), get('pl')))}
  ${set('q1', `(select ${get('q1')} ${get('Wp')} (i32.lt_s ${get('q1')} ${get('Wp')}))`)}
  ${set('pb', get('plane'))}
  ${set('xi', get('x'))}
  ${repeat(
    'b',
    get('n'),
    `${set('ch', i32(0))}
    (block $pc_end (loop $pcl
      (br_if $pc_end (i32.ge_u ${get('ch')} ${get('c')}))
      ${set('r', get('r0'))}
      (block $pr_end (loop $pr
        (br_if $pr_end (i32.ge_s ${get('r')} ${get('r1')}))
        ${set('q', get('q0'))}
        ${set('d', add(get('pb'), add(mul(get('r'), get('WpB')), mul(get('q'), i32(4)))))}
        ${set(
          's',
          add(
            get('xi'),
            mul(
              add(
                mul(sub(get('r'), get('pt')), mul(get('w'), get('c'))),
                add(mul(sub(get('q'), get('pl')), get('c')), get('ch')),
              ),
              i32(4),
            ),
          ),
        )}
        (block $pq_end (loop $pq
          (br_if $pq_end (i32.ge_s ${get('q')} ${get('q1')}))
          (f32.store ${get('d')} (f32.load ${get('s')}))
          ${inc('d', i32(4))}
          ${inc('s', mul(get('c'), i32(4)))}
          ${inc('q', i32(1))}
          (br $pq)))
        ${inc('r', i32(1))}
        (br $pr)))
      ${inc('pb', get('planeB'))}
      ${inc('ch', i32(1))}
      (br $pcl)))
    ${inc('xi', mul(mul(get('h'), get('w')), mul(get('c'), i32(4))))}`,
    'pbl',
  )}
  ;; the taps: per output pixel, channel and kernel row, kw consecutive plane floats
  ${set('d', get('out'))}
  ${set('pb', get('plane'))}
  ${set('rowS', mul(get('sh'), get('WpB')))}
  ${set('colS', mul(get('sw'), i32(4)))}
  ${repeat(
    'b',
    get('n'),
    `${set('y', get('pb'))}
    ${repeat(
      'oy',
      get('oh'),
      `${set('xx', get('y'))}
      ${repeat(
        'ox',
        get('ow'),
        `${set('pc', get('xx'))}
        ${repeat(
          'k',
          get('c'),
          `${set('s', get('pc'))}
          ${repeat('i', get('kh'), `${copyRun} ${inc('s', mul(get('dh'), get('WpB')))}`, 'pi')}
          ${inc('pc', get('planeB'))}`,
          'pk',
        )}
        ${inc('xx', get('colS'))}`,
        'pox',
      )}
      ${inc('y', get('rowS'))}`,
      'poy',
    )}
    ${inc('pb', mul(get('c'), get('planeB')))}`,
    'pbb',
  )}
)`;
}

function col2im() {
  const rows = [get('s'), add(get('s'), get('TB')), add(get('s'), get('TB2')), add(get('s'), get('TB3'))];
  return `
(func $col2im (export "col2im") ${params(['cols', 'dx', ...geomParams, 'tab', 'zero'])}
  ${locals('i32', ['T', 'TB', 'TB2', 'TB3', 'TB4', 'PB', 'cb', 'c4', 'rowB', 'xb', 'b', 'oy', 'ox', 'y0', 'x0'])}
  ${locals('i32', ['i', 'j', 'y', 'xx', 'rowOk', 'src', 'tp', 'o', 'q', 'k', 'r', 'tt', 'ch4', 's', 'a'])}
  ${locals('i32', ['p0', 'p1', 'p2', 'p3'])}
  ${locals('v128', ['v0', 'v1', 'v2', 'v3', 't0', 't1', 't2', 't3'])}
  ${set('T', mul(get('kh'), get('kw')))}
  ${set('TB', mul(get('T'), i32(4)))}
  ${set('TB2', mul(get('T'), i32(8)))}
  ${set('TB3', mul(get('T'), i32(12)))}
  ${set('TB4', mul(get('T'), i32(16)))}
  ${set('PB', mul(get('c'), get('TB')))}
  ${set('c4', mul(get('c'), i32(4)))}
  ${set('cb', `(i32.shr_u ${get('c')} ${i32(2)})`)}
  ${set('rowB', mul(get('w'), get('c4')))}
  (memory.fill ${get('dx')} ${i32(0)} ${mul(mul(get('n'), get('h')), get('rowB'))})
  ${set('o', get('cols'))}
  ${overOutputPixels(
    `
    ${tapTable}
    ${set('tt', i32(0))}
    ${repeat(
      'q',
      `(i32.shr_u ${get('T')} ${i32(2)})`,
      `${range(4)
        .map((k) => set(`p${k}`, `(i32.load offset=${4 * k} ${add(get('tab'), get('tt'))})`))
        .join(' ')}
      ${set('s', add(get('o'), get('tt')))}
      ${repeat(
        'k',
        get('cb'),
        `${range(4)
          .map((k) => set(`v${k}`, `(v128.load ${rows[k]})`))
          .join(' ')}
        ${transposeSteps}
        ${transposed()
          .map((e, k) => `(v128.store ${get(`p${k}`)} (f32x4.add (v128.load ${get(`p${k}`)}) ${e}))`)
          .join('\n        ')}
        ${range(4)
          .map((k) => inc(`p${k}`, i32(16)))
          .join(' ')}
        ${inc('s', get('TB4'))}`,
        'sq',
      )}
      ${inc('tt', i32(16))}`,
      'sqt',
    )}
    ${repeat(
      'q',
      `(i32.and ${get('T')} ${i32(3)})`,
      `${set('p0', `(i32.load ${add(get('tab'), get('tt'))})`)}
      ${set('s', add(get('o'), get('tt')))}
      ${repeat(
        'k',
        get('cb'),
        `(v128.store ${get('p0')} (f32x4.add (v128.load ${get('p0')})
          (v128.load32_lane 3 ${rows[3]} (v128.load32_lane 2 ${rows[2]}
            (v128.load32_lane 1 ${rows[1]} (v128.load32_zero ${rows[0]}))))))
        ${inc('p0', i32(16))}
        ${inc('s', get('TB4'))}`,
        'sr',
      )}
      ${inc('tt', i32(4))}`,
      'srt',
    )}
    ${set('ch4', mul(get('cb'), i32(16)))}
    ${set('s', add(get('o'), mul(get('cb'), get('TB4'))))}
    ${repeat(
      'r',
      `(i32.and ${get('c')} ${i32(3)})`,
      `${set('tp', get('tab'))}
      ${repeat(
        'k',
        get('T'),
        `${set('a', add(`(i32.load ${get('tp')})`, get('ch4')))}
        (f32.store ${get('a')} (f32.add (f32.load ${get('a')}) (f32.load ${get('s')})))
        ${inc('tp', i32(4))} ${inc('s', i32(4))}`,
        'srk',
      )}
      ${inc('ch4', i32(4))}`,
      'src',
    )}
    ${inc('o', get('PB'))}`,
    'dx',
  )}
)`;
}

function maxPoolGrad() {
  return `
(func $maxPoolGrad (export "maxPoolGrad") ${params(['dy', 'x', 'yv', 'dx', ...geomParams, 'tab'])}
  ${locals('i32', ['c4', 'cb', 'rowB', 'xb', 'b', 'oy', 'ox', 'y0', 'x0', 'i', 'j', 'y', 'xx', 'rowOk', 'src', 'tp'])}
  ${locals('i32', ['o', 'nt', 'k', 'r', 'ch4', 'a'])}
  ${locals('v128', ['tgt', 'g', 'found', 'm'])}
  (local $ts f32) (local $gs f32)
  ${set('c4', mul(get('c'), i32(4)))}
  ${set('cb', `(i32.shr_u ${get('c')} ${i32(2)})`)}
  ${set('rowB', mul(get('w'), get('c4')))}
  (memory.fill ${get('dx')} ${i32(0)} ${mul(mul(get('n'), get('h')), get('rowB'))})
  ${set('o', i32(0))}
  ${overOutputPixels(`
    ;; byte offsets (from the input's start) of the window's taps inside the input, row-major
    ${set('tp', get('tab'))}
    ${set('y', get('y0'))}
    ${repeat(
      'i',
      get('kh'),
      `(if ${ltu(get('y'), get('h'))} (then
        ${set('src', add(sub(get('xb'), get('x')), mul(get('y'), get('rowB'))))}
        ${set('xx', get('x0'))}
        ${repeat(
          'j',
          get('kw'),
          `(if ${ltu(get('xx'), get('w'))} (then
            (i32.store ${get('tp')} ${add(get('src'), mul(get('xx'), get('c4')))})
            ${inc('tp', i32(4))}))
          ${inc('xx', get('dw'))}`,
          'mj',
        )}))
      ${inc('y', get('dh'))}`,
      'mi',
    )}
    ${set('nt', `(i32.shr_u ${sub(get('tp'), get('tab'))} ${i32(2)})`)}
    ${set('ch4', i32(0))}
    ${repeat(
      'k',
      get('cb'),
      `${set('tgt', `(v128.load ${add(get('yv'), add(get('o'), get('ch4')))})`)}
      ${set('g', `(v128.load ${add(get('dy'), add(get('o'), get('ch4')))})`)}
      ${set('found', '(v128.const i32x4 0 0 0 0)')}
      ${set('tp', get('tab'))}
      ${repeat(
        'r',
        get('nt'),
        `${set('a', add(`(i32.load ${get('tp')})`, get('ch4')))}
        ${set('m', `(v128.andnot (f32x4.eq (v128.load ${add(get('x'), get('a'))}) ${get('tgt')}) ${get('found')})`)}
        (v128.store ${add(get('dx'), get('a'))}
          (f32x4.add (v128.load ${add(get('dx'), get('a'))}) (v128.and ${get('g')} ${get('m')})))
        ${set('found', `(v128.or ${get('found')} ${get('m')})`)}
        ${inc('tp', i32(4))}`,
        'mv',
      )}
      ${inc('ch4', i32(16))}`,
      'mk',
    )}
    ${repeat(
      'k',
      `(i32.and ${get('c')} ${i32(3)})`,
      `(local.set $ts (f32.load ${add(get('yv'), add(get('o'), get('ch4')))}))
      (local.set $gs (f32.load ${add(get('dy'), add(get('o'), get('ch4')))}))
      ${set('tp', get('tab'))}
      (block $mf_end (loop $mf
        (br_if $mf_end (i32.ge_u ${get('tp')} ${add(get('tab'), mul(get('nt'), i32(4)))}))
        ${set('a', add(`(i32.load ${get('tp')})`, get('ch4')))}
        (if (f32.eq (f32.load ${add(get('x'), get('a'))}) (local.get $ts)) (then
          (f32.store ${add(get('dx'), get('a'))} (f32.add (f32.load ${add(get('dx'), get('a'))}) (local.get $gs)))
          (br $mf_end)))
        ${inc('tp', i32(4))}
        (br $mf)))
      ${inc('ch4', i32(4))}`,
      'ms',
    )}
    ${inc('o', get('c4'))}`)}
)`;
}

/** The tap-copy and pooling-gradient part of the module (the same in both builds). */
export function tapsText() {
  return `${im2col()}
${im2colPlanar()}
${col2im()}
${maxPoolGrad()}`;
}
