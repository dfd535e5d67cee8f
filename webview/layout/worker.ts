/**
 * The layout Web Worker: runs the layered layout off the UI thread.
 */
import { layered } from '../../runtime/view/layered';
import { outputTransfer, type FromLayoutWorker, type ToLayoutWorker } from './layoutProtocol';

const scope = self as unknown as {
  onmessage: ((ev: MessageEvent<ToLayoutWorker>) => void) | null;
  postMessage(m: FromLayoutWorker, transfer: ArrayBuffer[]): void;
};

scope.onmessage = (ev) => {
  const m = ev.data;
  if (m.type !== 'layout') return;
  const t0 = performance.now();
  try {
    const output = layered(m.input);
    scope.postMessage(
      { type: 'layoutDone', id: m.id, output, ms: performance.now() - t0 },
      outputTransfer(output),
    );
  } catch (e) {
    scope.postMessage(
      { type: 'layoutFailed', id: m.id, message: e instanceof Error ? e.message : String(e) },
      [],
    );
  }
};
