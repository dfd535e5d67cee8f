/**
 * The ONNX text view: `Skipscope: Open as ONNX Text` shows a model (ONNX, or a TF.js model in the
 * same syntax) as a read-only `onnx-text` document. Hovers there (and on names in a TF.js
 * model.json) show the graph's node card; go-to-definition jumps from a tensor's use to the line
 * that produces it; highlights and Find All References show where a name is defined and used.
 * The sidecar prints, indexes and describes; this file only maps documents and positions to its
 * requests.
 */
import * as vscode from 'vscode';
import {
  ModelNameCard,
  ModelText,
  ModelTextOccurrences,
  ModelTextSymbol,
  type TextSpan,
} from '../runtime/protocol/sidecarProtocol';
import { jsonStringAt } from '../runtime/text/jsonStringAt';
import type { ExtensionServices } from './extension';
import { SidecarStoppedError } from './sidecarClient';
import { messageText, visibleName } from '../runtime/view/displayName';

/** URI scheme of the printed texts: `skipscope-onnx:/path/model.onnx.onnxtxt[?weights=1]`. */
export const TEXT_SCHEME = 'skipscope-onnx';
const SUFFIX = '.onnxtxt';
/** The custom editors (ONNX, model.json) whose model the command prints when no file is given. */
const MODEL_EDITOR_PREFIX = 'skipscope.';
/** Enough of a model.json to tell a TF.js model from any other JSON. */
const TFJS_MARKERS = /"(modelTopology|weightsManifest)"\s*:/;

/** The text document URI for `model`. */
export function textUriFor(model: vscode.Uri, weights: boolean): vscode.Uri {
  return vscode.Uri.from({
    scheme: TEXT_SCHEME,
    path: model.path + SUFFIX,
    query: weights ? 'weights=1' : '',
  });
}

/** The model file and weights flag behind a text document URI. */
function modelOf(uri: vscode.Uri): { file: string; weights: boolean } {
  const path = uri.path.endsWith(SUFFIX) ? uri.path.slice(0, -SUFFIX.length) : uri.path;
  return { file: vscode.Uri.file(path).fsPath, weights: uri.query === 'weights=1' };
}

function rangeOf(s: TextSpan): vscode.Range {
  return new vscode.Range(s.line, s.start, s.line, s.end);
}

/** The model the command should print: the argument, the active model editor, or the active .onnx/.json file. */
function targetModel(arg: unknown): vscode.Uri | undefined {
  if (arg instanceof vscode.Uri) return arg;
  const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  if (input instanceof vscode.TabInputCustom && input.viewType.startsWith(MODEL_EDITOR_PREFIX))
    return input.uri;
  if (input instanceof vscode.TabInputText && /\.(onnx|json)$/.test(input.uri.path)) return input.uri;
  return undefined;
}

class OnnxTextProvider implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;
  /** One watcher per printed text, so that a model rewritten on disk is printed again. */
  private readonly watchers = new Map<string, vscode.Disposable>();
  private readonly closing: vscode.Disposable;

  constructor(private readonly s: ExtensionServices) {
    this.closing = vscode.workspace.onDidCloseTextDocument((doc) => {
      this.watchers.get(doc.uri.toString())?.dispose();
      this.watchers.delete(doc.uri.toString());
    });
  }

  private watch(uri: vscode.Uri, file: string): void {
    const key = uri.toString();
    if (this.watchers.has(key)) return;
    const model = vscode.Uri.file(file);
    const watcher = vscode.workspace.createFileSystemWatcher(
      new vscode.RelativePattern(vscode.Uri.joinPath(model, '..'), model.path.split('/').pop() ?? ''),
    );
    const fire = () => this.changed.fire(uri);
    watcher.onDidChange(fire);
    watcher.onDidCreate(fire);
    this.watchers.set(key, watcher);
  }

  async provideTextDocumentContent(uri: vscode.Uri, token: vscode.CancellationToken): Promise<string> {
    const { file, weights } = modelOf(uri);
    this.watch(uri, file);
    try {
      this.s.log.info(`printing ${file}${weights ? ' with weights' : ''}`);
      return (await this.s.sidecar.request(ModelText, { file, weights }, token)).text;
    } catch (e) {
      if (token.isCancellationRequested) return '';
      const name = file.split(/[\\/]/).pop() ?? file;
      const message =
        e instanceof SidecarStoppedError
          ? `The Skipscope sidecar stopped (${e.exit}) while it printed ${name}. Print Again starts a new one.`
          : e instanceof Error
            ? e.message
            : String(e);
      this.s.log.warn(`print ${file}: ${message}`);
      void vscode.window.showErrorMessage(messageText(message), 'Print Again').then((a) => {
        if (a === 'Print Again') this.changed.fire(uri);
      });
      return `# Skipscope could not print this model: ${visibleName(message)}\n`;
    }
  }

  dispose(): void {
    for (const w of this.watchers.values()) w.dispose();
    this.watchers.clear();
    this.closing.dispose();
    this.changed.dispose();
  }
}

