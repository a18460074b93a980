/**
 * The chunked decoder frames request bodies on the fast path: a framing
 * disagreement with the next hop is request smuggling. Valid streams, every
 * split point, every refusal, and differential properties against Node's own
 * llhttp in strict mode (test/support/llhttp-oracle.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ChunkedDecoder } from './chunked.js';
import { llhttpChunkedBody } from '../../test/support/llhttp-oracle.js';

const SEED = 0x5eed;

interface Outcome {
  /** Decoded bytes, latin1 (so any difference shows in assertion messages). */
  data: string;
  trailers: string;
  /** Offset in the whole input just after the body, when the decoder is done. */
  end: number | null;
  error: string | null;
}

/** Decode `pieces` fed one after the other to one decoder. */
function run(pieces: readonly Buffer[]): Outcome {
  const d = new ChunkedDecoder();
  let data = '';
  let base = 0;
  for (const p of pieces) {
    const r = d.feed(p, 0, (c) => (data += c.toString('latin1')));
    if (r === -1) return { data, trailers: d.trailers, end: null, error: d.error };
    if (d.done) return { data, trailers: d.trailers, end: base + r, error: null };
    assert.equal(r, p.length, 'a decoder that is not done consumes its whole input');
    base += p.length;
  }
  return { data, trailers: d.trailers, end: null, error: null };
}

const bytes = (s: string): Buffer => Buffer.from(s, 'latin1');
const whole = (s: string): Outcome => run([bytes(s)]);

function byteByByte(s: string): Outcome {
  const b = bytes(s);
  return run(Array.from({ length: b.length }, (_, i) => b.subarray(i, i + 1)));
}

/** [name, body, bytes after it, decoded data, raw trailers] */
const BODIES: [string, string, string, string, string][] = [
  ['one chunk', '5\r\nhello\r\n0\r\n\r\n', '', 'hello', ''],
  ['empty body', '0\r\n\r\n', '', '', ''],
  [
    'hex lower and upper',
    `a\r\n${'x'.repeat(10)}\r\nB\r\n${'y'.repeat(11)}\r\n1f\r\n${'z'.repeat(31)}\r\n0\r\n\r\n`,
    '',
    `${'x'.repeat(10)}${'y'.repeat(11)}${'z'.repeat(31)}`,
    '',
  ],
  ['12 digits with leading zeros', '000000000003\r\nabc\r\n000000000000\r\n\r\n', '', 'abc', ''],
  // RFC 9112 §7.1: leading zeros are not significant; only 12 significant digits are the cap.
  ['more than 12 digits of leading zeros', '00000000000000000003\r\nabc\r\n00000000000000000\r\n\r\n', '', 'abc', ''],
  // RFC 9112 §7.1.1: chunk-ext = *( BWS ";" BWS ext-name … ): whitespace before ';' is allowed.
  ['whitespace before an extension', '5 ;x=y\r\nhello\r\n0\t \t;last\r\n\r\n', '', 'hello', ''],
  ['extensions', '3;name=value;q="a b";flag\r\nabc\r\n0;last=1\r\n\r\n', '', 'abc', ''],
  ['empty extension', '3;\r\nabc\r\n0\r\n\r\n', '', 'abc', ''],
  ['data with CR, LF and NUL in it', '6\r\n\r\n0\r\n\0\r\n0\r\n\r\n', '', '\r\n0\r\n\0', ''],
  [
    'trailers, each line kept with its CRLF',
    '2\r\nok\r\n0\r\nX-Sum: 1\r\nX-Other:  two \r\n\r\n',
    '',
    'ok',
    'X-Sum: 1\r\nX-Other:  two \r\n',
  ],
  ['a pipelined request after the body', '2\r\nok\r\n0\r\n\r\n', 'GET / HTTP/1.1\r\n', 'ok', ''],
  ['a second body after the first', '0\r\n\r\n', '1\r\na\r\n0\r\n\r\n', '', ''],
];
const VALID = BODIES.map(
  ([name, body, after, data, trailers]) => [name, body + after, { data, trailers, end: body.length, error: null }] as const,
);

