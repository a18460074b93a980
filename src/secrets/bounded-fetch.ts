/**
 * One HTTP exchange with a time limit on the whole exchange (connect, headers
 * and body) and a size limit on the body, read as text. Used for every
 * request to the Microsoft identity platform and to Key Vault.
 */

export interface BoundedResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

export class FetchLimitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FetchLimitError';
  }
}

export async function boundedFetch(
  url: string,
  init: RequestInit,
  limits: { timeoutMs: number; maxBytes: number },
): Promise<BoundedResponse> {
  const signal = AbortSignal.timeout(limits.timeoutMs);
  let res: Response;
  try {
    res = await fetch(url, { ...init, signal, redirect: 'error' });
  } catch (err) {
    throw new FetchLimitError(describe(err, limits.timeoutMs));
  }
  const declared = Number(res.headers.get('content-length') ?? '0');
  if (declared > limits.maxBytes) {
    await res.body?.cancel().catch(() => undefined);
    throw new FetchLimitError(`response larger than ${limits.maxBytes} bytes (content-length ${declared})`);
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    if (res.body !== null) {
      const reader = res.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        total += value.byteLength;
        if (total > limits.maxBytes) {
          await reader.cancel().catch(() => undefined);
          throw new FetchLimitError(`response larger than ${limits.maxBytes} bytes`);
        }
        chunks.push(value);
      }
    }
  } catch (err) {
    if (err instanceof FetchLimitError) throw err;
    throw new FetchLimitError(describe(err, limits.timeoutMs));
  }
  return { status: res.status, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') };
}

function describe(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return `no answer within ${timeoutMs} ms`;
  const cause = e.cause?.code ?? e.cause?.message;
  return cause !== undefined ? `${e.message ?? 'request failed'} (${cause})` : (e.message ?? String(err));
}
