/**
 * WebAssembly text of `runTask`, the entry point of the kernel threads (runtime/probe/wasm/
 * kernelThreads.ts): one task is a record of TASK_WORDS i32 on the heap, its kind then the
 * kernel's arguments; the thread that runs it passes its own scratch record (packing buffers of
 * the GEMM, the tap table), so that any thread can run any task. The main thread runs tasks
 * through the same export, so one dispatch serves every thread.
 */
import { add, get, i32, mul } from './wat.mjs';

/** Words per task record: the kind and up to 23 arguments. */
export const TASK_WORDS = 24;

/**
 * Task kinds, in br_table order, with the number of arguments each reads from the record; the
 * scratch arguments (from the thread's record) follow. Kept in step with TaskKind in
 * runtime/probe/wasm/kernelTasks.ts (a unit test compares them).
 */
export const TASKS = [
  { name: 'sgemm', args: 12, scratch: 'gemm' },
  { name: 'wgInput', args: 11 },
  { name: 'wgOutput', args: 9 },
  { name: 'wgGradOut', args: 9 },
  { name: 'im2col', args: 16, scratch: 'taps' },
  { name: 'col2im', args: 16, scratch: 'taps' },
  { name: 'im2colHwc', args: 16, scratch: 'taps' },
  { name: 'col2imHwc', args: 16, scratch: 'taps' },
  { name: 'maxPoolGrad', args: 18, scratch: 'table' },
  { name: 'im2colPlanar', args: 17 },
  { name: 'gradStats', args: 3 },
  { name: 'diffSq', args: 4 },
  { name: 'transpose', args: 16 },
  { name: 'wgConv', args: 22, scratch: 'gemm' },
  { name: 'wgWeightOut', args: 4 },
  { name: 'wgInput4', args: 11 },
  { name: 'wgOutput4', args: 9 },
  { name: 'wgConv4', args: 22, scratch: 'gemm' },
  { name: 'wgGradOut4', args: 9 },
  { name: 'wgWeightOut4', args: 4 },
  { name: 'im2col3d', args: 22 },
  { name: 'col2im3d', args: 23 },
  { name: 'conv3dDepths', args: 10, scratch: 'gemmAndTable' },
  { name: 'conv3dGradChannels', args: 10, scratch: 'gemmAndTable' },
  { name: 'conv3dFilterDepths', args: 11, scratch: 'gemmAndTable' },
];

/** Argument `i` of the task at $t. */
const arg = (i) => `(i32.load offset=${4 * (i + 1)} ${get('t')})`;
/** Word `i` of the thread's scratch record at $s: [pa, pb, tmp, tab]. */
const scr = (i) => `(i32.load offset=${4 * i} ${get('s')})`;

/**
 * The scratch arguments of a task: the GEMM's packing buffers, the tap table (and its zero run), or
 * both (the table as the task's own buffer: a 3-D convolution's tap matrix of a few depths).
 */
function scratchArgs(task) {
  if (task.scratch === 'gemm') return [scr(0), scr(1), scr(2)];
  if (task.scratch === 'table') return [scr(3)];
  if (task.scratch === 'gemmAndTable') return [scr(0), scr(1), scr(2), scr(3)];
  if (task.scratch === 'taps') {
    // The zero run follows the kh·kw table entries (geometry: x, out, n, h, w, c, oh, ow, kh, kw…).
    return [scr(3), add(scr(3), mul(mul(arg(8), arg(9)), i32(4)))];
  }
  return [];
}

/** The dispatch part of the module (the same in both builds). */
export function tasksText() {
  const labels = TASKS.map((_, i) => `$k${i}`);
  let body = `(br_table ${labels.join(' ')} $bad (i32.load ${get('t')}))`;
  TASKS.forEach((task, i) => {
    const args = [...Array.from({ length: task.args }, (_, j) => arg(j)), ...scratchArgs(task)];
    body = `(block $k${i} ${body})
    (call $${task.name} ${args.join(' ')})
    (return)`;
  });
  return `
(func (export "runTask") (param $t i32) (param $s i32)
  (block $bad ${body})
  unreachable)`;
}
