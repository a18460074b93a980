/**
 * Bounded JSON fetch for key endpoints: one deadline for the whole exchange,
 * a size cap on the body, no redirects, and the Cache-Control max-age returned.
 */
import { request } from 'undici';

export interface FetchedJson {
  value: unknown;
  /** max-age from Cache-Control in ms (undefined when absent; 0 for no-cache/no-store). */
  maxAgeMs: number | undefined;
}

export interface FetchLimits {
  timeoutMs: number;
  maxBytes: number;
  /** Aborts the fetch (e.g. the configuration was retired). */
  signal?: AbortSignal;
}

const MAX_AGE = /(?:^|,)\s*max-age\s*=\s*"?(\d+)"?/i;

export function parseMaxAge(header: string | string[] | undefined): number | undefined {
  if (header === undefined) return undefined;
  const v = Array.isArray(header) ? header.join(',') : header;
  if (/(?:^|,)\s*(no-store|no-cache)\b/i.test(v)) return 0;
  const m = MAX_AGE.exec(v);
  return m === null ? undefined : Number(m[1]) * 1000;
}

/** Drop a body we will not read (the error a destroyed undici body emits is expected). */
function discard(body: { on(e: 'error', f: () => void): unknown; destroy(): unknown }): void {
  body.on('error', () => undefined);
  body.destroy();
}

export async function fetchJson(url: string, limits: FetchLimits): Promise<FetchedJson> {
  const signals = [AbortSignal.timeout(limits.timeoutMs)];
  if (limits.signal !== undefined) signals.push(limits.signal);
  const signal = AbortSignal.any(signals);
  let res;
  try {
    res = await request(url, {
      method: 'GET',
      headers: { accept: 'application/json' },
      signal,
      headersTimeout: limits.timeoutMs,
      bodyTimeout: limits.timeoutMs,
    });
  } catch (err) {
    throw new Error(signal.aborted ? `timed out after ${limits.timeoutMs} ms` : `request failed: ${(err as Error).message}`);
  }
  if (res.statusCode !== 200) {
    discard(res.body);
    throw new Error(`answered HTTP ${res.statusCode}`);
  }
  const declared = Number(res.headers['content-length'] ?? '0');
  if (declared > limits.maxBytes) {
    discard(res.body);
    throw new Error(`response larger than ${limits.maxBytes} bytes`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of res.body) {
      const buf = chunk as Buffer;
      size += buf.length;
      if (size > limits.maxBytes) {
        discard(res.body);
        throw new Error(`response larger than ${limits.maxBytes} bytes`);
      }
      chunks.push(buf);
    }
  } catch (err) {
    if (signal.aborted) throw new Error(`timed out after ${limits.timeoutMs} ms`);
    throw err;
  }
  let value: unknown;
  try {
    value = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new Error('response is not JSON');
  }
  return { value, maxAgeMs: parseMaxAge(res.headers['cache-control']) };
}
