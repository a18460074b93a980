/**
 * Test oracle for the strict HTTP/1 parsers: Node's own llhttp (the parser
 * node:http uses) reached through the internal `process.binding('http_parser')`
 * in strict mode (no lenient flags). Differential tests compare our parsers'
 * verdicts with it. Imported only by tests: the binding is internal API
 * (DEP0111) whose callback signatures have changed between Node majors.
 */

/** The binding's parser, as much of it as the oracle uses. */
interface NativeParser {
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void;
  /** Bytes parsed, or an Error with the llhttp code (HPE_*). */
  execute(buf: Buffer): number | (Error & { code?: string; bytesParsed?: number });
  close(): void;
  [callback: number]: unknown;
}

interface ParserClass {
  new (): NativeParser;
  readonly REQUEST: number;
  readonly kOnHeaders: number;
  readonly kOnHeadersComplete: number;
  readonly kOnBody: number;
  readonly kOnMessageComplete: number;
  readonly kLenientNone: number;
}

interface Binding {
  HTTPParser: ParserClass;
  allMethods: readonly string[];
}

/** The oracle judges syntax, not size: its head limit is far above any head a test builds. */
const MAX_HEAD = 1 << 20;

let binding: Binding | null = null;

/** The binding, loaded once with the deprecation warning silenced for that one access. */
function load(): Binding {
  if (binding !== null) return binding;
  const p = process as unknown as { binding(name: string): unknown; noDeprecation?: boolean };
  const prev = p.noDeprecation;
  p.noDeprecation = true;
  try {
    binding = p.binding('http_parser') as Binding;
  } finally {
    p.noDeprecation = prev;
  }
  return binding;
}

/** The request methods llhttp knows (it refuses any other token). */
export function llhttpMethods(): ReadonlySet<string> {
  return new Set(load().allMethods);
}

/** A request head llhttp accepted, with the framing it chose for the body. */
export interface LlhttpRequest {
  ok: true;
  method: string;
  url: string;
  major: number;
  minor: number;
  /** Flat raw list: name, value, name, value… (names as sent, values without surrounding OWS). */
  headers: string[];
  /** Declared body length when llhttp frames the body by Content-Length (0 included). */
  contentLength?: number;
  chunked: boolean;
  keepAlive: boolean;
  /** llhttp stops after this request: the connection becomes a tunnel (Upgrade or CONNECT). */
  upgrade: boolean;
}

/** llhttp refused the input; `code` is its HPE_* code, or INCOMPLETE when more bytes were expected. */
export interface LlhttpRefusal {
  ok: false;
  code: string;
  /**
   * llhttp's error position: at or just past the offending byte, depending on
   * the state it was in (the input's length when INCOMPLETE).
   */
  at: number;
}

/** A chunked body llhttp decoded. */
export interface LlhttpBody {
  ok: true;
  data: Buffer;
  /** Trailer fields, flat raw list like `headers`. */
  trailers: string[];
  /** The last chunk and the trailer section were read. */
  complete: boolean;
}

/**
 * One llhttp parser fed by `execute`; records the first message only (bytes
 * after it are parsed as llhttp would, but their events and errors are ignored).
 */
class Recorder {
  private readonly parser: NativeParser;
  private readonly methods: readonly string[];
  head: LlhttpRequest | null = null;
  private headers: string[] = [];
  private url = '';
  /** Fields reported after the head: the trailer section. */
  trailers: string[] = [];
  body: Buffer[] = [];
  complete = false;
  error: string | null = null;
  /** Where the error was found, in the buffer of the `feed` that found it. */
  errorAt = 0;

