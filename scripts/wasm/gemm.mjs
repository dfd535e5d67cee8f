/**
 * WebAssembly text of the SGEMM: a register tile (MR×8, fused multiply-add or multiply then add),
 * packing of A and B into contiguous panels, and the cache-blocked driver (BLIS loop order).
 */
import { add, get, i32, min, mul, range, repeat, set, sub } from './wat.mjs';

/** Cache blocking (floats): a KC×NR panel of B stays in L1, an MC×KC block of A in L2. */
export const KC = 256;
export const NC = 4096;
export const NR = 8;
/**
 * Row tiles of the most rows whose products read B in place (sgemm below). Timed on one core
 * (N = K = 512): 6 rows 116 → 72 µs, 8 rows 183 → 142, 12 rows 179 → 141. With 24 to 128 rows
 * read in place it was 5–20% slower than packed (one comparison, two processes apart).
 */
export const DIRECT_M_TILES = 2;

/**
 * The register tile: C[rows×NR] (+)= Apanel[kc×MR]ᵀ · Bpanel[kc×NR] for the first `rows` of the
 * panel's MR rows (`name` $tile for all MR, $tileFew and $tileTwo for a product's last few rows). `c` is
 * the tile's first float, `ldc` the row stride of C in bytes; with `load` 0 the accumulators start
 * at zero. The NR values of B for each p lie at `b`, then `b` + bs, … (bs = 4·NR bytes in a packed
 * panel, B's row stride when read in place). Each C value is the same chain of multiply-adds in
 * either tile.
 */
function tile(mr, fma, rows = mr, name = '$tile') {
  const nv = NR / 4;
  const acc = (i, j) => `c${i}_${j}`;
  const locals = [
    ...range(rows).flatMap((i) => range(nv).map((j) => `(local $${acc(i, j)} v128)`)),
    ...range(nv).map((j) => `(local $b${j} v128)`),
    '(local $av v128)',
  ].join(' ');
  const rowAddr = (i) => add(get('c'), mul(get('ldc'), i32(i)));
  const loads = range(rows)
    .flatMap((i) => range(nv).map((j) => set(acc(i, j), `(v128.load offset=${16 * j} ${rowAddr(i)})`)))
    .join('\n    ');
  const stores = range(rows)
    .flatMap((i) => range(nv).map((j) => `(v128.store offset=${16 * j} ${rowAddr(i)} ${get(acc(i, j))})`))
    .join('\n  ');
  const madd = (a, b, c) =>
    fma ? `(f32x4.relaxed_madd ${a} ${b} ${c})` : `(f32x4.add (f32x4.mul ${a} ${b}) ${c})`;
  const step = [
    ...range(nv).map((j) => set(`b${j}`, `(v128.load offset=${16 * j} ${get('b')})`)),
    ...range(rows).flatMap((i) => [
      set('av', `(v128.load32_splat offset=${4 * i} ${get('a')})`),
      ...range(nv).map((j) => set(acc(i, j), madd(get('av'), get(`b${j}`), get(acc(i, j))))),
    ]),
    set('a', add(get('a'), i32(4 * mr))),
    set('b', add(get('b'), get('bs'))),
  ].join('\n      ');
  return `
(func ${name} (param $a i32) (param $b i32) (param $bs i32) (param $kc i32) (param $c i32) (param $ldc i32) (param $load i32)
  ${locals}
  (if ${get('load')} (then
    ${loads}))
  ${repeat('kc', get('kc'), step, 'kloop')}
  ${stores})`;
}

/** i8x16.shuffle picking 32-bit lanes (0–3 from a, 4–7 from b). */
const lanes = (a, b, ls) =>
  `(i8x16.shuffle ${ls.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]).join(' ')} ${a} ${b})`;

/**
 * The transposing copy of one full panel of W rows that are contiguous along p (row r at byte
 * address r{r}, p at byte offset s): four p at a time, rows in groups of four through a 4×4
 * transpose in registers, a leftover pair through 64-bit lane stores, a single row through 32-bit
 * lane stores; the last kc mod 4 values one by one.
 */
