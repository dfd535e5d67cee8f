// Every process an E2E run starts carries SKIPSCOPE_E2E_RUN=<id> in its environment: run.mjs sets it
// before it starts anything, and code-server, its extension hosts and sidecars, mocha and Chromium
// inherit it. So the run can find whatever outlived its cleanup — a failed test's browser, an
// orphan that left its process group, an interrupted API suite — and end it. Linux only (/proc).
import { readdirSync, readFileSync } from 'node:fs';

/** The environment variable that marks this run's processes. */
export const RUN_MARKER = 'SKIPSCOPE_E2E_RUN';

/** Live processes other than this one whose environment carries `RUN_MARKER=id`, with their commands. */
export function processesOfRun(id) {
  const needle = `${RUN_MARKER}=${id}\0`;
  const found = [];
  let pids = [];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return found; // no /proc: nothing to check here
  }
  for (const pid of pids.map(Number)) {
    if (pid === process.pid) continue;
    try {
      if (!readFileSync(`/proc/${pid}/environ`, 'latin1').includes(needle)) continue;
      const state = readFileSync(`/proc/${pid}/stat`, 'latin1').split(') ').pop()?.[0];
      if (state === 'Z') continue; // exited, waiting for its parent to reap it
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'latin1').replace(/\0/g, ' ').trim();
      found.push({ pid, cmd });
    } catch {
      /* gone meanwhile, or not ours to read */
    }
  }
  return found;
}

/**
 * Waits up to `graceMs` for the run's processes to exit on their own, then kills those left
 * (SIGKILL) and returns them: an empty list means the run cleaned up after itself.
 */
export async function endProcessesOfRun(id, graceMs = 5000) {
  const deadline = Date.now() + graceMs;
  let left = processesOfRun(id);
  while (left.length && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    left = processesOfRun(id);
  }
  for (const p of left) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  return left;
}