  constructor() {
    const { HTTPParser, allMethods } = load();
    this.methods = allMethods;
    const p = new HTTPParser();
    p.initialize(HTTPParser.REQUEST, {}, MAX_HEAD, HTTPParser.kLenientNone);
    // Past 32 fields (and for trailers) the binding flushes fields through kOnHeaders.
    p[HTTPParser.kOnHeaders] = (fields: string[], url: string): void => {
      if (this.complete) return;
      if (this.head === null) {
        this.headers.push(...fields);
        this.url += url;
      } else this.trailers.push(...fields);
    };
    p[HTTPParser.kOnHeadersComplete] = (
      major: number,
      minor: number,
      fields: string[] | undefined,
      method: number,
      url: string | undefined,
      _status: unknown,
      _reason: unknown,
      upgrade: boolean,
      keepAlive: boolean,
    ): number => {
      if (this.complete) return 0;
      if (fields !== undefined) this.headers = fields;
      this.head = {
        ok: true,
        method: this.methods[method]!,
        url: url ?? this.url,
        major,
        minor,
        headers: this.headers,
        chunked: false,
        keepAlive,
        upgrade,
      };
      return 0;
    };
    p[HTTPParser.kOnBody] = (b: Buffer): void => {
      if (!this.complete) this.body.push(Buffer.from(b));
    };
    p[HTTPParser.kOnMessageComplete] = (): void => {
      this.complete = true;
    };
    this.parser = p;
  }

  feed(buf: Buffer): void {
    if (this.error !== null || this.complete) return;
    const r = this.parser.execute(buf);
    if (typeof r !== 'number' && !this.complete) {
      this.error = r.code ?? 'UNKNOWN';
      this.errorAt = r.bytesParsed ?? 0;
    }
  }

  bodyBytes(): number {
    let n = 0;
    for (const b of this.body) n += b.length;
    return n;
  }

  close(): void {
    this.parser.close();
  }
}

/** Value of the first field named `name` (case-insensitive) in a flat list. */
function field(list: readonly string[], name: string): string | undefined {
  for (let i = 0; i < list.length; i += 2) if (list[i]!.toLowerCase() === name) return list[i + 1];
  return undefined;
}

/**
 * How llhttp strict parses one request head. `bytes` is the head with its
 * final CRLF CRLF and nothing after it. The body framing is observed, not
 * inferred from the fields: after the head, `0 CRLF CRLF` completes the
 * message with no data only when llhttp decodes chunked.
 */
export function llhttpRequest(bytes: Buffer): LlhttpRequest | LlhttpRefusal {
  const r = new Recorder();
  try {
    r.feed(bytes);
    if (r.error !== null) return { ok: false, code: r.error, at: r.errorAt };
    const head = r.head;
    if (head === null) return { ok: false, code: 'INCOMPLETE', at: bytes.length };
    const cl = field(head.headers, 'content-length');
    if (r.complete) {
      if (cl !== undefined) head.contentLength = Number(cl);
      return head;
    }
    r.feed(Buffer.from('0\r\n\r\n'));
    if (r.complete && r.bodyBytes() === 0) head.chunked = true;
    // llhttp refuses repeated Content-Length fields, so the one field is what it counts down.
    else if (cl !== undefined) head.contentLength = Number(cl);
    else return { ok: false, code: 'ORACLE_UNKNOWN_FRAMING', at: bytes.length };
    return head;
  } finally {
    r.close();
  }
}

/** The fixed head the chunked oracle puts in front of a body. */
const CHUNKED_HEAD = Buffer.from('POST /oracle HTTP/1.1\r\nHost: oracle\r\nTransfer-Encoding: chunked\r\n\r\n', 'latin1');

/**
 * How llhttp strict decodes `body` as a chunked request body (the bytes after
 * the head). Bytes after the body's end are ignored.
 */
export function llhttpChunkedBody(body: Buffer): LlhttpBody | LlhttpRefusal {
  const r = new Recorder();
  try {
    r.feed(CHUNKED_HEAD);
    if (r.head === null || r.complete) throw new Error('llhttp did not take the oracle head as the start of a chunked body');
    r.feed(body);
    if (r.error !== null) return { ok: false, code: r.error, at: r.errorAt };
    return { ok: true, data: Buffer.concat(r.body), trailers: r.trailers, complete: r.complete };
  } finally {
    r.close();
  }
}
