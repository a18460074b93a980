/**
 * IPC sends that never throw and never raise an unhandled 'error' event.
 *
 * `ChildProcess.send` / `process.send` without a callback report a closed
 * channel (EPIPE, ERR_IPC_CHANNEL_CLOSED) by emitting 'error' on the next
 * tick, and an 'error' event without a listener kills the process. A worker
 * can exit between the `isConnected()` check and the write (shutdown, a
 * crash, a kill), so every send between the primary and its workers goes
 * through here: a message to a process that is gone is dropped (the exit
 * handlers deal with the process itself), and `onError`, when given, hears
 * about it.
 */

/** What both sides of the channel look like: a cluster Worker, a ChildProcess, or `process` in a worker. */
export interface IpcEndpoint {
  send?(message: unknown, callback?: (error: Error | null) => void): boolean;
  readonly connected?: boolean;
  isConnected?(): boolean;
}

function connected(p: IpcEndpoint): boolean {
  if (typeof p.isConnected === 'function') return p.isConnected();
  return p.connected === true;
}

/** Send `message` over `p`'s IPC channel. Returns false when it was not sent (no channel, or closed). */
export function sendIpc(p: IpcEndpoint, message: unknown, onError?: (error: Error) => void): boolean {
  if (typeof p.send !== 'function' || !connected(p)) return false;
  try {
    p.send(message, (err) => {
      if (err !== null && err !== undefined) onError?.(err);
    });
    return true;
  } catch (err) {
    onError?.(err instanceof Error ? err : new Error(String(err)));
    return false;
  }
}
