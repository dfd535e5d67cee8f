/**
 * Commands under the "Skipscope" category, registered from one table.
 */
import * as vscode from 'vscode';
import { RuntimeInfoRequest } from '../runtime/protocol/sidecarProtocol';
import type { ExtensionServices } from './extension';

type CommandFactory = (s: ExtensionServices) => (...args: unknown[]) => unknown;

const commands: Record<string, CommandFactory> = {
  'skipscope.showRuntimeInfo': (s) => async () => {
    const info = await s.sidecar.request(RuntimeInfoRequest, undefined);
    // The GPU line names the adapter (vendor, architecture, device, driver, hardware or software).
    const backends = info.backends
      .map((b) =>
        b.name === 'webgpu'
          ? `webgpu (${b.available ? b.detail.split(/ — |; tfjs-core/)[0] : 'no GPU adapter'})`
          : `${b.name}${b.available ? '' : ' (not installed)'}`,
      )
      .join(', ');
    const threads = info.threads
      ? `the last probe ran on ${info.threads} of ${info.cores} cores`
      : `${info.cores} cores (no probe has run yet; WebAssembly probes use one thread per core unless skipscope.probe.threads says otherwise)`;
    const text = `Skipscope ${info.version} on Node ${info.node}: backends ${backends}; ${threads}.`;
    s.log.info(text);
    void vscode.window.showInformationMessage(text);
  },
  'skipscope.openModel': () => async (uri?: unknown) => {
    // From a menu the file comes as an argument; from the palette, the model open as text (if
    // any) is the one meant; otherwise ask.
    const active = vscode.window.activeTextEditor?.document.uri;
    const target =
      uri instanceof vscode.Uri
        ? uri
        : active && active.scheme === 'file' && /\.(onnx|json)$/i.test(active.path)
          ? active
          : (
              await vscode.window.showOpenDialog({
                filters: { Models: ['onnx', 'json'] },
                canSelectMany: false,
              })
            )?.[0];
    // TF.js model.json files have their own view type (an "Open With…" option, not the default).
    const viewType = target?.path.endsWith('.json') ? 'skipscope.modelJsonEditor' : 'skipscope.modelEditor';
    if (target) await vscode.commands.executeCommand('vscode.openWith', target, viewType);
  },
};

/** Registers every command of the table. */
export function registerCommands(s: ExtensionServices): void {
  for (const [id, factory] of Object.entries(commands)) {
    s.context.subscriptions.push(vscode.commands.registerCommand(id, factory(s)));
  }
}
