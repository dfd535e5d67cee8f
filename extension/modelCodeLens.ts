/**
 * A CodeLens on TF.js model.json files open as text ("Open Model Graph"): a layers model has a
 * `modelTopology`, a graph model says `"format": "graph-model"`.
 */
import * as vscode from 'vscode';
import type { ExtensionServices } from './extension';

/** Enough of the file to tell a TF.js model from any other JSON (the markers come first in practice). */
const SNIFF_CHARS = 1 << 20;
const TFJS_MODEL = /"modelTopology"\s*:|"format"\s*:\s*"graph-model"/;

/** True when the text looks like a TF.js model.json. */
export function isTfjsModelJson(text: string): boolean {
  return TFJS_MODEL.test(text.length > SNIFF_CHARS ? text.slice(0, SNIFF_CHARS) : text);
}

class ModelJsonCodeLens implements vscode.CodeLensProvider {
  provideCodeLenses(doc: vscode.TextDocument): vscode.CodeLens[] {
    if (!isTfjsModelJson(doc.getText())) return [];
    return [
      new vscode.CodeLens(new vscode.Range(0, 0, 0, 0), {
        title: '$(type-hierarchy) Open Model Graph',
        tooltip: 'Show this TensorFlow.js model as a graph with its skip connections',
        command: 'skipscope.openModel',
        arguments: [doc.uri],
      }),
    ];
  }
}

/** Registers the CodeLens for JSON files. */
export function registerModelCodeLens(s: ExtensionServices): void {
  s.context.subscriptions.push(
    vscode.languages.registerCodeLensProvider(
      [
        { language: 'json', scheme: 'file' },
        { language: 'jsonc', scheme: 'file' },
      ],
      new ModelJsonCodeLens(),
    ),
  );
}