test('valid streams: data, trailers, and the offset right after the body (bytes after it are not consumed)', () => {
  for (const [name, s, expected] of VALID) assert.deepEqual(whole(s), expected, name);
});

test('every split point, byte by byte, and feeding from an offset give the same result', () => {
  for (const [name, s] of VALID) {
    const expected = whole(s);
    const b = bytes(s);
    for (let cut = 0; cut <= b.length; cut++)
      assert.deepEqual(run([b.subarray(0, cut), b.subarray(cut)]), expected, `${name} cut at ${cut}`);
    assert.deepEqual(byteByByte(s), expected, `${name} byte by byte`);
    // A body that follows a head in the same read.
    const d = new ChunkedDecoder();
    let data = '';
    const end = d.feed(Buffer.concat([bytes('HEAD'), b]), 4, (c) => (data += c.toString('latin1')));
    assert.deepEqual({ data, trailers: d.trailers, end: d.done ? end - 4 : null, error: d.error }, expected, `${name} from offset 4`);
  }
});

test('data is handed out as slices of the input, not copies', () => {
  const input = bytes('3\r\nabc\r\n0\r\n\r\n');
  const seen: Buffer[] = [];
  new ChunkedDecoder().feed(input, 0, (c) => seen.push(c));
  assert.equal(seen.length, 1);
  assert.equal(seen[0]!.buffer, input.buffer);
  assert.equal(seen[0]!.byteOffset, input.byteOffset + 3);
});

test('once done, feed consumes nothing; reset() starts a new body', () => {
  const d = new ChunkedDecoder();
  const got: string[] = [];
  const onData = (c: Buffer): void => void got.push(c.toString('latin1'));
  assert.equal(d.feed(bytes('1\r\na\r\n0\r\nX: 1\r\n\r\n'), 0, onData), 17);
  assert.equal(d.trailers, 'X: 1\r\n');
  assert.equal(d.done, true);
  assert.equal(d.feed(bytes('1\r\nb\r\n0\r\n\r\n'), 0, onData), 0);
  assert.equal(d.feed(bytes('xx1\r\nb\r\n'), 2, onData), 2);
  d.reset();
  assert.deepEqual([d.done, d.trailers, d.error], [false, '', null]);
  assert.equal(d.feed(bytes('1\r\nb\r\n0\r\n\r\n'), 0, onData), 11);
  assert.deepEqual(got, ['a', 'b']);
});

test('a 12-digit size is accepted and waits for its data', () => {
  const r = whole('ffffffffffff\r\nabc');
  assert.deepEqual(r, { data: 'abc', trailers: '', end: null, error: null });
});

test('limits: 1 KiB of extension and 8 KiB of trailers are accepted, one byte more is refused', () => {
  assert.equal(whole(`1;${'e'.repeat(1024)}\r\na\r\n0\r\n\r\n`).data, 'a');
  assert.equal(whole(`1;${'e'.repeat(1025)}\r\na\r\n0\r\n\r\n`).error, 'invalid chunk extension');
  assert.equal(byteByByte(`0;${'e'.repeat(1025)}\r\n\r\n`).error, 'invalid chunk extension');
  // Each line of the extension counts on its own.
  assert.equal(whole(`1;${'e'.repeat(1000)}\r\na\r\n1;${'e'.repeat(1000)}\r\nb\r\n0\r\n\r\n`).data, 'ab');
  // The limit counts the section's text with the CRLFs of the lines before the current one.
  const line = `X: ${'t'.repeat(8192 - 3)}`;
  assert.equal(whole(`0\r\n${line}\r\n\r\n`).trailers, `${line}\r\n`);
  assert.equal(whole(`0\r\n${line}t\r\n\r\n`).error, 'trailer section too large');
  assert.equal(byteByByte(`0\r\n${line}t\r\n\r\n`).error, 'trailer section too large');
  const half = `X: ${'t'.repeat(4095 - 3)}`;
  assert.equal(whole(`0\r\n${half}\r\n${half}\r\n\r\n`).trailers.length, 8192 + 2);
  assert.equal(whole(`0\r\n${half}\r\n${half}t\r\n\r\n`).error, 'trailer section too large');
  assert.equal(byteByByte(`0\r\n${half}\r\n${half}t\r\n\r\n`).error, 'trailer section too large');
});

