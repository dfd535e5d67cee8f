/**
 * Pooling and Resize attribute values the executor does not implement fail with a ModelError
 * naming the node, instead of computing something else. Each case edits one attribute of a node
 * in the committed variants graph (test/fixtures/grads/tiny_pool_resize_variants.onnx, written by
 * scripts/make_grad_refs.py), whose unedited forward pass matches onnxruntime (forward.test.ts).
 */
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { openModel } from '../../../runtime/analysis/openModel';
import { Executor } from '../../../runtime/probe/executor';
import { initBackend } from '../../../runtime/probe/backend';
import { isModelError } from '../../../runtime/errors';
import type { AttrValue } from '../../../runtime/model/ir';

const file = path.resolve(__dirname, '../../../test/fixtures/grads/tiny_pool_resize_variants.onnx');

interface Case {
  node: string;
  op?: string;
  attrs: Record<string, AttrValue>;
  problem: RegExp;
}

const cases: Case[] = [
  { node: 'cubic_pt_half', attrs: { antialias: 1 }, problem: /antialias/ },
  { node: 'cubic_pt_half', attrs: { axes: [2, 3] }, problem: /axes/ },
  { node: 'cubic_pt_half', attrs: { mode: 'area' }, problem: /area resizing/ },
  {
    node: 'cubic_pt_half',
    attrs: { coordinate_transformation_mode: 'tf_crop_and_resize' },
    problem: /tf_crop/,
  },
  { node: 'cubic_pt_half_one', attrs: { keep_aspect_ratio_policy: 'not_larger' }, problem: /not_larger/ },
  { node: 'lp3', attrs: { p: 0 }, problem: /p = 0/ },
  { node: 'max_1d_dilated', attrs: { storage_order: 2 }, problem: /storage_order 2/ },
  { node: 'lp3', attrs: { kernel_shape: [9, 3] }, problem: /window \(9\) larger/ },
];

describe('probe executor: unsupported pooling and Resize attributes', () => {
  before(async () => {
    await initBackend('wasm');
  });

  it('runs the unedited variants graph', async () => {
    const model = await openModel(file);
    const ex = new Executor(model);
    const x = tf.ones([2, 3, 7, 9]);
    try {
      const outs = ex.forward({ [model.graph.inputs[0]]: x });
      assert.equal(outs.length, model.graph.outputs.length);
      tf.dispose(outs);
    } finally {
      x.dispose();
      ex.dispose();
    }
  });

  for (const k of cases) {
    it(`${k.node} with ${JSON.stringify(k.attrs)}${k.op ? ` as ${k.op}` : ''} is refused, naming the node`, async () => {
      const model = await openModel(file);
      const node = model.graph.nodes.find((n) => n.name === k.node);
      assert.ok(node, `no node ${k.node} in the fixture`);
      if (k.op) node.op = k.op;
      Object.assign(node.attributes, k.attrs);
      const ex = new Executor(model);
      const x = tf.ones([2, 3, 7, 9]);
      try {
        assert.throws(
          () => ex.forward({ [model.graph.inputs[0]]: x }),
          (e: unknown) =>
            isModelError(e) && e.message.includes(`node "${k.node}"`) && k.problem.test(e.message),
        );
      } finally {
        x.dispose();
        ex.dispose();
      }
    });
  }
});
