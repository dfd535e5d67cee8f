/**
 * The hover card: a tooltip near the pointer with a node's (or group's) card. A card with actions
 * (a merge's "Cut this skip") behaves like VS Code's editor hovers: it stays open while the pointer
 * travels from the item onto the card, within the box spanning both, so that its action can be
 * clicked; the action also names its keyboard route (the Details panel has the same button).
 */
import type { NodeCard } from '../../runtime/view/nodeCard';
import { fill, h } from '../dom';

/** A link-like button at the foot of a card. */
export interface CardAction {
  id: string;
  label: string;
  title: string;
  run(): void;
}

/** A box in the parent's CSS pixels. */
export interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** Shows and hides one card element. */
export class HoverCard {
  readonly el: HTMLElement;
  /** While a card with actions shows: the box spanning the item and the card. */
  private zone?: Box;

  /** `onLeave` runs when the pointer leaves a card with actions for somewhere outside the graph. */
  constructor(
    parent: HTMLElement,
    private readonly onLeave: () => void,
  ) {
    this.el = h('div', { class: 'hover-card', role: 'tooltip', id: 'hover-card', hidden: true });
    parent.append(this.el);
    this.el.addEventListener('pointerleave', (ev) => {
      // Back onto the graph: its pointer moves decide (the zone may keep the card).
      if (ev.relatedTarget instanceof Node && this.el.parentElement?.contains(ev.relatedTarget)) return;
      this.onLeave();
    });
  }

  /**
   * Shows `card` for the item named `name`, near (x, y) inside the parent; `item` is the item's
   * box, which with the card makes the zone that keeps a card with `actions` open.
   */
  show(card: NodeCard, name: string, x: number, y: number, actions: CardAction[] = [], item?: Box): void {
    // A shortened name keeps its whole (visible) text as the cell's tooltip.
    const rows = card.rows.map(([k, v], i) =>
      h('tr', {}, h('th', { scope: 'row' }, k), h('td', { title: i === 0 ? card.fullName : undefined }, v)),
    );
    const buttons = actions.map((a) => {
      const b = h('button', { class: 'card-action', id: a.id, title: a.title }, a.label);
      b.addEventListener('click', () => {
        this.hide();
        a.run();
      });
      return b;
    });
    fill(
      this.el,
      h('div', { class: 'card-title' }, h('strong', {}, card.title)),
      card.skipRole ? h('div', { class: 'card-role' }, card.skipRole) : null,
      h('table', {}, ...rows),
      buttons.length ? h('div', { class: 'card-actions' }, ...buttons) : null,
    );
    this.el.classList.toggle('has-actions', buttons.length > 0);
    this.el.dataset.node = name;
    this.el.hidden = false;
    const parent = this.el.parentElement!.getBoundingClientRect();
    const w = this.el.offsetWidth;
    const hgt = this.el.offsetHeight;
    const { left, top } = placeCard(x, y, w, hgt, parent.width, parent.height);
    this.el.style.left = `${left}px`;
    this.el.style.top = `${top}px`;
    const around = item ?? { x0: x, y0: y, x1: x, y1: y };
    this.zone = buttons.length
      ? {
          x0: Math.min(around.x0, left),
          y0: Math.min(around.y0, top),
          x1: Math.max(around.x1, left + w),
          y1: Math.max(around.y1, top + hgt),
        }
      : undefined;
  }

  /** Whether a card with actions is open and (x, y) lies on the way between its item and it. */
  holds(x: number, y: number): boolean {
    const z = this.zone;
    return !this.el.hidden && !!z && x >= z.x0 && x <= z.x1 && y >= z.y0 && y <= z.y1;
  }

  /** Hides the card. */
  hide(): void {
    this.el.hidden = true;
    this.zone = undefined;
    delete this.el.dataset.node;
  }
}

/**
 * Where a w × h card goes near the pointer (x, y) in a W × H parent: beside it (right, else left),
 * else above or below it; never over the pointer itself, which would hide the item hovered and,
 * for a card that takes the pointer, steal it.
 */
export function placeCard(
  x: number,
  y: number,
  w: number,
  h: number,
  W: number,
  H: number,
): { left: number; top: number } {
  const gap = 16;
  const clamp = (v: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, v));
  const beside = x + gap + w <= W ? x + gap : x - gap - w >= 0 ? x - gap - w : undefined;
  if (beside !== undefined) return { left: beside, top: clamp(y + gap, 0, Math.max(0, H - h)) };
  const left = clamp(x - w / 2, 0, Math.max(0, W - w));
  const top = y + gap + h <= H || y - gap - h < 0 ? y + gap : y - gap - h;
  return { left, top };
}
