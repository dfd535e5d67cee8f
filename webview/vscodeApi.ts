/**
 * The webview's link to the extension: typed posting, and request/response for tensor statistics.
 */
import type { FromWebviewMessage, TensorStats, ToWebviewMessage } from './protocol';

interface VsCodeApi {
  postMessage(m: FromWebviewMessage): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

/** Posts to the extension and matches tensor-statistics answers to their requests. */
export class ExtensionLink {
  private readonly api: VsCodeApi;
  private nextId = 1;
  private readonly waiting = new Map<number, (r: { stats?: TensorStats; error?: string }) => void>();

  constructor() {
    this.api = acquireVsCodeApi();
  }

  /** Sends one message. */
  post(m: FromWebviewMessage): void {
    this.api.postMessage(m);
  }

  /** Asks the sidecar (through the extension) for a weight tensor's statistics. */
  tensorStats(tensor: string): Promise<{ stats?: TensorStats; error?: string }> {
    const requestId = this.nextId++;
    this.post({ type: 'tensorStats', requestId, tensor });
    return new Promise((resolve) => this.waiting.set(requestId, resolve));
  }

  /** Routes an answer; true when the message was one. */
  settle(m: ToWebviewMessage): boolean {
    if (m.type !== 'tensorStatsResult') return false;
    this.waiting.get(m.requestId)?.({ stats: m.stats, error: m.error });
    this.waiting.delete(m.requestId);
    return true;
  }
}
