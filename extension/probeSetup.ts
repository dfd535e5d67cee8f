/**
 * Run setup for a gradient probe: quick picks for the batch source (synthetic, a .npy file per
 * model input, an image folder), batch size, number of batches, loss (mse with a target file) and
 * backend (each available one with its device, from runtime/info). Defaults come from the
 * settings; the choices are remembered per model in workspace state and reused by Run Again.
 */
import * as vscode from 'vscode';
import type { BackendName, BatchSource, LossKind, ProbeOptions } from '../runtime/probe/probeTypes';
import { RuntimeInfoRequest } from '../runtime/protocol/sidecarProtocol';
import type { ExtensionServices } from './extension';

const KEY = 'skipscope.probeSettings:';
const STEPS = 5;

/** Probe options from the settings; the native folder only from the machine-scoped (user) value. */
export function optionsFromSettings(): ProbeOptions {
  const cfg = vscode.workspace.getConfiguration('skipscope.probe');
  const native = cfg.inspect<string>('nativeBackendPath')?.globalValue;
  return {
    source: { kind: 'synthetic' },
    batchSize: cfg.get<number>('batchSize', 4),
    batches: cfg.get<number>('batches', 2),
    loss: 'mean-square',
    backend: cfg.get<BackendName | 'auto'>('backend', 'auto'),
    threads: cfg.get<number>('threads', 0) || undefined,
    nativePath: native || undefined,
  };
}

/** The choices remembered for `uri`, or the settings' defaults. */
export function rememberedOptions(s: ExtensionServices, uri: vscode.Uri): ProbeOptions | undefined {
  const saved = s.context.workspaceState.get<ProbeOptions>(KEY + uri.toString());
  // The native folder always comes from the user setting, never from workspace state; the threads
  // are the machine's business, so from the settings too.
  const { nativePath, threads } = optionsFromSettings();
  return saved ? { ...saved, nativePath, threads } : undefined;
}

/** Remembers the choices for `uri`. */
export function rememberOptions(s: ExtensionServices, uri: vscode.Uri, o: ProbeOptions): Thenable<void> {
  return s.context.workspaceState.update(KEY + uri.toString(), {
    ...o,
    nativePath: undefined,
    cut: undefined,
  });
}

type Pick<T> = vscode.QuickPickItem & { value: T };

async function pick<T>(step: number, title: string, items: Pick<T>[], current?: T): Promise<T | undefined> {
  const ordered = [...items].sort((a, b) => Number(b.value === current) - Number(a.value === current));
  const chosen = await vscode.window.showQuickPick(ordered, {
    title: `Gradient probe (${step}/${STEPS}): ${title}`,
    placeHolder: title,
    ignoreFocusOut: true,
  });
  return chosen?.value;
}

async function positive(step: number, title: string, value: number): Promise<number | undefined> {
  const text = await vscode.window.showInputBox({
    title: `Gradient probe (${step}/${STEPS}): ${title}`,
    prompt: title,
    value: String(value),
    ignoreFocusOut: true,
    validateInput: (v) => (/^\d+$/.test(v.trim()) && Number(v) >= 1 ? undefined : 'A positive whole number.'),
  });
  return text === undefined ? undefined : Number(text.trim());
}

async function file(
  title: string,
  filters: Record<string, string[]>,
  folders = false,
): Promise<string | undefined> {
  const uri = await vscode.window.showOpenDialog({
    title,
    canSelectMany: false,
    canSelectFiles: !folders,
    canSelectFolders: folders,
    filters: folders ? undefined : filters,
  });
  return uri?.[0]?.fsPath;
}

/**
 * Asks for every choice, starting from the remembered ones; undefined when the user cancels.
 * `inputs` are the model's input names (one .npy file each).
 */
export async function askProbeOptions(
  s: ExtensionServices,
  uri: vscode.Uri,
  inputs: string[],
): Promise<ProbeOptions | undefined> {
  const base = rememberedOptions(s, uri) ?? optionsFromSettings();
  const kind = await pick<BatchSource['kind']>(
    1,
    'batch source',
    [
      {
        label: 'Synthetic',
        description: 'seeded normal noise shaped like the model inputs',
        value: 'synthetic',
      },
      { label: '.npy files…', description: 'one NumPy array per model input', value: 'npy' },
      { label: 'Image folder…', description: 'PNG/JPEG images, resized and normalised', value: 'images' },
    ],
    base.source.kind,
  );
  if (!kind) return undefined;
  let source: BatchSource = { kind: 'synthetic' };
  if (kind === 'npy') {
    const files: Record<string, string> = {};
    for (const name of inputs.length ? inputs : ['']) {
      const f = await file(`.npy file for input "${name}"`, { NumPy: ['npy'] });
      if (!f) return undefined;
      files[name] = f;
    }
    source = { kind: 'npy', files };
  } else if (kind === 'images') {
    const folder = await file('Folder of images', {}, true);
    if (!folder) return undefined;
    source = { kind: 'images', folder };
  }
  const batchSize = await positive(2, 'batch size', base.batchSize);
  if (batchSize === undefined) return undefined;
  const batches = await positive(
    3,
    'number of batches (statistics are means with their spread)',
    base.batches,
  );
  if (batches === undefined) return undefined;
  const loss = await pick<LossKind>(
    4,
    'loss',
    [
      { label: 'mean-square', description: 'mean over the outputs of mean(y²)', value: 'mean-square' },
      { label: 'sum', description: 'sum of the outputs', value: 'sum' },
      { label: 'cross-entropy', description: 'against seeded labels', value: 'cross-entropy' },
      { label: 'mse…', description: 'mean squared error against a target .npy file', value: 'mse' },
    ],
    base.loss,
  );
  if (!loss) return undefined;
  let target: string | undefined;
  if (loss === 'mse') {
    target = await file('Target .npy file (shape of the first output)', { NumPy: ['npy'] });
    if (!target) return undefined;
  }
  const info = await s.sidecar.request(RuntimeInfoRequest, undefined).catch(() => undefined);
  const backends: Pick<BackendName | 'auto'>[] = [
    { label: 'auto', description: 'the best available', value: 'auto' },
    ...(info?.backends ?? [])
      .filter((b) => b.available)
      .map((b) => ({ label: b.name, description: b.detail.split(';')[0], value: b.name as BackendName })),
  ];
  const backend = await pick(5, 'backend', backends, base.backend ?? 'auto');
  if (!backend) return undefined;
  const options: ProbeOptions = {
    ...base,
    source,
    batchSize,
    batches,
    loss,
    target,
    backend,
    cut: undefined,
  };
  await rememberOptions(s, uri, options);
  return options;
}
