/**
 * model/text, model/textSymbol and model/nameCard: the ONNX text view and the hovers on model
 * names in text editors.
 */
import { ModelNameCard, ModelText, ModelTextSymbol } from '../protocol/sidecarProtocol';
import { TextService } from '../text/textService';
import { guarded, type HandlerContext } from './handlerContext';

/** Registers the text-view handlers. */
export function registerTextHandlers({ conn }: HandlerContext): void {
  const texts = new TextService();
  conn.onRequest(ModelText, ({ file, weights }) =>
    guarded(() => ({ text: texts.printed(file, weights).text })),
  );
  conn.onRequest(ModelTextSymbol, ({ file, weights, line, character }) =>
    guarded(() => texts.symbolAt(file, weights ?? false, line, character)),
  );
  conn.onRequest(ModelNameCard, ({ file, name }) => guarded(() => texts.nameCard(file, name)));
}
