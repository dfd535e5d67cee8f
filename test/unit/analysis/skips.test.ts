import { strict as assert } from 'node:assert';
import { analyzeSkips } from '../../../runtime/analysis/analyzeSkips';
import type { SkipAnalysis, SkipCounts } from '../../../runtime/analysis/skipTypes';
import { GraphBuilder } from '../helpers/graphBuilder';

/** conv → relu → conv: a basic residual branch. */
function branch(b: GraphBuilder, x: string, prefix: string, stride = 1): string {
  const c1 = b.conv(x, 3, { name: `${prefix}/conv1/Conv`, stride });
  const r = b.op('Relu', [c1], { name: `${prefix}/Relu` });
  return b.conv(r, 3, { name: `${prefix}/conv2/Conv` });
}

function counts(c: Partial<SkipCounts>): SkipCounts {
  return { residual: 0, projection: 0, concat: 0, long: 0, gate: 0, parallel: 0, ...c };
}

function analyze(b: GraphBuilder): SkipAnalysis {
  return analyzeSkips(b.model());
}

describe('skip classification', () => {
  it('finds an identity residual with its fork, span and block', () => {
    const b = new GraphBuilder();
    const x = b.input('x');
    const stem = b.op('Relu', [b.conv(x, 3, { name: '/stem/Conv' })], { name: '/stem/Relu' });
    b.output(b.op('Add', [stem, branch(b, stem, '/layer1')], { name: '/layer1/Add' }));
    const a = analyze(b);
    assert.deepEqual(a.counts, counts({ residual: 1 }));
    assert.equal(a.skips.length, 1);
    const s = a.skips[0];
    assert.equal(s.kind, 'residual');
    assert.equal(s.projection, false);
    assert.equal(s.sourceNode, '/stem/Relu');
    assert.equal(s.source, stem);
    assert.equal(s.skipInput, 0);
    assert.deepEqual(s.skipNodes, []);
    assert.deepEqual(s.span, { learnedOps: 2, ops: 3 });
    assert.deepEqual(s.resolution, { down: 1, up: 1 });
    assert.equal(s.block, 'block0');
    assert.deepEqual(a.merges, [
      {
        node: '/layer1/Add',
        op: 'Add',
        kind: 'residual',
        dataInputs: [stem, '/layer1/conv2/Conv:0'],
        skips: ['skip0'],
      },
    ]);
    assert.equal(a.blocks.length, 1);
    assert.equal(a.blocks[0].source, stem);
    assert.deepEqual(a.blocks[0].nodes, [
      '/layer1/conv1/Conv',
      '/layer1/Relu',
      '/layer1/conv2/Conv',
      '/layer1/Add',
    ]);
  });

  it('does not count a bias Add or a scale Mul by a constant as a merge', () => {
    const b = new GraphBuilder();
    const x = b.input('x');
    const c = b.conv(x);
    const biased = b.op('Add', [c, b.init('bias', [4, 1, 1])]);
    const scaled = b.op('Mul', [b.init('scale', [4, 1, 1]), biased]);
    b.output(b.op('Relu', [scaled]));
    const a = analyze(b);
    assert.deepEqual(a.counts, counts({}));
    assert.deepEqual(a.merges, []);
  });

  it('treats an Identity of an initializer (and ops on it) as a constant, not data', () => {
    const b = new GraphBuilder();
    const x = b.input('x');
    const alias = b.op('Identity', [b.init('w_alias', [4, 1, 1])]);
    const scaled = b.op('Mul', [alias, b.init('two', [1], [2])]);
    b.output(b.op('Add', [b.conv(b.op('Relu', [b.conv(x)])), scaled]));
    assert.deepEqual(analyze(b).merges, []);
  });

  it('sets shape arithmetic aside (Shape → Gather → Concat → Reshape; adds of shapes)', () => {
    const b = new GraphBuilder();
    const x = b.input('x');
    const shape = b.op('Shape', [x]);
    const n = b.op('Gather', [shape, b.init('i0', [1], [0])]);
    const m = b.op('Gather', [shape, b.init('i1', [1], [1])]);
    const sum = b.op('Add', [n, m]);
    const target = b.op('Concat', [sum, b.init('minus1', [1], [-1])], { attrs: { axis: 0 } });
    const flat = b.op('Reshape', [x, target]);
    b.output(b.op('Add', [flat, b.op('Reshape', [branch(b, x, '/b'), target])], { name: '/add' }));
    const a = analyze(b);
    assert.deepEqual(
      a.merges.map((mm) => mm.node),
      ['/add'],
    );
    assert.deepEqual(a.counts, counts({ residual: 1 }));
    // The skip side carries the Reshape whose shape input is arithmetic, not a second data input.
    assert.deepEqual(a.skips[0].skipNodes, [b.nodes.find((nn) => nn.outputs[0] === flat)!.name]);
    assert.equal(a.skips[0].source, 'x');
  });

  it('carries a skip through pooling and reports the branch downsampling', () => {
    const b = new GraphBuilder();
    const x = b.input('x');
    const pooled = b.op('MaxPool', [x], { name: '/pool', attrs: { kernel_shape: [2, 2], strides: [2, 2] } });
    b.output(b.op('Add', [pooled, branch(b, x, '/b', 2)], { name: '/add' }));
    const a = analyze(b);
    assert.deepEqual(a.counts, counts({ residual: 1 }));
    const s = a.skips[0];
    assert.equal(s.source, 'x');
    assert.equal(s.sourceNode, '');
    assert.deepEqual(s.skipNodes, ['/pool']);
    assert.deepEqual(s.resolution, { down: 2, up: 1 });
  });

  it('carries a concat skip through a resize without calling it long', () => {
    const b = new GraphBuilder();
    const x = b.input('x');
    const up1 = b.op('Resize', [x, '', b.init('scales', [4], [1, 1, 2, 2])], { name: '/up_skip' });
    const up2 = b.op('Resize', [branch(b, x, '/b'), '', 'scales'], { name: '/up_branch' });
    b.output(b.op('Concat', [up1, up2], { name: '/cat', attrs: { axis: 1 } }));
    const a = analyze(b);
    assert.deepEqual(a.counts, counts({ concat: 1 }));
    assert.deepEqual(a.skips[0].skipNodes, ['/up_skip']);
    assert.deepEqual(a.skips[0].resolution, { down: 1, up: 2 });
  });

  it('recognises a projection shortcut with normalization (1×1 conv → BN)', () => {
    const b = new GraphBuilder();
    const x = b.input('x');
    const proj = b.conv(x, 1, { name: '/down/Conv', stride: 2 });
    const bn = b.op(
      'BatchNormalization',
      [proj, b.init('g', [4]), b.init('be', [4]), b.init('mu', [4]), b.init('var', [4])],
      { name: '/down/BN' },
    );
    const br = b.op('BatchNormalization', [branch(b, x, '/b', 2), 'g', 'be', 'mu', 'var'], { name: '/b/BN' });
    b.output(b.op('Add', [br, bn], { name: '/add' }));
    const a = analyze(b);
    assert.deepEqual(a.counts, counts({ residual: 1, projection: 1 }));
    const s = a.skips[0];
    assert.equal(s.projection, true);
    assert.equal(s.skipInput, 1);
    assert.deepEqual(s.skipNodes, ['/down/BN', '/down/Conv']);
    assert.equal(s.span.learnedOps, 2);
    assert.equal(s.resolution.down, 2);
  });

  it('does not take a 3×3 conv shortcut as a projection: that merge is parallel', () => {
    const b = new GraphBuilder();
    const x = b.input('x');
    b.output(b.op('Add', [b.conv(x, 3), branch(b, x, '/b')]));
    const a = analyze(b);
    assert.deepEqual(a.counts, counts({ parallel: 1 }));
    assert.deepEqual(a.skips, []);
  });

  it('allows no projection on a concat skip', () => {
    const b = new GraphBuilder();
    const x = b.input('x');
    b.output(b.op('Concat', [b.conv(x, 1), branch(b, x, '/b')], { attrs: { axis: 1 } }));
    assert.deepEqual(analyze(b).counts, counts({ parallel: 1 }));
  });

  it('classifies a Sum of three inputs with one identity skip', () => {
    const b = new GraphBuilder();
    const x = b.input('x');
    b.output(b.op('Sum', [branch(b, x, '/a'), x, branch(b, x, '/c')], { name: '/sum' }));
    const a = analyze(b);
    assert.deepEqual(a.counts, counts({ residual: 1 }));
    assert.equal(a.skips.length, 1);
    assert.equal(a.skips[0].skipInput, 1);
    assert.equal(a.merges[0].dataInputs.length, 3);
  });

  it('separates chained residuals into sibling blocks', () => {
    const b = new GraphBuilder();
    let h = b.op('Relu', [b.conv(b.input('x'))], { name: '/stem/Relu' });
    for (let i = 0; i < 3; i++)
      h = b.op('Relu', [b.op('Add', [h, branch(b, h, `/l${i}`)], { name: `/l${i}/Add` })], {
        name: `/l${i}/Relu_out`,
      });
    b.output(h);
    const a = analyze(b);
    assert.deepEqual(a.counts, counts({ residual: 3 }));
    assert.deepEqual(
      a.skips.map((s) => s.sourceNode),
      ['/stem/Relu', '/l0/Relu_out', '/l1/Relu_out'],
    );
    assert.deepEqual(a.rootBlocks, ['block0', 'block1', 'block2']);
    for (const blk of a.blocks) assert.equal(blk.nodes.length, 4);
  });

  it('finds a skip from a graph input', () => {
    const b = new GraphBuilder();
    const x = b.input('image');
    b.output(b.op('Add', [x, branch(b, x, '/b')]));
    const s = analyze(b).skips[0];
    assert.equal(s.source, 'image');
    assert.equal(s.sourceNode, '');
  });

  it('does not take a broadcast additive mask for a skip, though it reaches later blocks', () => {
    // Two attention-like blocks: scores = MatMul(x, x) + mask, the mask [B, 1, 1, S] broadcast over
    // heads and queries; block 2's scores descend from the mask through block 1.
    const build = (maskShape: (string | number)[]): SkipAnalysis => {
      const b = new GraphBuilder();
      const x0 = b.input('x', ['B', 4, 'S', 'S']);
      const mask = b.input('attention_mask', maskShape);
      let x = x0;
      for (const blk of ['/blocks.0', '/blocks.1']) {
        const q = b.op('MatMul', [x, b.init(`${blk}.wq`, [1, 1, 1, 1])], {
          name: `${blk}/q`,
          shape: ['B', 4, 'S', 'S'],
        });
        const s = b.op('Add', [q, mask], { name: `${blk}/attn/Add`, shape: ['B', 4, 'S', 'S'] });
        const a = b.op('Softmax', [s], { name: `${blk}/Softmax`, shape: ['B', 4, 'S', 'S'] });
        x = b.op('Add', [x, a], { name: `${blk}/Add`, shape: ['B', 4, 'S', 'S'] });
      }
      b.output(x);
      return analyze(b);
    };
    const masked = build(['B', 1, 1, 'S']);
    assert.deepEqual(masked.skips.map((s) => `${s.sourceNode || s.source} → ${s.merge}`).sort(), [
      '/blocks.0/Add → /blocks.1/Add',
      'x → /blocks.0/Add',
    ]);
    // The same graph with a mask of the scores' own shape: then the mask is a skip like any other.
    const full = build(['B', 4, 'S', 'S']);
    assert.ok(full.skips.some((s) => s.source === 'attention_mask' && s.merge === '/blocks.1/attn/Add'));
  });

  it('tells a gate (Mul, squeeze-excitation) from a residual, and ignores x·sigmoid(x)', () => {
    const b = new GraphBuilder();
    const x = b.input('x');
    const h = branch(b, x, '/b');
    const silu = b.op('Mul', [h, b.op('Sigmoid', [h])], { name: '/silu' });
    const pool = b.op('GlobalAveragePool', [silu]);
    const se = b.op('Sigmoid', [b.conv(b.op('Relu', [b.conv(pool, 1)]), 1)]);
    const gated = b.op('Mul', [silu, se], { name: '/se/Mul' });
    b.output(b.op('Add', [x, gated], { name: '/add' }));
    const a = analyze(b);
    assert.deepEqual(a.counts, counts({ residual: 1, gate: 1 }));
    assert.deepEqual(
      a.merges.map((m) => [m.node, m.kind]),
      [
        ['/se/Mul', 'gate'],
        ['/add', 'residual'],
      ],
    );
    assert.equal(a.merges[0].skips.length, 0, 'a gate is not reported as a skip path');
    assert.equal(a.skips.length, 1);
  });

  it('reports parallel branches (Inception) with their common fork', () => {
    const b = new GraphBuilder();
    const x = b.op('Relu', [b.conv(b.input('x'))], { name: '/stem' });
    const b1 = b.conv(x, 1);
    const b2 = b.conv(b.conv(x, 1), 3);
    const b3 = b.conv(b.op('MaxPool', [x], { attrs: { kernel_shape: [3, 3], strides: [1, 1] } }), 1);
    b.output(b.op('Concat', [b1, b2, b3], { name: '/cat', attrs: { axis: 1 } }));
    const a = analyze(b);
    assert.deepEqual(a.counts, counts({ parallel: 1 }));
    assert.deepEqual(a.skips, []);
    assert.equal(a.blocks[0].source, x);
    assert.equal(a.blocks[0].kind, 'parallel');
    assert.equal(a.blocks[0].nodes.length, 6);
  });

  it('does not merge unrelated inputs or paths without a learned op', () => {
    const b = new GraphBuilder();
    const x = b.input('x');
    const y = b.input('y');
    const two = b.op('Add', [b.conv(x), b.conv(y)]);
    const noLearned = b.op('Add', [two, b.op('Relu', [two])]);
    const attention = b.op('MatMul', [noLearned, b.op('Transpose', [noLearned])]);
    b.output(b.op('Add', [noLearned, attention]));
    const a = analyze(b);
    assert.deepEqual(a.counts, counts({}));
    assert.deepEqual(a.merges, []);
  });

  it('calls a skip long when its bypassed path goes down and back up (U-Net)', () => {
    const b = new GraphBuilder();
    const e = b.op('Relu', [b.conv(b.input('x'))], { name: '/enc/Relu' });
    const d = b.op('MaxPool', [e], { attrs: { kernel_shape: [2, 2], strides: [2, 2] } });
    const mid = b.op('Relu', [b.conv(d)]);
    const up = b.op('ConvTranspose', [mid, b.init('wt', [4, 4, 2, 2])], {
      attrs: { kernel_shape: [2, 2], strides: [2, 2] },
    });
    b.output(b.op('Concat', [e, up], { name: '/cat', attrs: { axis: 1 } }));
    const a = analyze(b);
    assert.deepEqual(a.counts, counts({ long: 1 }));
    assert.equal(a.skips[0].kind, 'long');
    assert.deepEqual(a.skips[0].resolution, { down: 2, up: 2 });
    assert.deepEqual(a.skips[0].span, { learnedOps: 2, ops: 4 });
  });

  it('reads resampling factors from shapes when they are known', () => {
    const b = new GraphBuilder();
    const x = b.input('x', [1, 4, 32, 32]);
    const d = b.op('MaxPool', [x], { shape: [1, 4, 8, 8], attrs: { kernel_shape: [4, 4] } });
    const c = b.conv(d, 3, { shape: [1, 4, 8, 8] });
    const up = b.op('Resize', [c], { shape: [1, 4, 32, 32] });
    b.output(b.op('Add', [x, up]));
    const s = analyze(b).skips[0];
    assert.equal(s.kind, 'long');
    assert.deepEqual(s.resolution, { down: 4, up: 4 });
  });

  it('nests a residual block inside a long skip block', () => {
    const b = new GraphBuilder();
    const e = b.op('Relu', [b.conv(b.input('x'))], { name: '/enc' });
    const d = b.op('MaxPool', [e], { attrs: { strides: [2, 2] } });
    const r = b.op('Add', [d, branch(b, d, '/res')], { name: '/res/Add' });
    const r2 = b.op('Add', [r, branch(b, r, '/res2')], { name: '/res2/Add' });
    const up = b.op('Upsample', [r2, b.init('sc', [4], [1, 1, 2, 2])]);
    b.output(b.op('Concat', [up, e], { name: '/cat' }));
    const a = analyze(b);
    assert.deepEqual(a.counts, counts({ residual: 2, long: 1 }));
    const byMerge = new Map(a.blocks.map((blk) => [blk.merge, blk]));
    const outer = byMerge.get('/cat')!;
    assert.deepEqual(a.rootBlocks, [outer.id]);
    assert.deepEqual(
      outer.children.sort(),
      [byMerge.get('/res/Add')!.id, byMerge.get('/res2/Add')!.id].sort(),
    );
    assert.equal(byMerge.get('/res/Add')!.parent, outer.id);
    assert.ok(outer.nodes.includes('/res/Add') && outer.nodes.includes('/cat'));
  });

  it('finds dense concat skips from every earlier feature map', () => {
    const b = new GraphBuilder();
    let h = b.op('Relu', [b.conv(b.input('x'))], { name: '/stem' });
    for (let i = 0; i < 4; i++) {
      const f = b.conv(b.op('Relu', [b.conv(b.op('Relu', [h]), 1)]));
      h = b.op('Concat', [h, f], { name: `/dense${i}/Concat`, attrs: { axis: 1 } });
    }
    b.output(h);
    const a = analyze(b);
    assert.deepEqual(a.counts, counts({ concat: 4 }));
    // Two-input dense concats fork from the previous concat's output: sibling blocks.
    assert.deepEqual(
      a.skips.map((s) => s.sourceNode),
      ['/stem', '/dense0/Concat', '/dense1/Concat', '/dense2/Concat'],
    );
    assert.deepEqual(a.rootBlocks, ['block0', 'block1', 'block2', 'block3']);
  });

  it('nests the blocks of a concat over all earlier feature maps (torchvision DenseNet)', () => {
    const b = new GraphBuilder();
    const feats = [b.op('Relu', [b.conv(b.input('x'))], { name: '/stem' })];
    for (let i = 0; i < 3; i++) {
      const cat = feats.length > 1 ? b.op('Concat', [...feats], { name: `/cat${i}` }) : feats[0];
      feats.push(b.conv(b.op('Relu', [b.conv(b.op('Relu', [cat]), 1)])));
    }
    b.output(b.op('Concat', feats, { name: '/out' }));
    const a = analyze(b);
    assert.deepEqual(a.counts, counts({ concat: 3 }));
    assert.deepEqual(
      a.merges.map((m) => [m.node, m.skips.length]),
      [
        ['/cat1', 1],
        ['/cat2', 2],
        ['/out', 3],
      ],
    );
    assert.deepEqual(a.rootBlocks, ['block2']);
    assert.equal(a.blocks[0].parent, 'block1');
    assert.equal(a.blocks[1].parent, 'block2');
  });

  it('handles merges with more than 32 inputs (multi-word labels)', () => {
    const b = new GraphBuilder();
    const x = b.op('Relu', [b.conv(b.input('x'))], { name: '/stem' });
    const ins: string[] = [];
    for (let i = 0; i < 40; i++) ins.push(b.conv(x, 1));
    ins.push(x); // the skip enters through input 40
    b.output(b.op('Concat', ins, { name: '/cat' }));
    const a = analyze(b);
    assert.deepEqual(a.counts, counts({ concat: 1 }));
    assert.equal(a.skips[0].skipInput, 40);
    const p = new GraphBuilder();
    const y = p.op('Relu', [p.conv(p.input('x'))]);
    p.output(
      p.op(
        'Concat',
        Array.from({ length: 35 }, () => p.conv(y, 1)),
      ),
    );
    assert.deepEqual(analyze(p).counts, counts({ parallel: 1 }));
  });
});

