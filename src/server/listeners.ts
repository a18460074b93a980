/**
 * The cluster primary's listening sockets. With several workers the primary
 * owns every entry point's listener and hands each accepted connection to a
 * worker in turn (round robin, as node:cluster's own scheduler does), with the
 * socket as the IPC message's handle.
 *
 * Why not node:cluster's shared listener: its primary closes the listening
 * socket only when the last worker closes its server, and destroys the
 * connections it queued for workers at that moment; a connection bounced by a
 * worker that had just closed is kept until the primary exits. Under a
 * connect storm that reset 9 to 16 accepted connections per shutdown. Owning
 * the listener, the primary closes it first, while every worker still runs,
 * and every connection it accepted is delivered and served; only what is
 * still in the kernel's accept queue at that instant is reset (as with any
 * server that closes its listener, nginx included).
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { Worker } from 'node:cluster';
import type { Addresses, PrimaryMessage } from '../cluster/protocol.js';
import { listenError, type EntryPointSpec } from './entrypoint.js';

/** Connections that wait for a worker (all of them restarting) at most this long, and at most this many. */
const WAIT_FOR_WORKER_MS = 10_000;
const MAX_WAITING = 1024;

interface Waiting {
  ep: string;
  socket: Socket;
  timer: NodeJS.Timeout;
}

export class PrimaryListeners {
  readonly #servers = new Map<string, Server>();
  #workers: Worker[] = [];
  #next = 0;
  readonly #waiting: Waiting[] = [];
  #closed = false;
  readonly addresses: Addresses = {};

  /** Listen on every entry point; rejects with GH_LISTEN_FAILED naming the first that cannot (the others are closed). */
  async listen(eps: readonly EntryPointSpec[]): Promise<void> {
    try {
      for (const ep of eps) {
        // pauseOnConnect: the primary never reads a byte; the worker does.
        const server = createServer({ pauseOnConnect: true, allowHalfOpen: true }, (socket) => this.#dispatch(ep.name, socket));
        await new Promise<void>((resolve, reject) => {
          server.once('error', (err: NodeJS.ErrnoException) => reject(listenError(ep.name, ep.host, ep.port, err)));
          server.listen({ port: ep.port, host: ep.host }, () => {
            server.removeAllListeners('error');
            // Accept errors (EMFILE…) are the kernel's to retry; never an uncaught 'error'.
            server.on('error', () => undefined);
            resolve();
          });
        });
        this.#servers.set(ep.name, server);
        const a = server.address();
        this.addresses[ep.name] = typeof a === 'object' && a !== null ? { host: a.address, port: a.port } : { host: '', port: 0 };
      }
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  /** The workers that receive connections, in turn. A worker leaves with remove() (exit or stop). */
  add(w: Worker): void {
    if (!this.#workers.includes(w)) this.#workers.push(w);
    for (const c of this.#waiting.splice(0)) {
      clearTimeout(c.timer);
      this.#dispatch(c.ep, c.socket);
    }
  }

  remove(w: Worker): void {
    this.#workers = this.#workers.filter((x) => x !== w);
  }

  /** Stop accepting: the kernel refuses new connections from now on; every one accepted before is delivered. */
  async close(): Promise<void> {
    this.#closed = true;
    // The listening socket closes at once. Not awaited: close's callback waits until every
    // connection handed to a worker has ended (node asks the workers), which is the drain's job.
    for (const s of this.#servers.values()) s.close(() => undefined);
    this.#servers.clear();
    await Promise.resolve();
  }

  /** Connections still waiting for a worker when the primary gives up (shutdown): closed. */
  dropWaiting(): void {
    for (const c of this.#waiting.splice(0)) {
      clearTimeout(c.timer);
      c.socket.destroy();
    }
  }

  #dispatch(ep: string, socket: Socket, tried = 0): void {
    socket.on('error', () => undefined); // a reset while in the primary's hands
    const live = this.#workers.filter((w) => w.isConnected());
    if (live.length === 0 || tried >= live.length) {
      if (this.#waiting.length >= MAX_WAITING || (this.#closed && live.length === 0 && this.#workers.length === 0)) {
        socket.destroy();
        return;
      }
      const timer = setTimeout(() => {
        const i = this.#waiting.findIndex((c) => c.socket === socket);
        if (i >= 0) this.#waiting.splice(i, 1);
        socket.destroy();
      }, WAIT_FOR_WORKER_MS);
      this.#waiting.push({ ep, socket, timer });
      return;
    }
    const w = live[this.#next++ % live.length]!;
    if (this.#next >= Number.MAX_SAFE_INTEGER) this.#next = 0;
    try {
      w.send({ gh: 'conn', ep } satisfies PrimaryMessage, socket, { keepOpen: false }, (err: Error | null) => {
        // Not delivered (the worker went away mid-send): the next worker gets it.
        if (err !== null && !socket.destroyed) this.#dispatch(ep, socket, tried + 1);
      });
    } catch {
      if (!socket.destroyed) this.#dispatch(ep, socket, tried + 1);
    }
  }
}
