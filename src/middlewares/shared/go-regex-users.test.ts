/**
 * The shared Go regexp table run through every middleware option that takes
 * a Go regexp, each built by its definition's `create` and run in process
 * (so any string, control characters included, can be the subject). The rule
 * matchers run the same table in rules/shared-cases.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { OutgoingHttpHeaders } from 'node:http';
import { RequestContext } from '../../http/exchange.js';
import type { ResponseWriter } from '../../http/response-writer.js';
import { compileGoRegexp } from '../../regex/go-regexp.js';
import { ALL_TEMPLATE, GO_REGEXP_CASES, GO_REGEXP_ERRORS } from '../../regex/go-regexp.cases.js';
import { testDeps } from '../../../test/support/handler-server.js';
import { MiddlewareOptionError, type Middleware } from '../types.js';
import { middleware as headers } from '../headers/index.js';
import { middleware as redirectRegex } from '../redirect-regex/index.js';
import { middleware as replacePathRegex } from '../replace-path-regex/index.js';
import { middleware as stripPrefixRegex } from '../strip-prefix-regex/index.js';

class RecordingWriter implements ResponseWriter {
  headersSent = false;
  status = 0;
  headers: OutgoingHttpHeaders = {};
  writeHead(status: number, headers: OutgoingHttpHeaders): void {
    this.status = status;
    this.headers = headers;
    this.headersSent = true;
  }
  write(): boolean {
    return true;
  }
  end(): void {}
  onDrain(): void {}
  destroy(): void {}
  addTrailers(): void {}
}

interface Outcome {
  /** The request reached the next handler. */
  readonly passed: boolean;
  /** The context as the next handler saw it. */
  readonly ctx: RequestContext;
  readonly rw: RecordingWriter;
}

/** Run one GET through `mw` in process. */
function run(mw: Middleware, init: { path?: string; headers?: Record<string, string> }): Outcome {
  const path = init.path ?? '/';
  const rw = new RecordingWriter();
  const headers = { host: 'gw.test', ...init.headers };
  const ctx = new RequestContext({ method: 'GET', url: path, headers, httpVersion: '1.1', httpVersionMajor: 1, socket: null }, rw, {
    entryPoint: 'web',
    scheme: 'http',
    remoteIp: '192.0.2.1',
    clientIp: '192.0.2.1',
    host: 'gw.test',
    path,
    query: '',
    start: 0,
  });
  let passed = false;
  mw((c) => {
    passed = true;
    c.rw.writeHead(200, {});
    c.rw.end();
  })(ctx);
  return { passed, ctx, rw };
}

test("stripPrefixRegex strips Go's first match when it is a prefix of the path", () => {
  for (const c of GO_REGEXP_CASES) {
    const out = run(stripPrefixRegex.create({ regex: [c.re] }, testDeps()), { path: c.input });
    const strips = c.find !== null && c.find !== '' && c.input.startsWith(c.find);
    const what = `${c.re} on ${JSON.stringify(c.input)}`;
    assert.equal(out.ctx.headers['x-forwarded-prefix'], strips ? c.find : undefined, what);
    if (strips) {
      const rest = c.input.slice((c.find as string).length);
      assert.equal(out.ctx.path, rest === '' ? '/' : rest.startsWith('/') ? rest : `/${rest}`, what);
    } else assert.equal(out.ctx.path, c.input, what);
  }
});

test("replacePathRegex replaces every match as Go's ReplaceAllString", () => {
  for (const c of GO_REGEXP_CASES) {
    const out = run(replacePathRegex.create({ regex: c.re, replacement: ALL_TEMPLATE }, testDeps()), { path: c.input });
    const what = `${c.re} on ${JSON.stringify(c.input)}`;
    assert.equal(out.passed, true, what);
    if (c.find === null) {
      assert.equal(out.ctx.path, c.input, what);
      assert.equal(out.ctx.headers['x-replaced-path'], undefined, what);
    } else {
      assert.equal(out.ctx.path, c.all.startsWith('/') ? c.all : `/${c.all}`, what);
      assert.equal(out.ctx.headers['x-replaced-path'], c.input, what);
    }
  }
});

