/**
 * The webview page: strict CSP (default-src 'none', scripts by nonce), bundles from dist/ only,
 * no data in the page (the model arrives by message after the ready → init handshake).
 */
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';

/** Builds the HTML shell that loads dist/webview.js. */
export function webviewHtml(webview: vscode.Webview, extensionUri: vscode.Uri): string {
  const nonce = randomBytes(16).toString('base64');
  const asset = (f: string) => webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', f)).toString();
  const csp = [
    "default-src 'none'",
    `img-src ${webview.cspSource} data:`,
    `style-src ${webview.cspSource} 'unsafe-inline'`,
    `font-src ${webview.cspSource}`,
    `script-src 'nonce-${nonce}'`,
    // The layout worker's script is fetched from dist/ and started from a blob: webview resources
    // live on another origin, which `new Worker(url)` refuses.
    `connect-src ${webview.cspSource}`,
    `worker-src blob:`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${asset('codicon.css')}" id="vscode-codicon-stylesheet">
<link rel="stylesheet" href="${asset('webview.css')}">
</head>
<body>
<div id="app" data-worker="${asset('layoutWorker.js')}"></div>
<script nonce="${nonce}" src="${asset('webview.js')}"></script>
</body>
</html>`;
}
