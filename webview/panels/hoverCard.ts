/**
 * The hover card: a tooltip near the pointer with a node's (or group's) card.
 */
import type { NodeCard } from '../../runtime/view/nodeCard';
import { fill, h } from '../dom';

/** Shows and hides one card element. */
export class HoverCard {
  readonly el: HTMLElement;

  constructor(parent: HTMLElement) {
    this.el = h('div', { class: 'hover-card', role: 'tooltip', id: 'hover-card', hidden: true });
    parent.append(this.el);
  }

  /** Shows `card` for the item named `name`, near (x, y) inside the parent. */
  show(card: NodeCard, name: string, x: number, y: number): void {
    const rows = card.rows.map(([k, v]) => h('tr', {}, h('th', { scope: 'row' }, k), h('td', {}, v)));
    fill(
      this.el,
      h('div', { class: 'card-title' }, h('strong', {}, card.title)),
      card.skipRole ? h('div', { class: 'card-role' }, card.skipRole) : null,
      h('table', {}, ...rows),
    );
    this.el.dataset.node = name;
    this.el.hidden = false;
    const parent = this.el.parentElement!.getBoundingClientRect();
    const w = this.el.offsetWidth;
    const hgt = this.el.offsetHeight;
    const left = x + 16 + w > parent.width ? Math.max(0, x - 16 - w) : x + 16;
    const top = y + 16 + hgt > parent.height ? Math.max(0, y - 16 - hgt) : y + 16;
    this.el.style.left = `${left}px`;
    this.el.style.top = `${top}px`;
  }

  /** Hides the card. */
  hide(): void {
    this.el.hidden = true;
    delete this.el.dataset.node;
  }
}
