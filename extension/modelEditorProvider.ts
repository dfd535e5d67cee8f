/**
 * The read-only custom editor for model files (ONNX by default, TF.js model.json through "Open
 * With…"): asks the sidecar to open the model and hands the view model to the webview; relays
 * tensor statistics, gradient overlays and "open as text". No model logic lives here.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { ModelClose, ModelOpen, ModelTensorStats } from '../runtime/protocol/sidecarProtocol';
import type { GradientOverlay, ViewModel } from '../runtime/view/viewModel';
import { jsonSafe } from '../runtime/protocol/nonFiniteJson';
import type { FromWebviewMessage, ToWebviewMessage } from '../webview/protocol';
import type { ExtensionServices } from './extension';
import { registerModelCodeLens } from './modelCodeLens';
import { summarize, type ModelSummary } from '../runtime/view/summary';
import { ModelStatusBar } from './statusBar';
import { webviewHtml } from './webviewHtml';
import { onRunsChanged, runsOf } from './runStore';
import { SidecarStoppedError } from './sidecarClient';

/** View type of the model editor for *.onnx (the default editor for them). */
export const MODEL_EDITOR_VIEW_TYPE = 'skipscope.modelEditor';
/** View type of the same editor offered for model.json files (an "Open With…" option). */
export const MODEL_JSON_EDITOR_VIEW_TYPE = 'skipscope.modelJsonEditor';

/** How long a burst of change events (a truncate, then writes) settles before the file is read again. */
const RELOAD_DEBOUNCE_MS = 300;

class ModelDocument implements vscode.CustomDocument {
  /** The sidecar's handle; undefined until opened, and again after the sidecar restarts. */
  handle?: number;
  /** Each editor of the document, and whether it shows a graph (a failed re-read keeps it). */
  readonly panels = new Map<vscode.WebviewPanel, { hasGraph: boolean }>();
  summary?: ModelSummary;
  /** Watches the file, so that a model rewritten, truncated or deleted on disk is said and re-read. */
  watcher?: vscode.Disposable;
  reloadTimer?: ReturnType<typeof setTimeout>;
  constructor(
    readonly uri: vscode.Uri,
    private readonly onDispose: (d: ModelDocument) => void,
  ) {}
  dispose(): void {
    clearTimeout(this.reloadTimer);
    this.watcher?.dispose();
    this.onDispose(this);
  }
}

/** The message for a model that could not be (re)read; `fileName` is the file's base name. */
function openFailure(e: unknown, fileName: string): string {
  if (e instanceof SidecarStoppedError)
    return `The Skipscope sidecar stopped (${e.exit}) while it read ${fileName}. Retry starts a new one and reads the file again.`;
  return e instanceof Error ? e.message : String(e);
}

/** Open model documents, so that probes and the text view can post to their editors. */
const documents = new Set<ModelDocument>();

function post(panel: vscode.WebviewPanel, m: ToWebviewMessage): void {
  void panel.webview.postMessage(m);
}

/** Shows a probe run's gradient statistics (or clears them with null) in the editors of `uri`. */
export function showGradients(uri: vscode.Uri, overlay: GradientOverlay | null): void {
  for (const d of documents)
    if (d.uri.toString() === uri.toString())
      for (const p of d.panels.keys()) post(p, { type: 'gradients', overlay: overlay && jsonSafe(overlay) });
}

/** The runs message for `uri`: every run's overlay, and the pair shown. */
function runsMessage(uri: vscode.Uri): ToWebviewMessage {
  const r = runsOf(uri);
  return { type: 'runs', runs: r.runs.map((x) => x.overlay), a: r.a, b: r.b };
}

/** Selects and centres node `name` in the editors of `uri`. */
export function revealNodeInGraph(uri: vscode.Uri, name: string): void {
  for (const d of documents)
    if (d.uri.toString() === uri.toString())
      for (const p of d.panels.keys()) post(p, { type: 'revealNode', name });
}

class ModelEditorProvider implements vscode.CustomReadonlyEditorProvider<ModelDocument> {
  constructor(
    private readonly s: ExtensionServices,
    private readonly statusBar: ModelStatusBar,
  ) {}

