/**
 * The strict request-head parser is the fast path's smuggling boundary, so
 * these tests are adversarial: every refusal with its status, header
 * combining checked against a real node:http server, and fast-check
 * properties, including a differential one against Node's own llhttp in
 * strict mode (test/support/llhttp-oracle.ts).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import type { IncomingHttpHeaders } from 'node:http';
import fc from 'fast-check';
import { addField, BodyKind, MAX_HEADER_FIELDS, parseRequestHead, type HeadError, type RequestHead } from './request-head.js';
import { llhttpMethods, llhttpRequest, type LlhttpRequest } from '../../test/support/llhttp-oracle.js';
import { serveUpstream, type Running } from '../../test/support/handler-server.js';

const SEED = 0x5eed;

function isError(r: RequestHead | HeadError): r is HeadError {
  return 'status' in r;
}

/** A head from its lines, without the final CRLF CRLF (what the parser receives). */
function head(...lines: string[]): string {
  return lines.join('\r\n');
}

function accept(s: string): RequestHead {
  const r = parseRequestHead(s);
  if (isError(r)) assert.fail(`refused (${r.status} ${r.reason}): ${JSON.stringify(s)}`);
  return r;
}

/** Plain-object copy, so deepEqual does not trip over the null prototype. */
function plain(h: IncomingHttpHeaders): Record<string, unknown> {
  return { ...h };
}

const GET = 'GET / HTTP/1.1';
const HOST = 'Host: example.test';

test('request line: methods, targets and versions are taken as sent', () => {
  for (const [line, method, url, minor] of [
    ['GET / HTTP/1.1', 'GET', '/', 1],
    ['POST /a/b?x=1&y=%20 HTTP/1.1', 'POST', '/a/b?x=1&y=%20', 1],
    ['OPTIONS * HTTP/1.1', 'OPTIONS', '*', 1],
    // A higher minor version of HTTP/1 is served as 1.1 (RFC 9110 §2.5).
    ['GET /v HTTP/1.2', 'GET', '/v', 1],
    ['GET /v HTTP/1.9', 'GET', '/v', 1],
    ["X!#$%&'*+-.^_`|~9 /t HTTP/1.1", "X!#$%&'*+-.^_`|~9", '/t', 1],
    ['DELETE /!$&\'()*+,;=:@-._~{}|\\^`"<>[] HTTP/1.0', 'DELETE', '/!$&\'()*+,;=:@-._~{}|\\^`"<>[]', 0],
  ] as const) {
    const r = accept(head(line, HOST));
    assert.deepEqual([r.method, r.url, r.minor], [method, url, minor], line);
  }
});

test('HTTP/1.0 needs no Host; HTTP/1.1 does', () => {
  const r = accept('GET / HTTP/1.0');
  assert.equal(r.minor, 0);
  assert.deepEqual(plain(r.headers), {});
  assert.deepEqual(parseRequestHead('GET / HTTP/1.1'), { status: 400, reason: 'missing host' });
});

test('field names are lower-cased, values lose OWS at both ends only, obs-text and empty values are kept', () => {
  const r = accept(head(GET, HOST, 'X-Mixed-CASE:  \t a \t b\t \t', 'X-Empty:', 'X-Tight:v', 'X-Obs: caf\xe9 \xff'));
  assert.deepEqual(plain(r.headers), {
    host: 'example.test',
    'x-mixed-case': 'a \t b',
    'x-empty': '',
    'x-tight': 'v',
    'x-obs': 'caf\xe9 \xff',
  });
});

test('repeated fields are combined as node:http does', () => {
  const r = accept(
    head(
      GET,
      HOST,
      'Content-Type: a/b',
      'content-type: c/d',
      'Authorization: one',
      'Authorization: two',
      'User-Agent: u1',
      'User-Agent: u2',
      'Set-Cookie: a=1',
      'set-cookie: b=2',
      'Cookie: x=1',
      'Cookie: y=2',
      'Accept: a',
      'ACCEPT: b',
      'accept: c',
      'X-Forwarded-For: 1.1.1.1',
      'X-Forwarded-For: 2.2.2.2',
    ),
  );
  assert.deepEqual(plain(r.headers), {
    host: 'example.test',
    'content-type': 'a/b',
    authorization: 'one',
    'user-agent': 'u1',
    'set-cookie': ['a=1', 'b=2'],
    cookie: 'x=1; y=2',
    accept: 'a, b, c',
    'x-forwarded-for': '1.1.1.1, 2.2.2.2',
  });
});

test('field names that are Object.prototype members are plain fields', () => {
  const r = accept(head(GET, HOST, '__proto__: p', 'constructor: c', 'toString: t', 'hasOwnProperty: h'));
  assert.deepEqual(plain(r.headers), { host: 'example.test', ['__proto__']: 'p', constructor: 'c', tostring: 't', hasownproperty: 'h' });
});