function transposeCopy(w) {
  const row = (r) => add(get(`r${r}`), get('s'));
  const out = (p, off) => add(get('d'), i32(p * 4 * w + off));
  const groups = [];
  for (let g = 0; g + 4 <= w; g += 4) {
    groups.push(
      ...range(4).map((i) => set(`v${i}`, `(v128.load ${row(g + i)})`)),
      set('t0', lanes(get('v0'), get('v1'), [0, 4, 1, 5])),
      set('t1', lanes(get('v2'), get('v3'), [0, 4, 1, 5])),
      set('t2', lanes(get('v0'), get('v1'), [2, 6, 3, 7])),
      set('t3', lanes(get('v2'), get('v3'), [2, 6, 3, 7])),
      `(v128.store ${out(0, 4 * g)} ${lanes(get('t0'), get('t1'), [0, 1, 4, 5])})`,
      `(v128.store ${out(1, 4 * g)} ${lanes(get('t0'), get('t1'), [2, 3, 6, 7])})`,
      `(v128.store ${out(2, 4 * g)} ${lanes(get('t2'), get('t3'), [0, 1, 4, 5])})`,
      `(v128.store ${out(3, 4 * g)} ${lanes(get('t2'), get('t3'), [2, 3, 6, 7])})`,
    );
  }
  const rest = w % 4;
  const g = w - rest;
  if (rest === 2)
    groups.push(
      set('v0', `(v128.load ${row(g)})`),
      set('v1', `(v128.load ${row(g + 1)})`),
      set('t0', lanes(get('v0'), get('v1'), [0, 4, 1, 5])),
      set('t1', lanes(get('v0'), get('v1'), [2, 6, 3, 7])),
      `(v128.store64_lane 0 ${out(0, 4 * g)} ${get('t0')})`,
      `(v128.store64_lane 1 ${out(1, 4 * g)} ${get('t0')})`,
      `(v128.store64_lane 0 ${out(2, 4 * g)} ${get('t1')})`,
      `(v128.store64_lane 1 ${out(3, 4 * g)} ${get('t1')})`,
    );
  else if (rest === 1)
    groups.push(
      set('v0', `(v128.load ${row(g)})`),
      ...range(4).map((p) => `(v128.store32_lane ${p} ${out(p, 4 * g)} ${get('v0')})`),
    );
  else if (rest !== 0) throw new Error(`no transposing copy for panels of ${w}`);
  const scalar = range(w)
    .map((r) => `(f32.store offset=${4 * r} ${get('d')} (f32.load ${row(r)}))`)
    .join(' ');
  return `
        ${range(w)
          .map((r) => set(`r${r}`, add(get('src'), mul(add(get('x0'), i32(r)), get('sx')))))
          .join(' ')}
        ${set('s', i32(0))}
        ${set('d', get('dst'))}
        ${repeat(
          'p',
          `(i32.shr_u ${get('kc')} ${i32(2)})`,
          `${groups.join('\n          ')}
          ${set('s', add(get('s'), i32(16)))}
          ${set('d', add(get('d'), i32(16 * w)))}`,
          'tquad',
        )}
        ${repeat(
          'p',
          `(i32.and ${get('kc')} ${i32(3)})`,
          `${scalar} ${set('s', add(get('s'), i32(4)))} ${set('d', add(get('d'), i32(4 * w)))}`,
          'trest',
        )}`;
}

/**
 * Packs an n×kc block whose element (x, p) lies at src + x·sx + p·sp (byte strides) into panels
 * of W consecutive x: panel q holds, for p = 0 … kc−1, the W values of x = qW … qW+W−1 (zeros
 * past n). Full panels move as vectors: straight copies when x is contiguous, a transpose in
 * registers when p is; the rest element by element.
 */
