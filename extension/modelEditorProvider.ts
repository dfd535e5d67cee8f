/**
 * The read-only custom editor for model files (ONNX by default, TF.js model.json through "Open
 * With…"): asks the sidecar to open the model and hands the view model to the webview; relays
 * tensor statistics, gradient overlays and "open as text". No model logic lives here.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { ModelClose, ModelOpen, ModelTensorStats } from '../runtime/protocol/sidecarProtocol';
import type { GradientOverlay } from '../runtime/view/viewModel';
import { jsonSafe } from '../runtime/protocol/nonFiniteJson';
import type { FromWebviewMessage, ToWebviewMessage } from '../webview/protocol';
import type { ExtensionServices } from './extension';
import { registerModelCodeLens } from './modelCodeLens';
import { summarize, type ModelSummary } from '../runtime/view/summary';
import { ModelStatusBar } from './statusBar';
import { webviewHtml } from './webviewHtml';
import { onRunsChanged, runsOf } from './runStore';

/** View type of the model editor for *.onnx (the default editor for them). */
export const MODEL_EDITOR_VIEW_TYPE = 'skipscope.modelEditor';
/** View type of the same editor offered for model.json files (an "Open With…" option). */
export const MODEL_JSON_EDITOR_VIEW_TYPE = 'skipscope.modelJsonEditor';

class ModelDocument implements vscode.CustomDocument {
  /** The sidecar's handle; undefined until opened, and again after the sidecar restarts. */
  handle?: number;
  readonly panels = new Set<vscode.WebviewPanel>();
  summary?: ModelSummary;
  constructor(
    readonly uri: vscode.Uri,
    private readonly onDispose: (d: ModelDocument) => void,
  ) {}
  dispose(): void {
    this.onDispose(this);
  }
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
      for (const p of d.panels) post(p, { type: 'gradients', overlay: overlay && jsonSafe(overlay) });
}

/** The runs message for `uri`: every run's overlay, and the pair shown. */
function runsMessage(uri: vscode.Uri): ToWebviewMessage {
  const r = runsOf(uri);
  return { type: 'runs', runs: r.runs.map((x) => x.overlay), a: r.a, b: r.b };
}

/** Selects and centres node `name` in the editors of `uri`. */
export function revealNodeInGraph(uri: vscode.Uri, name: string): void {
  for (const d of documents)
    if (d.uri.toString() === uri.toString()) for (const p of d.panels) post(p, { type: 'revealNode', name });
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
    return doc;
  }

  /** Opens the model in the sidecar (again, after a crash) and returns its view model. */
  private async open(doc: ModelDocument) {
    // Every editor of the document shares one handle; a reload (retry, second panel) replaces it.
    if (doc.handle !== undefined)
      void this.s.sidecar.request(ModelClose, { handle: doc.handle }).catch(() => undefined);
    doc.handle = undefined;
    const opened = await this.s.sidecar.request(ModelOpen, { file: doc.uri.fsPath });
    doc.handle = opened.handle;
    doc.summary = summarize(opened.view);
    return opened;
  }

  resolveCustomEditor(doc: ModelDocument, panel: vscode.WebviewPanel): void {
    const { context, sidecar, log } = this.s;
    doc.panels.add(panel);
    panel.webview.options = {
      enableScripts: true,
      localResourceRoots: [vscode.Uri.joinPath(context.extensionUri, 'dist')],
    };
    panel.webview.html = webviewHtml(panel.webview, context.extensionUri);
    const fileName = path.basename(doc.uri.fsPath);
    const settings = () => ({
      collapseAbove: vscode.workspace.getConfiguration('skipscope.graph').get<number>('collapseAbove', 400),
    });
    const load = async () => {
      try {
        const opened = await this.open(doc);
        post(panel, { type: 'init', fileName, view: opened.view, settings: settings() });
        if (runsOf(doc.uri).runs.length) post(panel, runsMessage(doc.uri));
        if (panel.active && doc.summary) this.statusBar.show(panel, doc.summary);
      } catch (e) {
        const message = e instanceof Error ? e.message : String(e);
        log.warn(`open ${doc.uri.fsPath}: ${message}`);
        post(panel, { type: 'init', fileName, error: message });
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
        if (d.uri.toString() === uri.toString()) for (const p of d.panels) post(p, runsMessage(uri));
    }),
    s.sidecar.onRestart(() => {
      for (const d of documents) d.handle = undefined;
    }),
    s.sidecar.onCrash((reason) => {
      // The new sidecar will not know the old handles: reopen on the next request.
      for (const d of documents) d.handle = undefined;
      void vscode.window.showWarningMessage(reason);
    }),
  );
  registerModelCodeLens(s);
}
