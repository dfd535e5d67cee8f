/**
 * The status bar item of the active model editor: format, node count and skip counts.
 */
import * as vscode from 'vscode';
import type { ViewModel } from '../runtime/view/viewModel';

/** What the item says about one model. */
export interface ModelSummary {
  text: string;
  tooltip: string;
}

/** The summary of a view model: "ONNX · 49 nodes · 8 residual (3 projection)". */
export function summarize(view: ViewModel): ModelSummary {
  const c = view.skips.counts;
  const nodes = view.nodes.filter((n) => !n.hidden).length;
  const format =
    view.format === 'onnx' ? 'ONNX' : view.format === 'tfjs-layers' ? 'TF.js layers' : 'TF.js graph';
  const parts: string[] = [];
  if (c.residual) parts.push(`${c.residual} residual${c.projection ? ` (${c.projection} projection)` : ''}`);
  if (c.concat) parts.push(`${c.concat} concat`);
  if (c.long) parts.push(`${c.long} long`);
  const skips = parts.length ? parts.join(', ') : 'no skips';
  const tooltip = [
    `${view.description}`,
    `${nodes} nodes (${view.nodes.length - nodes} constants/shape ops hidden)`,
    `Skips: ${c.residual} residual, ${c.projection} projection, ${c.concat} concat, ${c.long} long`,
    `Merges: ${c.gate} gates, ${c.parallel} parallel`,
  ].join('\n');
  return { text: `$(type-hierarchy) ${format} · ${nodes} nodes · ${skips}`, tooltip };
}

/** One status bar item, showing the summary of whichever model editor is active. */
export class ModelStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem(
    'skipscope.model',
    vscode.StatusBarAlignment.Right,
    100,
  );
  private owner?: object;

  constructor() {
    this.item.name = 'Skipscope Model';
  }

  /** Shows `summary` for the editor `owner` (which is now active). */
  show(owner: object, summary: ModelSummary): void {
    this.owner = owner;
    this.item.text = summary.text;
    this.item.tooltip = summary.tooltip;
    this.item.show();
  }

  /** Hides the item if `owner` is the editor it describes. */
  hide(owner: object): void {
    if (this.owner !== owner) return;
    this.owner = undefined;
    this.item.hide();
  }

  dispose(): void {
    this.item.dispose();
  }
}
