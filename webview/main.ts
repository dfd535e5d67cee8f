/**
 * Webview entry: performs the ready → init handshake and draws what the extension sends.
 */
import type { FromWebviewMessage, ToWebviewMessage } from './protocol';
import './style.css';

declare function acquireVsCodeApi(): { postMessage(m: FromWebviewMessage): void };
const vscode = acquireVsCodeApi();
const app = document.getElementById('app')!;

window.addEventListener('message', (ev: MessageEvent<ToWebviewMessage>) => {
  const m = ev.data;
  if (m.type !== 'init') return;
  app.replaceChildren();
  const title = document.createElement('h2');
  title.className = 'file-name';
  title.textContent = m.fileName;
  app.append(title);
  const line = document.createElement('p');
  if (m.error) {
    line.className = 'error';
    line.textContent = m.error;
  } else if (m.view) {
    line.className = 'summary';
    line.textContent = `${m.view.description}: ${m.view.nodes.length} nodes, ${m.view.totalParams.toLocaleString()} parameters`;
  }
  app.append(line);
});
vscode.postMessage({ type: 'ready' });
