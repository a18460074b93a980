import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  MAX_RESPONSE_FIELDS,
  MAX_RESPONSE_HEAD,
  ResponseBody,
  parseResponseHead,
  parseTrailers,
  type ResponseHead,
} from './response-head.js';

function ok(s: string, headRequest = false): ResponseHead {
  const r = parseResponseHead(s, headRequest);
  if ('error' in r) assert.fail(`refused: ${r.error}`);
  return r;
}

function refused(s: string, why: string, headRequest = false): void {
  const r = parseResponseHead(s, headRequest);
  assert.ok('error' in r, `accepted: ${JSON.stringify(s)}`);
  assert.equal(r.error, why);
}

test('status line, reason and fields with lower-case names', () => {
  const h = ok('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Thing:  padded value \t\r\nContent-Length: 5');
  assert.equal(h.status, 200);
  assert.equal(h.reason, 'OK');
  assert.equal(h.minor, 1);
  assert.deepEqual({ ...h.headers }, { 'content-type': 'text/plain', 'x-thing': 'padded value', 'content-length': '5' });
  assert.equal(h.body, ResponseBody.Length);
  assert.equal(h.contentLength, 5);
  assert.equal(h.keepAlive, true);
  assert.equal(h.keepAliveHint, -1);
});

test('a reason phrase is optional and may hold spaces and obs-text', () => {
  assert.equal(ok('HTTP/1.1 404\r\ncontent-length: 0').reason, '');
  assert.equal(ok('HTTP/1.1 204').status, 204);
  assert.equal(ok('HTTP/1.1 500 Internal  Server Error é').reason, 'Internal  Server Error é');
  assert.equal(ok('HTTP/1.1 200 \r\ncontent-length: 0').reason, '');
});

test('repeated fields become arrays (set-cookie and any other), in order', () => {
  const h = ok('HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\nVia: x\r\nVia: y\r\nVia: z\r\nX-One: 1\r\ncontent-length: 0');
  assert.deepEqual(h.headers['set-cookie'], ['a=1', 'b=2']);
  assert.deepEqual(h.headers.via, ['x', 'y', 'z']);
  assert.equal(h.headers['x-one'], '1');
  assert.equal(h.headers.constructor, undefined, 'nothing inherited');
});

test('a field named __proto__ is an ordinary field', () => {
  const h = ok('HTTP/1.1 200 OK\r\n__proto__: x\r\ncontent-length: 0');
  assert.equal(Object.getOwnPropertyDescriptor(h.headers, '__proto__')?.value, 'x');
  assert.equal(Object.getPrototypeOf(Object.getPrototypeOf(h.headers)), null, 'nothing inherited');
});

test('body framing', () => {
  assert.equal(ok('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked').body, ResponseBody.Chunked);
  assert.equal(ok('HTTP/1.1 200 OK\r\nTransfer-Encoding:  Chunked ').body, ResponseBody.Chunked);
  assert.equal(ok('HTTP/1.1 200 OK\r\ncontent-length: 0').body, ResponseBody.None);
  const close = ok('HTTP/1.1 200 OK\r\ncontent-type: text/plain');
  assert.equal(close.body, ResponseBody.UntilClose);
  assert.equal(close.keepAlive, false, 'a close-delimited body ends the connection');
  // no body whatever the framing says
  for (const s of [
    'HTTP/1.1 204 No Content',
    'HTTP/1.1 304 Not Modified\r\ncontent-length: 10',
    'HTTP/1.1 100 Continue',
    'HTTP/1.1 103 Early Hints\r\nlink: </a>',
  ]) {
    assert.equal(ok(s).body, ResponseBody.None, s);
  }
  const head = ok('HTTP/1.1 200 OK\r\ncontent-length: 1000', true);
  assert.equal(head.body, ResponseBody.None);
  assert.equal(head.headers['content-length'], '1000');
  assert.equal(head.keepAlive, true);
  assert.equal(ok('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked', true).body, ResponseBody.None);
  // same Content-Length repeated: accepted
  const twice = ok('HTTP/1.1 200 OK\r\ncontent-length: 7\r\ncontent-length: 7');
  assert.equal(twice.body, ResponseBody.Length);
  assert.equal(twice.contentLength, 7);
});

test('connection management: HTTP/1.1 keeps by default, HTTP/1.0 only when asked, close wins', () => {
  assert.equal(ok('HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close').keepAlive, false);
  assert.equal(ok('HTTP/1.1 200 OK\r\ncontent-length: 0\r\nConnection: Keep-Alive, Close').keepAlive, false);
  assert.equal(ok('HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: closed-caption').keepAlive, true, 'token match, not substring');
  assert.equal(ok('HTTP/1.0 200 OK\r\ncontent-length: 0').keepAlive, false);
  assert.equal(ok('HTTP/1.0 200 OK\r\ncontent-length: 0\r\nconnection: keep-alive').keepAlive, true);
  assert.equal(ok('HTTP/1.0 200 OK\r\ncontent-length: 0').minor, 0);
});

