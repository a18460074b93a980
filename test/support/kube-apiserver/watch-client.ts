/** A raw watch client for tests of the stand-in itself: GET ?watch=1 over HTTPS, one event per JSON line. */
import { request } from 'node:https';
import type { KubeApiServer } from './index.js';

export interface WatchEvent {
  type: string;
  object: Record<string, unknown> & { metadata?: Record<string, unknown>; code?: number };
}

export interface OpenWatch {
  events: WatchEvent[];
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  /** Wait until `n` events arrived (or fail after `ms`). */
  until(pred: (events: WatchEvent[]) => boolean, ms: number, what: string): Promise<void>;
  close(): void;
}

export function openWatch(api: KubeApiServer, path: string): Promise<OpenWatch> {
  return new Promise((resolve, reject) => {
    const events: WatchEvent[] = [];
    let notify: () => void = () => undefined;
    const req = request(
      `${api.url}${path}`,
      { ca: api.certs.ca, headers: { authorization: `Bearer ${api.token}` }, timeout: 30_000 },
      (res) => {
        if (res.statusCode !== 200) {
          reject(new Error(`watch ${path}: HTTP ${res.statusCode ?? 0}`));
          res.resume();
          return;
        }
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buf += chunk;
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            events.push(JSON.parse(buf.slice(0, nl)) as WatchEvent);
            buf = buf.slice(nl + 1);
          }
          notify();
        });
        const ended = new Promise<void>((r) => {
          res.on('end', r);
          res.on('close', r);
        });
        resolve({
          events,
          ended,
          close: () => req.destroy(),
          async until(pred, ms, what) {
            const end = Date.now() + ms;
            while (!pred(events)) {
              const left = end - Date.now();
              if (left <= 0) throw new Error(`${what}: not seen within ${ms} ms (events: ${JSON.stringify(events.map((e) => e.type))})`);
              await new Promise<void>((r) => {
                const t = setTimeout(r, Math.min(left, 100));
                notify = () => {
                  clearTimeout(t);
                  r();
                };
              });
            }
          },
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}
