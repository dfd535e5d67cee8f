/**
 * Webview entry: performs the ready → init handshake, then shows the graph or the error, and
 * routes later messages (tensor statistics, gradient overlays, reveal requests) to the page.
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-progress-ring/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import '@vscode-elements/elements/dist/vscode-toolbar-button/index.js';
import { GraphView } from './graphView';
import { LayoutClient } from './layout/layoutClient';
import { renderError, renderFileNotice } from './panels/errorView';
import type { GradientsMessage, ToWebviewMessage } from './protocol';
import { reviveNonFinite } from '../runtime/protocol/nonFiniteJson';
import type { GradientOverlay } from '../runtime/view/viewModel';
import { ExtensionLink } from './vscodeApi';
import './style.css';

const link = new ExtensionLink();
const app = document.getElementById('app')!;
// The worker starts while the extension reads the model.
const layoutClient = new LayoutClient(app.dataset.worker);
layoutClient.warm();
let page: GraphView | undefined;
let fileName = '';
let pendingGradients: ToWebviewMessage | undefined;
let pendingRuns: Extract<ToWebviewMessage, { type: 'runs' }> | undefined;

/** The overlay of a gradients message, its non-finite statistics read back from their names. */
const overlayOf = (m: GradientsMessage): GradientOverlay | null =>
  m.overlay && reviveNonFinite<GradientOverlay>(m.overlay);

window.addEventListener('message', (ev: MessageEvent<ToWebviewMessage>) => {
  const m = ev.data;
  if (link.settle(m)) return;
  switch (m.type) {
    case 'init': {
      const t0 = performance.now();
      fileName = m.fileName;
      renderFileNotice(undefined, link);
      if (m.error || !m.view) {
        page = undefined;
        renderError(app, m.fileName, m.error ?? 'The model could not be read.', link);
        return;
      }
      page = new GraphView(
        app,
        m.fileName,
        m.view,
        m.settings ?? { collapseAbove: 400 },
        link,
        layoutClient,
        t0,
      );
      if (pendingGradients?.type === 'gradients') page.setGradients(overlayOf(pendingGradients));
      if (pendingRuns) page.setRuns(pendingRuns.runs, pendingRuns.a, pendingRuns.b);
      // The bench and the end-to-end tests drive the page through this handle.
      (window as unknown as { skipscopeView?: GraphView }).skipscopeView = page;
      return;
    }
    case 'gradients':
      if (page) page.setGradients(overlayOf(m));
      else pendingGradients = m;
      return;
    case 'runs':
      if (page) page.setRuns(m.runs, m.a, m.b);
      else pendingRuns = m;
      return;
    case 'revealNode':
      page?.revealByName(m.name);
      return;
    case 'fileNotice':
      // Over the graph when there is one (it stays usable); otherwise the error view says it.
      if (page || !m.message) renderFileNotice(m.message, link);
      else renderError(app, fileName, m.message, link);
      return;
  }
});
link.post({ type: 'ready' });
