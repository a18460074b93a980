/**
 * Classification helpers shared by metrics, tap and the views: success of an
 * exchange, path templates for `top`, bounded label values.
 */

/**
 * gRPC codes that count as failures, as Linkerd classifies them
 * (linkerd2-proxy `classify.rs`): UNKNOWN, DEADLINE_EXCEEDED, INTERNAL,
 * UNAVAILABLE, DATA_LOSS. Every other code (NOT_FOUND, INVALID_ARGUMENT,
 * PERMISSION_DENIED, …) is the server answering correctly about a client problem.
 */
export const GRPC_FAILURE_CODES: readonly number[] = Object.freeze([2, 4, 13, 14, 15]);

const GRPC_FAILURE = new Uint8Array(17);
for (const c of GRPC_FAILURE_CODES) GRPC_FAILURE[c] = 1;

/**
 * Success of one exchange. Failure: no response (status 0), a 5xx, an
 * upstream connection error or timeout, or a gRPC server-fault status.
 */
export function isSuccess(status: number, grpcStatus: number | null, upstreamError: boolean): boolean {
  if (upstreamError || status === 0 || status >= 500) return false;
  if (grpcStatus === null || grpcStatus === 0) return true;
  // Unknown codes (> 16) are treated like UNKNOWN.
  return grpcStatus > 16 ? false : GRPC_FAILURE[grpcStatus] === 0;
}

const GRPC_NAMES = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
];

/** `OK`, `NOT_FOUND`, … (the number itself for unknown codes). */
export function grpcStatusName(code: number): string {
  return GRPC_NAMES[code] ?? String(code);
}

const METHODS: Record<string, string> = Object.assign(Object.create(null) as Record<string, string>, {
  GET: 'GET',
  HEAD: 'HEAD',
  POST: 'POST',
  PUT: 'PUT',
  DELETE: 'DELETE',
  CONNECT: 'CONNECT',
  OPTIONS: 'OPTIONS',
  TRACE: 'TRACE',
  PATCH: 'PATCH',
});

/** The method as a label value: standard methods kept, anything else `EXTENSION` (bounded cardinality). */
export function methodLabel(method: string): string {
  return METHODS[method] ?? 'EXTENSION';
}

function isDigits(s: string, from: number, to: number): boolean {
  if (to <= from) return false;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
}

function isUuid(s: string): boolean {
  if (s.length !== 36) return false;
  for (let i = 0; i < 36; i++) {
    const c = s.charCodeAt(i);
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (c !== 45) return false;
    } else if (!isHex(c)) return false;
  }
  return true;
}

/** Hex ids: at least 8 hex characters, at least one of them a digit. */
function isHexId(s: string): boolean {
  if (s.length < 8) return false;
  let digit = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!isHex(c)) return false;
    if (c <= 57) digit = true;
  }
  return digit;
}

function templateSegment(seg: string): string {
  if (seg === '') return seg;
  const neg = seg.charCodeAt(0) === 45 ? 1 : 0;
  const dot = seg.indexOf('.');
  if (dot < 0 ? isDigits(seg, neg, seg.length) : isDigits(seg, neg, dot) && isDigits(seg, dot + 1, seg.length)) return '{n}';
  if (isUuid(seg)) return '{uuid}';
  if (isHexId(seg)) return '{hex}';
  if (seg.length > 64) return '{s}';
  return seg;
}

const MAX_TEMPLATE_PATH = 512;

/**
 * `/add/10/20` → `/add/{n}/{n}`; uuids → `{uuid}`, hex ids → `{hex}`,
 * segments over 64 characters → `{s}`. Paths over 512 characters keep their
 * first 512 (then templated).
 */
export function pathTemplate(path: string): string {
  const p = path.length > MAX_TEMPLATE_PATH ? path.slice(0, MAX_TEMPLATE_PATH) : path;
  const segs = p.split('/');
  let changed = false;
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i] as string;
    const t = templateSegment(seg);
    if (t !== seg) {
      segs[i] = t;
      changed = true;
    }
  }
  return changed ? segs.join('/') : p;
}

/** pathTemplate with a bounded memo (the same few paths repeat under load). */
export class PathTemplater {
  private readonly memo = new Map<string, string>();
  constructor(private readonly max = 4096) {}
  template(path: string): string {
    let t = this.memo.get(path);
    if (t === undefined) {
      t = pathTemplate(path);
      if (this.memo.size >= this.max) this.memo.clear();
      this.memo.set(path, t);
    }
    return t;
  }
}

/** Keeps at most `max` distinct values; later ones fold into `other`. */
export class LabelCap {
  private readonly seen = new Set<string>();
  constructor(
    private readonly max: number,
    readonly other = 'other',
  ) {}
  fold(value: string): string {
    if (this.seen.has(value)) return value;
    if (this.seen.size >= this.max) return this.other;
    this.seen.add(value);
    return value;
  }
  get size(): number {
    return this.seen.size;
  }
}
