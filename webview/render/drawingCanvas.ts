/**
 * Paints a Drawing (runtime/view/drawing.ts: the chart the reports write as SVG and PNG) on a 2D
 * canvas, in CSS pixels scaled for the device, so the editor shows exactly what a report holds.
 */
import { REPORT_FONT, type Drawing } from '../../runtime/view/drawing';

/** Paints `d` on `canvas` (resizing its backing store to the drawing at the device pixel ratio). */
export function paintDrawing(canvas: HTMLCanvasElement, d: Drawing, font = REPORT_FONT): void {
  const dpr = window.devicePixelRatio || 1;
  const w = Math.round(d.width * dpr);
  const h = Math.round(d.height * dpr);
  if (canvas.width !== w) canvas.width = w;
  if (canvas.height !== h) canvas.height = h;
  const ctx = canvas.getContext('2d')!;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.fillStyle = d.background;
  ctx.fillRect(0, 0, d.width, d.height);
  // Rectangles of one fill are batched into one path (thousands of bars at 10,000 layers).
  let batchFill = '';
  const flush = () => {
    if (batchFill) {
      ctx.fillStyle = batchFill;
      ctx.fill();
      batchFill = '';
    }
  };
  for (const s of d.shapes) {
    if (s.kind === 'rect' && s.fill && !s.stroke) {
      if (s.fill !== batchFill) {
        flush();
        batchFill = s.fill;
        ctx.beginPath();
      }
      ctx.rect(s.x, s.y, s.w, s.h);
      continue;
    }
    flush();
    switch (s.kind) {
      case 'rect':
        if (s.fill) {
          ctx.fillStyle = s.fill;
          ctx.fillRect(s.x, s.y, s.w, s.h);
        }
        if (s.stroke) {
          ctx.strokeStyle = s.stroke;
          ctx.lineWidth = s.lineWidth ?? 1;
          ctx.strokeRect(s.x, s.y, s.w, s.h);
        }
        break;
      case 'line':
        ctx.beginPath();
        ctx.moveTo(s.points[0], s.points[1]);
        for (let i = 2; i + 1 < s.points.length; i += 2) ctx.lineTo(s.points[i], s.points[i + 1]);
        ctx.strokeStyle = s.stroke;
        ctx.lineWidth = s.lineWidth;
        ctx.setLineDash(s.dash ?? []);
        ctx.stroke();
        ctx.setLineDash([]);
        break;
      case 'circle':
        ctx.beginPath();
        ctx.arc(s.x, s.y, s.r, 0, Math.PI * 2);
        if (s.fill) {
          ctx.fillStyle = s.fill;
          ctx.fill();
        }
        if (s.stroke) {
          ctx.strokeStyle = s.stroke;
          ctx.lineWidth = s.lineWidth ?? 1;
          ctx.stroke();
        }
        break;
      case 'text':
        ctx.save();
        ctx.translate(s.x, s.y);
        if (s.rotate) ctx.rotate((s.rotate * Math.PI) / 180);
        ctx.font = `${s.bold ? 'bold ' : ''}${s.size}px ${font}`;
        ctx.fillStyle = s.fill;
        ctx.textAlign = s.anchor === 'middle' ? 'center' : s.anchor === 'end' ? 'right' : 'left';
        ctx.textBaseline = 'alphabetic';
        ctx.fillText(s.text, 0, 0);
        ctx.restore();
        break;
    }
  }
  flush();
}
