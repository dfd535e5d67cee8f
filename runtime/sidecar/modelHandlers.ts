/**
 * model/… requests: open, close, tensor statistics.
 */
import { openModel } from '../model/open';
import { ModelClose, ModelOpen } from '../protocol/sidecarProtocol';
import { buildViewModel } from '../view/buildViewModel';
import { guarded, type HandlerContext } from './handlerContext';

/** Registers the model/… handlers. */
export function registerModelHandlers({ conn, store }: HandlerContext): void {
  conn.onRequest(ModelOpen, ({ file }) =>
    guarded(async () => {
      const model = await openModel(file);
      return { handle: store.add(model), view: buildViewModel(model) };
    }),
  );
  conn.onRequest(ModelClose, ({ handle }) => store.delete(handle));
}
