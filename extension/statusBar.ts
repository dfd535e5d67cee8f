/**
 * The status bar item of the active model editor: format, node count and skip counts.
 */
import * as vscode from 'vscode';
import type { ModelSummary } from '../runtime/view/summary';

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
