/**
 * Writes a Drawing as a standalone SVG document (no scripts, no external references).
 */
import { visibleName } from '../view/displayName';
import { REPORT_FONT, type Drawing, type Shape } from '../view/drawing';

/**
 * Escapes text for XML content and attribute values; control and bidi characters (which XML 1.0
 * forbids, or which would reorder the text) are written visibly first (see visibleName).
 */
export function xmlEscape(s: string): string {
  return visibleName(s).replace(
    /[<>&"']/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

const n = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(2));

function shapeSvg(s: Shape): string {
  switch (s.kind) {
    case 'rect': {
      const body = `<rect x="${n(s.x)}" y="${n(s.y)}" width="${n(Math.max(0, s.w))}" height="${n(Math.max(0, s.h))}" fill="${s.fill ?? 'none'}"${s.stroke ? ` stroke="${s.stroke}" stroke-width="${n(s.lineWidth ?? 1)}"` : ''}`;
      return s.title ? `${body}><title>${xmlEscape(s.title)}</title></rect>` : `${body}/>`;
    }
    case 'line': {
      const pts: string[] = [];
      for (let i = 0; i + 1 < s.points.length; i += 2) pts.push(`${n(s.points[i])},${n(s.points[i + 1])}`);
      return `<polyline points="${pts.join(' ')}" fill="none" stroke="${s.stroke}" stroke-width="${n(s.lineWidth)}"${s.dash ? ` stroke-dasharray="${s.dash.join(' ')}"` : ''} stroke-linejoin="round"/>`;
    }
    case 'circle':
      return `<circle cx="${n(s.x)}" cy="${n(s.y)}" r="${n(s.r)}" fill="${s.fill ?? 'none'}"${s.stroke ? ` stroke="${s.stroke}" stroke-width="${n(s.lineWidth ?? 1)}"` : ''}/>`;
    case 'text': {
      const rot = s.rotate ? ` transform="rotate(${s.rotate} ${n(s.x)} ${n(s.y)})"` : '';
      return `<text x="${n(s.x)}" y="${n(s.y)}" font-size="${n(s.size)}" fill="${s.fill}" text-anchor="${s.anchor ?? 'start'}"${s.bold ? ' font-weight="bold"' : ''}${rot}>${xmlEscape(s.text)}</text>`;
    }
  }
}

/** The SVG text of `d`. */
export function toSvg(d: Drawing): string {
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${n(d.width)}" height="${n(d.height)}" viewBox="0 0 ${n(d.width)} ${n(d.height)}" font-family="${xmlEscape(REPORT_FONT)}">`,
  ];
  if (d.title) out.push(`<title>${xmlEscape(d.title)}</title>`);
  out.push(`<rect width="100%" height="100%" fill="${d.background}"/>`);
  for (const s of d.shapes) out.push(shapeSvg(s));
  out.push('</svg>');
  return out.join('\n') + '\n';
}
