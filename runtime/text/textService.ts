/**
 * What the text view asks the sidecar: a model printed as ONNX text, the name under the cursor
 * (with its definition and hover card), and cards for names in a TF.js model.json. Printed texts
 * and opened models are cached per file (and dropped when the file changes on disk).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { analyzeSkips } from '../analysis/analyzeSkips';
import { ModelError } from '../errors';
import type { Model } from '../model/ir';
import { openModelSync } from '../analysis/openModel';
import type { TextSpan, TextSymbolInfo } from '../protocol/sidecarProtocol';
import { buildViewModel } from '../view/buildViewModel';
import type { GradientOverlay } from '../view/viewModel';
import { nameMarkdown, symbolMarkdown, type HoverSource } from './nameHover';
import { printModelIr } from './irPrinter';
import { DEFAULT_ELIDE_ABOVE, printOnnxModel, type PrintedText } from './onnxPrinter';

/** Files whose texts and models are kept; a few open editors at a time is the common case. */
const MAX_FILES = 4;

interface Entry {
  /** mtime and size when read: a changed file is read again. */
  stamp: string;
  texts: Map<boolean, PrintedText>;
  model?: Model;
  hover?: HoverSource;
}

function looksLikeJson(bytes: Uint8Array): boolean {
  for (const b of bytes.subarray(0, 64)) {
    if (b === 0x7b) return true;
    if (b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09 && b !== 0xef && b !== 0xbb && b !== 0xbf)
      return false;
  }
  return false;
}

/** The sidecar's text-view state: printed texts and models by file. */
export class TextService {
  private readonly entries = new Map<string, Entry>();

  /** Gradient overlays by absolute file path, set when a probe has run, so that text hovers show them too. */
  readonly gradients = new Map<string, GradientOverlay>();

  private entry(file: string): Entry {
    let stamp: string;
    try {
      const st = fs.statSync(file);
      stamp = `${st.mtimeMs}:${st.size}`;
    } catch {
      throw new ModelError(`${file}: no such file.`, file);
    }
    let e = this.entries.get(file);
    if (!e || e.stamp !== stamp) e = { stamp, texts: new Map() };
    // Re-insert so that the map's order is least recently used first.
    this.entries.delete(file);
    this.entries.set(file, e);
    while (this.entries.size > MAX_FILES) this.entries.delete(this.entries.keys().next().value as string);
    return e;
  }

  /** The model at `file` printed as ONNX text; weights elided unless `weights`. */
  printed(file: string, weights = false): PrintedText {
    const e = this.entry(file);
    let p = e.texts.get(weights);
    if (!p) {
      let bytes: Buffer;
      try {
        bytes = fs.readFileSync(file);
      } catch (err) {
        throw new ModelError(
          `${file}: cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}).`,
          file,
        );
      }
      const elideAbove = weights ? Infinity : DEFAULT_ELIDE_ABOVE;
      // TF.js models have no ONNX protobuf: they print from the graph IR in the same syntax.
      p = looksLikeJson(bytes)
        ? printModelIr(this.model(file, e), { file, elideAbove })
        : printOnnxModel(bytes, { file, elideAbove });
      e.texts.set(weights, p);
    }
    return p;
  }

  private model(file: string, e: Entry): Model {
    return (e.model ??= openModelSync(file));
  }

  private hoverSource(file: string): HoverSource {
    const e = this.entry(file);
    if (!e.hover) {
      const model = this.model(file, e);
      let analysis;
      try {
        analysis = analyzeSkips(model);
      } catch (err) {
        // A card without the skip role is still worth showing.
        console.error(`skip analysis failed for ${file}: ${String(err)}`);
      }
      e.hover = { model, view: buildViewModel(model, analysis) };
    }
    return { ...e.hover, grads: this.gradients.get(path.resolve(file)) };
  }

  /** The name at (line, character) of the printed text, with its definition and card, or null. */
  symbolAt(file: string, weights: boolean, line: number, character: number): TextSymbolInfo | null {
    const { index } = this.printed(file, weights);
    const sym = index.symbolAt(line, character);
    if (!sym) return null;
    const info: TextSymbolInfo = {
      name: sym.name,
      kind: sym.kind,
      span: { line: sym.line, start: sym.start, end: sym.end },
    };
    const def = index.definitionOf(sym);
    if (def) info.definition = { line: def.line, start: def.start, end: def.end };
    const markdown = symbolMarkdown(this.hoverSource(file), sym.name, sym.kind);
    if (markdown) info.markdown = markdown;
    return info;
  }

  /** Where the name at (line, character) occurs with the same meaning; empty between names. */
  occurrences(
    file: string,
    weights: boolean,
    line: number,
    character: number,
  ): (TextSpan & { def: boolean })[] {
    const { index } = this.printed(file, weights);
    const sym = index.symbolAt(line, character);
    if (!sym) return [];
    return index.occurrencesOf(sym).map((s) => ({ line: s.line, start: s.start, end: s.end, def: s.def }));
  }

  /** The card for a name found in a model file's JSON, or null when the model has no such name. */
  nameCard(file: string, name: string): { markdown: string } | null {
    const markdown = nameMarkdown(this.hoverSource(file), name);
    return markdown ? { markdown } : null;
  }
}
