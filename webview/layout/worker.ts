/**
 * Layout Web Worker (placeholder until the graph layout lands): echoes an empty layout.
 */
self.onmessage = () => {
  (self as unknown as { postMessage(m: unknown): void }).postMessage({ type: 'layout', nodes: [] });
};
