/**
 * Starts the layout worker and runs layout jobs on it. The worker script is fetched and started
 * from a blob: webview resources live on another origin, which `new Worker(url)` refuses. When no
 * worker can start, the layout runs on the UI thread instead of failing.
 */
import { layered, type LayoutInput, type LayoutOutput } from '../../runtime/view/layered';
import { inputTransfer, type FromLayoutWorker, type ToLayoutWorker } from './layoutProtocol';

/** Up to this many items, a layout takes a few milliseconds on the UI thread: less than the round trip. */
const SMALL_GRAPH = 1000;

/** Lays out graphs in the worker, one job at a time per caller. */
export class LayoutClient {
  private worker?: Promise<Worker | undefined>;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(o: LayoutOutput): void; reject(e: Error): void }>();
  /** Where the last job ran, for the bench and the outline. */
  lastWhere: 'worker' | 'main' = 'main';

  constructor(private readonly scriptUrl: string | undefined) {}

  /** Starts the worker now (before the model arrives) so that the first layout does not wait for it. */
  warm(): void {
    void this.start();
  }

  private start(): Promise<Worker | undefined> {
    this.worker ??= (async () => {
      if (!this.scriptUrl || typeof Worker === 'undefined') return undefined;
      try {
        const res = await fetch(this.scriptUrl);
        if (!res.ok) return undefined;
        const blob = new Blob([await res.text()], { type: 'text/javascript' });
        const w = new Worker(URL.createObjectURL(blob));
        w.onmessage = (ev: MessageEvent<FromLayoutWorker>) => this.settle(ev.data);
        w.onerror = (ev) => {
          for (const p of this.pending.values()) p.reject(new Error(ev.message || 'layout worker failed'));
          this.pending.clear();
        };
        return w;
      } catch {
        return undefined;
      }
    })();
    return this.worker;
  }

  private settle(m: FromLayoutWorker): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (m.type === 'layoutDone') p.resolve(m.output);
    else p.reject(new Error(m.message));
  }

  /** Resolves true once the worker runs (it loads under the webview's CSP: connect-src + worker-src blob:), false when it cannot. */
  async started(): Promise<boolean> {
    return (await this.start()) !== undefined;
  }

  /**
   * Lays out `input` (its buffers are transferred to the worker). A small graph is laid out here:
   * it takes a few milliseconds, less than a round trip to the worker.
   */
  async layout(input: LayoutInput): Promise<LayoutOutput> {
    if (input.widths.length <= SMALL_GRAPH) {
      this.lastWhere = 'main';
      return layered(input);
    }
    const worker = await this.start();
    if (!worker) {
      this.lastWhere = 'main';
      return layered(input);
    }
    this.lastWhere = 'worker';
    const id = this.nextId++;
    const request: ToLayoutWorker = { type: 'layout', id, input };
    return new Promise<LayoutOutput>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage(request, inputTransfer(input));
    });
  }
}