test('body framing: none, Content-Length (leading zeros, 15 digits), chunked', () => {
  const cases: [string[], BodyKind, number][] = [
    [[], BodyKind.None, 0],
    [['Content-Length: 0'], BodyKind.None, 0],
    [['Content-Length: 10'], BodyKind.Length, 10],
    [['Content-Length: 007'], BodyKind.Length, 7],
    [['Content-Length: \t12 '], BodyKind.Length, 12],
    [['Content-Length: 999999999999999'], BodyKind.Length, 999_999_999_999_999],
    [['Transfer-Encoding: chunked'], BodyKind.Chunked, 0],
    [['transfer-encoding:  CHUNKED '], BodyKind.Chunked, 0],
  ];
  for (const [fields, body, length] of cases) {
    const r = accept(head('POST /u HTTP/1.1', HOST, ...fields));
    assert.deepEqual([r.body, r.contentLength], [body, length], fields.join());
  }
});

test('an identical repeated Content-Length counts once (RFC 9110 §8.6; llhttp refuses it, see the differential test)', () => {
  const r = accept(head('POST / HTTP/1.1', HOST, 'Content-Length: 5', 'Content-Length: 005'));
  assert.deepEqual([r.body, r.contentLength, r.headers['content-length']], [BodyKind.Length, 5, '5']);
});

test('keep-alive: 1.1 by default, close token wins, 1.0 only with keep-alive', () => {
  const cases: [string, string[], boolean][] = [
    ['1.1', [], true],
    ['1.1', ['Connection: close'], false],
    ['1.1', ['Connection: CLOSE'], false],
    ['1.1', ['Connection: keep-alive, close'], false],
    ['1.1', ['Connection: foo,close'], false],
    ['1.1', ['Connection: foo ,\tclose\t'], false],
    ['1.1', ['Connection: keep-alive', 'Connection: close'], false],
    ['1.1', ['Connection: closed'], true],
    ['1.1', ['Connection: close-ish, xclose'], true],
    ['1.1', ['Connection: "close"'], true],
    ['1.1', ['Connection: keep-alive'], true],
    ['1.0', [], false],
    ['1.0', ['Connection: keep-alive'], true],
    ['1.0', ['Connection: Keep-Alive'], true],
    ['1.0', ['Connection: foo, keep-alive'], true],
    ['1.0', ['Connection: keep-alive, close'], false],
    ['1.0', ['Connection: keep-alives'], false],
    ['1.0', ['Connection: close'], false],
  ];
  for (const [version, fields, keepAlive] of cases) {
    assert.equal(accept(head(`GET / HTTP/${version}`, HOST, ...fields)).keepAlive, keepAlive, `${version} ${fields.join(' | ')}`);
  }
});

test('only upgrades other than h2c go to node:http; Expect and absolute-form targets are served here', () => {
  const cases: [string, string[], boolean][] = [
    [GET, [], false],
    ['GET /?a=http://x HTTP/1.1', [], false],
    [GET, ['Upgrade: websocket', 'Connection: Upgrade'], true],
    [GET, ['upgrade: h2c'], false],
    [GET, ['Upgrade: h2c, websocket', 'Connection: Upgrade'], true],
    ['POST / HTTP/1.1', ['Expect: 100-continue', 'Content-Length: 3'], false],
    ['GET http://example.test/ HTTP/1.1', [], false],
    ['OPTIONS * HTTP/1.1', [], false],
  ];
  for (const [line, fields, fallback] of cases)
    assert.equal(accept(head(line, HOST, ...fields)).fallback, fallback, `${line} ${fields.join()}`);
});

test('Upgrade: h2c is dropped with its settings (RFC 9113 §3.1); other offers stay', () => {
  const r = accept(head(GET, HOST, 'Connection: Upgrade, HTTP2-Settings', 'Upgrade: h2c', 'HTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA'));
  assert.equal(r.headers.upgrade, undefined);
  assert.equal(r.headers['http2-settings'], undefined);
  assert.equal(accept(head(GET, HOST, 'Upgrade: H2C, websocket')).headers.upgrade, 'websocket');
});

test('Expect: 100-continue is flagged on HTTP/1.1, ignored on HTTP/1.0; another expectation is 417', () => {
  assert.equal(accept(head('POST / HTTP/1.1', HOST, 'Expect: 100-Continue', 'Content-Length: 3')).expectContinue, true);
  assert.equal(accept(head('POST / HTTP/1.0', 'Expect: 100-continue', 'Content-Length: 3')).expectContinue, false);
  assert.equal(accept(head('POST / HTTP/1.0', 'Expect: something')).expectContinue, false);
  assert.equal(accept(head(GET, HOST)).expectContinue, false);
  assert.deepEqual(parseRequestHead(head(GET, HOST, 'Expect: something')), { status: 417, reason: 'unsupported expectation' });
});

