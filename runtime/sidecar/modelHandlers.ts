/**
 * model/… requests: open (read, analyse, build the view model), close, tensor statistics.
 */
import { analyzeSkips } from '../analysis/analyzeSkips';
import { openModel } from '../analysis/openModel';
import { ModelClose, ModelOpen, ModelTensorStats } from '../protocol/sidecarProtocol';
import { releaseRunnerOf } from '../probe/runProbe';
import { buildViewModel } from '../view/buildViewModel';
import { checkViewSize } from '../view/viewLimits';
import { tensorStats } from '../view/tensorStats';
import { guarded, type HandlerContext } from './handlerContext';

/** Registers the model/… handlers. */
export function registerModelHandlers({ conn, store }: HandlerContext): void {
  conn.onRequest(ModelOpen, ({ file }) =>
    guarded(async () => {
      const model = await openModel(file);
      const view = buildViewModel(model, analyzeSkips(model));
      checkViewSize(view, file); // before the model is kept: a refused graph holds no handle
      return { handle: store.add(model), view };
    }),
  );
  conn.onRequest(ModelClose, ({ handle }) => {
    const model = store.delete(handle);
    // Its parameters may sit in backend memory, cached for the next probe: a closed model has none.
    if (model) releaseRunnerOf(model);
  });
  conn.onRequest(ModelTensorStats, ({ handle, tensor }) =>
    guarded(() => tensorStats(store.get(handle), tensor)),
  );
}
