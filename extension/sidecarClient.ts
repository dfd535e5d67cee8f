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

/** Client for runtime/sidecar.ts. */
export class SidecarClient implements vscode.Disposable {
  private proc?: cp.ChildProcess;
  private conn?: MessageConnection;
  private disposed = false;
  private readonly onCrashEmitter = new vscode.EventEmitter<string>();
  /** Fires with a one-line reason when the sidecar dies unexpectedly. */
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

  /** Sends a request, starting (or restarting) the sidecar first if needed. */
  async request<P, R>(type: RequestType<P, R, void>, params: P, token?: CancellationToken): Promise<R> {
    const conn = this.ensure();
    return conn.sendRequest(type, params, token);
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
        this.onCrashEmitter.fire(reason);
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
