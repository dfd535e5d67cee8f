import { strict as assert } from 'node:assert';
import { buildViewModel } from '../../../runtime/view/buildViewModel';
import { nodeCard, nodeCardMarkdown, skipRoleOf } from '../../../runtime/view/nodeCard';
import type { GradientOverlay } from '../../../runtime/view/viewModel';
import { tinyResidual } from './tinyModel';

describe('nodeCard', () => {
  const { model, analysis } = tinyResidual();
  const view = buildViewModel(model, analysis);

  it('describes op, shapes, params and FLOPs', () => {
    const card = nodeCard(view, '/layer1/conv1/Conv')!;
    assert.equal(card.title, 'Conv');
    const rows = Object.fromEntries(card.rows);
    assert.equal(rows.inputs, 'batch×8×4×4');
    assert.equal(rows.outputs, '1×8×4×4');
    assert.equal(rows.weights, '8×8×3×3');
    assert.equal(rows.params, '576');
    assert.equal(rows.FLOPs, '147 k');
    assert.equal(rows.scope, 'layer1/conv1');
    assert.doesNotMatch(card.skipRole ?? '', /merges/i, 'a conv merges nothing');
  });

  it('says what a merge does with its skip', () => {
    const role = nodeCard(view, '/layer1/Add')!.skipRole;
    // The wording is the analysis' (runtime/analysis/skipRole.ts); the card must carry it.
    assert.match(role ?? '', /^Merges a residual skip from .*\bx\b.* that bypasses 2 learned ops\.$/);
    assert.equal(skipRoleOf(view, '/Relu'), undefined);
  });

  it('adds gradient rows when a probe has run', () => {
    const grads: GradientOverlay = {
      label: 'test',
      nodes: { '/layer1/Add': { rms: 0.00123, zeroFraction: 0.25 } },
      merges: { '/layer1/Add': { skipRms: 1, branchRms: 1, skipShare: 0.5 } },
    };
    const rows = Object.fromEntries(nodeCard(view, '/layer1/Add', grads)!.rows);
    assert.equal(rows['grad RMS'], '0.00123');
    assert.equal(rows['dead units'], '25.0%');
    assert.equal(rows['skip share'], '50.0% of the gradient');
  });

  it('shows each gradient statistic as mean ± spread over batches when there were several', () => {
    const grads: GradientOverlay = {
      label: 'test',
      nodes: {
        '/layer1/conv1/Conv': {
          rms: 0.00123,
          rmsSpread: 0.0000456,
          zeroFraction: 0.25,
          zeroFractionSpread: 0.0125,
          paramL2: 1,
          paramRatio: 0.5,
          paramRatioSpread: 0.02,
        },
      },
      merges: {},
    };
    const rows = Object.fromEntries(nodeCard(view, '/layer1/conv1/Conv', grads)!.rows);
    assert.equal(rows['grad RMS'], '0.00123 ± 4.56e-5');
    assert.equal(rows['dead units'], '25.0% ± 1.3%');
    assert.equal(rows['grad/weight'], '0.5 ± 0.02');
  });

  it('shows NaN/Infinity by name, how many elements held them and where they began', () => {
    const grads: GradientOverlay = {
      label: 'test',
      nodes: { '/layer1/Add': { rms: Infinity, zeroFraction: 0, nonFinite: 1234, paramRatio: NaN } },
      merges: {},
      nonFinite: { node: '/layer1/Add', message: 'the gradient first holds NaN or Infinity here' },
    };
    const rows = Object.fromEntries(nodeCard(view, '/layer1/Add', grads)!.rows);
    assert.equal(rows['grad RMS'], 'Infinity');
    assert.equal(rows['NaN/Inf'], '1,234 gradient elements');
    assert.equal(rows['first NaN/Inf'], 'the gradient first holds NaN or Infinity here');
    assert.equal(rows['grad/weight'], 'NaN');
    assert.equal(rows['dead units'], undefined);
  });

  it('renders Markdown for text hovers and nothing for unknown nodes', () => {
    const md = nodeCardMarkdown(view, '/layer1/Add')!;
    assert.match(md, /^\*\*Add\*\* — \/layer1\/Add/);
    assert.match(md, /_Merges a residual skip/);
    assert.match(md, /\| params \| 0 \|/);
    assert.equal(nodeCard(view, 'nope'), undefined);
    assert.equal(nodeCardMarkdown(view, 'nope'), undefined);
  });
});
