/**
 * The status bar item naming the backend (and, on a GPU, the adapter) the last gradient probe ran
 * on, so that a user can see at a glance whether probes use the GPU.
 */
import * as vscode from 'vscode';
import type { ProbeResult } from '../runtime/probe/probeTypes';

/** One item, updated after each probe run. */
export class BackendStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem(
    'skipscope.probeBackend',
    vscode.StatusBarAlignment.Right,
    99,
  );

  constructor() {
    this.item.name = 'Skipscope Probe Backend';
    this.item.command = 'skipscope.showRuntimeInfo';
  }

  /** Shows the backend of `result`. */
  show(backend: ProbeResult['backend']): void {
    const a = backend.adapter;
    const where = a ? ` · ${a.device || a.description || a.vendor}${a.hardware ? '' : ' (software)'}` : '';
    this.item.text = `$(${a ? 'circuit-board' : 'server-process'}) ${backend.name}${where}`;
    this.item.tooltip = `Gradient probes ran on ${backend.name}: ${backend.device}`;
    this.item.show();
  }

  dispose(): void {
    this.item.dispose();
  }
}