test('absolute-form: the target authority replaces Host, the request goes on in origin-form (RFC 9112 §3.2.2)', () => {
  const cases: [string, string[], string, string][] = [
    ['GET http://internal.test/x HTTP/1.1', ['Host: hostonly.test'], 'internal.test', '/x'],
    ['GET HTTP://a.test HTTP/1.1', ['Host: a.test'], 'a.test', '/'],
    ['GET http://a.test?q=1 HTTP/1.1', ['Host: a.test'], 'a.test', '/?q=1'],
    ['GET https://a.test:8443/p/q?r HTTP/1.1', ['Host: other.test'], 'a.test:8443', '/p/q?r'],
    ['GET http://[::1]:80/ HTTP/1.1', ['Host: a.test'], '[::1]:80', '/'],
    ['GET http://a.test/x HTTP/1.0', [], 'a.test', '/x'],
  ];
  for (const [line, fields, host, url] of cases) {
    const r = accept(head(line, ...fields));
    assert.deepEqual([r.headers.host, r.url], [host, url], line);
  }
});
test(`${MAX_HEADER_FIELDS} fields are accepted, one more is 431`, () => {
  const fields = Array.from({ length: MAX_HEADER_FIELDS - 1 }, (_, i) => `X-F${i}: ${i}`);
  assert.equal(Object.keys(accept(head(GET, HOST, ...fields)).headers).length, MAX_HEADER_FIELDS);
  assert.equal((parseRequestHead(head(GET, HOST, ...fields, 'X-One-More: 1')) as HeadError).status, 431);
});

