import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatOf, parseConfigText } from './parse-documents.js';

test('multi-document YAML: empty documents skipped, lines of keys and list items', () => {
  const text = ['---', '# only a comment', '---', 'a:', '  b:', '    - x', '    - y: 1', '---', 'c: 2', ''].join('\n');
  const p = parseConfigText('f.yaml', text);
  assert.equal(p.error, undefined);
  assert.equal(p.documents.length, 2);
  const [d1, d2] = p.documents;
  assert.deepEqual(d1?.value, { a: { b: ['x', { y: 1 }] } });
  assert.equal(d1?.index, 1);
  assert.equal(d1?.lineOf(['a']), 4);
  assert.equal(d1?.lineOf(['a', 'b']), 5);
  assert.equal(d1?.lineOf(['a', 'b', 1]), 7);
  assert.equal(d1?.lineOf(['a', 'b', 1, 'y']), 7);
  assert.equal(d1?.lineOf(['a', 'missing']), undefined);
  assert.equal(d2?.lineOf(['c']), 9);
  assert.equal(d2?.file, 'f.yaml');
});

test('YAML, JSON and TOML errors carry the line', () => {
  const y = parseConfigText('f.yml', 'a: 1\nb: [1, 2\nc: 3\n');
  assert.ok(y.error !== undefined);
  assert.match(y.error.message, /^invalid YAML: /);
  assert.equal(typeof y.error.line, 'number');
  const dup = parseConfigText('f.yml', 'a: 1\na: 2\n');
  assert.equal(dup.error?.line, 2);
  const j = parseConfigText('f.json', '{\n  "a": 1,\n  "b": }\n');
  assert.equal(j.error?.line, 3);
  assert.match(j.error?.message ?? '', /^invalid JSON/);
  const t = parseConfigText('f.toml', 'a = 1\n\n[b]\nc = = 2\n');
  assert.equal(t.error?.line, 4);
  assert.match(t.error?.message ?? '', /^invalid TOML/);
});

test('JSON and TOML positions', () => {
  const j = parseConfigText('f.json', '{\n  "http": {\n    "routers": {\n      "r": {"rule": "Path(`/`)"}\n    }\n  }\n}\n');
  assert.equal(j.documents[0]?.lineOf(['http', 'routers', 'r']), 4);
  const t = parseConfigText(
    'f.toml',
    '[http.routers.r]\n  rule = "Path(`/`)"\n\n[[http.services.s.loadBalancer.servers]]\n  url = "http://a"\n[[http.services.s.loadBalancer.servers]]\n  url = "http://b"\n',
  );
  const d = t.documents[0];
  assert.equal(d?.lineOf(['http', 'routers', 'r', 'rule']), 2);
  assert.equal(d?.lineOf(['http', 'services', 's', 'loadBalancer', 'servers', 1, 'url']), 7);
  assert.deepEqual(d?.value, {
    http: {
      routers: { r: { rule: 'Path(`/`)' } },
      services: { s: { loadBalancer: { servers: [{ url: 'http://a' }, { url: 'http://b' }] } } },
    },
  });
});

test('formatOf', () => {
  assert.equal(formatOf('a.YAML'), 'yaml');
  assert.equal(formatOf('a.yml'), 'yaml');
  assert.equal(formatOf('a.toml'), 'toml');
  assert.equal(formatOf('a.json'), 'json');
  assert.equal(formatOf('a.yaml~'), undefined);
  assert.equal(formatOf('a.swp'), undefined);
  assert.equal(formatOf('README'), undefined);
});
