/**
 * `skipscope probe MODEL [options]`: per-layer gradient flow on sample batches (DESIGN.md).
 */
import * as fs from 'node:fs';
import { openModel } from '../analysis/openModel';
import { parseArgs, UsageError, type Subcommand } from './args';
import type { BackendName, BatchSource, LossKind, ProbeOptions } from '../probe/probeTypes';
import { runProbe } from '../probe/runProbe';
import { renderFlowTable } from '../probe/flowTable';
import { print } from './stdoutGuard';
import { probeJson } from '../probe/probeJson';
import { resolveCuts } from '../probe/cuts';
import { isModelError } from '../errors';
import { writeReport } from '../report/writeReport';
import { reportGraph } from '../report/reportGraph';

const LOSSES: LossKind[] = ['mean-square', 'sum', 'cross-entropy', 'mse'];
const BACKENDS = ['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu'];

function int(name: string, v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} needs a positive integer, got "${v}".`);
  return n;
}

/** Builds the batch source from the --input values. */
function sourceOf(inputs: string[], seed: number): BatchSource {
  if (inputs.length === 0) return { kind: 'synthetic', seed };
  if (
    inputs.length === 1 &&
    !inputs[0].includes('=') &&
    fs.existsSync(inputs[0]) &&
    fs.statSync(inputs[0]).isDirectory()
  )
    return { kind: 'images', folder: inputs[0] };
  const files: Record<string, string> = {};
  for (const s of inputs) {
    const eq = s.indexOf('=');
    const [name, file] = eq > 0 && !fs.existsSync(s) ? [s.slice(0, eq), s.slice(eq + 1)] : ['', s];
    if (!file.endsWith('.npy'))
      throw new UsageError(`--input takes FILE.npy, NAME=FILE.npy or an image folder, got "${s}".`);
    files[name] = file;
  }
  return { kind: 'npy', files };
}

/** The probe subcommand. */
export const probeCommand: Subcommand = {
  help: `Usage: skipscope probe MODEL [options]

Runs forward + backward passes on sample batches and reports the gradient at every parameter,
every node output and both sides of every skip connection.
  --input FILE.npy | NAME=FILE.npy | FOLDER   batch data (.npy per input, or an image folder);
                                  default: seeded normal noise shaped like the model inputs
  --batch N             batch size (default 4)
  --batches K           number of batches (default 2); statistics are means with spread
  --loss KIND           mean-square (default), sum, cross-entropy, mse
  --labels 3,1,…        class labels for cross-entropy (default: seeded random)
  --target FILE.npy     target for mse (shape of the first output)
  --dims NAME=SIZE      size of a symbolic input dimension (repeatable)
  --seed S              seed of the synthetic batches and labels (default 0)
  --backend NAME        auto (default: tensorflow if installed, else webgpu on a hardware GPU,
                        else wasm), tensorflow, webgpu (a software adapter too), wasm, cpu
  --threads N           threads of the WebAssembly kernels (default: one per core)
  --native-path DIR     folder with node_modules/@tensorflow/tfjs-node(-gpu) for the tensorflow backend
  --cut NAME[,NAME…]|all  replace the skip inputs of these merges (names or skip ids) by zeros
  --report DIR          also write the report: probe.json, layers.csv, report.md, chart and graph as SVG and PNG
  --json                machine-readable output`,
  async run(args) {
    const a = parseArgs(
      args,
      ['json'],
      [
        'input',
        'batch',
        'batches',
        'loss',
        'labels',
        'target',
        'dims',
        'seed',
        'backend',
        'native-path',
        'threads',
        'cut',
        'report',
      ],
    );
    if (a.positionals.length !== 1) throw new UsageError('probe takes exactly one MODEL file.');
    const one = (k: string) => a.options.get(k)?.at(-1);
    const loss = (one('loss') ?? 'mean-square') as LossKind;
    if (!LOSSES.includes(loss)) throw new UsageError(`--loss must be one of ${LOSSES.join(', ')}.`);
    const backend = one('backend') ?? 'auto';
    if (!BACKENDS.includes(backend)) throw new UsageError(`--backend must be one of ${BACKENDS.join(', ')}.`);
    const seed = Number(one('seed') ?? 0);
    if (!Number.isFinite(seed)) throw new UsageError('--seed needs a number.');
    const dims: Record<string, number> = {};
    for (const d of a.options.get('dims') ?? []) {
      const [k, v] = d.split('=');
      if (!k || !(Number(v) > 0)) throw new UsageError(`--dims takes NAME=SIZE, got "${d}".`);
      dims[k] = Number(v);
    }
    const labels = one('labels')
      ?.split(',')
      .map((s) => {
        const n = Number(s);
        if (!Number.isInteger(n) || n < 0) throw new UsageError(`--labels takes class indices, got "${s}".`);
        return n;
      });
    const opts: ProbeOptions = {
      source: sourceOf(a.options.get('input') ?? [], seed),
      batchSize: int('batch', one('batch'), 4),
      batches: int('batches', one('batches'), 2),
      loss,
      labels,
      target: one('target'),
      dims,
      backend: backend as BackendName | 'auto',
      threads: one('threads') === undefined ? undefined : int('threads', one('threads'), 1),
      seed,
    };
    const cutArg = a.options.get('cut');
    const model = await openModel(a.positionals[0]);
    if (cutArg) {
      const names = cutArg.flatMap((c) => c.split(','));
      opts.cut = names.includes('all') ? 'all' : names;
      try {
        resolveCuts(model, opts.cut); // a name that is not a merge is a usage error, said before any work
      } catch (e) {
        if (isModelError(e)) throw new UsageError(`--cut: ${e.message}`);
        throw e;
      }
    }
    const nativePath = one('native-path') ?? process.env.SKIPSCOPE_NATIVE_PATH;
    const result = await runProbe(model, opts, { backendConfig: { nativePath } });
    const reportDir = one('report');
    if (reportDir) await writeReport(reportDir, result, reportGraph(model));
    print(a.flags.has('json') ? probeJson(result) : renderFlowTable(result));
    return 0;
  },
};