class OnnxTextNavigation
  implements
    vscode.HoverProvider,
    vscode.DefinitionProvider,
    vscode.DocumentHighlightProvider,
    vscode.ReferenceProvider
{
  constructor(private readonly s: ExtensionServices) {}

  private symbolAt(doc: vscode.TextDocument, pos: vscode.Position, token: vscode.CancellationToken) {
    const { file, weights } = modelOf(doc.uri);
    return this.s.sidecar
      .request(ModelTextSymbol, { file, weights, line: pos.line, character: pos.character }, token)
      .catch((e: unknown) => {
        this.s.log.warn(`text symbol ${file}:${pos.line}: ${e instanceof Error ? e.message : String(e)}`);
        return null;
      });
  }

  async provideHover(doc: vscode.TextDocument, pos: vscode.Position, token: vscode.CancellationToken) {
    const info = await this.symbolAt(doc, pos, token);
    if (!info?.markdown) return undefined;
    return new vscode.Hover(new vscode.MarkdownString(info.markdown), rangeOf(info.span));
  }

  private occurrences(doc: vscode.TextDocument, pos: vscode.Position, token: vscode.CancellationToken) {
    const { file, weights } = modelOf(doc.uri);
    return this.s.sidecar
      .request(ModelTextOccurrences, { file, weights, line: pos.line, character: pos.character }, token)
      .catch(() => []);
  }

  /** The definition and every use of the name under the cursor, marked as write and read. */
  async provideDocumentHighlights(
    doc: vscode.TextDocument,
    pos: vscode.Position,
    token: vscode.CancellationToken,
  ) {
    const spans = await this.occurrences(doc, pos, token);
    const { Write, Read } = vscode.DocumentHighlightKind;
    return spans.map((s) => new vscode.DocumentHighlight(rangeOf(s), s.def ? Write : Read));
  }

  /** Find All References: where a tensor is produced and every node that reads it. */
  async provideReferences(
    doc: vscode.TextDocument,
    pos: vscode.Position,
    ctx: vscode.ReferenceContext,
    token: vscode.CancellationToken,
  ) {
    const spans = await this.occurrences(doc, pos, token);
    return spans
      .filter((s) => ctx.includeDeclaration || !s.def)
      .map((s) => new vscode.Location(doc.uri, rangeOf(s)));
  }

  async provideDefinition(doc: vscode.TextDocument, pos: vscode.Position, token: vscode.CancellationToken) {
    const info = await this.symbolAt(doc, pos, token);
    if (!info?.definition) return undefined;
    return new vscode.Location(doc.uri, rangeOf(info.definition));
  }
}

class ModelJsonHover implements vscode.HoverProvider {
  private readonly isModel = new WeakMap<vscode.TextDocument, { version: number; yes: boolean }>();

  constructor(private readonly s: ExtensionServices) {}

  private looksLikeModel(doc: vscode.TextDocument): boolean {
    const known = this.isModel.get(doc);
    if (known?.version === doc.version) return known.yes;
    const yes = doc.uri.scheme === 'file' && TFJS_MARKERS.test(doc.getText());
    this.isModel.set(doc, { version: doc.version, yes });
    return yes;
  }

  async provideHover(doc: vscode.TextDocument, pos: vscode.Position, token: vscode.CancellationToken) {
    if (!this.looksLikeModel(doc)) return undefined;
    const str = jsonStringAt(doc.lineAt(pos.line).text, pos.character);
    if (!str || !str.value) return undefined;
    // The card describes the model as saved: unsaved edits are not reflected.
    const card = await this.s.sidecar
      .request(ModelNameCard, { file: doc.uri.fsPath, name: str.value }, token)
      .catch(() => null);
    if (!card) return undefined;
    return new vscode.Hover(
      new vscode.MarkdownString(card.markdown),
      new vscode.Range(pos.line, str.start, pos.line, str.end),
    );
  }
}

async function openAsText(arg: unknown, weights: boolean): Promise<void> {
  let model = targetModel(arg);
  if (!model) {
    model = (
      await vscode.window.showOpenDialog({ filters: { Models: ['onnx', 'json'] }, canSelectMany: false })
    )?.[0];
  }
  if (!model) return;
  let doc = await vscode.workspace.openTextDocument(textUriFor(model, weights));
  if (doc.languageId !== 'onnx-text') doc = await vscode.languages.setTextDocumentLanguage(doc, 'onnx-text');
  await vscode.window.showTextDocument(doc, { preview: false });
}

/** Registers the text view's content provider, commands, hovers and definitions. */
export function registerTextViews(s: ExtensionServices): void {
  const nav = new OnnxTextNavigation(s);
  const provider = new OnnxTextProvider(s);
  const textDocs: vscode.DocumentSelector = { scheme: TEXT_SCHEME };
  s.context.subscriptions.push(
    provider,
    vscode.workspace.registerTextDocumentContentProvider(TEXT_SCHEME, provider),
    vscode.commands.registerCommand('skipscope.openAsText', (arg?: unknown) => openAsText(arg, false)),
    vscode.commands.registerCommand('skipscope.openAsTextWithWeights', (arg?: unknown) =>
      openAsText(arg, true),
    ),
    vscode.languages.registerHoverProvider(textDocs, nav),
    vscode.languages.registerDefinitionProvider(textDocs, nav),
    vscode.languages.registerDocumentHighlightProvider(textDocs, nav),
    vscode.languages.registerReferenceProvider(textDocs, nav),
    vscode.languages.registerHoverProvider({ language: 'json', scheme: 'file' }, new ModelJsonHover(s)),
  );
}