const REFUSED: [string, string, HeadError['status']][] = [
  // Framing: every ambiguity is a smuggling vector.
  ['CL + TE', head('POST / HTTP/1.1', HOST, 'Content-Length: 3', 'Transfer-Encoding: chunked'), 400],
  ['TE + CL', head('POST / HTTP/1.1', HOST, 'Transfer-Encoding: chunked', 'Content-Length: 0'), 400],
  ['conflicting CLs', head('POST / HTTP/1.1', HOST, 'Content-Length: 3', 'Content-Length: 4'), 400],
  ['CL +1', head('POST / HTTP/1.1', HOST, 'Content-Length: +1'), 400],
  ['CL -1', head('POST / HTTP/1.1', HOST, 'Content-Length: -1'), 400],
  ['CL 1 2', head('POST / HTTP/1.1', HOST, 'Content-Length: 1 2'), 400],
  ['CL 1,1', head('POST / HTTP/1.1', HOST, 'Content-Length: 1,1'), 400],
  ['CL 1, 1', head('POST / HTTP/1.1', HOST, 'Content-Length: 1, 1'), 400],
  ['CL hex', head('POST / HTTP/1.1', HOST, 'Content-Length: 0x10'), 400],
  ['CL exponent', head('POST / HTTP/1.1', HOST, 'Content-Length: 1e3'), 400],
  ['CL empty', head('POST / HTTP/1.1', HOST, 'Content-Length:'), 400],
  ['CL 16 digits', head('POST / HTTP/1.1', HOST, 'Content-Length: 1000000000000000'), 400],
  ['CL 2^53+1', head('POST / HTTP/1.1', HOST, 'Content-Length: 9007199254740993'), 400],
  ['CL obs-text digit', head('POST / HTTP/1.1', HOST, 'Content-Length: 1\xb2'), 400],
  // chunked not last (RFC 9112 §6.3) or applied twice (§6.1) is malformed: 400. A coding before
  // a final chunked is one the gateway does not implement: 501.
  ['TE chunked, identity', head('POST / HTTP/1.1', HOST, 'Transfer-Encoding: chunked, identity'), 400],
  ['TE gzip', head('POST / HTTP/1.1', HOST, 'Transfer-Encoding: gzip'), 400],
  ['TE gzip, chunked', head('POST / HTTP/1.1', HOST, 'Transfer-Encoding: gzip, chunked'), 501],
  ['TE identity', head('POST / HTTP/1.1', HOST, 'Transfer-Encoding: identity'), 400],
  ['TE chunked twice', head('POST / HTTP/1.1', HOST, 'Transfer-Encoding: chunked', 'Transfer-Encoding: chunked'), 400],
  ['TE chunked, chunked', head('POST / HTTP/1.1', HOST, 'Transfer-Encoding: chunked, chunked'), 400],
  ['TE chunkedx', head('POST / HTTP/1.1', HOST, 'Transfer-Encoding: chunkedx'), 400],
  ['TE empty', head('POST / HTTP/1.1', HOST, 'Transfer-Encoding:'), 400],
  ['TE in HTTP/1.0', head('POST / HTTP/1.0', 'Transfer-Encoding: chunked'), 400],
  // Line structure.
  ['obs-fold', head(GET, HOST, 'X-A: one', ' two'), 400],
  ['obs-fold with TAB', head(GET, HOST, 'X-A: one', '\ttwo'), 400],
  ['obs-fold on the first field', head(GET, ' Host: example.test'), 400],
  ['bare LF between fields', `${GET}\r\n${HOST}\nX-A: 1`, 400],
  ['bare LF after the request line', `${GET}\n${HOST}`, 400],
  ['bare LF in a value', head(GET, HOST, 'X-A: 1\n2'), 400],
  ['bare CR in a value', head(GET, HOST, 'X-A: 1\r2'), 400],
  ['bare CR at the end of a value', head(GET, HOST, 'X-A: 1\r'), 400],
  ['bare CR after the request line', `${GET}\r${HOST}`, 400],
  ['CR CR LF after the request line', `${GET}\r\r\n${HOST}`, 400],
  ['empty line inside the head', head(GET, HOST, '', 'X-A: 1'), 400],
  ['NUL in a value', head(GET, HOST, 'X-A: a\0b'), 400],
  ['DEL in a value', head(GET, HOST, 'X-A: a\x7fb'), 400],
  ['other control in a value', head(GET, HOST, 'X-A: a\x0bb'), 400],
  ['space before colon', head(GET, HOST, 'X-A : 1'), 400],
  ['TAB before colon', head(GET, HOST, 'Content-Length\t: 1'), 400],
  ['empty name', head(GET, HOST, ': 1'), 400],
  ['no colon', head(GET, HOST, 'X-A'), 400],
  ['non-token name', head(GET, HOST, 'X(A): 1'), 400],
  ['NUL in a name', head(GET, HOST, 'X\0A: 1'), 400],
  // Host.
  ['missing Host on 1.1', head(GET, 'X-A: 1'), 400],
  ['repeated Host', head(GET, HOST, 'Host: other.test'), 400],
  ['repeated Host, same value', head(GET, HOST, HOST), 400],
  ['repeated Host on 1.0', head('GET / HTTP/1.0', HOST, 'host: other.test'), 400],
  ['Host with a space', head(GET, 'Host: a.test b.test'), 400],
  ['Host with a comma', head(GET, 'Host: a.test,b.test'), 400],
  ['Host with a slash', head(GET, 'Host: a.test/x'), 400],
  ['Host with userinfo', head(GET, 'Host: user@a.test'), 400],
  ['Host with a long port', head(GET, 'Host: a.test:123456'), 400],
  ['Host with a bad port', head(GET, 'Host: a.test:8x'), 400],
  ['Host IPv6 not closed', head(GET, 'Host: [::1'), 400],
  // Targets.
  ['absolute-form with userinfo', head('GET http://u@a.test/ HTTP/1.1', HOST), 400],
  ['absolute-form without a host', head('GET http:///x HTTP/1.1', HOST), 400],
  ['absolute-form with another scheme', head('GET ftp://a.test/ HTTP/1.1', HOST), 400],
  ['absolute-form with a bad host', head('GET http://a,b/ HTTP/1.1', HOST), 400],
  ['a target that is no form at all', head('GET x HTTP/1.1', HOST), 400],
  ['asterisk-form with GET', head('GET * HTTP/1.1', HOST), 400],
  ['asterisk-form with M-SEARCH', head('M-SEARCH * HTTP/1.1', HOST), 400],
  ['CONNECT', head('CONNECT example.test:443 HTTP/1.1', HOST), 501],
  // Versions and the request line.
  ['HTTP/2.0', head('GET / HTTP/2.0', HOST), 505],
  ['HTTP/3.0', head('GET / HTTP/3.0', HOST), 505],
  ['HTTP/1.x', head('GET / HTTP/1.x', HOST), 400],
  ['HTTPS/1.1', head('GET / HTTPS/1.1', HOST), 400],
  ['http/1.1', head('GET / http/1.1', HOST), 400],
  ['HTTP/1.10', head('GET / HTTP/1.10', HOST), 400],
  ['HTTP/1', head('GET / HTTP/1', HOST), 400],
  ['no version', head('GET /', HOST), 400],
  ['request line only, no version', 'GET /', 400],
  ['two spaces after the method', head('GET  / HTTP/1.1', HOST), 400],
  ['two spaces before the version', head('GET /  HTTP/1.1', HOST), 400],
  ['trailing space after the version', head('GET / HTTP/1.1 ', HOST), 400],
  ['TAB as separator', head('GET\t/ HTTP/1.1', HOST), 400],
  ['leading space', head(' GET / HTTP/1.1', HOST), 400],
  ['leading empty line', `\r\n${head(GET, HOST)}`, 400],
  ['empty head', '', 400],
  ['non-token method', head('G(T / HTTP/1.1', HOST), 400],
  ['space in the target', head('GET /a b HTTP/1.1', HOST), 400],
  ['obs-text in the target', head('GET /caf\xe9 HTTP/1.1', HOST), 400],
  ['DEL in the target', head('GET /\x7f HTTP/1.1', HOST), 400],
  ['NUL in the target', head('GET /\0 HTTP/1.1', HOST), 400],
];

test('refusals, each with its status', () => {
  for (const [name, s, status] of REFUSED) {
    const r = parseRequestHead(s);
    assert.ok(isError(r), `${name}: accepted ${JSON.stringify(s)}`);
    assert.equal(r.status, status, `${name}: ${r.reason}`);
  }
});

test('llhttp strict also refuses the smuggling vectors we refuse (the oracle can see them)', () => {
  const vectors = new Set([
    'CL + TE',
    'TE + CL',
    'conflicting CLs',
    'CL +1',
    'CL -1',
    'CL 1 2',
    'CL 1,1',
    'CL hex',
    'TE chunked, identity',
    'TE gzip',
    'TE chunked twice',
    'obs-fold',
    'obs-fold with TAB',
    'bare LF between fields',
    'bare LF after the request line',
    'bare LF in a value',
    'bare CR in a value',
    'NUL in a value',
    'DEL in a value',
    'space before colon',
    'TAB before colon',
  ]);
  const seen = REFUSED.filter(([name]) => vectors.has(name));
  assert.equal(seen.length, vectors.size);
  for (const [name, s] of seen) {
    const r = llhttpRequest(Buffer.from(`${s}\r\n\r\n`, 'latin1'));
    assert.equal(r.ok, false, `${name}: llhttp accepted ${JSON.stringify(s)}`);
  }
});

