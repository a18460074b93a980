/**
 * The access log: Traefik's CLF or JSON lines, to stdout or a file, written
 * asynchronously. `log()` only formats and queues; lines are written in one
 * batch per event-loop turn through an fs write stream (also for stdout, whose
 * own writes are synchronous for files and pipes). The queue is bounded: while
 * the destination is slower than the traffic, lines beyond the bound are
 * dropped and counted. `close()` flushes what is queued.
 *
 * Authorization, Proxy-Authorization, Cookie and Set-Cookie are never written;
 * other headers are dropped unless `fields.headers` keeps them (Traefik's
 * `fields.headers.defaultMode=drop`).
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { FieldRules, formatCommon, jsonFields, type AccessLogEntry, type AccessLogFields } from './access-log-format.js';

export type { AccessLogEntry, AccessLogFields, FieldMode } from './access-log-format.js';

export interface AccessLogFilters {
  /** `["200", "300-302", "500-599"]`. */
  statusCodes?: readonly string[];
  /** Keep entries with at least one retry. */
  retryAttempts?: boolean;
  /** Keep entries slower than this (ms). */
  minDurationMs?: number;
}

export interface AccessLogOptions {
  format?: 'common' | 'json';
  /** File to append to; stdout when null/absent. */
  filePath?: string | null;
  /** Max lines held in memory while the destination catches up (Traefik's bufferingSize); default 10 000. */
  bufferingSize?: number;
  /** Max bytes held in memory; default 8 MiB. */
  maxBufferBytes?: number;
  fields?: AccessLogFields;
  filters?: AccessLogFilters;
  /** Destination stream (tests, or an already-open stream); overrides filePath. Not closed by close(). */
  destination?: Writable;
  now?: () => number;
}

const CLOSE_TIMEOUT_MS = 5_000;

function parseStatusRanges(codes: readonly string[]): Array<[number, number]> {
  return codes.map((c) => {
    const m = /^\s*(\d{3})\s*(?:-\s*(\d{3})\s*)?$/.exec(c);
    if (m === null) throw new Error(`accessLog.filters.statusCodes: invalid status or range "${c}" (expected "404" or "500-599")`);
    return [Number(m[1]), Number(m[2] ?? m[1])];
  });
}

export class AccessLog {
  private readonly format: 'common' | 'json';
  private readonly rules: FieldRules;
  private readonly headers: boolean;
  private readonly maxLines: number;
  private readonly maxBytes: number;
  private readonly statusRanges: Array<[number, number]> | null;
  private readonly keepRetries: boolean;
  private readonly minDurationMs: number;
  private readonly out: Writable;
  private readonly ownsStream: boolean;
  private readonly now: () => number;
  private queue: string[] = [];
  private queuedBytes = 0;
  private scheduled = false;
  private blocked = false;
  private closed = false;
  private count = 0;
  /** Lines dropped because the buffer was full. */
  dropped = 0;

  constructor(opts: AccessLogOptions = {}) {
    this.format = opts.format === 'json' ? 'json' : 'common';
    this.rules = new FieldRules(opts.fields);
    this.headers = this.rules.anyHeaders;
    this.maxLines = opts.bufferingSize !== undefined && opts.bufferingSize > 0 ? opts.bufferingSize : 10_000;
    this.maxBytes = opts.maxBufferBytes ?? 8 * 1024 * 1024;
    const f = opts.filters ?? {};
    this.statusRanges = f.statusCodes !== undefined && f.statusCodes.length > 0 ? parseStatusRanges(f.statusCodes) : null;
    this.keepRetries = f.retryAttempts === true;
    this.minDurationMs = f.minDurationMs ?? 0;
    this.now = opts.now ?? Date.now;
    if (opts.destination !== undefined) {
      this.out = opts.destination;
      this.ownsStream = false;
    } else if (opts.filePath !== undefined && opts.filePath !== null && opts.filePath !== '') {
      this.out = createWriteStream(opts.filePath, { flags: 'a', mode: 0o640 });
      this.ownsStream = true;
    } else {
      // fd 1 through libuv's thread pool: asynchronous even when stdout is a file or a pipe.
      this.out = createWriteStream('/dev/stdout', { fd: 1, autoClose: false });
      this.ownsStream = true;
    }
    this.out.on('error', () => {
      // A broken destination must not crash the gateway; lines are dropped from now on.
      this.closed = true;
    });
  }

  /** Requests seen since start (Traefik's RequestCount). */
  get requestCount(): number {
    return this.count;
  }

  /** Record one finished exchange (formats and queues; never writes synchronously). */
  log(e: AccessLogEntry): void {
    const n = ++this.count;
    if (this.closed || !this.keep(e)) return;
    const line = this.formatLine(e, n);
    if (this.queue.length >= this.maxLines || this.queuedBytes + line.length > this.maxBytes) {
      this.dropped++;
      return;
    }
    this.queue.push(line);
    this.queuedBytes += line.length;
    if (!this.scheduled && !this.blocked) {
      this.scheduled = true;
      setImmediate(() => this.drain());
    }
  }

  /** The line `log()` would write for `e` (with its newline). */
  formatLine(e: AccessLogEntry, requestCount: number): string {
    if (this.format === 'common') return formatCommon(e, requestCount);
    const o = jsonFields(e, requestCount, this.now());
    this.rules.apply(o);
    if (this.headers) {
      this.rules.addHeaders(o, 'request_', e.requestHeaders);
      this.rules.addHeaders(o, 'downstream_', e.responseHeaders);
    }
    return JSON.stringify(o) + '\n';
  }

  private keep(e: AccessLogEntry): boolean {
    if (this.statusRanges === null && !this.keepRetries && this.minDurationMs <= 0) return true;
    if (this.statusRanges !== null)
      for (const [lo, hi] of this.statusRanges) if (e.downstreamStatus >= lo && e.downstreamStatus <= hi) return true;
    if (this.keepRetries && e.retryAttempts > 0) return true;
    return this.minDurationMs > 0 && e.durationMs > this.minDurationMs;
  }

  private drain(): void {
    this.scheduled = false;
    if (this.queue.length === 0 || this.closed) return;
    const chunk = this.queue.join('');
    this.queue = [];
    this.queuedBytes = 0;
    const ok = this.out.write(chunk);
    if (!ok) {
      this.blocked = true;
      this.out.once('drain', () => {
        this.blocked = false;
        if (this.queue.length > 0) this.drain();
      });
    }
  }

  /** Write what is queued; resolves when the destination accepted it (bounded wait). */
  async flush(): Promise<void> {
    if (this.blocked) await this.waitFor('drain');
    this.drain();
    if (this.blocked) await this.waitFor('drain');
  }

  /** Flush, then close the destination if this log opened it. Further log() calls are ignored. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush();
    this.closed = true;
    if (!this.ownsStream) return;
    const ws = this.out as WriteStream;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, CLOSE_TIMEOUT_MS);
      ws.end(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  private waitFor(event: 'drain'): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(t);
        this.out.off(event, done);
        resolve();
      };
      const t = setTimeout(done, CLOSE_TIMEOUT_MS);
      this.out.once(event, done);
    });
  }
}
