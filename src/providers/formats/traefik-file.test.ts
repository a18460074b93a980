import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText } from '../../config/parse-documents.js';
import type { SourceDocument } from '../../config/model.js';
import { fromTraefikFileDocuments } from './traefik-file.js';

function docs(file: string, text: string): SourceDocument[] {
  const p = parseConfigText(file, text);
  assert.equal(p.error, undefined, p.error?.message);
  return p.documents;
}

const SEED_FILE = `# dynamic configuration
http:
  routers:
    calc:
      rule: Host(\`calc.127.0.0.1.nip.io\`) && PathPrefix(\`/add\`)
      entryPoints: [web]
      middlewares:
        - l5d-header
      service: add-svc
  middlewares:
    l5d-header:
      headers:
        customRequestHeaders:
          l5d-dst-override: add-svc.add.svc.cluster.local:80
  services:
    add-svc:
      loadBalancer:
        servers:
          - url: http://127.0.0.1:8081
---
apiVersion: traefik.io/v1alpha1
kind: IngressRoute
metadata: { name: ignored }
spec: {}
---
tls:
  options:
    modern:
      minVersion: VersionTLS13
`;

test('routers, middlewares, services and tls options with file, line, object and field', () => {
  const f = fromTraefikFileDocuments(docs('/cfg/dynamic.yaml', SEED_FILE));
  assert.equal(f.provider, 'file');
  assert.deepEqual(f.issues, []);
  assert.deepEqual(f.routers.calc?.source, { file: '/cfg/dynamic.yaml', line: 4, object: 'router "calc"', field: 'http.routers.calc' });
  assert.equal(f.routers.calc?.value.service, 'add-svc');
  assert.deepEqual(f.middlewares['l5d-header']?.source.line, 11);
  assert.deepEqual(f.middlewares['l5d-header']?.value, {
    headers: { customRequestHeaders: { 'l5d-dst-override': 'add-svc.add.svc.cluster.local:80' } },
  });
  assert.equal(f.services['add-svc']?.source.line, 16);
  assert.equal(f.services['add-svc']?.value.loadBalancer?.servers[0]?.url, 'http://127.0.0.1:8081');
  assert.deepEqual(f.tlsOptions.modern?.source, {
    file: '/cfg/dynamic.yaml',
    line: 28,
    object: 'tls option "modern"',
    field: 'tls.options.modern',
  });
  assert.equal(Object.getPrototypeOf(f.routers), null);
});

test('structural errors point at the offending field; the broken item is left out', () => {
  const text = [
    'http:', //                       1
    '  routers:', //                  2
    '    r1:', //                     3
    '      rule: Path(`/`)', //       4
    '      priority: high', //        5
    '      service: s', //            6
    '    r2:', //                     7
    '      rule: Path(`/x`)', //      8
    '  services:', //                 9
    '    s:', //                      10
    '      loadBalancer:', //         11
    '        servers: []', //         12
    '      weighted:', //             13
    '        services: []', //        14
    '    ok:', //                     15
    '      loadBalancer:', //         16
    '        servers:', //            17
    '          - url: http://a', //   18
    '            wieght: 2', //       19
    '  middlewares:', //              20
    '    two:', //                    21
    '      stripPrefix: {}', //       22
    '      addPrefix: {}', //         23
    '',
  ].join('\n');
  const f = fromTraefikFileDocuments(docs('/c/d.yml', text));
  assert.deepEqual(Object.keys(f.routers), []);
  assert.deepEqual(Object.keys(f.services), []);
  assert.deepEqual(Object.keys(f.middlewares), []);
  const by = (field: string) => f.issues.find((i) => i.field === field);
  assert.equal(by('http.routers.r1.priority')?.line, 5);
  assert.match(by('http.routers.r1.priority')?.message ?? '', /expected integer/);
  assert.equal(by('http.routers.r2.service')?.line, 7, 'a missing field points at its object');
  assert.match(by('http.routers.r2.service')?.message ?? '', /required/);
  assert.equal(by('http.services.s')?.line, 10);
  assert.match(
    by('http.services.s')?.message ?? '',
    /exactly one of loadBalancer, weighted, highestRandomWeight, mirroring, failover, got loadBalancer and weighted/,
  );
  assert.equal(by('http.services.ok.loadBalancer.servers.0.wieght')?.line, 19);
  assert.equal(by('http.services.ok.loadBalancer.servers.0.wieght')?.object, 'service "ok"');
  assert.equal(by('http.middlewares.two')?.line, 21);
  assert.match(by('http.middlewares.two')?.message ?? '', /exactly one middleware type, got stripPrefix, addPrefix/);
});

test('the same name in two files with different definitions: both dropped, an issue on each', () => {
  const a = docs(
    '/c/a.yaml',
    'http:\n  services:\n    s:\n      loadBalancer:\n        servers: [{ url: "http://a" }]\n    same:\n      loadBalancer: { servers: [] }\n',
  );
  const b = docs(
    '/c/b.yaml',
    '\nhttp:\n  services:\n    s:\n      loadBalancer:\n        servers: [{ url: "http://b" }]\n    same:\n      loadBalancer: { servers: [] }\n',
  );
  const f = fromTraefikFileDocuments([...a, ...b]);
  assert.equal(f.services.s, undefined);
  assert.ok(f.services.same !== undefined, 'identical definitions are not a conflict');
  const conflicts = f.issues.filter((i) => i.object === 'service "s"');
  assert.equal(conflicts.length, 2);
  assert.deepEqual(
    conflicts.map((c) => `${c.file}:${c.line}`),
    ['/c/a.yaml:3', '/c/b.yaml:4'],
  );
  assert.match(conflicts[0]?.message ?? '', /also at \/c\/b\.yaml:4/);
});

test('unknown keys name the closest known one; udp gives one warning; Kubernetes objects are skipped', () => {
  const text =
    'htpp:\n  routers: {}\nhttp:\n  router: {}\ntcp:\n  routers: {}\nudp:\n  services: {}\n---\napiVersion: v1\nkind: Service\nmetadata: { name: x }\n';
  const f = fromTraefikFileDocuments(docs('/c/x.yaml', text));
  assert.deepEqual(
    f.issues.map((i) => [i.line, i.severity ?? 'error', i.message]),
    [
      [1, 'error', 'unknown top-level key "htpp": did you mean "http"?'],
      [4, 'error', 'unknown key "http.router": did you mean "routers"?'],
      [7, 'warning', 'UDP routing is not supported yet: section ignored'],
    ],
  );
});

test('names containing @ are refused; TOML documents convert too', () => {
  const f = fromTraefikFileDocuments(docs('/c/a.yaml', 'http:\n  routers:\n    bad@file:\n      rule: Path(`/`)\n      service: s\n'));
  assert.equal(Object.keys(f.routers).length, 0);
  assert.match(f.issues[0]?.message ?? '', /"@" is reserved/);
  const t = fromTraefikFileDocuments(
    docs(
      '/c/a.toml',
      '[http.routers.r]\nrule = "Path(`/`)"\nservice = "s"\n\n[http.services.s.loadBalancer]\n[[http.services.s.loadBalancer.servers]]\nurl = "http://127.0.0.1:1"\n',
    ),
  );
  assert.deepEqual(t.issues, []);
  assert.equal(t.routers.r?.source.line, 1);
  assert.equal(t.services.s?.source.line, 5);
  assert.equal(t.services.s?.value.loadBalancer?.servers[0]?.url, 'http://127.0.0.1:1');
});