const REFUSED: [string, string, string][] = [
  ['no digits', '\r\n\r\n', 'invalid chunk size'],
  ['extension without size', ';a\r\n', 'invalid chunk size'],
  ['non-hex size', 'g\r\n', 'invalid chunk size'],
  ['0x prefix', '0x5\r\nhello\r\n0\r\n\r\n', 'invalid chunk size'],
  ['signed size', '+5\r\nhello\r\n0\r\n\r\n', 'invalid chunk size'],
  ['negative size', '-5\r\nhello\r\n0\r\n\r\n', 'invalid chunk size'],
  ['13 significant hex digits', '1000000000005\r\nhello\r\n0\r\n\r\n', 'chunk size too large'],
  ['a size line over 1 KiB of zeros', `${'0'.repeat(1025)}5\r\nhello\r\n0\r\n\r\n`, 'chunk size line too long'],
  ['size over 2^48', '1000000000000\r\n', 'chunk size too large'],
  ['size followed by a space', '5 \r\nhello\r\n0\r\n\r\n', 'invalid chunk extension'],
  ['size followed by a TAB', '5\t\r\nhello\r\n0\r\n\r\n', 'invalid chunk extension'],
  ['whitespace, then no extension', '5 x\r\nhello\r\n0\r\n\r\n', 'invalid chunk extension'],
  ['leading space', ' 5\r\nhello\r\n0\r\n\r\n', 'invalid chunk size'],
  ['bare LF after the size', '5\nhello\r\n0\r\n\r\n', 'invalid chunk size'],
  ['CR without LF after the size', '5\rhello\r\n0\r\n\r\n', 'expected LF after chunk size'],
  ['bare LF in an extension', '5;a\nhello\r\n0\r\n\r\n', 'invalid chunk extension'],
  ['NUL in an extension', '5;a\0\r\nhello\r\n0\r\n\r\n', 'invalid chunk extension'],
  ['CR without LF in an extension', '5;a\rb\r\nhello\r\n0\r\n\r\n', 'expected LF after chunk size'],
  ['data longer than its size', '5\r\nhello!\r\n0\r\n\r\n', 'expected CRLF after chunk data'],
  ['data shorter than its size', '5\r\nhell\r\n0\r\n\r\n', 'expected CRLF after chunk data'],
  ['bare LF after data', '5\r\nhello\n0\r\n\r\n', 'expected CRLF after chunk data'],
  ['bare CR after data', '5\r\nhello\r0\r\n\r\n', 'expected CRLF after chunk data'],
  ['bare LF ends the trailer section', '0\r\n\n', 'bare LF in trailer section'],
  ['bare LF after a trailer', '0\r\nX: 1\n\r\n', 'bare LF in trailer section'],
  ['bare LF inside a trailer', '0\r\nX: 1\nY: 2\r\n\r\n', 'bare LF in trailer section'],
  ['CR without LF in a trailer', '0\r\nX: 1\rY\r\n\r\n', 'expected LF in trailer section'],
  ['CR without LF at the end', '0\r\n\r\r', 'expected LF in trailer section'],
];

test('refusals, the same whole and byte by byte', () => {
  for (const [name, s, error] of REFUSED) {
    for (const [how, r] of [
      ['whole', whole(s)],
      ['byte by byte', byteByByte(s)],
    ] as const) {
      assert.equal(r.error, error, `${name} (${how}): ${JSON.stringify(r)}`);
      assert.equal(r.end, null, name);
    }
  }
});

test('llhttp strict refuses every framing error we refuse (the oracle can see them)', () => {
  for (const [name, s, error] of REFUSED) {
    // llhttp accepts more than 12 digits of size (and waits for the data), and any number of
    // leading zeros: our caps are stricter on purpose.
    if (error === 'chunk size too large' || error === 'chunk size line too long') continue;
    const r = llhttpChunkedBody(bytes(s));
    assert.ok(!r.ok || !r.complete, `${name}: llhttp completed ${JSON.stringify(s)}`);
  }
});