test('headers.accessControlAllowOriginListRegex allows the origins Go matches', () => {
  for (const c of GO_REGEXP_CASES) {
    if (c.input === '') continue; // no Origin header: nothing to allow
    const out = run(headers.create({ accessControlAllowOriginListRegex: [c.re] }, testDeps()), { headers: { origin: c.input } });
    assert.equal(
      out.rw.headers['access-control-allow-origin'],
      c.find === null ? undefined : c.input,
      `${c.re} on ${JSON.stringify(c.input)}`,
    );
  }
});

test('redirectRegex redirects exactly when the Go regexp matches the request URL', () => {
  // Its subject is the whole URL (http://gw.test/<path>), not the case input,
  // so the expectation is the translator's own answer on that URL: the one a
  // HeaderRegexp rule gives for the same value.
  for (const c of GO_REGEXP_CASES) {
    const path = `/${c.input}`;
    const url = `http://gw.test${path}`;
    const out = run(redirectRegex.create({ regex: c.re, replacement: 'http://moved.test/' }, testDeps()), { path });
    assert.equal(out.passed, !compileGoRegexp(c.re).test(url), `${c.re} on ${JSON.stringify(url)}`);
  }
  // And the issue's patterns, with Go's answers for these URLs (Location by ReplaceAllString).
  const issue: readonly [string, string, string | null][] = [
    ['^http://gw\\.test/((?i:abc)d)$', '/ABCd', 'http://moved.test/ABCd'],
    ['^http://gw\\.test/((?i:abc)d)$', '/ABCD', null],
    ['^http://gw\\.test/(\\Qa.b\\E)$', '/a.b', 'http://moved.test/a.b'],
    ['^http://gw\\.test/(\\Qa.b\\E)$', '/axb', null],
    ['^http://gw\\.test/([[:alpha:]]+)$', '/abc', 'http://moved.test/abc'],
    ['^http://gw\\.test/([[:alpha:]]+)$', '/123', null],
  ];
  for (const [re, path, location] of issue) {
    const out = run(redirectRegex.create({ regex: re, replacement: 'http://moved.test/${1}' }, testDeps()), { path });
    assert.equal(out.passed, location === null, `${re} on ${path}`);
    assert.equal(out.rw.headers.location, location ?? undefined, `${re} on ${path}`);
  }
});

/** Each regexp field, built with a bad pattern at `re`. */
const FIELDS: readonly [string, string, (re: string) => unknown][] = [
  ['redirectRegex', 'regex', (re) => redirectRegex.create({ regex: re, replacement: '/x' }, testDeps())],
  ['replacePathRegex', 'regex', (re) => replacePathRegex.create({ regex: re, replacement: '/x' }, testDeps())],
  ['stripPrefixRegex', 'regex[1]', (re) => stripPrefixRegex.create({ regex: ['^/ok', re] }, testDeps())],
  ['headers', 'accessControlAllowOriginListRegex[0]', (re) => headers.create({ accessControlAllowOriginListRegex: [re] }, testDeps())],
];

test("every regexp field refuses what Go refuses, naming the field and Go's reason", () => {
  for (const [name, field, build] of FIELDS) {
    for (const c of GO_REGEXP_ERRORS) {
      // replacePathRegex and stripPrefixRegex trim the pattern (as Traefik does): '\\ ' would differ, none is here.
      assert.throws(
        () => build(c.re),
        (err: unknown) => {
          assert.ok(err instanceof MiddlewareOptionError, `${name} ${c.re}: ${String(err)}`);
          assert.equal(err.field, field, `${name} ${c.re}`);
          assert.match(err.message, c.error, `${name} ${c.re}: ${err.message}`);
          return true;
        },
      );
    }
  }
});