// ---- Property tests -------------------------------------------------------

const TCHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const token = fc.string({ unit: fc.constantFrom(...TCHARS), minLength: 1, maxLength: 10 });
const char = (from: number, to: number): fc.Arbitrary<string> => fc.integer({ min: from, max: to }).map((c) => String.fromCharCode(c));
/** field-content: VCHAR and obs-text, with SP/HTAB inside. */
const fieldText = fc.string({
  unit: fc.oneof({ weight: 6, arbitrary: char(0x21, 0x7e) }, char(0x80, 0xff), fc.constantFrom(' ', '\t')),
  maxLength: 16,
});
const ows = fc.string({ unit: fc.constantFrom(' ', '\t'), maxLength: 2 });
const originForm = fc.string({ unit: char(0x21, 0x7e), maxLength: 20 }).map((p) => `/${p}`);
/** Names the generator leaves to the framing choice, so generated fields never change framing or fallback. */
const RESERVED = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'upgrade', 'expect']);

function trimOws(v: string): string {
  return v.replace(/^[ \t]+|[ \t]+$/g, '');
}

type Framing = { kind: 'none' } | { kind: 'length'; n: number } | { kind: 'chunked' };
const framing: fc.Arbitrary<Framing> = fc.oneof(
  fc.constant({ kind: 'none' as const }),
  fc.integer({ min: 0, max: 1e6 }).map((n) => ({ kind: 'length' as const, n })),
  fc.constant({ kind: 'chunked' as const }),
);

interface Generated {
  method: string;
  url: string;
  minor: number;
  fields: { name: string; raw: string }[];
  framing: Framing;
}

function render(g: Generated): string {
  const lines = [`${g.method} ${g.url} HTTP/1.${g.minor}`];
  for (const f of g.fields) lines.push(`${f.name}:${f.raw}`);
  return head(...lines);
}

/** Valid heads: Host first, distinct non-reserved names, the framing field somewhere among them. */
function validHead(methods: fc.Arbitrary<string>): fc.Arbitrary<Generated> {
  return fc
    .record({
      method: methods,
      url: originForm,
      minor: fc.constantFrom(0, 1),
      host: fc.tuple(ows, fc.stringMatching(/^[a-z0-9.-]{1,12}(:[0-9]{1,5})?$/), ows),
      fields: fc.uniqueArray(fc.tuple(token, ows, fieldText, ows), { maxLength: 8, selector: ([n]) => n.toLowerCase() }),
      framing,
      at: fc.nat(),
    })
    .map(({ method, url, minor, host, fields, framing: fr, at }) => {
      const out = [
        { name: 'Host', raw: host.join('') },
        ...fields.filter(([n]) => !RESERVED.has(n.toLowerCase())).map(([n, a, v, b]) => ({ name: n, raw: a + v + b })),
      ];
      // HTTP/1.0 has no chunked coding (we refuse it): such heads get a Content-Length instead.
      const f = fr.kind === 'chunked' && minor === 0 ? { kind: 'length' as const, n: 1 } : fr;
      if (f.kind !== 'none')
        out.splice(
          1 + (at % out.length),
          0,
          f.kind === 'length' ? { name: 'Content-Length', raw: ` ${f.n}` } : { name: 'Transfer-Encoding', raw: ' chunked' },
        );
      return { method, url, minor, fields: out, framing: f };
    });
}

test('property: random valid heads round-trip (method, target, version, fields, framing)', () => {
  fc.assert(
    fc.property(validHead(token), (g) => {
      const r = accept(render(g));
      assert.deepEqual([r.method, r.url, r.minor], [g.method, g.url, g.minor]);
      // fromEntries, so that a generated "__proto__" is an own property as in the parsed headers.
      assert.deepEqual(plain(r.headers), Object.fromEntries(g.fields.map((f) => [f.name.toLowerCase(), trimOws(f.raw)])));
      const fr = g.framing;
      const body = fr.kind === 'chunked' ? BodyKind.Chunked : fr.kind === 'length' && fr.n > 0 ? BodyKind.Length : BodyKind.None;
      assert.deepEqual([r.body, r.contentLength], [body, fr.kind === 'length' ? fr.n : 0]);
      assert.equal(r.keepAlive, g.minor === 1);
      assert.equal(r.fallback, false);
    }),
    { seed: SEED, numRuns: 2000, includeErrorInReport: true },
  );
});