// ---- Differential properties against llhttp -------------------------------

const TCHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const token = fc.string({ unit: fc.constantFrom(...TCHARS), minLength: 1, maxLength: 8 });
const char = (from: number, to: number): fc.Arbitrary<string> => fc.integer({ min: from, max: to }).map((c) => String.fromCharCode(c));
const quoted = fc.string({ unit: fc.oneof(char(0x23, 0x5b), fc.constantFrom(' ', '!', ']', '~')), maxLength: 8 }).map((s) => `"${s}"`);
const extension = fc
  .array(fc.tuple(token, fc.option(fc.oneof(token, quoted), { nil: undefined })), { maxLength: 2 })
  .map((xs) => xs.map(([n, v]) => (v === undefined ? `;${n}` : `;${n}=${v}`)).join(''));
/** A size line: hex in either case, sometimes with leading zeros (12 digits at most). */
const sizeLine = (n: number): fc.Arbitrary<string> =>
  fc.tuple(fc.boolean(), fc.nat(3), extension).map(([upper, zeros, ext]) => {
    const hex = n.toString(16);
    return `${'0'.repeat(Math.min(zeros, 12 - hex.length))}${upper ? hex.toUpperCase() : hex}${ext}\r\n`;
  });
const fieldValue = fc
  .string({ unit: fc.oneof({ weight: 6, arbitrary: char(0x21, 0x7e) }, char(0x80, 0xff), fc.constant(' ')), maxLength: 12 })
  .map((v) => v.replace(/^ +| +$/g, ''));
/** Trailer names that llhttp and node:http read as framing or routing fields are left out. */
const trailerName = token.filter(
  (n) => !['content-length', 'transfer-encoding', 'host', 'connection', 'upgrade'].includes(n.toLowerCase()),
);

const chunk = fc.uint8Array({ minLength: 1, maxLength: 200 }).chain((data) => sizeLine(data.length).map((line) => ({ line, data })));
const chunkedBody = fc
  .record({
    chunks: fc.array(chunk, { maxLength: 5 }),
    last: sizeLine(0),
    trailers: fc.array(fc.tuple(trailerName, fieldValue), { maxLength: 3 }),
  })
  .map(({ chunks, last, trailers }) => {
    const parts: Buffer[] = [];
    for (const c of chunks) parts.push(bytes(c.line), Buffer.from(c.data), bytes('\r\n'));
    parts.push(bytes(last), ...trailers.map(([n, v]) => bytes(`${n}: ${v}\r\n`)), bytes('\r\n'));
    return {
      wire: Buffer.concat(parts),
      data: Buffer.concat(chunks.map((c) => c.data)).toString('latin1'),
      trailers: trailers.flat(),
    };
  });

/** Our raw trailer section (each line ends with CRLF) as llhttp's flat name/value list. */
function trailerList(raw: string): string[] {
  return raw
    .split('\r\n')
    .slice(0, -1)
    .flatMap((line) => {
      const colon = line.indexOf(':');
      return [line.slice(0, colon), line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '')];
    });
}

test('property: random valid bodies decode to the generated data and trailers, like llhttp', () => {
  fc.assert(
    fc.property(chunkedBody, (b) => {
      const ours = run([b.wire]);
      assert.deepEqual(ours, { data: b.data, trailers: ours.trailers, end: b.wire.length, error: null });
      assert.deepEqual(trailerList(ours.trailers), b.trailers);
      const ll = llhttpChunkedBody(b.wire);
      assert.ok(ll.ok && ll.complete, `llhttp: ${JSON.stringify(ll)}`);
      assert.equal(ll.data.toString('latin1'), ours.data);
      assert.deepEqual(ll.trailers, b.trailers);
    }),
    { seed: SEED, numRuns: 2000, includeErrorInReport: true },
  );
});

