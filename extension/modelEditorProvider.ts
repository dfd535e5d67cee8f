/**
 * The read-only custom editor for model files: asks the sidecar to open the model and hands the
 * view model to the webview. No model logic lives here.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { ModelClose, ModelOpen } from '../runtime/protocol/sidecarProtocol';
import type { FromWebviewMessage, ToWebviewMessage } from '../webview/protocol';
import type { ExtensionServices } from './extension';
import { webviewHtml } from './webviewHtml';

/** View type of the model editor, as contributed in package.json. */
export const MODEL_EDITOR_VIEW_TYPE = 'skipscope.modelEditor';

class ModelDocument implements vscode.CustomDocument {
  handle?: number;
  constructor(readonly uri: vscode.Uri) {}
  dispose(): void {}
}

class ModelEditorProvider implements vscode.CustomReadonlyEditorProvider<ModelDocument> {
  constructor(private readonly s: ExtensionServices) {}

  openCustomDocument(uri: vscode.Uri): ModelDocument {
    return new ModelDocument(uri);
  }

  resolveCustomEditor(doc: ModelDocument, panel: vscode.WebviewPanel): void {
    const { context, sidecar, log } = this.s;
    panel.webview.options = {
      enableScripts: true,
      localResourceRoots: [vscode.Uri.joinPath(context.extensionUri, 'dist')],
    };
    panel.webview.html = webviewHtml(panel.webview, context.extensionUri);
    const post = (m: ToWebviewMessage) => panel.webview.postMessage(m);
    const fileName = path.basename(doc.uri.fsPath);
    panel.webview.onDidReceiveMessage(async (m: FromWebviewMessage) => {
      if (m.type !== 'ready') return;
      try {
        const opened = await sidecar.request(ModelOpen, { file: doc.uri.fsPath });
        doc.handle = opened.handle;
        void post({ type: 'init', fileName, view: opened.view });
      } catch (e) {
        const message = e instanceof Error ? e.message : String(e);
        log.warn(`open ${doc.uri.fsPath}: ${message}`);
        void post({ type: 'init', fileName, error: message });
      }
    });
    panel.onDidDispose(() => {
      if (doc.handle !== undefined)
        void sidecar.request(ModelClose, { handle: doc.handle }).catch(() => undefined);
    });
  }
}

/** Registers the custom editor. */
export function registerModelEditor(s: ExtensionServices): void {
  s.context.subscriptions.push(
    vscode.window.registerCustomEditorProvider(MODEL_EDITOR_VIEW_TYPE, new ModelEditorProvider(s), {
      webviewOptions: { retainContextWhenHidden: true },
      supportsMultipleEditorsPerDocument: true,
    }),
  );
}
