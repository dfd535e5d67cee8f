/**
 * The project's own error type for bad input: one sentence naming the file and the problem.
 * The CLI prints `message` alone (no stack) and exits non-zero; the sidecar returns it as a
 * JSON-RPC error; the extension shows it as a friendly message.
 */
export class ModelError extends Error {
  /** The file the problem is in, when there is one. */
  readonly file?: string;

  constructor(message: string, file?: string) {
    super(message);
    this.name = 'ModelError';
    this.file = file;
  }
}

/** True for the errors Skipscope reports as user-facing sentences rather than crashes. */
export function isModelError(e: unknown): e is ModelError {
  return e instanceof ModelError;
}

/** One line describing any thrown value, for logs and last-resort messages. */
export function describeError(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}

/**
 * The first sentence of a library's message, without its final period, for quoting inside one of
 * Skipscope's sentences (TF.js explains some errors over several numbered lines).
 */
export function quotedCause(e: unknown): string {
  const line = describeError(e).split('\n')[0].trim();
  return line.split(/\.\s+(?=[A-Z])/)[0].replace(/[.:]+$/, '');
}
