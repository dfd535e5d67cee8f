/**
 * The probe runs of each model, kept for the window's lifetime (not persisted: results hold per-layer
 * numbers of a model that may change on disk), and which two are compared (A and B). Editors
 * subscribe to changes; commands add runs and pick the pair.
 */
import * as vscode from 'vscode';
import type { ProbeOptions, ProbeResult } from '../runtime/probe/probeTypes';
import type { GradientOverlay } from '../runtime/view/viewModel';

/** One finished run. */
export interface StoredRun {
  id: number;
  options: ProbeOptions;
  result: ProbeResult;
  overlay: GradientOverlay;
  finished: Date;
}

/** The runs of one model and the compared pair. */
export interface ModelRuns {
  runs: StoredRun[];
  /** Run shown (A) and the one compared with it (B). */
  a?: number;
  b?: number;
}

const byModel = new Map<string, ModelRuns>();
const changed = new vscode.EventEmitter<vscode.Uri>();
let nextId = 1;

/** Fires with the model whose runs or pair changed. */
export const onRunsChanged = changed.event;

/** The runs of `uri` (an empty record when none). */
export function runsOf(uri: vscode.Uri): ModelRuns {
  return byModel.get(uri.toString()) ?? { runs: [] };
}

/** Adds a finished run and shows it as A (compared with `compareWith` as B when given). */
export function addRun(
  uri: vscode.Uri,
  options: ProbeOptions,
  result: ProbeResult,
  overlay: GradientOverlay,
  compareWith?: number,
): StoredRun {
  const key = uri.toString();
  const entry = byModel.get(key) ?? { runs: [] };
  byModel.set(key, entry);
  const id = nextId++;
  const finished = new Date();
  const run: StoredRun = {
    id,
    options,
    result,
    overlay: { ...overlay, run: { ...overlay.run!, id, time: finished.toLocaleTimeString() } },
    finished,
  };
  entry.runs.push(run);
  // A cut run compares against the intact one: the intact run is A, the cut run B.
  if (compareWith !== undefined) {
    entry.a = compareWith;
    entry.b = id;
  } else {
    entry.a = id;
    entry.b = undefined;
  }
  changed.fire(uri);
  return run;
}

/** Shows run `a`, compared with `b` (none when undefined). */
export function setCompared(uri: vscode.Uri, a: number, b?: number): void {
  const entry = byModel.get(uri.toString());
  if (!entry || !entry.runs.some((r) => r.id === a)) return;
  entry.a = a;
  entry.b = b !== undefined && entry.runs.some((r) => r.id === b) && b !== a ? b : undefined;
  changed.fire(uri);
}

/** The run shown (A) of `uri`, or the latest. */
export function shownRun(uri: vscode.Uri): StoredRun | undefined {
  const e = runsOf(uri);
  return e.runs.find((r) => r.id === e.a) ?? e.runs.at(-1);
}

/** The latest intact run of `uri` made with the same settings as `options` (ignoring cuts). */
export function intactTwin(uri: vscode.Uri, options: ProbeOptions): StoredRun | undefined {
  const same = (o: ProbeOptions) =>
    JSON.stringify({ ...o, cut: undefined }) === JSON.stringify({ ...options, cut: undefined });
  return [...runsOf(uri).runs].reverse().find((r) => !r.result.cut?.length && same(r.options));
}
