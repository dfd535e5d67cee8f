/**
 * Extension entry point: creates the sidecar owner and registers each feature from one table.
 */
import * as vscode from 'vscode';
import { SidecarClient } from './sidecarClient';
import { registerModelEditor } from './modelEditorProvider';
import { registerCommands } from './commands';
import { registerTextViews } from './textViews';
import { registerProbeCommands } from './probeCommands';

/** What each feature's register function receives. */
export interface ExtensionServices {
  context: vscode.ExtensionContext;
  sidecar: SidecarClient;
  log: vscode.LogOutputChannel;
}

/** Called by VS Code when a contributed editor or command is first used. */
export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('Skipscope', { log: true });
  const sidecar = new SidecarClient(context.extensionUri, log);
  context.subscriptions.push(log, sidecar);
  const services: ExtensionServices = { context, sidecar, log };
  for (const register of [registerModelEditor, registerCommands, registerTextViews, registerProbeCommands])
    register(services);
}

/** Nothing to do: every resource is in context.subscriptions. */
export function deactivate(): void {}
