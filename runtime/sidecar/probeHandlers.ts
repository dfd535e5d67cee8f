/**
 * probe/… requests: probe/run on an opened model, with probe/progress notifications and
 * cancellation through the JSON-RPC cancellation token. Bad input comes back as a JSON-RPC error
 * carrying one sentence; the sidecar keeps running.
 */
import * as path from 'node:path';
import { ResponseError } from 'vscode-jsonrpc/node';
import { ProbeProgress, ProbeReport, ProbeRun } from '../protocol/sidecarProtocol';
import { writeReport } from '../report/writeReport';
import { reportGraph } from '../report/reportGraph';
import { ProbeCancelled, runProbe } from '../probe/runProbe';
import { toGradientOverlay } from '../view/gradientOverlay';
import { guarded, type HandlerContext } from './handlerContext';
import { jsonSafe, reviveNonFinite } from '../protocol/nonFiniteJson';
import type { ProbeResult } from '../probe/probeTypes';
import { textService } from './textHandlers';

/** JSON-RPC's "request cancelled" code (LSP's RequestCancelled). */
const REQUEST_CANCELLED = -32800;

/** Registers the probe/… handlers. */
export function registerProbeHandlers({ conn, store }: HandlerContext): void {
  conn.onRequest(ProbeRun, async ({ handle, runId, options }, token) => {
    try {
      const model = store.get(handle);
      const result = await runProbe(model, options, {
        onProgress: (done, total, message) =>
          void conn.sendNotification(ProbeProgress, { runId, done, total, message }),
        isCancelled: () => token.isCancellationRequested,
        backendConfig: { nativePath: options.nativePath ?? process.env.SKIPSCOPE_NATIVE_PATH },
      });
      const overlay = toGradientOverlay(result);
      // Text hovers on the same file show the measured gradients too.
      textService.gradients.set(path.resolve(model.file), overlay);
      return jsonSafe({ result, overlay });
    } catch (e) {
      if (e instanceof ProbeCancelled) return new ResponseError(REQUEST_CANCELLED, e.message);
      return guarded(() => {
        throw e;
      });
    }
  });
  conn.onRequest(ProbeReport, ({ handle, result, dir }) =>
    guarded(async () => ({
      files: await writeReport(dir, reviveNonFinite<ProbeResult>(result), reportGraph(store.get(handle))),
    })),
  );
}
