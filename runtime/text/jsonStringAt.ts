/**
 * Finds the JSON string value under a cursor on one line of a model.json, so that hovering a
 * layer or node name can ask for its card. Keys ("class_name": …) are not names and are skipped.
 */

/** A decoded JSON string value and its columns on the line (start at the opening quote, end after the closing one). */
export interface JsonStringHit {
  value: string;
  start: number;
  end: number;
}

/** The JSON string value (not a key) covering `character` on `line`, or undefined. */
export function jsonStringAt(line: string, character: number): JsonStringHit | undefined {
  const re = /"(?:[^"\\]|\\.)*"/g;
  for (let m = re.exec(line); m; m = re.exec(line)) {
    const start = m.index;
    const end = start + m[0].length;
    if (character < start) return undefined;
    if (character > end) continue;
    if (/^\s*:/.test(line.slice(end))) return undefined;
    try {
      return { value: JSON.parse(m[0]) as string, start, end };
    } catch {
      return undefined;
    }
  }
  return undefined;
}
