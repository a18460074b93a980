import { test } from 'node:test';
import assert from 'node:assert/strict';
import { STATUS_CODES } from 'node:http';
import { REASONS, reasonPhrase, statusLine } from './reasons.js';

test('the reason table says what node:http says, for every code node knows', () => {
  // node:http and node:http2 (http.server=node, upgrades, h2c) write node's phrases; the fast path must read the same.
  for (const [code, phrase] of Object.entries(STATUS_CODES)) assert.equal(REASONS[Number(code)], phrase, `status ${code}`);
  assert.deepEqual(Object.keys(REASONS).sort(), Object.keys(STATUS_CODES).sort());
});

test('status lines: known, unknown and out-of-range codes', () => {
  assert.equal(statusLine(200), 'HTTP/1.1 200 OK\r\n');
  assert.equal(statusLine(507), 'HTTP/1.1 507 Insufficient Storage\r\n');
  assert.equal(statusLine(599), 'HTTP/1.1 599 Unknown\r\n');
  assert.equal(statusLine(599), statusLine(599)); // cached
  assert.equal(reasonPhrase(42), 'Unknown');
});
