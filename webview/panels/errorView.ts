/**
 * What the editor shows when the model cannot be read: the reason, "Open as Text" and "Retry".
 */
import { displayName, MESSAGE_MAX } from '../../runtime/view/displayName';
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
      h('p', { class: 'error', id: 'error-message' }, displayName(message, MESSAGE_MAX)),
      h('div', { class: 'buttons' }, asText, retry),
      h('section', { id: 'outline', class: 'visually-hidden', 'data-state': 'error', 'data-error': message }),
    ),
  );
}

/**
 * Shows `message` in a notice above the page (the graph stays as it was), with Retry and Open as
 * Text; undefined removes the notice.
 */
export function renderFileNotice(message: string | undefined, link: ExtensionLink): void {
  document.getElementById('file-notice')?.remove();
  if (message === undefined) return;
  const retry = h('vscode-button', { id: 'notice-retry' }, 'Retry');
  retry.addEventListener('click', () => link.post({ type: 'retry' }));
  const asText = h('vscode-button', { id: 'notice-open-as-text', secondary: true }, 'Open as Text');
  asText.addEventListener('click', () => link.post({ type: 'openAsText' }));
  // The notice covers the toolbar: it can be put away, the graph below stays usable.
  const dismiss = h('vscode-toolbar-button', {
    id: 'notice-dismiss',
    icon: 'close',
    label: 'Dismiss',
    title: 'Dismiss',
    'aria-label': 'Dismiss',
  });
  dismiss.addEventListener('click', () => document.getElementById('file-notice')?.remove());
  document.body.append(
    h(
      'div',
      { class: 'file-notice', id: 'file-notice', role: 'alert' },
      h('span', { class: 'codicon codicon-warning', 'aria-hidden': 'true' }),
      h('span', { id: 'file-notice-message' }, displayName(message, MESSAGE_MAX)),
      h('div', { class: 'buttons' }, retry, asText, dismiss),
    ),
  );
}
