/**
 * Fast-path study: typed access to Node's built-in llhttp binding
 * (`process.binding('http_parser')`, the parser node:http itself uses).
 * Node 20 prints DEP0111 once on first access; the binding is internal API,
 * its callback signatures changed in the past (kOnBody lost its start/len
 * arguments in v18-ish), so a product adopting it must pin and test per major.
 */

export interface NativeParser {
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void;
  /** Bytes parsed, or an Error with `code` (HPE_*) and `bytesParsed`. */
  execute(buf: Buffer): number | (Error & { code?: string; reason?: string; bytesParsed?: number });
  /** Signals EOF (close-delimited bodies); Error on a truncated message. */
  finish(): number | Error | undefined;
  close(): void;
  free(): void;
  [k: number]: unknown;
}

export interface ParserClass {
  new (): NativeParser;
  readonly REQUEST: number;
  readonly RESPONSE: number;
  readonly kOnHeaders: number;
  readonly kOnHeadersComplete: number;
  readonly kOnBody: number;
  readonly kOnMessageComplete: number;
  readonly kLenientNone: number;
}

let cached: { HTTPParser: ParserClass; allMethods: string[] } | null = null;

/** The binding, loaded once with the deprecation warning silenced for that one access. */
export function llhttp(): { HTTPParser: ParserClass; allMethods: string[] } {
  if (cached !== null) return cached;
  const p = process as unknown as { binding(name: string): unknown; noDeprecation?: boolean };
  const prev = p.noDeprecation;
  p.noDeprecation = true;
  try {
    cached = p.binding('http_parser') as { HTTPParser: ParserClass; allMethods: string[] };
  } finally {
    p.noDeprecation = prev;
  }
  return cached;
}
