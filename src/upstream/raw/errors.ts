/**
 * Errors of the raw HTTP/1.1 pool. The codes are undici's for the same
 * failures, so the proxy maps both pools' timeouts to 504 the same way.
 */

/** Error codes of the pool, the same as undici's for the same failures (the proxy maps the timeouts to 504). */
export type RawPoolErrorCode =
  | 'UND_ERR_CONNECT_TIMEOUT'
  | 'UND_ERR_HEADERS_TIMEOUT'
  | 'UND_ERR_BODY_TIMEOUT'
  | 'UND_ERR_SOCKET'
  | 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH'
  | 'UND_ERR_CLOSED'
  | 'UND_ERR_DESTROYED';

export class RawPoolError extends Error {
  readonly code: RawPoolErrorCode;
  constructor(code: RawPoolErrorCode, message: string) {
    super(message);
    this.name = 'RawPoolError';
    this.code = code;
  }
}

export function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