/** Adversarial lines the mutator inserts. */
const INSERTED_LINES = [
  'Content-Length: 0',
  'Content-Length: 5',
  'Content-Length: 05',
  'Content-Length: +1',
  'Content-Length: -1',
  'Content-Length: 1 2',
  'Content-Length: 1,1',
  'Content-Length: 9007199254740993',
  'Content-Length: 00000000000000005',
  'Content-Length: 5\xa0',
  'Transfer-Encoding: chunked',
  'transfer-encoding: Chunked',
  'Transfer-Encoding: chunked\xa0',
  'Transfer-Encoding: chunked,',
  'Transfer-Encoding: chunked, identity',
  'Transfer-Encoding: gzip',
  'Transfer-Encoding: \tchunked ',
  'Transfer-Encoding : chunked',
  'Connection: close',
  'Connection: keep-alive',
  'Connection: keep-alive, close',
  'Connection: Upgrade',
  'Upgrade: websocket',
  'Expect: 100-continue',
  'Host: other.test',
  'X-Pad: a',
];
const INSERTED_TEXT = ['\r', '\n', '\0', ' ', '\t', '\r\n', '\r\n ', '\n\t', '\x7f', '\xa0', ',', ':', '\r\n\r\n'];

type Mutation =
  | { kind: 'insert'; at: number; text: string }
  | { kind: 'delete'; at: number }
  | { kind: 'case'; at: number; upper: boolean }
  | { kind: 'duplicate'; line: number; framing: boolean }
  | { kind: 'line'; line: number; text: string };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.constantFrom(...INSERTED_TEXT) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('case' as const), at: fc.nat(), upper: fc.boolean() }),
  fc.record({ kind: fc.constant('duplicate' as const), line: fc.nat(), framing: fc.boolean() }),
  fc.record({ kind: fc.constant('line' as const), line: fc.nat(), text: fc.constantFrom(...INSERTED_LINES) }),
);

function mutate(s: string, m: Mutation): string {
  const at = s.length === 0 ? 0 : ('at' in m ? m.at : 0) % (s.length + 1);
  switch (m.kind) {
    case 'insert':
      return s.slice(0, at) + m.text + s.slice(at);
    case 'delete':
      return s.slice(0, at) + s.slice(at + 1);
    case 'case': {
      // Case games on a whole line: names, values (chunked/CHUNKED, close/CLOSE), method, version.
      const start = s.lastIndexOf('\n', at - 1) + 1;
      const end = s.indexOf('\r', at) < 0 ? s.length : s.indexOf('\r', at);
      const line = s.slice(start, end);
      return s.slice(0, start) + (m.upper ? line.toUpperCase() : line.toLowerCase()) + s.slice(end);
    }
    case 'duplicate':
    case 'line': {
      const lines = s.split('\r\n');
      const i = 1 + (m.line % lines.length);
      // A duplicate is of the Content-Length/Transfer-Encoding line when asked and there is one, else of a random line.
      const framingLine =
        m.kind === 'duplicate' && m.framing ? lines.find((l) => /^(content-length|transfer-encoding):/i.test(l)) : undefined;
      lines.splice(i, 0, m.kind === 'line' ? m.text : (framingLine ?? lines[Math.min(i, lines.length - 1)]!));
      return lines.join('\r\n');
    }
  }
}

/** What a connection does with the mutated head once CRLF CRLF follows it: the head ends at the first CRLF CRLF. */
function cutHead(mutated: string): string {
  const wire = `${mutated}\r\n\r\n`;
  return wire.slice(0, wire.indexOf('\r\n\r\n'));
}

/** RFC 9112 §9.6: the close option, with OWS = SP / HTAB around list members. */
function hasCloseOption(headers: IncomingHttpHeaders): boolean {
  const c = headers.connection;
  return typeof c === 'string' && c.split(',').some((t) => trimOws(t).toLowerCase() === 'close');
}

const LLHTTP_METHODS = llhttpMethods();
/** Methods for heads the differential property starts from (mutations may still lower-case them). */
const GENERATED_METHODS = [
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'DELETE',
  'OPTIONS',
  'PATCH',
  'TRACE',
  'PURGE',
  'PROPFIND',
  'MKCOL',
  'QUERY',
  'M-SEARCH',
];

/**
 * The head we accepted, rewritten into the form llhttp strict accepts where
 * RFC 9110/9112 allow both and llhttp is narrower; the rest is left as is so
 * the comparison stays exact. Each rewrite is a reviewed divergence:
 * - an extension method (RFC 9110 §9.1): llhttp knows a fixed list → GET;
 * - an identical repeated Content-Length (RFC 9110 §8.6): llhttp refuses any repetition → first kept;
 * - HTAB as trailing OWS: llhttp refuses it after Content-Length/Transfer-Encoding values → OWS trimmed;
 * - HTAB in a Connection list: llhttp does not see a token that HTAB follows ("close\t") → SP.
 */
function llhttpForm(s: string, ours: RequestHead): string {
  const [line0, ...fields] = s.split('\r\n');
  const out = [LLHTTP_METHODS.has(ours.method) ? line0! : `GET${line0!.slice(ours.method.length)}`];
  let lengths = 0;
  for (const f of fields) {
    const colon = f.indexOf(':');
    const name = f.slice(0, colon).toLowerCase();
    if (name === 'content-length' && lengths++ > 0) continue;
    const value = trimOws(f.slice(colon + 1));
    out.push(`${f.slice(0, colon)}: ${name === 'connection' ? value.replace(/\t/g, ' ') : value}`);
  }
  return out.join('\r\n');
}

