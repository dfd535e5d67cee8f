/**
 * runtime/… requests: what this sidecar can run probes on (backends found, versions, threads), and
 * its memory.
 */
import { RuntimeInfoRequest, RuntimeMemoryRequest } from '../protocol/sidecarProtocol';
import { VERSION } from '../version';
import { backendAvailability, currentBackend, tfVersions } from '../probe/backend';
import { coreCount } from '../probe/wasm/kernelThreads';
import type { HandlerContext } from './handlerContext';
import { memoryReport } from './memoryReport';

/** Registers the runtime/… handlers. */
export function registerRuntimeHandlers({ conn, store }: HandlerContext): void {
  conn.onRequest(RuntimeInfoRequest, async () => {
    const running = currentBackend();
    const versions = Object.entries(tfVersions())
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    return {
      version: VERSION,
      node: process.versions.node,
      backends: (await backendAvailability({ nativePath: process.env.SKIPSCOPE_NATIVE_PATH })).map((b) => ({
        ...b,
        detail: `${b.detail}${running?.name === b.name ? ` — in use: ${running.device}` : ''}; ${versions}`,
      })),
      threads: running?.threads ?? 0,
      cores: coreCount(),
    };
  });
  conn.onRequest(RuntimeMemoryRequest, ({ gc }) => memoryReport(store.size, gc));
}