function pack(name, w, halves = 0) {
  const vecCopy = [
    `(v128.store ${get('d')} (v128.load ${get('s')}))`,
    ...(w >= 8 ? [`(v128.store offset=16 ${get('d')} (v128.load offset=16 ${get('s')}))`] : []),
    ...(w === 6 ? [`(i64.store offset=16 ${get('d')} (i64.load offset=16 ${get('s')}))`] : []),
    ...(w === 5 ? [`(f32.store offset=16 ${get('d')} (f32.load offset=16 ${get('s')}))`] : []),
  ].join(' ');
  if (![4, 5, 6, 8].includes(w)) throw new Error(`no vector copy for panels of ${w}`);
  return `
(func $${name} (param $src i32) (param $sx i32) (param $sp i32) (param $n i32) (param $kc i32) (param $dst i32)
  (local $x0 i32) (local $w i32) (local $x i32) (local $p i32) (local $s i32) (local $d i32)
  ${range(w)
    .map((r) => `(local $r${r} i32)`)
    .join(' ')}
  (local $v0 v128) (local $v1 v128) (local $v2 v128) (local $v3 v128)
  (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
  (block $done (loop $panel
    (br_if $done (i32.ge_s ${get('x0')} ${get('n')}))
    ${set('w', min(i32(w), sub(get('n'), get('x0'))))}
    ${halves ? `(if (i32.eq ${sub(get('n'), get('x0'))} ${i32(w + 2)}) (then ${set('w', i32(halves))}))` : ''}
    (if (i32.and (i32.eq ${get('w')} ${i32(w)}) (i32.eq ${get('sx')} ${i32(4)}))
      (then
        ${set('s', add(get('src'), mul(get('x0'), i32(4))))}
        ${set('d', get('dst'))}
        ${repeat('p', get('kc'), `${vecCopy} ${set('s', add(get('s'), get('sp')))} ${set('d', add(get('d'), i32(4 * w)))}`, 'vcopy')})
      (else (if (i32.and (i32.eq ${get('w')} ${i32(w)}) (i32.eq ${get('sp')} ${i32(4)}))
      (then ${transposeCopy(w)})
      (else
        (if (i32.lt_s ${get('w')} ${i32(w)}) (then (memory.fill ${get('dst')} ${i32(0)} ${mul(get('kc'), i32(4 * w))})))
        ${set('x', i32(0))}
        (block $xs_end (loop $xs
          (br_if $xs_end (i32.ge_s ${get('x')} ${get('w')}))
          ${set('s', add(get('src'), mul(add(get('x0'), get('x')), get('sx'))))}
          ${set('d', add(get('dst'), mul(get('x'), i32(4))))}
          ${repeat('p', get('kc'), `(f32.store ${get('d')} (f32.load ${get('s')})) ${set('s', add(get('s'), get('sp')))} ${set('d', add(get('d'), i32(4 * w)))}`, 'ps')}
          ${set('x', add(get('x'), i32(1)))}
          (br $xs))))))
    )
    ${set('dst', add(get('dst'), mul(get('kc'), i32(4 * w))))}
    ${set('x0', add(get('x0'), get('w')))}
    (br $panel))))`;
}

/**
 * C[M×N] (+)= A[M×K] · B[K×N], every operand given by its first float's byte address and its
 * row and column strides in floats (a transposed operand is just swapped strides). C is row-major
 * with row stride ldc. `acc` 1 adds to C, 0 overwrites it. pa (MC·KC floats), pb (KC·NC floats)
 * and tmp (MR·NR floats) are scratch space on the same heap.
 *
 * A B with column stride 0 comes packed once by packB (below; its row stride is N rounded up to
 * NR): $sgemm hands it to $sgemmPacked, the same driver reading those panels where they lie.
 *
 * With at most DIRECT_M rows and B's rows contiguous, the tiles read B in place instead of from
 * packed panels: there each B value serves one or two row tiles, and packing B took as long as
 * the products (a 6×512×512 product: 116 µs, some 60 of them packing). The products are the
 * same multiply-adds in the same order either way, so the same bits.
 */
