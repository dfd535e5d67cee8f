/**
 * Where each name sits in a printed model text: node names, tensor names and function names,
 * with the line that defines each one, for hovers and go-to-definition in the text view.
 */

/** What a name in the text stands for. */
export type TextSymbolKind = 'node' | 'tensor' | 'function';

/** One occurrence of a name in the printed text (0-based line, UTF-16 columns, end exclusive). */
export interface TextSymbol {
  line: number;
  start: number;
  end: number;
  /** The name as stored in the model (unquoted). */
  name: string;
  kind: TextSymbolKind;
  /** True where the name is defined: graph input, initializer, node output, node name, function header. */
  def: boolean;
  /** The graph the occurrence belongs to: 0 is the main graph; subgraphs and functions get their own. */
  scope: number;
}

/** A printed text's symbols, looked up by position and by name. */
export class TextIndex {
  private readonly byLine: TextSymbol[][] = [];
  /** scope → name → definition, per kind prefix ("t:" tensors, "n:" nodes, "f:" functions). */
  private readonly defs: Map<string, TextSymbol>[] = [];
  /** kind:name → occurrences, built on the first occurrences query. */
  private byName?: Map<string, TextSymbol[]>;

  private built = false;

  constructor(
    readonly symbols: TextSymbol[],
    /** Parent scope of each scope (-1 for the main graph and functions, which see no outer names). */
    readonly scopeParents: number[],
  ) {}

  /** Builds the lookups on the first query, so that printing does not wait for them. */
  private build(): void {
    if (this.built) return;
    this.built = true;
    for (let i = 0; i < this.scopeParents.length; i++) this.defs.push(new Map());
    for (const s of this.symbols) {
      (this.byLine[s.line] ??= []).push(s);
      if (!s.def) continue;
      const scope = s.kind === 'function' ? 0 : s.scope;
      const key = `${s.kind[0]}:${s.name}`;
      // The first definition wins, as a reader of the text would expect.
      if (!this.defs[scope].has(key)) this.defs[scope].set(key, s);
    }
  }

  /** The symbol covering (line, character), if any; a cursor just after a name still counts. */
  symbolAt(line: number, character: number): TextSymbol | undefined {
    this.build();
    const onLine = this.byLine[line];
    if (!onLine) return undefined;
    return (
      onLine.find((s) => character >= s.start && character < s.end) ?? onLine.find((s) => character === s.end)
    );
  }

  /** Where the name of `sym` is defined, looking in its own scope, then the enclosing ones. */
  definitionOf(sym: Pick<TextSymbol, 'name' | 'kind' | 'scope'>): TextSymbol | undefined {
    this.build();
    const key = `${sym.kind[0]}:${sym.name}`;
    let scope = sym.kind === 'function' ? 0 : sym.scope;
    while (scope >= 0 && scope < this.defs.length) {
      const d = this.defs[scope].get(key);
      if (d) return d;
      scope = this.scopeParents[scope];
    }
    return undefined;
  }

  /** Every occurrence of the name of `sym` that means the same thing (same definition), in text order. */
  occurrencesOf(sym: TextSymbol): TextSymbol[] {
    const def = this.definitionOf(sym);
    this.byName ??= groupByName(this.symbols);
    const same = this.byName.get(`${sym.kind[0]}:${sym.name}`) ?? [];
    // Without a definition (a name used but never defined), occurrences in the same scope match.
    return same.filter((s) => (def ? this.definitionOf(s) === def : s.scope === sym.scope));
  }

  /** The definition of a tensor or node name in the main graph, for lookups by name. */
  find(name: string, kind: TextSymbolKind = 'tensor'): TextSymbol | undefined {
    return this.definitionOf({ name, kind, scope: 0 });
  }
}

function groupByName(symbols: TextSymbol[]): Map<string, TextSymbol[]> {
  const m = new Map<string, TextSymbol[]>();
  for (const s of symbols) {
    const key = `${s.kind[0]}:${s.name}`;
    const list = m.get(key);
    if (list) list.push(s);
    else m.set(key, [s]);
  }
  return m;
}
