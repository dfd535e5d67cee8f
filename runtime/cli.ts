/**
 * The `skipscope` command: dispatches to one module per subcommand. Bad input prints one
 * sentence (no stack trace) and exits non-zero.
 */
import { visibleText } from './view/displayName';
import { describeError, isModelError } from './errors';
import { VERSION } from './version';
import { analyzeCommand } from './cli/analyzeCommand';
import { probeCommand } from './cli/probeCommand';
import { UsageError, type Subcommand } from './cli/args';
import { guardStdout } from './cli/stdoutGuard';
import { releaseBackends } from './probe/backend';

const subcommands: Record<string, Subcommand> = {
  analyze: analyzeCommand,
  probe: probeCommand,
};

const HELP = `skipscope ${VERSION} — inspect neural-network architectures, skip connections and gradient flow

Usage:
  skipscope analyze MODEL [--json]     graph summary, parameters, FLOPs and skip paths
  skipscope probe MODEL [options]      per-layer gradient flow on sample batches
  skipscope --help | --version

MODEL is an ONNX file (.onnx) or a TensorFlow.js model.json (layers or graph model).
Run "skipscope COMMAND --help" for the options of a command.`;

async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    console.log(HELP);
    return argv.length === 0 ? 1 : 0;
  }
  if (argv[0] === '--version' || argv[0] === '-v') {
    console.log(VERSION);
    return 0;
  }
  const sub = subcommands[argv[0]];
  if (!sub) throw new UsageError(`unknown command "${argv[0]}"; run "skipscope --help" for the list.`);
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(sub.help);
    return 0;
  }
  // A probe may load Dawn, which prints on descriptor 1 from native code.
  if (argv[0] === 'probe') guardStdout();
  return sub.run(argv.slice(1));
}

main(process.argv.slice(2)).then(
  (code) => {
    releaseBackends(); // Dawn keeps the process alive while its GPU is referenced
    process.exitCode = code;
  },
  (e: unknown) => {
    releaseBackends();
    if (isModelError(e) || e instanceof UsageError) {
      // A sentence may name a node: its control and bidi characters shown, not obeyed.
      console.error(`skipscope: ${visibleText(describeError(e))}`);
      process.exitCode = e instanceof UsageError ? 2 : 1;
    } else {
      console.error(`skipscope: internal error: ${visibleText(describeError(e))} (please report this)`);
      process.exitCode = 70;
    }
  },
);