function sgemm(mr, mc, directM, few, two, halves, packed = false) {
  /** The tile for the row tile's $mrr rows (the fewest-row tile that holds them) into C at `c`. */
  const tileCall = (c, ldc, load) => {
    const call = (name) =>
      `(call ${name} ${get('ap')} ${get('bp')} ${get('bs')} ${get('kc')} ${c} ${ldc} ${load})`;
    return `(if ${get('two')} (then ${call('$tileTwo')}) (else (if ${get('few')} (then ${call('$tileFew')}) (else ${call('$tile')}))))`;
  };
  const params = ['M', 'N', 'K', 'A', 'rsa', 'csa', 'B', 'rsb', 'csb', 'C', 'ldc', 'acc', 'pa', 'pb', 'tmp'];
  const edges = `
(func $edgeIn (param $c i32) (param $ldc i32) (param $m i32) (param $n i32) (param $tmp i32) (param $load i32)
  (local $i i32) (local $j i32)
  (memory.fill ${get('tmp')} ${i32(0)} ${i32(4 * mr * NR)})
  (if ${get('load')} (then
    (loop $is
      ${set('j', i32(0))}
      (loop $js
        (f32.store ${add(get('tmp'), mul(add(mul(get('i'), i32(NR)), get('j')), i32(4)))}
          (f32.load ${add(get('c'), add(mul(get('i'), get('ldc')), mul(get('j'), i32(4))))}))
        ${set('j', add(get('j'), i32(1)))}
        (br_if $js (i32.lt_s ${get('j')} ${get('n')})))
      ${set('i', add(get('i'), i32(1)))}
      (br_if $is (i32.lt_s ${get('i')} ${get('m')})))))
)
(func $edgeOut (param $c i32) (param $ldc i32) (param $m i32) (param $n i32) (param $tmp i32)
  (local $i i32) (local $j i32)
  (loop $is
    ${set('j', i32(0))}
    (loop $js
      (f32.store ${add(get('c'), add(mul(get('i'), get('ldc')), mul(get('j'), i32(4))))}
        (f32.load ${add(get('tmp'), mul(add(mul(get('i'), i32(NR)), get('j')), i32(4)))}))
      ${set('j', add(get('j'), i32(1)))}
      (br_if $js (i32.lt_s ${get('j')} ${get('n')})))
    ${set('i', add(get('i'), i32(1)))}
    (br_if $is (i32.lt_s ${get('i')} ${get('m')})))
)`;
  return `${packed ? '' : edges}
(func ${packed ? '$sgemmPacked (export "sgemmPacked")' : '$sgemm (export "sgemm")'}
  (param $M i32) (param $N i32) (param $K i32)
  (param $A i32) (param $rsa i32) (param $csa i32)
  (param $B i32) (param $rsb i32) (param $csb i32)
  (param $C i32) (param $ldc i32) (param $acc i32)
  (param $pa i32) (param $pb i32) (param $tmp i32)
  (local $jc i32) (local $nc i32) (local $pc i32) (local $kc i32) (local $ic i32) (local $mc i32)
  (local $jr i32) (local $ir i32) (local $mrr i32) (local $nrr i32) (local $load i32) (local $cp i32) (local $ldcb i32)
  (local $direct i32) (local $bp i32) (local $bs i32) (local $ap i32) (local $few i32) (local $two i32) (local $P i32)
  (if (i32.or (i32.eqz ${get('M')}) (i32.eqz ${get('N')})) (then (return)))
  ${
    packed
      ? `;; B comes packed (packB): its panel of columns j … j + NR − 1 for the rows from pc lies at
  ;; B + (pc·rsb + j·P)·4, P = min(K, KC), rsb the columns rounded up to NR.
  ${set('P', min(i32(KC), get('K')))}`
      : `;; A column stride of 0 marks a B that packB packed once for all (the probe's weights).
  (if (i32.eqz ${get('csb')}) (then (call $sgemmPacked ${params.map(get).join(' ')}) (return)))
  ${set('direct', `(i32.and (i32.eq ${get('csb')} ${i32(1)}) (i32.le_s ${get('M')} ${i32(directM)}))`)}`
  }
  ${set('ldcb', mul(get('ldc'), i32(4)))}
  (if (i32.eqz ${get('K')}) (then
    (if (i32.eqz ${get('acc')}) (then
      (loop $zero
        (memory.fill ${add(get('C'), mul(get('ic'), get('ldcb')))} ${i32(0)} ${mul(get('N'), i32(4))})
        ${set('ic', add(get('ic'), i32(1)))}
        (br_if $zero (i32.lt_s ${get('ic')} ${get('M')})))))
    (return)))
  (loop $jcl
    ${set('nc', min(i32(NC), sub(get('N'), get('jc'))))}
    ${set('pc', i32(0))}
    (loop $pcl
      ${set('kc', min(i32(KC), sub(get('K'), get('pc'))))}
      ${
        packed
          ? set('pb', add(get('B'), mul(add(mul(get('pc'), get('rsb')), mul(get('jc'), get('P'))), i32(4))))
          : `(if (i32.eqz ${get('direct')}) (then
        (call $packNR ${add(get('B'), mul(add(mul(get('pc'), get('rsb')), mul(get('jc'), get('csb'))), i32(4)))}
          ${mul(get('csb'), i32(4))} ${mul(get('rsb'), i32(4))} ${get('nc')} ${get('kc')} ${get('pb')})))`
      }
      ${set('load', `(i32.or ${get('acc')} (i32.ne ${get('pc')} ${i32(0)}))`)}
      ${set('ic', i32(0))}
      (loop $icl
        ${set('mc', min(i32(mc), sub(get('M'), get('ic'))))}
        (call $packMR ${add(get('A'), mul(add(mul(get('ic'), get('rsa')), mul(get('pc'), get('csa'))), i32(4)))}
          ${mul(get('rsa'), i32(4))} ${mul(get('csa'), i32(4))} ${get('mc')} ${get('kc')} ${get('pa')})
        ${set('jr', i32(0))}
        (loop $jrl
          ${set('nrr', min(i32(NR), sub(get('nc'), get('jr'))))}
          ${set('bs', i32(4 * NR))}
          (if ${get('direct')}
            (then
              ${set('bp', add(get('B'), mul(add(mul(get('pc'), get('rsb')), add(get('jc'), get('jr'))), i32(4))))}
              ;; A full panel is read in place; a partial one is packed (reading past B's last column could leave the heap).
              (if (i32.eq ${get('nrr')} ${i32(NR)})
                (then ${set('bs', mul(get('rsb'), i32(4)))})
                (else
                  (call $packNR ${get('bp')} ${i32(4)} ${mul(get('rsb'), i32(4))} ${get('nrr')} ${get('kc')} ${get('pb')})
                  ${set('bp', get('pb'))})))
            (else ${set('bp', add(get('pb'), mul(get('jr'), mul(get(packed ? 'P' : 'kc'), i32(4)))))}))
          ${set('ir', i32(0))}
          ${set('ap', get('pa'))}
          (loop $irl
            ${set('mrr', min(i32(mr), sub(get('mc'), get('ir'))))}
            ${
              halves
                ? `;; The last MR + 2 rows as two tiles of the few tile's rows (packMR packed them so).
            (if (i32.eq ${sub(get('mc'), get('ir'))} ${i32(mr + 2)}) (then ${set('mrr', i32(halves))}))`
                : ''
            }
            ${set('cp', add(get('C'), mul(add(mul(add(get('ic'), get('ir')), get('ldc')), add(get('jc'), get('jr'))), i32(4))))}
            ${set('few', few ? `(i32.le_s ${get('mrr')} ${i32(few)})` : i32(0))}
            ${set('two', two ? `(i32.le_s ${get('mrr')} ${i32(two)})` : i32(0))}
            ;; Straight into C when the tile's rows are all C's (MR of them, or exactly the few or two tile's).
            (if (i32.and (i32.or (i32.or (i32.eq ${get('mrr')} ${i32(mr)}) (i32.eq ${get('mrr')} ${i32(few || mr)})) (i32.eq ${get('mrr')} ${i32(two || mr)})) (i32.eq ${get('nrr')} ${i32(NR)}))
              (then ${tileCall(get('cp'), get('ldcb'), get('load'))})
              (else
                (call $edgeIn ${get('cp')} ${get('ldcb')} ${get('mrr')} ${get('nrr')} ${get('tmp')} ${get('load')})
                ${tileCall(get('tmp'), i32(4 * NR), i32(1))}
                (call $edgeOut ${get('cp')} ${get('ldcb')} ${get('mrr')} ${get('nrr')} ${get('tmp')})))
            ${set('ir', add(get('ir'), get('mrr')))}
            ${set('ap', add(get('ap'), mul(get('kc'), i32(4 * mr))))}
            (br_if $irl (i32.lt_s ${get('ir')} ${get('mc')})))
          ${set('jr', add(get('jr'), i32(NR)))}
          (br_if $jrl (i32.lt_s ${get('jr')} ${get('nc')})))
        ${set('ic', add(get('ic'), i32(mc)))}
        (br_if $icl (i32.lt_s ${get('ic')} ${get('M')})))
      ${set('pc', add(get('pc'), i32(KC)))}
      (br_if $pcl (i32.lt_s ${get('pc')} ${get('K')})))
    ${set('jc', add(get('jc'), i32(NC)))}
    (br_if $jcl (i32.lt_s ${get('jc')} ${get('N')})))
)`;
}

/** The GEMM part of the module for one build. */
export function gemmText({ fma, mr }) {
  const mc = mr * 24; // MC·KC floats of packed A: 144·256·4 = 144 KiB, well inside L2
  const directM = DIRECT_M_TILES * mr;
  // The last rows of a product, when at most MR − 2, run in a tile of MR − 2 rows (4 of 6): an
  // 8-row product then costs 6 + 4 rows of work, not 6 + 6 (8×512×512 on one core: 142 → 118 µs;
  // 1 to 4 rows 75 → 52–55 µs).
  const few = mr > 4 ? mr - 2 : 0;
  // And when at most 2, in a tile of 2 rows, which had cost the few tile's 4 (N = K = 512 on one
  // core, two runs each: 2 rows 65–71 → 46–48 µs, 6 + 2 rows 126–140 → 104–121 µs).
  const two = few > 2 ? 2 : 0;
  // A block's last MR + 2 rows (6 + 2) run as two tiles of 4 rows instead (when MR + 2 is twice the
  // few tile's rows): the 2-row tile keeps too few sums in flight to use the multiply-add units.
  // 16 products of 8×512×512 on one core: 1.86–1.91 → 1.75–1.80 ms as two products of 4 rows each.
  const halves = few && mr + 2 === 2 * few ? few : 0;
  return `
(global (export "MR") i32 ${i32(mr)})
(global (export "NR") i32 ${i32(NR)})
(global (export "MC") i32 ${i32(mc)})
(global (export "KC") i32 ${i32(KC)})
(global (export "NC") i32 ${i32(NC)})
(global (export "DIRECT_M") i32 ${i32(directM)})
${tile(mr, fma)}
${few ? tile(mr, fma, few, '$tileFew') : ''}
${two ? tile(mr, fma, two, '$tileTwo') : ''}
${pack('packMR', mr, halves)}
${pack('packNR', NR)}
${sgemm(mr, mc, directM, few, two, halves)}
${sgemm(mr, mc, directM, few, two, halves, true)}
${packB()}`;
}

/**
 * Packs B [K×N] (element (p, j) at B + (p·rsb + j·csb)·4) once into the panels sgemmPacked reads:
 * for each block of KC rows from pc, panel j … j + NR − 1 at dst + (pc·Npad + j·P)·4, where
 * P = min(K, KC) and Npad is N rounded up to NR (zeros past N). The products then skip packing B,
 * which every product (and every thread's share of one) otherwise repeats: the probe's weights
 * never change within a run. The panels are those sgemm packs, so the products are the same bits.
 */
function packB() {
  return `
(func $packB (export "packB") (param $B i32) (param $rsb i32) (param $csb i32) (param $K i32) (param $N i32) (param $dst i32)
  (local $pc i32) (local $kc i32) (local $j i32) (local $P i32) (local $npad i32)
  (if (i32.or (i32.eqz ${get('K')}) (i32.eqz ${get('N')})) (then (return)))
  ${set('P', min(i32(KC), get('K')))}
  ${set('npad', `(i32.and ${add(get('N'), i32(NR - 1))} ${i32(-NR)})`)}
  (loop $pcl
    ${set('kc', min(i32(KC), sub(get('K'), get('pc'))))}
    ${set('j', i32(0))}
    (loop $jl
      (call $packNR ${add(get('B'), mul(add(mul(get('pc'), get('rsb')), mul(get('j'), get('csb'))), i32(4)))}
        ${mul(get('csb'), i32(4))} ${mul(get('rsb'), i32(4))} ${min(i32(NR), sub(get('N'), get('j')))} ${get('kc')}
        ${add(get('dst'), mul(add(mul(get('pc'), get('npad')), mul(get('j'), get('P'))), i32(4)))})
      ${set('j', add(get('j'), i32(NR)))}
      (br_if $jl (i32.lt_s ${get('j')} ${get('N')})))
    ${set('pc', add(get('pc'), i32(KC)))}
    (br_if $pcl (i32.lt_s ${get('pc')} ${get('K')})))
)`;
}
