/**
 * Small argument parser shared by the subcommands.
 */

/** Wrong command-line usage; printed as one sentence with exit code 2. */
export class UsageError extends Error {}

/** A subcommand: its help text and its runner (returns the exit code). */
export interface Subcommand {
  help: string;
  run(args: string[]): Promise<number>;
}

/** Parsed arguments: positionals, flags (boolean) and options (repeatable values). */
export interface ParsedArgs {
  positionals: string[];
  flags: Set<string>;
  options: Map<string, string[]>;
}

/**
 * Parses `args`: names in `flagNames` take no value; names in `optionNames` take one
 * (`--x v` or `--x=v`); anything else starting with "--" is a UsageError.
 */
export function parseArgs(args: string[], flagNames: string[], optionNames: string[]): ParsedArgs {
  const out: ParsedArgs = { positionals: [], flags: new Set(), options: new Map() };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!a.startsWith('--')) {
      out.positionals.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = (eq >= 0 ? a.slice(0, eq) : a).slice(2);
    if (flagNames.includes(name)) {
      if (eq >= 0) throw new UsageError(`option --${name} takes no value.`);
      out.flags.add(name);
    } else if (optionNames.includes(name)) {
      const value = eq >= 0 ? a.slice(eq + 1) : args[++i];
      if (value === undefined) throw new UsageError(`option --${name} needs a value.`);
      out.options.set(name, [...(out.options.get(name) ?? []), value]);
    } else {
      throw new UsageError(`unknown option --${name}.`);
    }
  }
  return out;
}
