/**
 * The one owner of the sidecar process: starts it lazily, restarts it after a crash on the next
 * request, and stops it on dispose. Everything model-related runs in the sidecar, not here.
 */
import * as cp from 'node:child_process';
import * as vscode from 'vscode';
import {
  createMessageConnection,
  MessageConnection,
  NotificationType,
  RequestType,
  IPCMessageReader,
  IPCMessageWriter,
  CancellationToken,
} from 'vscode-jsonrpc/node';

/**
 * A request that failed because the sidecar process stopped under it (killed, out of memory,
 * crashed in native code) rather than because it answered with an error. `exit` says how it ended.
 */
export class SidecarStoppedError extends Error {
  constructor(readonly exit: string) {
    super(`the Skipscope sidecar stopped (${exit}) before it answered`);
    this.name = 'SidecarStoppedError';
  }
}

/** How a sidecar that stopped unexpectedly ended, and whether a request in flight reported it. */
export interface SidecarCrash {
  /** One line for the log and a notification. */
  reason: string;
  /** True when requests were in flight: their callers say what was lost, in their own words. */
  reported: boolean;
}

/** How `proc` ended: "SIGKILL", "exit code 3". */
function exitOf(proc: cp.ChildProcess): string {
  return proc.signalCode ?? `exit code ${proc.exitCode}`;
}

/** Client for runtime/sidecar.ts. */
export class SidecarClient implements vscode.Disposable {
  private proc?: cp.ChildProcess;
  private conn?: MessageConnection;
  private disposed = false;
  /** Requests sent and not yet settled. */
  private inFlight = 0;
  private readonly onCrashEmitter = new vscode.EventEmitter<SidecarCrash>();
  /** Fires when the sidecar dies unexpectedly. */
  readonly onCrash = this.onCrashEmitter.event;
  private readonly handlers: ((c: MessageConnection) => void)[] = [];
  private readonly onRestartEmitter = new vscode.EventEmitter<void>();
  /** Fires after restart() stopped the sidecar on purpose: handles it gave out are gone. */
  readonly onRestart = this.onRestartEmitter.event;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  /** Registers a notification handler that survives restarts. */
  onNotification<P>(type: NotificationType<P>, handler: (params: P) => void): void {
    const attach = (c: MessageConnection) => c.onNotification(type, handler);
    this.handlers.push(attach);
    if (this.conn) attach(this.conn);
  }

  /**
   * Sends a request, starting (or restarting) the sidecar first if needed. Rejects with
   * SidecarStoppedError when the process stops before it answers (not when it was stopped on
   * purpose by restart(): that is a cancellation, which the caller knows about).
   */
  async request<P, R>(type: RequestType<P, R, void>, params: P, token?: CancellationToken): Promise<R> {
    const conn = this.ensure();
    const proc = this.proc!;
    this.inFlight++;
    try {
      return await conn.sendRequest(type, params, token);
    } catch (e) {
      const stopped = await this.stoppedUnexpectedly(proc);
      throw stopped ? new SidecarStoppedError(exitOf(proc)) : e;
    } finally {
      this.inFlight--;
    }
  }

  /** Processes stopped on purpose (restart, dispose), whose failed requests are not crashes. */
  private readonly stoppedOnPurpose = new WeakSet<cp.ChildProcess>();

  /**
   * Whether `proc` is gone (or going) without having been asked to: its IPC channel is closed.
   * Waits briefly for its exit, so that the signal or exit code can be named.
   */
  private async stoppedUnexpectedly(proc: cp.ChildProcess): Promise<boolean> {
    if (proc.connected && proc.exitCode === null && proc.signalCode === null) return false;
    if (proc.exitCode === null && proc.signalCode === null)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 2000);
        proc.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    return !this.stoppedOnPurpose.has(proc);
  }

  /**
   * Kills the sidecar (a cancelled probe whose pass is in flight uses it); the next request starts
   * a new one. Resolves once the old process has exited.
   */
  restart(): Promise<void> {
    const exited = this.stop();
    this.onRestartEmitter.fire();
    return exited;
  }

  private ensure(): MessageConnection {
    if (this.disposed) throw new Error('Skipscope is shutting down.');
    if (this.conn) return this.conn;
    const script = vscode.Uri.joinPath(this.extensionUri, 'dist', 'sidecar.js').fsPath;
    // JSON-RPC over the Node IPC channel: native code in the sidecar (Dawn) prints on stdout,
    // which is therefore only a log here, like stderr.
    const proc = cp.fork(script, [], {
      execPath: process.execPath,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
    });
    const conn = createMessageConnection(new IPCMessageReader(proc), new IPCMessageWriter(proc));
    const logLines = (d: Buffer) => this.log.info(`[sidecar] ${d.toString().trimEnd()}`);
    proc.stdout!.on('data', logLines);
    proc.stderr!.on('data', logLines);
    proc.on('exit', (code, signal) => {
      if (this.proc !== proc) return;
      this.conn?.dispose();
      this.conn = undefined;
      this.proc = undefined;
      if (!this.disposed) {
        const reason = `The Skipscope sidecar stopped (${signal ?? `exit code ${code}`}); it will restart on the next action.`;
        this.log.warn(reason);
        this.onCrashEmitter.fire({ reason, reported: this.inFlight > 0 });
      }
    });
    for (const h of this.handlers) h(conn);
    conn.listen();
    this.proc = proc;
    this.conn = conn;
    this.log.info(`sidecar started (pid ${proc.pid})`);
    return conn;
  }

  /** Stops the process; resolves when it has exited. */
  private stop(): Promise<void> {
    const proc = this.proc;
    this.conn?.dispose();
    this.conn = undefined;
    this.proc = undefined;
    if (proc) this.stoppedOnPurpose.add(proc);
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill();
    return exited;
  }

  dispose(): void {
    this.disposed = true;
    void this.stop();
    this.onCrashEmitter.dispose();
    this.onRestartEmitter.dispose();
  }
}