/** Field values compared with llhttp's: Connection with its HTABs as SP (see llhttpForm). */
function comparable(h: IncomingHttpHeaders): Record<string, unknown> {
  const c = h.connection;
  const out: Record<string, unknown> = c === undefined ? plain(h) : { ...h, connection: c.replace(/\t/g, ' ') };
  // We pass Content-Length on in canonical form (leading zeros dropped).
  const cl = h['content-length'];
  if (cl !== undefined && /^\d+$/.test(cl)) out['content-length'] = String(Number(cl));
  return out;
}

/** llhttp's raw field list folded the node:http way. */
function fold(ll: LlhttpRequest): IncomingHttpHeaders {
  const h = Object.create(null) as IncomingHttpHeaders;
  for (let i = 0; i < ll.headers.length; i += 2) addField(h, ll.headers[i]!.toLowerCase(), ll.headers[i + 1]!);
  return h;
}

/**
 * Our verdict against llhttp's on one head. Allowed: we refuse what llhttp
 * accepts. Not allowed: we accept what it refuses (after llhttpForm), or
 * disagree on the method, target, fields, body framing or keep-alive, or
 * miss an upgrade. A head we hand to node:http (fallback) is judged by
 * node's llhttp itself, so only the handover matters there.
 */
function compareWithLlhttp(s: string): void {
  const ours = parseRequestHead(s);
  if (isError(ours) || ours.fallback) return;
  const form = llhttpForm(s, ours);
  const why = JSON.stringify(s);
  const ll = llhttpRequest(Buffer.from(`${form}\r\n\r\n`, 'latin1'));
  if (!ll.ok) assert.fail(`we accept, llhttp refuses (${ll.code}): ${why} (as ${JSON.stringify(form)})`);
  assert.equal(ll.upgrade, false, `llhttp treats it as an upgrade, we do not fall back: ${why}`);
  assert.equal(LLHTTP_METHODS.has(ours.method) ? ours.method : 'GET', ll.method, why);
  assert.equal(ours.url, ll.url, why);
  assert.deepEqual([1, ours.minor], [ll.major, ll.minor], why);
  assert.deepEqual(comparable(ours.headers), comparable(fold(ll)), why);
  assert.equal(ours.body === BodyKind.Chunked, ll.chunked, `chunked: ${why}`);
  assert.equal(ours.contentLength, ll.contentLength ?? 0, `content-length: ${why}`);
  // llhttp keeps an HTTP/1.0 connection with both keep-alive and close; RFC 9112 §9.3 says close wins.
  if (ours.keepAlive !== ll.keepAlive)
    assert.ok(
      !ours.keepAlive && ours.minor === 0 && hasCloseOption(ours.headers),
      `keep-alive ${ours.keepAlive} vs llhttp ${ll.keepAlive}: ${why}`,
    );
}

test('property: mutated heads never throw, and what we accept llhttp strict accepts the same way', () => {
  fc.assert(
    fc.property(validHead(fc.constantFrom(...GENERATED_METHODS)), fc.array(mutation, { minLength: 1, maxLength: 3 }), (g, ms) => {
      let s = render(g);
      for (const m of ms) s = mutate(s, m);
      compareWithLlhttp(cutHead(s));
    }),
    { seed: SEED, numRuns: 10_000, includeErrorInReport: true },
  );
});

test('differential: each rewrite llhttpForm makes is a real llhttp refusal or misreading, and needed', () => {
  const ll = (h: string): LlhttpRequest | { ok: false; code: string } => llhttpRequest(Buffer.from(`${h}\r\n\r\n`, 'latin1'));
  const cases: [string, string, (r: ReturnType<typeof ll>) => boolean][] = [
    [head('get / HTTP/1.1', HOST), head(GET, `${HOST}`), (r) => !r.ok && r.code === 'HPE_INVALID_METHOD'],
    [
      head('POST / HTTP/1.1', HOST, 'Content-Length: 5', 'Content-Length: 5'),
      head('POST / HTTP/1.1', HOST, 'Content-Length: 5'),
      (r) => !r.ok && r.code === 'HPE_UNEXPECTED_CONTENT_LENGTH',
    ],
    [
      head('POST / HTTP/1.1', HOST, 'Content-Length: 5\t'),
      head('POST / HTTP/1.1', HOST, 'Content-Length: 5'),
      (r) => !r.ok && r.code === 'HPE_INVALID_CONTENT_LENGTH',
    ],
    [
      head('POST / HTTP/1.1', HOST, 'Transfer-Encoding:chunked\t'),
      head('POST / HTTP/1.1', HOST, 'Transfer-Encoding: chunked'),
      (r) => !r.ok && r.code === 'HPE_INVALID_TRANSFER_ENCODING',
    ],
    [head(GET, HOST, 'Connection: close\t, foo'), head(GET, HOST, 'Connection: close , foo'), (r) => r.ok && r.keepAlive],
  ];
  for (const [h, form, llhttpVerdict] of cases) {
    assert.ok(llhttpVerdict(ll(h)), `llhttp no longer diverges on ${JSON.stringify(h)}: drop the rewrite`);
    assert.equal(llhttpForm(h, accept(h)), form);
    compareWithLlhttp(h);
  }
  // What is left after the rewrites: HTTP/1.0 with both options. llhttp keeps the connection; close wins (RFC 9112 §9.3).
  const both = head('GET / HTTP/1.0', 'Connection: keep-alive, close');
  assert.equal(accept(both).keepAlive, false);
  assert.equal((ll(both) as LlhttpRequest).keepAlive, true);
});