test('Keep-Alive timeout hint in ms', () => {
  assert.equal(ok('HTTP/1.1 200 OK\r\ncontent-length: 0\r\nkeep-alive: timeout=5, max=100').keepAliveHint, 5000);
  assert.equal(ok('HTTP/1.1 200 OK\r\ncontent-length: 0\r\nKeep-Alive: max=3, Timeout=12').keepAliveHint, 12000);
  assert.equal(ok('HTTP/1.1 200 OK\r\ncontent-length: 0\r\nkeep-alive: max=3').keepAliveHint, -1);
  assert.equal(ok('HTTP/1.1 200 OK\r\ncontent-length: 0\r\nkeep-alive: timeout=abc').keepAliveHint, -1);
});

test('refusals: status line', () => {
  refused('HTTP/2.0 200 OK', 'invalid status line');
  refused('HTTP/1.2 200 OK', 'invalid status line');
  refused('HTTP/1.1  200 OK', 'invalid status code');
  refused('http/1.1 200 OK', 'invalid status line');
  refused('HTTP/1.1 20 OK', 'invalid status code');
  refused('HTTP/1.1 2000 OK', 'invalid status line');
  refused('HTTP/1.1 099 Low', 'invalid status code');
  refused('HTTP/1.1 600 High', 'invalid status code');
  refused('HTTP/1.1 200\tOK', 'invalid status line');
  refused('ICY 200 OK', 'invalid status line');
  refused('HTTP/1.1 200 O\0K', 'invalid reason phrase');
  refused('HTTP/1.1 200 OK\ncontent-length: 0', 'bare LF');
  refused('HTTP/1.1 200 OK\rcontent-length: 0', 'bare CR');
});

test('refusals: fields', () => {
  refused('HTTP/1.1 200 OK\r\nfoo: bar\nx: y\r\ncontent-length: 0', 'bare LF');
  refused('HTTP/1.1 200 OK\r\nfoo: bar\rx: y', 'bare CR');
  refused('HTTP/1.1 200 OK\r\nfoo: bar\r\n  folded\r\ncontent-length: 0', 'obsolete line folding');
  refused('HTTP/1.1 200 OK\r\nfoo: bar\r\n\tfolded', 'obsolete line folding');
  refused('HTTP/1.1 200 OK\r\nfoo : bar', 'invalid header name');
  refused('HTTP/1.1 200 OK\r\n: bar', 'invalid header name');
  refused('HTTP/1.1 200 OK\r\nfo(o: bar', 'invalid header name');
  refused('HTTP/1.1 200 OK\r\nno-colon', 'invalid header name');
  refused('HTTP/1.1 200 OK\r\nfoo: b\0ar', 'invalid header value');
  refused('HTTP/1.1 200 OK\r\nfoo: b\x7far', 'invalid header value');
  const many = Array.from({ length: MAX_RESPONSE_FIELDS + 1 }, (_, k) => `x-${k}: v`).join('\r\n');
  refused(`HTTP/1.1 200 OK\r\n${many}`, 'too many header fields');
  refused(`HTTP/1.1 200 OK\r\nx: ${'a'.repeat(MAX_RESPONSE_HEAD)}`, 'head too large');
});

test('refusals: framing that could be read two ways', () => {
  refused('HTTP/1.1 200 OK\r\ncontent-length: 5\r\ntransfer-encoding: chunked', 'content-length with transfer-encoding');
  refused('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncontent-length: 0', 'content-length with transfer-encoding');
  refused('HTTP/1.1 200 OK\r\ncontent-length: 5\r\ncontent-length: 6', 'conflicting content-length');
  refused('HTTP/1.1 200 OK\r\ncontent-length: 5, 6', 'invalid content-length');
  refused('HTTP/1.1 200 OK\r\ncontent-length: 5,', 'invalid content-length');
  refused('HTTP/1.1 200 OK\r\ncontent-length: +5', 'invalid content-length');
  refused('HTTP/1.1 200 OK\r\ncontent-length: -1', 'invalid content-length');
  refused('HTTP/1.1 200 OK\r\ncontent-length: 0x10', 'invalid content-length');
  refused('HTTP/1.1 200 OK\r\ncontent-length:', 'invalid content-length');
  refused('HTTP/1.1 200 OK\r\ncontent-length: 1234567890123456', 'invalid content-length');
  refused('HTTP/1.1 200 OK\r\ntransfer-encoding: gzip', 'unsupported transfer-encoding');
  refused('HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, chunked', 'unsupported transfer-encoding');
  refused('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ntransfer-encoding: chunked', 'unsupported transfer-encoding');
  refused('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked, identity', 'unsupported transfer-encoding');
  refused('HTTP/1.0 200 OK\r\ntransfer-encoding: chunked', 'transfer-encoding in HTTP/1.0');
  // even when no body follows, an ambiguous head is refused
  refused('HTTP/1.1 304 Not Modified\r\ncontent-length: 5\r\ntransfer-encoding: chunked', 'content-length with transfer-encoding');
});