test('property: any split of a valid body into pieces gives the same result', () => {
  fc.assert(
    fc.property(chunkedBody, fc.array(fc.nat(), { maxLength: 6 }), (b, cuts) => {
      const at = [...new Set(cuts.map((c) => c % (b.wire.length + 1)))].sort((x, y) => x - y);
      const pieces = [0, ...at].map((from, i) => b.wire.subarray(from, at[i] ?? b.wire.length));
      assert.deepEqual(run(pieces), run([b.wire]), `cut at ${at.join()}`);
    }),
    { seed: SEED, numRuns: 2000, includeErrorInReport: true },
  );
});

type Mutation =
  { kind: 'insert'; at: number; text: string } | { kind: 'delete'; at: number } | { kind: 'replace'; at: number; text: string };
const INSERTED = ['\r', '\n', '\r\n', '\0', ' ', '\t', ';', '0', 'a', 'F', '\r\n0\r\n\r\n', '\r\n\r\n', ':'];
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.constantFrom(...INSERTED) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), text: fc.constantFrom(...INSERTED) }),
);

function mutate(b: Buffer, m: Mutation): Buffer {
  const at = m.at % (b.length + 1);
  const tail = b.subarray(m.kind === 'insert' ? at : at + 1);
  return Buffer.concat([b.subarray(0, at), m.kind === 'delete' ? Buffer.alloc(0) : bytes(m.text), tail]);
}

/**
 * Where llhttp strict may refuse a body we accept: it also checks the syntax
 * of chunk extensions (HPE_STRICT) and trailer fields (HPE_INVALID_HEADER_TOKEN),
 * which we skip (extensions) or hand to the caller raw (trailers).
 */
const CONTENT_ONLY = new Set(['HPE_STRICT', 'HPE_INVALID_HEADER_TOKEN']);

/** wire[at] starts SP/HTAB that a ';' follows (allowed whitespace before a chunk extension). */
function bwsBeforeExtension(wire: Buffer, at: number): boolean {
  let k = at;
  if (wire[k] !== 0x20 && wire[k] !== 0x09) return false;
  while (wire[k] === 0x20 || wire[k] === 0x09) k++;
  return wire[k] === 0x3b;
}

test('property: mutated bodies never throw, and where we find the end llhttp finds the same end and data', () => {
  fc.assert(
    fc.property(chunkedBody, fc.array(mutation, { minLength: 1, maxLength: 3 }), (b, ms) => {
      let wire: Buffer = b.wire;
      for (const m of ms) wire = mutate(wire, m);
      const ours = run([wire]);
      const why = JSON.stringify(wire.toString('latin1'));
      if (ours.error !== null) return; // stricter than llhttp is allowed
      if (ours.end === null) {
        // We wait for more: llhttp must not have found an end in the same bytes.
        const ll = llhttpChunkedBody(wire);
        assert.ok(!ll.ok || !ll.complete, `llhttp completed where we wait for more: ${why}`);
        return;
      }
      const ll = llhttpChunkedBody(wire.subarray(0, ours.end));
      // llhttp refuses whitespace before a chunk extension, which RFC 9112 §7.1.1 allows (BWS) and we accept.
      if (!ll.ok && ll.code === 'HPE_INVALID_CHUNK_SIZE' && bwsBeforeExtension(wire, ll.at - 1)) return;
      if (!ll.ok) {
        assert.ok(CONTENT_ONLY.has(ll.code), `we accept, llhttp refuses (${ll.code}): ${why}`);
        // Before the byte llhttp refuses, both read the same framing: same data, neither at an end.
        const upTo = wire.subarray(0, ll.at - 1);
        const theirs = llhttpChunkedBody(upTo);
        assert.ok(theirs.ok && !theirs.complete, why);
        const mine = run([upTo]);
        assert.deepEqual([mine.data, mine.end, mine.error], [theirs.data.toString('latin1'), null, null], `before ${ll.at}: ${why}`);
        return;
      }
      assert.ok(ll.complete, `llhttp did not complete at our end ${ours.end}: ${why}`);
      assert.equal(ll.data.toString('latin1'), ours.data, why);
      const before = llhttpChunkedBody(wire.subarray(0, ours.end - 1));
      assert.ok(!before.ok || !before.complete, `llhttp completed before our end ${ours.end}: ${why}`);
    }),
    { seed: SEED, numRuns: 5000, includeErrorInReport: true },
  );
});
