/**
 * The hover card for a name in a model's text (the ONNX text view, a TF.js model.json open as
 * text): a node or layer shows the graph's own node card; a tensor shows its type and the card
 * of the node producing it; a weight, graph input or function says what it is.
 */
import { CARD_NAME_MAX, markdownName } from '../view/displayName';
import type { FunctionDef, Model, Value } from '../model/ir';
import { formatCount, formatShape } from '../view/format';
import { nodeCardMarkdown } from '../view/nodeCard';
import type { GradientOverlay, ViewModel } from '../view/viewModel';
import type { TextSymbolKind } from './textIndex';

/** The model, its view model and the latest gradients, as the hover needs them. */
export interface HoverSource {
  model: Model;
  view: ViewModel;
  grads?: GradientOverlay;
}

/** A name from the file in Markdown: shown as text, never as a link, HTML or emphasis. */
function mdEscape(s: string): string {
  return markdownName(s, CARD_NAME_MAX);
}

function tensorLine(what: string, v: Value): string {
  return `**${what}** ${mdEscape(v.name)} — ${v.dtype} ${formatShape(v.shape)}`;
}

function readers(src: HoverSource, v: Value): string {
  const names = v.consumers.slice(0, 4).map((i) => {
    const n = src.model.graph.nodes[i];
    return `${n.op} ${mdEscape(n.name)}`;
  });
  if (v.consumers.length > 4) names.push(`${v.consumers.length - 4} more`);
  return names.length ? `read by ${names.join(', ')}` : 'read by no node';
}

function tensorMarkdown(src: HoverSource, v: Value): string {
  if (v.producer !== undefined) {
    const producer = src.model.graph.nodes[v.producer];
    const card = nodeCardMarkdown(src.view, producer.name, src.grads);
    return [
      tensorLine('tensor', v),
      '',
      `output of ${producer.op} ${mdEscape(producer.name)}`,
      '',
      '---',
      '',
      card ?? '',
    ]
      .join('\n')
      .trimEnd();
  }
  if (v.initializer) {
    const count = v.initializer.shape.reduce((a, b) => a * b, 1);
    const what =
      v.constant && v.consumers.every((i) => src.model.graph.nodes[i].params === 0) ? 'constant' : 'weight';
    return [
      tensorLine(what, v),
      '',
      `${formatCount(count)} values, stored ${mdEscape(v.initializer.location)}; ${readers(src, v)}`,
    ].join('\n');
  }
  const what = v.isGraphInput ? 'graph input' : 'tensor';
  return [tensorLine(what, v), '', readers(src, v)].join('\n');
}

function functionMarkdown(f: FunctionDef): string {
  const domain = f.domain ? `${mdEscape(f.domain)}.` : '';
  return [
    `**function** ${domain}${mdEscape(f.name)} — ${f.nodes.length} nodes`,
    '',
    `(${f.inputs.map(mdEscape).join(', ')}) => (${f.outputs.map(mdEscape).join(', ')})`,
  ].join('\n');
}

/** The card for `name` read as a symbol of `kind`, or undefined when the model has no such thing. */
export function symbolMarkdown(src: HoverSource, name: string, kind: TextSymbolKind): string | undefined {
  if (kind === 'function') {
    const f = src.model.functions.find((fn) => fn.name === name);
    return f && functionMarkdown(f);
  }
  if (kind === 'node') return nodeCardMarkdown(src.view, name, src.grads);
  const v = src.model.graph.values.get(name);
  return v && tensorMarkdown(src, v);
}

/**
 * The card for a name found in a model's JSON (a TF.js layer name, a graph-model node name or
 * input such as `conv/Conv2D:0` or `^ctrl`, a weight name), or undefined.
 */
export function nameMarkdown(src: HoverSource, raw: string): string | undefined {
  const candidates = [raw, raw.replace(/^\^/, ''), raw.replace(/^\^/, '').replace(/:\d+$/, '')];
  for (const name of candidates) {
    const card = nodeCardMarkdown(src.view, name, src.grads);
    if (card) return card;
    const v = src.model.graph.values.get(name);
    if (v) return tensorMarkdown(src, v);
  }
  return undefined;
}
