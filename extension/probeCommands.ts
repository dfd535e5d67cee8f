/**
 * The gradient-flow commands: Analyze Gradient Flow (run setup with quick picks), Run Again (the
 * remembered settings), Cut Skips and Compare (an intact and a cut run of the same batches, shown
 * as A and B), Export Gradient Report, and the run itself: progress "batch i of N on BACKEND",
 * cancellation that stops within a second (a pass in flight cannot be interrupted inside the
 * sidecar, so after a grace period the sidecar is restarted), the status bar item and errors with
 * Show Log. Off in untrusted workspaces (a probe executes the model and may load native TensorFlow).
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  CANCEL_GRACE_MS,
  ModelOpen,
  ProbeProgress,
  ProbeReport,
  ProbeRun,
  type ProbeRunResult,
} from '../runtime/protocol/sidecarProtocol';
import { jsonSafe, reviveNonFinite } from '../runtime/protocol/nonFiniteJson';
import type { ProbeOptions } from '../runtime/probe/probeTypes';
import { timingBrief, timingText } from '../runtime/view/timingText';
import type { ExtensionServices } from './extension';
import { askProbeOptions, optionsFromSettings, rememberedOptions } from './probeSetup';
import { addRun, intactTwin, setCompared, shownRun, type StoredRun } from './runStore';
import { SidecarStoppedError } from './sidecarClient';
import { displayName, messageText } from '../runtime/view/displayName';

/** Why probes are off in an untrusted workspace, shown to the user. */
export const UNTRUSTED_MESSAGE =
  'Skipscope runs gradient probes only in trusted workspaces: a probe executes the model and can load native TensorFlow. Trust this workspace (Workspaces: Manage Workspace Trust) to analyze gradient flow.';

/** The model a command runs on: the argument, the active model editor, or the active .onnx/model.json file. */
function targetModel(arg: unknown): vscode.Uri | undefined {
  if (arg instanceof vscode.Uri) return arg;
  const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  if (input instanceof vscode.TabInputCustom && input.viewType.startsWith('skipscope.')) return input.uri;
  if (input instanceof vscode.TabInputText && /\.(onnx|json)$/.test(input.uri.path)) return input.uri;
  return undefined;
}

async function modelUri(arg: unknown): Promise<vscode.Uri | undefined> {
  return (
    targetModel(arg) ??
    (await vscode.window.showOpenDialog({ filters: { Models: ['onnx', 'json'] }, canSelectMany: false }))?.[0]
  );
}

let nextRun = 1;
/** Progress listeners of the runs in flight, by run id (one notification handler serves all). */
const listeners = new Map<number, (p: { done: number; total: number; message: string }) => void>();

/** An error as a notification with a Show Log action (names in it shown as text: messageText). */
function showError(s: ExtensionServices, msg: string): void {
  s.log.error(msg);
  void vscode.window
    .showErrorMessage(messageText(`Skipscope: ${msg}`), 'Show Log')
    .then((a) => a && s.log.show());
}

/**
 * The sidecar stopped under a probe: says so, keeps everything open (the graph, earlier runs),
 * and offers to run the same probe again in a new sidecar.
 */
function stoppedDuringProbe(
  s: ExtensionServices,
  uri: vscode.Uri,
  options: ProbeOptions,
  compareWith: number | undefined,
  e: SidecarStoppedError,
): void {
  const msg = `Skipscope: the sidecar stopped (${e.exit}) during the gradient probe of ${path.basename(uri.fsPath)}, so this run measured nothing. The graph and earlier runs are kept; Run Again starts a new sidecar.`;
  s.log.error(msg);
  void vscode.window.showErrorMessage(messageText(msg), 'Run Again', 'Show Log').then((a) => {
    if (a === 'Run Again') void execute(s, uri, options, compareWith);
    if (a === 'Show Log') s.log.show();
  });
}

/** The status bar item: the backend that ran and when, for the last run. */
class ProbeStatus implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem(
    'skipscope.probe',
    vscode.StatusBarAlignment.Right,
    99,
  );
  constructor() {
    this.item.name = 'Skipscope Gradient Probe';
    this.item.command = 'skipscope.runAgain';
  }
  show(run: StoredRun, file: string): void {
    const r = run.result;
    // On a GPU, the adapter too: whether probes really use the GPU is the first thing to check.
    const a = r.backend.adapter;
    const gpu = a ? ` · ${a.device || a.description || a.vendor}${a.hardware ? '' : ' (software)'}` : '';
    this.item.text = `$(pulse) ${timingBrief(r)}${gpu} · ${run.finished.toLocaleTimeString()}`;
    this.item.tooltip = `Last gradient probe: ${file}, ${run.overlay.run?.name}, on ${r.backend.device}: ${timingText(r)}. Click to run again.`;
    this.item.show();
  }
  dispose(): void {
    this.item.dispose();
  }
}

let status: ProbeStatus | undefined;

/**
 * Runs a probe on `uri` with `options`, with progress and cancellation, and stores the run
 * (compared with run `compareWith` when given). Undefined when cancelled or failed (said already).
 */
