/**
 * "Skipscope: Analyze Gradient Flow": asks the sidecar to run gradient probes on a model, with
 * progress and cancellation, then shows the overlay in the model's editors and the summary. Off
 * in untrusted workspaces (a probe executes the model and may load native TensorFlow).
 */
import * as vscode from 'vscode';
import { ModelOpen, ProbeProgress, ProbeRun } from '../runtime/protocol/sidecarProtocol';
import type { BackendName, ProbeOptions } from '../runtime/probe/probeTypes';
import { toGradientOverlay } from '../runtime/probe/gradientOverlay';
import { showGradients } from './modelEditorProvider';
import type { ExtensionServices } from './extension';
import { BackendStatusBar } from './backendStatus';

/** Why probes are off in an untrusted workspace, shown to the user. */
export const UNTRUSTED_MESSAGE =
  'Skipscope runs gradient probes only in trusted workspaces: a probe executes the model and can load native TensorFlow. Trust this workspace (Workspaces: Manage Workspace Trust) to analyze gradient flow.';

/** The model the command runs on: the argument, the active model editor, or the active .onnx/model.json file. */
function targetModel(arg: unknown): vscode.Uri | undefined {
  if (arg instanceof vscode.Uri) return arg;
  const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  if (input instanceof vscode.TabInputCustom && input.viewType.startsWith('skipscope.')) return input.uri;
  if (input instanceof vscode.TabInputText && /\.(onnx|json)$/.test(input.uri.path)) return input.uri;
  return undefined;
}

/** Probe options from the settings; the native folder only from the machine-scoped (user) value. */
function optionsFromSettings(): ProbeOptions {
  const cfg = vscode.workspace.getConfiguration('skipscope.probe');
  const native = cfg.inspect<string>('nativeBackendPath')?.globalValue;
  return {
    source: { kind: 'synthetic' },
    batchSize: cfg.get<number>('batchSize', 4),
    batches: cfg.get<number>('batches', 2),
    loss: 'mean-square',
    backend: cfg.get<BackendName | 'auto'>('backend', 'auto'),
    nativePath: native || undefined,
  };
}

let nextRun = 1;
/** Progress listeners of the runs in flight, by run id (one notification handler serves all). */
const listeners = new Map<number, (p: { done: number; total: number; message: string }) => void>();

async function analyzeGradientFlow(
  s: ExtensionServices,
  status: BackendStatusBar,
  arg: unknown,
): Promise<void> {
  if (!vscode.workspace.isTrusted) {
    void vscode.window.showWarningMessage(UNTRUSTED_MESSAGE);
    return;
  }
  const uri =
    targetModel(arg) ??
    (
      await vscode.window.showOpenDialog({ filters: { Models: ['onnx', 'json'] }, canSelectMany: false })
    )?.[0];
  if (!uri) return;
  const runId = nextRun++;
  const options = optionsFromSettings();
  await vscode.window.withProgress(
    {
      location: vscode.ProgressLocation.Notification,
      title: `Analyzing gradient flow of ${uri.path.split('/').pop()}`,
      cancellable: true,
    },
    async (progress, token) => {
      let last = 0;
      listeners.set(runId, (p) => {
        if (p.total === 0) return;
        const pct = (100 * p.done) / p.total;
        progress.report({ increment: pct - last, message: p.message });
        last = pct;
      });
      try {
        const { handle } = await s.sidecar.request(ModelOpen, { file: uri.fsPath });
        const result = await s.sidecar.request(ProbeRun, { handle, runId, options }, token);
        showGradients(uri, toGradientOverlay(result));
        status.show(result.backend);
        s.log.info(
          `gradient flow of ${uri.fsPath} on ${result.backend.name} (${result.backend.device}): ${result.summary.text}`,
        );
        void vscode.window.showInformationMessage(result.summary.text);
      } catch (e) {
        if (token.isCancellationRequested) return;
        const msg = e instanceof Error ? e.message : String(e);
        s.log.error(`gradient probe failed: ${msg}`);
        void vscode.window.showErrorMessage(`Skipscope: ${msg}`);
      } finally {
        listeners.delete(runId);
      }
    },
  );
}

/** Registers the gradient-flow command (it refuses, saying why, in untrusted workspaces). */
export function registerProbeCommands(s: ExtensionServices): void {
  s.sidecar.onNotification(ProbeProgress, (p) => listeners.get(p.runId)?.(p));
  const status = new BackendStatusBar();
  s.context.subscriptions.push(
    status,
    vscode.commands.registerCommand('skipscope.analyzeGradientFlow', (arg?: unknown) =>
      analyzeGradientFlow(s, status, arg),
    ),
  );
}
