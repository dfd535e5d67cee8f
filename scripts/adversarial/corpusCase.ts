/**
 * One file of the adversarial corpus: what it is, how to write it, and (for the files that change
 * under the reader) what to do to it once it is open.
 */

/** The groups of lies (README "Reliability" counts outcomes by these). */
export type CaseKind =
  | 'issue' // the hand-made files of issue 16's report
  | 'shape' // shape and dtype lies
  | 'structure' // empty, parameter-free, output-less graphs, missing inputs, duplicates, cycles
  | 'scale' // chains and fan-outs 100k long or wide
  | 'version' // future opsets and domains, unknown attributes, attribute type lies
  | 'external' // external data escapes, offsets past the end, files that shrink
  | 'names' // markup, bidi, control characters, megabyte names
  | 'tfjs'; // TF.js manifests that lie, mixed-up formats

/** A corpus file. */
export interface CorpusCase {
  /** Unique id: the folder it is written to and its row in the outcome table. */
  name: string;
  kind: CaseKind;
  /** What it lies about, in a few words. */
  what: string;
  /** The model file, relative to the case's folder. */
  file: string;
  /** Writes the case into its (empty, existing) folder. */
  write(dir: string): void;
  /** Called once the model is open and before its weights are read (a file shrinking under the reader). */
  afterOpen?(dir: string): void;
}
