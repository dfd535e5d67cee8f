/**
 * model/text, model/textSymbol, model/textOccurrences and model/nameCard: the ONNX text view and the hovers on model
 * names in text editors.
 */
import { ModelNameCard, ModelText, ModelTextOccurrences, ModelTextSymbol } from '../protocol/sidecarProtocol';
import { TextService } from '../text/textService';
import { guarded, type HandlerContext } from './handlerContext';

/**
 * The sidecar's one text service. A probe handler that has built a gradient overlay for a file
 * gives it to `textService.gradients.set(file, overlay)` so that text hovers show the stats too.
 */
export const textService = new TextService();

/** Registers the text-view handlers. */
export function registerTextHandlers({ conn }: HandlerContext): void {
  const texts = textService;
  conn.onRequest(ModelText, ({ file, weights }) =>
    guarded(() => ({ text: texts.printed(file, weights).text })),
  );
  conn.onRequest(ModelTextSymbol, ({ file, weights, line, character }) =>
    guarded(() => texts.symbolAt(file, weights ?? false, line, character)),
  );
  conn.onRequest(ModelTextOccurrences, ({ file, weights, line, character }) =>
    guarded(() => texts.occurrences(file, weights ?? false, line, character)),
  );
  conn.onRequest(ModelNameCard, ({ file, name }) => guarded(() => texts.nameCard(file, name)));
}