  openCustomDocument(uri: vscode.Uri): ModelDocument {
    const doc = new ModelDocument(uri, (d) => {
      documents.delete(d);
      if (d.handle !== undefined)
        void this.s.sidecar.request(ModelClose, { handle: d.handle }).catch(() => undefined);
    });
    documents.add(doc);
    doc.watcher = this.watch(doc);
    return doc;
  }

  /**
   * Watches the document's file: a change or re-creation reads it again (after the burst of events
   * settles); a deletion is said over the graph, which stays.
   */
  private watch(doc: ModelDocument): vscode.Disposable {
    const file = doc.uri.path.split('/').pop() ?? '';
    const watcher = vscode.workspace.createFileSystemWatcher(
      new vscode.RelativePattern(vscode.Uri.joinPath(doc.uri, '..'), file),
    );
    const changed = () => {
      clearTimeout(doc.reloadTimer);
      doc.reloadTimer = setTimeout(() => void this.reload(doc, 'changed'), RELOAD_DEBOUNCE_MS);
    };
    watcher.onDidChange(changed);
    watcher.onDidCreate(changed);
    watcher.onDidDelete(() => {
      clearTimeout(doc.reloadTimer);
      const name = path.basename(doc.uri.fsPath);
      this.s.log.warn(`${doc.uri.fsPath} was deleted`);
      this.tell(
        doc,
        `${name} was deleted from disk. The graph shows the version read before; Retry reads the file again once it is back.`,
      );
    });
    return watcher;
  }

  /** Says `message` in each editor of `doc`: over its graph, or as its error view when it has none. */
  private tell(doc: ModelDocument, message: string): void {
    const fileName = path.basename(doc.uri.fsPath);
    for (const [panel, state] of doc.panels)
      post(
        panel,
        state.hasGraph ? { type: 'fileNotice', message } : { type: 'init', fileName, error: message },
      );
  }

  /**
   * Reads the model again for every editor of `doc` (the file changed on disk, or Retry): the new
   * graph replaces the old one; when it cannot be read, editors that show a graph keep it under a
   * notice that says why, the others show the error view.
   */
  async reload(doc: ModelDocument, why?: 'changed'): Promise<void> {
    const fileName = path.basename(doc.uri.fsPath);
    try {
      const opened = await this.open(doc);
      if (why) this.s.log.info(`${doc.uri.fsPath} changed on disk: read again`);
      for (const [panel, state] of doc.panels) this.show(doc, panel, state, opened.view);
    } catch (e) {
      const reason = openFailure(e, fileName);
      this.s.log.warn(`open ${doc.uri.fsPath}: ${reason}`);
      this.tell(
        doc,
        why
          ? `${fileName} changed on disk and cannot be read now: ${reason} The graph shows the version read before.`
          : reason,
      );
    }
  }

  /** Hands `view` to one editor. */
  private show(
    doc: ModelDocument,
    panel: vscode.WebviewPanel,
    state: { hasGraph: boolean },
    view: ViewModel,
  ): void {
    const settings = {
      collapseAbove: vscode.workspace.getConfiguration('skipscope.graph').get<number>('collapseAbove', 400),
    };
    post(panel, { type: 'init', fileName: path.basename(doc.uri.fsPath), view, settings });
    state.hasGraph = true;
    if (runsOf(doc.uri).runs.length) post(panel, runsMessage(doc.uri));
    if (panel.active && doc.summary) this.statusBar.show(panel, doc.summary);
  }

  /** Opens the model in the sidecar (again, after a crash) and returns its view model. */
  private async open(doc: ModelDocument) {
    // Every editor of the document shares one handle; a reload (retry, second panel) replaces it.
    if (doc.handle !== undefined)
      void this.s.sidecar.request(ModelClose, { handle: doc.handle }).catch(() => undefined);
    doc.handle = undefined;
    this.s.log.info(`reading ${doc.uri.fsPath}`);
    const opened = await this.s.sidecar.request(ModelOpen, { file: doc.uri.fsPath });
    doc.handle = opened.handle;
    doc.summary = summarize(opened.view);
    return opened;
  }

