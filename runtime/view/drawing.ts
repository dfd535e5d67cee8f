/**
 * A small display list — rectangles, lines, polylines, circles and text — that the report's chart
 * and graph are drawn into once, then written as SVG (svg.ts), rasterised to PNG (raster.ts) or,
 * in the editor, painted on a canvas. One drawing, three outputs, so they cannot disagree.
 */

/** A colour as CSS text: "#rrggbb" or "rgba(r,g,b,a)". */
export type Colour = string;

/** One shape. Coordinates in pixels, y down. */
export type Shape =
  | {
      kind: 'rect';
      x: number;
      y: number;
      w: number;
      h: number;
      fill?: Colour;
      stroke?: Colour;
      lineWidth?: number;
      title?: string;
    }
  | { kind: 'line'; points: number[]; stroke: Colour; lineWidth: number; dash?: number[] }
  | { kind: 'circle'; x: number; y: number; r: number; fill?: Colour; stroke?: Colour; lineWidth?: number }
  | {
      kind: 'text';
      x: number;
      y: number;
      text: string;
      size: number;
      fill: Colour;
      anchor?: 'start' | 'middle' | 'end';
      bold?: boolean;
      /** Rotation in degrees around (x, y) (−90 for vertical labels). */
      rotate?: number;
    };

/** A drawing: its size, background and shapes in paint order. */
export interface Drawing {
  width: number;
  height: number;
  background: Colour;
  shapes: Shape[];
  /** Alternative text for the whole picture (SVG <title>). */
  title?: string;
}

/** The font family of report text: the rasteriser's glyphs are DejaVu Sans Mono, so the SVG asks for it too. */
export const REPORT_FONT = "'DejaVu Sans Mono', Menlo, Consolas, monospace";

/** Width of `text` at `size` px in the report font (monospace: advance × characters). */
export function textWidth(text: string, size: number): number {
  return text.length * size * 0.6022;
}

/**
 * Points of a quadratic Bézier from (x0, y0) through control (cx, cy) to (x1, y1), flattened into
 * `segments` pieces (the rasteriser and the canvas draw polylines only).
 */
export function quadratic(
  x0: number,
  y0: number,
  cx: number,
  cy: number,
  x1: number,
  y1: number,
  segments = 16,
): number[] {
  const pts: number[] = [];
  for (let i = 0; i <= segments; i++) {
    const t = i / segments;
    const u = 1 - t;
    pts.push(u * u * x0 + 2 * u * t * cx + t * t * x1, u * u * y0 + 2 * u * t * cy + t * t * y1);
  }
  return pts;
}