async function execute(
  s: ExtensionServices,
  uri: vscode.Uri,
  options: ProbeOptions,
  compareWith?: number,
): Promise<StoredRun | undefined> {
  const runId = nextRun++;
  const file = path.basename(uri.fsPath);
  const what = options.cut ? `cut run of ${file}` : file;
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Gradient flow of ${what}`, cancellable: true },
    async (progress, token) => {
      let last = 0;
      progress.report({ message: `starting on ${options.backend ?? 'auto'}…` });
      listeners.set(runId, (p) => {
        if (p.total === 0) return;
        const pct = (100 * p.done) / p.total;
        progress.report({ increment: pct - last, message: p.message });
        last = pct;
      });
      const cts = new vscode.CancellationTokenSource();
      let request: Promise<unknown> | undefined;
      let stopped: Promise<void> | undefined;
      token.onCancellationRequested(() => {
        cts.cancel();
        stopped = stopRun(s, uri, request);
      });
      try {
        const { handle } = await s.sidecar.request(ModelOpen, { file: uri.fsPath });
        if (token.isCancellationRequested) return undefined;
        const probe = s.sidecar.request(ProbeRun, { handle, runId, options }, cts.token);
        request = probe;
        const answer = await probe;
        if (token.isCancellationRequested) return undefined;
        const { result, overlay } = reviveNonFinite<ProbeRunResult>(answer);
        const run = addRun(uri, options, result, overlay, compareWith);
        s.log.info(
          `gradient flow of ${uri.fsPath} (${run.overlay.run?.name}) on ${result.backend.name} (${result.backend.device}): ${result.diagnosis?.text ?? result.summary.text}`,
        );
        status?.show(run, file);
        void vscode.window.showInformationMessage(
          messageText(`${result.summary.text} Probe: ${timingText(result)}.`),
        );
        return run;
      } catch (e) {
        if (token.isCancellationRequested) return undefined;
        if (e instanceof SidecarStoppedError) stoppedDuringProbe(s, uri, options, compareWith, e);
        else showError(s, e instanceof Error ? e.message : String(e));
        return undefined;
      } finally {
        // A cancelled run ends only once it has stopped (answered, or its sidecar exited).
        await stopped;
        listeners.delete(runId);
        cts.dispose();
      }
    },
  );
}

/** Cancelled runs still stopping; a command waits for them before it uses the sidecar, which may restart. */
const stopping = new Set<Promise<void>>();

/** Resolves once no cancelled run is still stopping. */
async function runsStopped(): Promise<void> {
  while (stopping.size) await Promise.all(stopping);
}

/**
 * Stops a cancelled run: the sidecar answers the cancellation between batches; a pass in flight is
 * synchronous, so if `request` has not settled within the grace period the sidecar is restarted
 * (editors reopen their models). Resolves when the run has stopped, and logs how long that took.
 */
function stopRun(
  s: ExtensionServices,
  uri: vscode.Uri,
  request: Promise<unknown> | undefined,
): Promise<void> {
  const t0 = Date.now();
  s.log.info(`probe of ${uri.fsPath}: Cancel requested`);
  const done = new Promise<void>((resolve) => {
    if (!request) return resolve();
    let restarting = false;
    const timer = setTimeout(() => {
      restarting = true;
      s.log.info(
        `probe of ${uri.fsPath} still running ${CANCEL_GRACE_MS} ms after Cancel: restarting the sidecar`,
      );
      void s.sidecar.restart().then(resolve);
    }, CANCEL_GRACE_MS);
    const settled = () => {
      if (restarting) return; // the restart rejected it: done once the process has exited
      clearTimeout(timer);
      resolve();
    };
    request.then(settled, settled);
  }).then(() => {
    s.log.info(`probe of ${uri.fsPath} cancelled: stopped ${Date.now() - t0} ms after Cancel`);
    stopping.delete(done);
  });
  stopping.add(done);
  return done;
}

function trusted(): boolean {
  if (vscode.workspace.isTrusted) return true;
  void vscode.window.showWarningMessage(UNTRUSTED_MESSAGE);
  return false;
}

async function analyzeGradientFlow(s: ExtensionServices, arg: unknown): Promise<void> {
  if (!trusted()) return;
  await runsStopped();
  const uri = await modelUri(arg);
  if (!uri) return;
  let inputs: string[] = [];
  try {
    inputs = (await s.sidecar.request(ModelOpen, { file: uri.fsPath })).view.inputs.map((i) => i.name);
  } catch (e) {
    showError(s, e instanceof Error ? e.message : String(e));
    return;
  }
  const options = await askProbeOptions(s, uri, inputs);
  if (options) await execute(s, uri, options);
}

async function runAgain(s: ExtensionServices, arg: unknown): Promise<void> {
  if (!trusted()) return;
  await runsStopped();
  const uri = await modelUri(arg);
  if (!uri) return;
  await execute(s, uri, rememberedOptions(s, uri) ?? optionsFromSettings());
}

/** Cuts `merges` (asks which when not given): an intact run (reused when one exists) and a cut run, compared. */
async function cutSkips(s: ExtensionServices, arg: unknown, merges?: unknown): Promise<void> {
  if (!trusted()) return;
  await runsStopped();
  const uri = await modelUri(arg);
  if (!uri) return;
  let cut: string[] | 'all' | undefined = Array.isArray(merges) ? merges.map(String) : undefined;
  if (!cut) {
    let view;
    try {
      view = (await s.sidecar.request(ModelOpen, { file: uri.fsPath })).view;
    } catch (e) {
      showError(s, e instanceof Error ? e.message : String(e));
      return;
    }
    const withSkips = view.skips.merges.filter((m) => m.skips.length > 0);
    if (!withSkips.length) {
      void vscode.window.showInformationMessage(
        `${path.basename(uri.fsPath)} has no skip connections to cut.`,
      );
      return;
    }
    const all = { label: `All skips (${withSkips.length} merges)`, value: 'all' as const };
    const items = [
      all,
      ...withSkips.map((m) => ({
        label: displayName(m.node),
        description: `${m.kind} merge (${displayName(m.op)})`,
        value: m.node,
      })),
    ];
    const picked = await vscode.window.showQuickPick(items, {
      title: 'Cut skips: their merge inputs read zeros; the run is compared with the intact one',
      canPickMany: true,
      ignoreFocusOut: true,
    });
    if (!picked?.length) return;
    cut = picked.some((p) => p.value === 'all') ? 'all' : picked.map((p) => p.value);
  }
  const options = { ...(rememberedOptions(s, uri) ?? optionsFromSettings()), cut: undefined };
  const intact = intactTwin(uri, options) ?? (await execute(s, uri, options));
  if (!intact) return;
  await execute(s, uri, { ...options, cut }, intact.id);
}

async function exportReport(s: ExtensionServices, arg: unknown, dirArg?: unknown): Promise<void> {
  await runsStopped();
  const uri = await modelUri(arg);
  if (!uri) return;
  const run = shownRun(uri);
  if (!run) {
    void vscode.window.showWarningMessage(
      `No gradient probe of ${path.basename(uri.fsPath)} yet: run Skipscope: Analyze Gradient Flow first.`,
    );
    return;
  }
  let dir = typeof dirArg === 'string' ? dirArg : undefined;
  if (!dir) {
    const picked = await vscode.window.showOpenDialog({
      title: 'Folder for the gradient report',
      canSelectFiles: false,
      canSelectFolders: true,
      canSelectMany: false,
      defaultUri: vscode.Uri.file(path.dirname(uri.fsPath)),
    });
    if (!picked?.[0]) return;
    dir = picked[0].fsPath;
  }
  try {
    const { handle } = await s.sidecar.request(ModelOpen, { file: uri.fsPath });
    const { files } = await s.sidecar.request(ProbeReport, { handle, result: jsonSafe(run.result), dir });
    s.log.info(`gradient report of ${uri.fsPath}: ${files.join(', ')}`);
    const open = await vscode.window.showInformationMessage(
      `Wrote the gradient report of ${path.basename(uri.fsPath)} (${files.length} files) to ${dir}.`,
      'Open Report',
    );
    if (open) await vscode.window.showTextDocument(vscode.Uri.file(path.join(dir, 'report.md')));
  } catch (e) {
    // Nothing was written (writeReport is all or nothing): say why, and offer another folder.
    const why =
      e instanceof SidecarStoppedError
        ? `the sidecar stopped (${e.exit}) while it wrote the gradient report of ${path.basename(uri.fsPath)}; nothing was written.`
        : e instanceof Error
          ? e.message
          : String(e);
    s.log.error(why);
    const action = await vscode.window.showErrorMessage(
      messageText(`Skipscope: ${why}`),
      'Choose Another Folder',
      'Show Log',
    );
    if (action === 'Choose Another Folder') await exportReport(s, uri);
    if (action === 'Show Log') s.log.show();
  }
}

/** Registers the gradient-flow commands and the status bar item. */
export function registerProbeCommands(s: ExtensionServices): void {
  status = new ProbeStatus();
  s.sidecar.onNotification(ProbeProgress, (p) => listeners.get(p.runId)?.(p));
  const commands: Record<string, (...args: unknown[]) => unknown> = {
    'skipscope.analyzeGradientFlow': (arg) => analyzeGradientFlow(s, arg),
    'skipscope.runAgain': (arg) => runAgain(s, arg),
    'skipscope.cutSkips': (arg, merges) => cutSkips(s, arg, merges),
    'skipscope.exportGradientReport': (arg, dir) => exportReport(s, arg, dir),
    // From the editor's run list: show run a, compared with b.
    'skipscope.compareRuns': (arg, a, b) => {
      if (arg instanceof vscode.Uri && typeof a === 'number')
        setCompared(arg, a, typeof b === 'number' ? b : undefined);
    },
  };
  s.context.subscriptions.push(
    status,
    ...Object.entries(commands).map(([id, f]) => vscode.commands.registerCommand(id, f)),
  );
}