describe('skip classification edge cases', () => {
  it('counts a tensor read twice by one merge as one skip', () => {
    const b = new GraphBuilder();
    const x = b.op('Relu', [b.conv(b.input('x'))]);
    b.output(b.op('Concat', [x, x, branch(b, x, '/b')]));
    const a = analyzeSkips(b.model());
    assert.deepEqual(a.counts, counts({ concat: 1 }));
    assert.equal(a.skips.length, 1);
  });

  it('carries a ShuffleNet skip through one output of a Split', () => {
    const b = new GraphBuilder();
    const x = b.op('Relu', [b.conv(b.input('x'))], { name: '/stem' });
    const [left, right] = b.opN('Split', [x], { name: '/split', outputs: 2, attrs: { axis: 1 } });
    const cat = b.op('Concat', [left, branch(b, right, '/b')], { name: '/cat' });
    const shuffled = b.op('Reshape', [
      b.op('Transpose', [b.op('Reshape', [cat, b.init('s1', [5], [1, 2, 2, 4, 4])])]),
      b.init('s2', [4], [1, 4, 4, 4]),
    ]);
    b.output(shuffled);
    const a = analyzeSkips(b.model());
    assert.deepEqual(a.counts, counts({ concat: 1 }));
    assert.deepEqual(a.skips[0].skipNodes, ['/split']);
    assert.equal(a.skips[0].sourceNode, '/stem');
  });

  it('calls an FPN lateral (1×1 projection beside a deeper, upsampled level) a long projection skip', () => {
    const b = new GraphBuilder();
    const c4 = b.op('Relu', [b.conv(b.input('x'))], { name: '/c4' });
    const c5 = b.op('Relu', [branch(b, c4, '/layer4', 2)], { name: '/c5' });
    const p5 = b.conv(c5, 1, { name: '/p5' });
    const lateral = b.conv(c4, 1, { name: '/lateral4' });
    b.output(
      b.op('Add', [lateral, b.op('Resize', [p5, '', b.init('sc', [4], [1, 1, 2, 2])])], { name: '/p4' }),
    );
    const a = analyzeSkips(b.model());
    assert.deepEqual(a.counts, counts({ long: 1 }));
    assert.equal(a.skips[0].kind, 'long');
    assert.equal(a.skips[0].projection, true);
    assert.deepEqual(a.skips[0].skipNodes, ['/lateral4']);
    assert.deepEqual(a.skips[0].resolution, { down: 2, up: 2 });
  });

  it('treats a Gather from a weight table as a learned embedding, not a carry op', () => {
    const b = new GraphBuilder();
    const ids = b.input('ids');
    const emb = b.op('Gather', [b.init('table', [100, 8]), ids], { name: '/embed' });
    const h = b.op(
      'Add',
      [
        emb,
        b.op('MatMul', [b.op('Relu', [b.op('MatMul', [emb, b.init('w1', [8, 8])])]), b.init('w2', [8, 8])]),
      ],
      { name: '/add' },
    );
    b.output(h);
    const a = analyzeSkips(b.model());
    assert.deepEqual(a.counts, counts({ residual: 1 }));
    assert.equal(a.skips[0].sourceNode, '/embed');
    assert.equal(a.skips[0].bypassedKind, 'linear');
  });

  it('reads quantized merges (QLinearAdd) with their scales set aside', () => {
    const b = new GraphBuilder();
    const x = b.op('Relu', [b.conv(b.input('x'))]);
    const q = (name: string): string => b.init(name, [1]);
    b.output(
      b.op('QLinearAdd', [x, q('sa'), q('za'), branch(b, x, '/b'), q('sb'), q('zb'), q('sc'), q('zc')]),
    );
    const a = analyzeSkips(b.model());
    assert.deepEqual(a.counts, counts({ residual: 1 }));
    assert.equal(a.skips[0].skipInput, 0);
  });
});