test('trailers', () => {
  assert.deepEqual({ ...(parseTrailers('') as object) }, {});
  const t = parseTrailers('Grpc-Status: 0\r\ngrpc-message: fine\r\nx-t: 1\r\nX-T: 2');
  assert.ok(!('error' in t));
  assert.deepEqual({ ...t }, { 'grpc-status': '0', 'grpc-message': 'fine', 'x-t': ['1', '2'] });
  const bad = parseTrailers('x: 1\r\n folded');
  assert.ok('error' in bad && bad.error === 'obsolete line folding');
  const nul = parseTrailers('x: a\0b');
  assert.ok('error' in nul && nul.error === 'invalid header value');
});

const tchar = fc.constantFrom(..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-.^_`|~".split(''));
const name = fc.string({ unit: tchar, minLength: 1, maxLength: 20 }).filter((n) => {
  const l = n.toLowerCase();
  return l !== 'content-length' && l !== 'transfer-encoding' && l !== 'connection' && l !== 'keep-alive';
});
const vchar = fc
  .integer({ min: 0x21, max: 0xff })
  .filter((c) => c !== 0x7f)
  .map((c) => String.fromCharCode(c));
const value = fc
  .tuple(fc.string({ unit: fc.oneof(vchar, fc.constant(' '), fc.constant('\t')), maxLength: 40 }), vchar)
  .map(([a, b]) => `${b}${a.trim()}${a.trim() === '' ? '' : b}`);

test('property: valid heads round-trip field by field', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 200, max: 599 }),
      fc.array(fc.tuple(name, value), { maxLength: 30 }),
      fc.nat({ max: 1_000_000 }),
      (status, fields, cl) => {
        const head = [`HTTP/1.1 ${status} Reason`, ...fields.map(([n, v]) => `${n}: ${v}`), `Content-Length: ${cl}`].join('\r\n');
        const h = ok(head);
        assert.equal(h.status, status);
        const expected = new Map<string, string[]>();
        for (const [n, v] of fields) {
          const l = n.toLowerCase();
          expected.set(l, [...(expected.get(l) ?? []), v]);
        }
        for (const [n, values] of expected) {
          const got = h.headers[n];
          assert.deepEqual(Array.isArray(got) ? got : [got], values);
        }
        const noBody = status === 204 || status === 304 || cl === 0;
        assert.equal(h.body, noBody ? ResponseBody.None : ResponseBody.Length);
      },
    ),
  );
});

test('property: a CR, LF or NUL slipped into any field line is refused', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(name, value), { minLength: 1, maxLength: 10 }),
      fc.nat(),
      fc.nat(),
      fc.constantFrom('\r', '\n', '\0'),
      (fields, which, at, bad) => {
        const lines = fields.map(([n, v]) => `${n}: ${v}`);
        const k = which % lines.length;
        const line = lines[k]!;
        const pos = at % (line.length + 1);
        lines[k] = line.slice(0, pos) + bad + line.slice(pos);
        const r = parseResponseHead(['HTTP/1.1 200 OK', ...lines, 'content-length: 0'].join('\r\n'), false);
        // A CR right before the line's end turns "\r" + "\r\n" into a bare CR; each case must be refused.
        assert.ok('error' in r, JSON.stringify(lines[k]));
      },
    ),
  );
});

test('Content-Length: leading zeros, and a list of identical values (RFC 9110 §8.6), from an origin', () => {
  for (const [v, n] of [
    ['5, 5', 5],
    ['5,5', 5],
    ['5 ,\t5, 5', 5],
    ['007', 7],
    ['0000000000000000000042', 42],
    ['0, 0', 0],
  ] as const) {
    const r = ok(`HTTP/1.1 200 OK\r\ncontent-length: ${v}`);
    assert.equal(r.body === ResponseBody.None ? 0 : r.contentLength, n, v);
  }
  refused('HTTP/1.1 200 OK\r\ncontent-length: 5, 5\r\ncontent-length: 6', 'conflicting content-length');
  refused('HTTP/1.1 200 OK\r\ncontent-length: 5,\xa05', 'invalid content-length');
});

test('the Content-Length passed on is the canonical single value', () => {
  assert.equal(ok('HTTP/1.1 200 OK\r\ncontent-length: 5, 5').headers['content-length'], '5');
  assert.equal(ok('HTTP/1.1 200 OK\r\ncontent-length: 05\r\ncontent-length: 5').headers['content-length'], '5');
  assert.equal(ok('HTTP/1.1 200 OK\r\ncontent-length: 5').headers['content-length'], '5');
});
