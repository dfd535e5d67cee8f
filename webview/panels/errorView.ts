/**
 * What the editor shows when the model cannot be read: the reason, "Open as Text" and "Retry".
 */
import { h } from '../dom';
import type { ExtensionLink } from '../vscodeApi';

/** Replaces `app` with the error view. */
export function renderError(app: HTMLElement, fileName: string, message: string, link: ExtensionLink): void {
  const asText = h('vscode-button', { id: 'open-as-text' }, 'Open as Text');
  asText.addEventListener('click', () => link.post({ type: 'openAsText' }));
  const retry = h('vscode-button', { id: 'retry', secondary: true }, 'Retry');
  retry.addEventListener('click', () => link.post({ type: 'retry' }));
  app.replaceChildren(
    h(
      'div',
      { class: 'error-view', role: 'alert' },
      h(
        'h2',
        {},
        h('span', { class: 'codicon codicon-error', 'aria-hidden': 'true' }),
        ` Cannot show ${fileName}`,
      ),
      h('p', { class: 'error', id: 'error-message' }, message),
      h('div', { class: 'buttons' }, asText, retry),
      h('section', { id: 'outline', class: 'visually-hidden', 'data-state': 'error', 'data-error': message }),
    ),
  );
}