test('keep-alive: NBSP (0xA0) is not OWS, so "keep-alive\\xA0" is not the keep-alive option', () => {
  // HTTP/1.0 + "Connection: keep-alive<NBSP>": llhttp strict says close; we keep the connection open.
  const s = head('GET / HTTP/1.0', 'Connection: keep-alive\xa0');
  assert.equal((llhttpRequest(Buffer.from(`${s}\r\n\r\n`, 'latin1')) as LlhttpRequest).keepAlive, false);
  assert.equal(accept(s).keepAlive, false);
  compareWithLlhttp(head('GET / HTTP/1.1', HOST, 'Connection: \xa0close'));
});

// ---- Header combining against a real node:http server ---------------------

let echo: Running;
before(async () => {
  echo = await serveUpstream((req, res) => {
    res.setHeader('connection', 'close');
    res.end(JSON.stringify(req.headers));
  });
});
after(() => echo.close());

/** The headers node:http builds for a raw head sent on a fresh loopback connection. */
function nodeHeaders(s: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const sock = connect(echo.port, '127.0.0.1');
    let out = '';
    sock.setEncoding('latin1');
    sock.on('data', (c: string) => (out += c));
    sock.on('error', reject);
    sock.on('close', () => {
      const body = out.slice(out.indexOf('\r\n\r\n') + 4);
      if (!out.startsWith('HTTP/1.1 200')) reject(new Error(`node:http answered ${out.slice(0, 40)} to ${JSON.stringify(s)}`));
      else resolve(JSON.parse(Buffer.from(body, 'latin1').toString('utf8')) as Record<string, unknown>);
    });
    sock.end(`${s}\r\n\r\n`, 'latin1');
  });
}

/** Names node:http treats specially, in varied case, plus ordinary ones. */
const COMBINED_NAMES = [
  'Content-Type',
  'content-length',
  'User-Agent',
  'Referer',
  'Authorization',
  'Proxy-Authorization',
  'If-Modified-Since',
  'If-Unmodified-Since',
  'From',
  'Location',
  'Max-Forwards',
  'Retry-After',
  'ETag',
  'Last-Modified',
  'Server',
  'Age',
  'Expires',
  'Set-Cookie',
  'set-cookie',
  'Cookie',
  'COOKIE',
  'Accept',
  'X-Forwarded-For',
  'x-a',
  'X-A',
  'Connection',
  'Via',
  'TE',
];

test('property: repeated fields combine exactly as node:http does (real server, loopback)', async () => {
  const value = fc.string({ unit: char(0x21, 0x7e), minLength: 1, maxLength: 6 });
  await fc.assert(
    fc.asyncProperty(fc.array(fc.tuple(fc.constantFrom(...COMBINED_NAMES), value), { maxLength: 10 }), async (fields) => {
      // Framing stays neutral: at most one Content-Length, 0 (llhttp refuses any repetition).
      const repeatedLengths = fields.filter(([n]) => n.toLowerCase() === 'content-length').slice(1);
      const s = head(
        'GET / HTTP/1.1',
        HOST,
        ...fields.filter((f) => !repeatedLengths.includes(f)).map(([n, v]) => `${n}: ${n.toLowerCase() === 'content-length' ? '0' : v}`),
      );
      const ours = accept(s);
      const theirs = await nodeHeaders(s);
      assert.deepEqual(plain(ours.headers), theirs, s);
    }),
    { seed: SEED, numRuns: 150, includeErrorInReport: true },
  );
});

test('Content-Length: leading zeros are not significant (RFC 9110 §8.6); 15 significant digits at most', () => {
  const r = accept(head('POST / HTTP/1.1', HOST, 'Content-Length: 00000000000000000005'));
  assert.deepEqual([r.body, r.contentLength], [BodyKind.Length, 5]);
  assert.equal(accept(head('POST / HTTP/1.1', HOST, 'Content-Length: 000')).body, BodyKind.None);
  assert.equal(accept(head('POST / HTTP/1.1', HOST, 'Content-Length: 05', 'Content-Length: 5')).contentLength, 5);
});

test('Host values: names, IPv4, bracketed IPv6, an optional port; empty is allowed (RFC 9112 §3.2)', () => {
  for (const h of ['a.test', 'A-B_c~d.test:8080', '10.0.0.1', '[::1]', '[2001:db8::1]:443', 'a.test.', 'a.test:', ''])
    assert.equal(accept(head(GET, `Host: ${h}`)).headers.host, h, h);
});
