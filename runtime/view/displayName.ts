/**
 * Names from a model file are shown as text, never interpreted: every place that shows a node,
 * tensor or op name (graph labels, hover cards, lists, the text view, Markdown hovers, messages,
 * reports) goes through these functions. Characters that would hide or reorder text — controls,
 * bidi overrides and isolates, zero-width and line-separator characters, lone surrogates — are
 * made visible as `\uXXXX`; names longer than a limit keep their head and tail around a `…`.
 */

/** The longest name shown whole in graph labels, lists and messages (code units, after escaping). */
export const NAME_MAX = 80;

/**
 * The longest name shown whole in a hover card (the webview's, and Markdown hovers); a card with a
 * shortened name still carries the whole of it in its tooltip (`title`).
 */
export const CARD_NAME_MAX = 300;

/**
 * Characters made visible: C0/C1 controls (tab and newline included: a name is one line), U+061C
 * (Arabic letter mark), U+200B–U+200F (zero-width, LRM, RLM), U+2028/2029 (line and paragraph
 * separators), U+202A–U+202E (bidi embeddings and overrides), U+2060–U+2064 and U+2066–U+2069
 * (word joiner, invisible operators, bidi isolates), U+FEFF (BOM) and unpaired surrogates.
 */
const HIDDEN =
  // eslint-disable-next-line no-control-regex -- control characters are what this looks for
  /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** `\uXXXX` for one UTF-16 code unit. */
function escapeUnit(c: string): string {
  return `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
}

/** Whether `s` holds a character that visibleName() would escape. */
export function hasHiddenCharacters(s: string): boolean {
  HIDDEN.lastIndex = 0;
  const found = HIDDEN.test(s);
  HIDDEN.lastIndex = 0;
  return found;
}

/** `s` with every control, bidi and invisible character written as `\uXXXX` (e.g. `\u202E`). */
export function visibleName(s: string): string {
  return s.replace(HIDDEN, escapeUnit);
}

/** Whether code unit `i` of `s` is the second half of a surrogate pair (no cut may land there). */
function insidePair(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  const p = s.charCodeAt(i - 1);
  return c >= 0xdc00 && c <= 0xdfff && p >= 0xd800 && p <= 0xdbff;
}

/**
 * `s` shortened to at most `max` code units with a middle ellipsis (`head…tail`), cutting
 * neither a surrogate pair nor a `\uXXXX` escape; unchanged when short enough.
 */
export function shortenName(s: string, max = NAME_MAX): string {
  if (s.length <= max) return s;
  const keep = Math.max(2, max - 1);
  let head = Math.ceil(keep / 2);
  let tail = s.length - Math.floor(keep / 2);
  // Back off so that an escape written by visibleName() is kept whole or dropped whole.
  const escapeAt = (i: number) => s.lastIndexOf('\\u', i);
  const e1 = escapeAt(head - 1);
  if (e1 >= 0 && e1 + 6 > head && /^\\u[0-9A-F]{4}/.test(s.slice(e1, e1 + 6))) head = e1;
  const e2 = escapeAt(tail - 1);
  if (e2 >= 0 && e2 < tail && e2 + 6 > tail && /^\\u[0-9A-F]{4}/.test(s.slice(e2, e2 + 6))) tail = e2 + 6;
  if (insidePair(s, head)) head--;
  if (insidePair(s, tail)) tail++;
  return `${s.slice(0, head)}…${s.slice(tail)}`;
}

/** A name as text for a label, list or message: visible, and shortened to `max`. */
export function displayName(s: string, max = NAME_MAX): string {
  return shortenName(visibleName(s), max);
}

/**
 * Text for a Markdown document (VS Code hovers, report.md): every ASCII character that can start
 * a Markdown construct — link, image, autolink (`:`), HTML tag or entity, emphasis, code, table
 * cell, heading, list, strikethrough — is backslash-escaped, as CommonMark allows for any ASCII
 * punctuation, so that no construct can start from a name; hidden characters are made visible
 * first (a newline would end a table row). Digits, `.`, `,` and `/` stay as they are.
 */
export function markdownText(s: string): string {
  return visibleName(s).replace(/[\\`*_{}[\]()#+\-!|<>~&:=]/g, (c) => `\\${c}`);
}

/** Lets multi-line text (a doc string) keep its newlines and tabs; everything else as visibleName. */
export function visibleText(s: string): string {
  return s.replace(HIDDEN, (c) => (c === '\n' || c === '\t' ? c : escapeUnit(c)));
}

/** A name for Markdown: visible, shortened to `max`, then escaped (markdownText). */
export function markdownName(s: string, max = NAME_MAX): string {
  return markdownText(shortenName(visibleName(s), max));
}

/** The longest message shown in a notification (code units); a longer one is shortened in the middle. */
export const MESSAGE_MAX = 600;

/**
 * A sentence for a VS Code notification, which turns `[label](https:…|command:…|file:…)` into a
 * link that runs on click: hidden characters made visible, the whole shortened to `max`, and every
 * `](` written with a word joiner between the two (U+2060, invisible), which no link matches.
 */
export function messageText(s: string, max = MESSAGE_MAX): string {
  return shortenName(visibleName(s), max).replace(/\]\(/g, ']\u2060(');
}
