/**
 * Canvas colours read from the VS Code theme variables (light, dark and high contrast), re-read
 * when the theme changes.
 */
import type { OpCategory } from '../graph/opCategory';

/** The kinds of skip and merge styled apart on the canvas and in the legend. */
export type DrawnKind = 'residual' | 'projection' | 'concat' | 'long' | 'gate' | 'parallel';

/** Every drawn kind, in legend order. */
export const DRAWN_KINDS: DrawnKind[] = ['residual', 'projection', 'concat', 'long', 'gate', 'parallel'];

/** Colours the renderer uses. */
export interface Theme {
  background: string;
  foreground: string;
  muted: string;
  edge: string;
  nodeFill: string;
  nodeBorder: string;
  groupFill: string;
  focus: string;
  hit: string;
  currentHit: string;
  highContrast: boolean;
  font: string;
  category: Record<OpCategory, string>;
  kind: Record<DrawnKind, string>;
}

function css(style: CSSStyleDeclaration, name: string, fallback: string): string {
  return style.getPropertyValue(name).trim() || fallback;
}

/** The current theme's colours. */
export function readTheme(): Theme {
  const s = getComputedStyle(document.body);
  const body = document.body.classList;
  const highContrast = body.contains('vscode-high-contrast') || body.contains('vscode-high-contrast-light');
  const fg = css(s, '--vscode-editor-foreground', '#cccccc');
  const blue = css(s, '--vscode-charts-blue', '#3794ff');
  const purple = css(s, '--vscode-charts-purple', '#b180d7');
  const green = css(s, '--vscode-charts-green', '#89d185');
  const orange = css(s, '--vscode-charts-orange', '#d18616');
  const red = css(s, '--vscode-charts-red', '#f14c4c');
  const yellow = css(s, '--vscode-charts-yellow', '#cca700');
  const muted = css(s, '--vscode-descriptionForeground', '#9d9d9d');
  return {
    background: css(s, '--vscode-editor-background', '#1e1e1e'),
    foreground: fg,
    muted,
    edge: css(s, '--vscode-editorLineNumber-foreground', '#858585'),
    nodeFill: css(s, '--vscode-editorWidget-background', '#252526'),
    nodeBorder: css(s, '--vscode-contrastBorder', '') || css(s, '--vscode-editorWidget-border', '#454545'),
    groupFill: css(s, '--vscode-sideBar-background', '#252526'),
    focus: css(s, '--vscode-focusBorder', '#007fd4'),
    hit: css(s, '--vscode-editor-findMatchHighlightBackground', 'rgba(234,92,0,0.33)'),
    currentHit:
      css(s, '--vscode-editor-findMatchBorder', '') ||
      css(s, '--vscode-editor-findMatchBackground', '#515c6a'),
    highContrast,
    font: css(s, '--vscode-font-family', 'sans-serif'),
    category: {
      conv: blue,
      linear: purple,
      norm: green,
      activation: red,
      pool: green,
      merge: yellow,
      shape: muted,
      io: fg,
      other: muted,
    },
    kind: { residual: blue, projection: purple, concat: green, long: orange, gate: red, parallel: yellow },
  };
}