  resolveCustomEditor(doc: ModelDocument, panel: vscode.WebviewPanel): void {
    const { context, sidecar, log } = this.s;
    const state = { hasGraph: false };
    doc.panels.set(panel, state);
    panel.webview.options = {
      enableScripts: true,
      localResourceRoots: [vscode.Uri.joinPath(context.extensionUri, 'dist')],
    };
    panel.webview.html = webviewHtml(panel.webview, context.extensionUri);
    const fileName = path.basename(doc.uri.fsPath);
    const load = async () => {
      try {
        const opened = await this.open(doc);
        this.show(doc, panel, state, opened.view);
      } catch (e) {
        const message = openFailure(e, fileName);
        log.warn(`open ${doc.uri.fsPath}: ${message}`);
        post(
          panel,
          state.hasGraph ? { type: 'fileNotice', message } : { type: 'init', fileName, error: message },
        );
      }
    };
    const handlers: {
      [K in FromWebviewMessage['type']]: (m: Extract<FromWebviewMessage, { type: K }>) => unknown;
    } = {
      ready: () => load(),
      retry: () => load(),
      openAsText: () => vscode.commands.executeCommand('vscode.openWith', doc.uri, 'default'),
      runProbe: () => vscode.commands.executeCommand('skipscope.analyzeGradientFlow', doc.uri),
      cutSkip: (m) => vscode.commands.executeCommand('skipscope.cutSkips', doc.uri, m.merges),
      compare: (m) => vscode.commands.executeCommand('skipscope.compareRuns', doc.uri, m.a, m.b),
      exportReport: () => vscode.commands.executeCommand('skipscope.exportGradientReport', doc.uri),
      rendered: (m) =>
        log.info(
          `${fileName}: ${m.drawnNodes} boxes drawn, layout ${m.layoutMs} ms, first paint ${m.firstPaintMs} ms`,
        ),
      tensorStats: async (m) => {
        try {
          if (doc.handle === undefined) await this.open(doc);
          const stats = await sidecar.request(ModelTensorStats, { handle: doc.handle!, tensor: m.tensor });
          post(panel, { type: 'tensorStatsResult', requestId: m.requestId, stats });
        } catch (e) {
          post(panel, {
            type: 'tensorStatsResult',
            requestId: m.requestId,
            error: e instanceof Error ? e.message : String(e),
          });
        }
      },
    };
    panel.webview.onDidReceiveMessage((m: FromWebviewMessage) => {
      const handler = handlers[m.type] as ((m: FromWebviewMessage) => unknown) | undefined;
      void Promise.resolve(handler?.(m)).catch((e: unknown) =>
        log.error(`webview message ${m.type}: ${String(e)}`),
      );
    });
    panel.onDidChangeViewState(() => {
      if (panel.active && doc.summary) this.statusBar.show(panel, doc.summary);
      else this.statusBar.hide(panel);
    });
    panel.onDidDispose(() => {
      doc.panels.delete(panel);
      this.statusBar.hide(panel);
    });
  }
}

/** Registers the model editors, their status bar item, the model.json CodeLens and crash reports. */
export function registerModelEditor(s: ExtensionServices): void {
  const statusBar = new ModelStatusBar();
  const provider = new ModelEditorProvider(s, statusBar);
  const options = {
    webviewOptions: { retainContextWhenHidden: true },
    supportsMultipleEditorsPerDocument: true,
  };
  s.context.subscriptions.push(
    statusBar,
    vscode.window.registerCustomEditorProvider(MODEL_EDITOR_VIEW_TYPE, provider, options),
    vscode.window.registerCustomEditorProvider(MODEL_JSON_EDITOR_VIEW_TYPE, provider, options),
    onRunsChanged((uri) => {
      for (const d of documents)
        if (d.uri.toString() === uri.toString()) for (const p of d.panels.keys()) post(p, runsMessage(uri));
    }),
    s.sidecar.onRestart(() => {
      for (const d of documents) d.handle = undefined;
    }),
    s.sidecar.onCrash(({ reason, reported }) => {
      // The new sidecar will not know the old handles: reopen on the next request. The graphs
      // stay as they are. A request in flight says what the crash cost it; otherwise say it here.
      for (const d of documents) d.handle = undefined;
      if (!reported) void vscode.window.showWarningMessage(reason);
    }),
  );
  registerModelCodeLens(s);
}
