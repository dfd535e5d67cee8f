/**
 * runtime/… requests: what this sidecar can run probes on (backends found, versions, threads).
 */
import { RuntimeInfoRequest } from '../protocol/sidecarProtocol';
import { VERSION } from '../version';
import { backendAvailability, currentBackend, tfVersions } from '../probe/backend';
import { coreCount } from '../probe/wasm/kernelThreads';
import type { HandlerContext } from './handlerContext';

/** Registers the runtime/… handlers. */
export function registerRuntimeHandlers({ conn }: HandlerContext): void {
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
}
