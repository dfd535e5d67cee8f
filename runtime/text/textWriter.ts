/**
 * An append-only text builder that knows its line and column, so that a printer can record
 * where each name lands while it writes.
 */
import type { TextSymbol, TextSymbolKind } from './textIndex';

/** Builds text from parts and records symbol positions along the way. */
export class TextWriter {
  private readonly parts: string[] = [];
  /** Current 0-based line and UTF-16 column. */
  line = 0;
  col = 0;
  readonly symbols: TextSymbol[] = [];

  /** Appends `s`, which may contain newlines. */
  write(s: string): void {
    this.parts.push(s);
    let nl = s.indexOf('\n');
    if (nl < 0) {
      this.col += s.length;
      return;
    }
    let last = nl;
    while (nl >= 0) {
      this.line++;
      last = nl;
      nl = s.indexOf('\n', nl + 1);
    }
    this.col = s.length - last - 1;
  }

  /** Appends `s` (printed form of `name`) and records it as a symbol. */
  symbol(s: string, name: string, kind: TextSymbolKind, def: boolean, scope: number): void {
    const line = this.line;
    const start = this.col;
    this.write(s);
    // A name printed across lines (a quoted name holding a newline) cannot be pointed at; skip it.
    if (this.line === line) this.symbols.push({ line, start, end: this.col, name, kind, def, scope });
  }

  /** The whole text. */
  toString(): string {
    return this.parts.join('');
  }
}
