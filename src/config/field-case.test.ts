import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RouterSchema, ServiceSchema } from './schema.js';
import { canonicalFields } from './field-case.js';
import { parseConfigText } from './parse-documents.js';
import { fromTraefikFileDocuments } from '../providers/formats/traefik-file.js';

test('field names take the schema spelling, whatever the case; map keys and unknown fields stay as written', () => {
  assert.deepEqual(canonicalFields(RouterSchema, { EntryPoints: ['web'], RULE: 'Path(`/`)', service: 's', Servce: 'x' }), {
    entryPoints: ['web'],
    rule: 'Path(`/`)',
    service: 's',
    Servce: 'x',
  });
  const svc = canonicalFields(ServiceSchema, {
    loadbalancer: { servers: [{ URL: 'http://a', Weight: 2 }], healthcheck: { Path: '/h', headers: { 'X-Probe': 'Keep-Case' } } },
  });
  assert.deepEqual(svc, {
    loadBalancer: { servers: [{ url: 'http://a', weight: 2 }], healthCheck: { path: '/h', headers: { 'X-Probe': 'Keep-Case' } } },
  });
  // Two spellings of one field: both kept as written, so validation names the stray one.
  assert.deepEqual(canonicalFields(RouterSchema, { entrypoints: ['a'], entryPoints: ['b'] }), { entrypoints: ['a'], entryPoints: ['b'] });
  const same = { rule: 'Path(`/`)', service: 's' };
  assert.equal(canonicalFields(RouterSchema, same), same, 'nothing to change: the same object');
});

test('the file provider reads lower-case keys (TOML and YAML) and points issues at the line as written', () => {
  const toml = `[http.routers.r]
  entrypoints = ["web"]
  rule = "Path(\`/\`)"
  service = "s"
  priorty = 3

[http.services.s.loadbalancer.healthcheck]
  path = "/health"
`;
  const f = fromTraefikFileDocuments(parseConfigText('dyn.toml', toml).documents);
  assert.equal(f.fieldCase, 'insensitive');
  assert.deepEqual(f.services.s?.value, { loadBalancer: { healthCheck: { path: '/health' }, servers: [] } });
  assert.equal(f.routers.r, undefined);
  const issue = f.issues.find((i) => i.field === 'http.routers.r.priorty');
  assert.equal(issue?.line, 5);
  assert.match(issue?.message ?? '', /unknown field \(did you mean "priority"\?\)/);

  const yaml = `HTTP:
  Routers:
    r:
      EntryPoints: [web]
      Rule: Path(\`/\`)
      Service: s
      Middlewares: [m]
`;
  const g = fromTraefikFileDocuments(parseConfigText('dyn.yaml', yaml).documents);
  assert.deepEqual(g.issues, []);
  assert.deepEqual(g.routers.r?.value, { entryPoints: ['web'], rule: 'Path(`/`)', service: 's', middlewares: ['m'] });
  assert.equal(g.routers.r?.source.line, 3);
});
