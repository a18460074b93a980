import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { serveUpstream } from '../../../../test/support/handler-server.js';
import { fromKubernetesObjects, isKubernetesObject } from './convert.js';
import { parseYamlDocuments } from './documents.js';
import { convert, errorsOf, route, yamlDocs } from '../../../../test/support/kubernetes-yaml.js';
import type { SourceDocument } from '../../../config/model.js';

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

function fileDocs(name: string): SourceDocument[] {
  return yamlDocs(readFileSync(fixture(name), 'utf8'), name);
}

const CALC_ROUTER = 'add-calc-svc-9805da42bd3521ce200e'; // sha256 of the match, first 10 bytes (computed with sha256sum)
const ADMIN_ROUTER = 'default-traefik-admin-c2029380335d4338ab3f';

function endpointsYaml(port: number): string {
  return `apiVersion: v1
kind: Endpoints
metadata:
  name: add-svc
subsets:
  - addresses:
      - ip: 127.0.0.1
    ports:
      - name: http
        port: ${port}
      - name: grpc
        port: 1
`;
}

test('seed: calc-svc IngressRoute + calcheader Middleware + add-svc Service/Endpoints (kubectl -n add) → routers, middlewares, services', async () => {
  const upstream = await serveUpstream((req, res) => {
    const m = /^\/add\/(\d+)\/(\d+)$/.exec(req.url ?? '');
    res.end(m === null ? 'no' : String(Number(m[1]) + Number(m[2])));
  });
  try {
    const docs = [...fileDocs('seed-calc.yaml'), ...yamlDocs(endpointsYaml(upstream.port), 'endpoints.yaml')];
    const f = fromKubernetesObjects(docs, { defaultNamespace: 'add' });
    assert.equal(f.provider, 'kubernetescrd');
    assert.deepEqual(f.issues, []);
    assert.deepEqual(Object.keys(f.routers), [CALC_ROUTER]);
    const router = f.routers[CALC_ROUTER];
    assert.deepEqual(router?.value, {
      rule: 'Host(`calc.1.1.1.1.xip.io`) && PathPrefix(`/`)',
      service: CALC_ROUTER,
      entryPoints: ['web'],
      middlewares: ['add-calcheader'],
      priority: 1,
    });
    assert.deepEqual(router?.source, {
      file: 'seed-calc.yaml',
      line: 13,
      object: 'IngressRoute add/calc-svc',
      field: 'spec.routes[0].match',
    });
    assert.deepEqual(f.middlewares['add-calcheader']?.value, {
      headers: { customRequestHeaders: { 'l5d-dst-override': 'add-svc.add.svc.cluster.local:80' } },
    });
    assert.equal(f.middlewares['add-calcheader']?.source.line, 27);
    assert.deepEqual(Object.keys(f.services), [CALC_ROUTER]);
    const lb = f.services[CALC_ROUTER]?.value.loadBalancer;
    assert.deepEqual(lb, { servers: [{ url: `http://127.0.0.1:${upstream.port}` }], passHostHeader: true });
    // The server URL reaches the live backend.
    const res = await request(`${lb?.servers[0]?.url}/add/10/10`);
    assert.equal(await res.body.text(), '20');
  } finally {
    await upstream.close();
  }
});

test('seed: traefik-admin IngressRoute in the default namespace; a Service without endpoints → zero servers + warning; plumbing ignored', () => {
  const f = fromKubernetesObjects(fileDocs('seed-traefik.yaml'));
  assert.deepEqual(Object.keys(f.routers), [ADMIN_ROUTER]);
  assert.deepEqual(f.routers[ADMIN_ROUTER]?.value, {
    rule: 'Host(`somehost.somedomain.com`) && PathPrefix(`/`)',
    service: ADMIN_ROUTER,
    entryPoints: ['web'],
    priority: 1,
  });
  assert.deepEqual(f.services[ADMIN_ROUTER]?.value, { loadBalancer: { servers: [], passHostHeader: true } });
  assert.equal(f.issues.length, 1);
  const w = f.issues[0];
  assert.equal(w?.severity, 'warning');
  assert.match(w?.message ?? '', /default\/traefik-admin has no Endpoints or EndpointSlice.*503/);
  assert.equal(w?.object, 'IngressRoute default/traefik-admin');
  assert.equal(w?.field, 'spec.routes[0].services[0]');
  assert.equal(w?.line, 226);
});

const V3 = `apiVersion: traefik.io/v1alpha1
kind: IngressRoute
metadata: { name: api, namespace: shop }
spec:
  entryPoints: [websecure]
  tls: { certResolver: le, options: { name: modern } }
  routes:
    - match: Host(\`shop.example\`)
      syntax: v3
      middlewares: [{ name: strip }]
      services:
        - name: web
          port: http
---
apiVersion: traefik.io/v1alpha1
kind: Middleware
metadata: { name: strip, namespace: shop }
spec:
  stripPrefix: { prefixes: [/api] }
---
apiVersion: v1
kind: Service
metadata: { name: web, namespace: shop }
spec:
  ports:
    - { name: http, port: 80, targetPort: web-port }
    - { name: https, port: 8443, targetPort: 9443 }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-abc
  namespace: shop
  labels: { kubernetes.io/service-name: web }
addressType: IPv4
ports:
  - { name: http, port: 8080 }
  - { name: https, port: 9443 }
endpoints:
  - addresses: [10.0.0.1]
    conditions: { ready: true }
  - addresses: [10.0.0.2]
    conditions: { ready: false }
  - addresses: [10.0.0.3]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-def
  namespace: shop
  labels: { kubernetes.io/service-name: web }
ports:
  - { name: http, port: 8080 }
endpoints:
  - addresses: [10.0.0.1, "fd00::4"]
`;

test('traefik.io group, EndpointSlices (ready conditions, port names, dedup, IPv6), syntax and tls', () => {
  const f = convert(V3);
  assert.deepEqual(errorsOf(f), []);
  const [name] = Object.keys(f.routers);
  assert.match(name ?? '', /^shop-api-[0-9a-f]{20}$/);
  assert.deepEqual(f.routers[name as string]?.value, {
    rule: 'Host(`shop.example`)',
    service: name,
    entryPoints: ['websecure'],
    middlewares: ['shop-strip'],
    ruleSyntax: 'v3',
    tls: { certResolver: 'le', options: 'shop-modern' },
  });
  assert.deepEqual(
    f.services[name as string]?.value.loadBalancer?.servers.map((s) => s.url),
    ['http://10.0.0.1:8080', 'http://10.0.0.3:8080', 'http://[fd00::4]:8080'],
  );
  assert.deepEqual(f.middlewares['shop-strip']?.value, { stripPrefix: { prefixes: ['/api'] } });
  // Port by number, named https → scheme https.
  const g = convert(V3.replace('port: http', 'port: 8443'));
  const [n2] = Object.keys(g.routers);
  assert.deepEqual(
    g.services[n2 as string]?.value.loadBalancer?.servers.map((s) => s.url),
    ['https://10.0.0.1:9443', 'https://10.0.0.3:9443'],
  );
});

test('weighted services: several route services → weighted over <ns>-<svc>-<port> loadBalancers (weight default 1)', () => {
  const f = convert(
    route(`      services:
        - { name: a, port: 80, weight: 3 }
        - { name: b, namespace: other, port: 443, passHostHeader: false }
`),
    { allowCrossNamespace: true },
  );
  assert.deepEqual(errorsOf(f), []);
  const [name] = Object.keys(f.routers);
  assert.deepEqual(f.services[name as string]?.value, {
    weighted: {
      services: [
        { name: 'ns-a-80', weight: 3 },
        { name: 'other-b-443', weight: 1 },
      ],
    },
  });
  assert.deepEqual(f.services['ns-a-80']?.value, { loadBalancer: { servers: [{ url: 'http://10.1.0.1:8080' }], passHostHeader: true } });
  assert.deepEqual(f.services['other-b-443']?.value, {
    loadBalancer: { servers: [{ url: 'https://10.2.0.1:8443' }, { url: 'https://10.2.0.2:8443' }], passHostHeader: false },
  });
});

test('TraefikService references: api@internal kept, a local TraefikService → <ns>-<name>; nativeLB uses the ClusterIP', () => {
  const f = convert(
    `${route(`      services: [{ name: api@internal, kind: TraefikService }]
    - match: Path(\`/w\`)
      services: [{ name: split, kind: TraefikService }]
    - match: Path(\`/n\`)
      services: [{ name: b, namespace: other, port: 443, nativeLB: true }]
`)}---
apiVersion: traefik.io/v1alpha1
kind: TraefikService
metadata: { name: split, namespace: ns }
spec:
  weighted:
    services: [{ name: a, port: 80, weight: 2 }, { name: api@internal, kind: TraefikService }]
`,
    { allowCrossNamespace: true },
  );
  assert.deepEqual(errorsOf(f), []);
  const services = Object.values(f.routers).map((r) => r.value.service);
  assert.equal(services[0], 'api@internal');
  assert.equal(services[1], 'ns-split');
  assert.deepEqual(f.services['ns-split']?.value, {
    weighted: {
      services: [
        { name: 'ns-a-80', weight: 2 },
        { name: 'api@internal', weight: 1 },
      ],
    },
  });
  assert.deepEqual(f.services[services[2] as string]?.value.loadBalancer?.servers, [{ url: 'https://10.96.0.7:443' }]);
});

test('cross-namespace references are refused unless allowCrossNamespace; issues carry file, line, object, field', () => {
  const text = route(`      middlewares: [{ name: mw, namespace: other }]
      services: [{ name: a, port: 80 }]
    - match: Path(\`/x\`)
      services: [{ name: b, namespace: other, port: 443 }]
`);
  const f = convert(text);
  assert.deepEqual(Object.keys(f.routers), []);
  const errs = errorsOf(f);
  assert.equal(errs.length, 2);
  assert.match(
    errs[0]?.message ?? '',
    /route 0 not created: middleware other\/mw is in namespace other, not in ns: cross-namespace references are refused unless allowCrossNamespace/,
  );
  assert.deepEqual(
    { file: errs[0]?.file, line: errs[0]?.line, object: errs[0]?.object, field: errs[0]?.field },
    {
      file: 'test.yaml',
      line: 33,
      object: 'IngressRoute ns/r',
      field: 'spec.routes[0].middlewares[0].namespace',
    },
  );
  assert.match(errs[1]?.message ?? '', /route 1 not created: service other\/b is in namespace other/);
  assert.equal(errs[1]?.line, 36);

  const g = convert(text, { allowCrossNamespace: true });
  assert.deepEqual(errorsOf(g), []);
  const routers = Object.values(g.routers);
  assert.equal(routers.length, 2);
  assert.deepEqual(routers[0]?.value.middlewares, ['other-mw']);
});

test('middleware references: name@provider kept, @kubernetescrd refused without allowCrossNamespace', () => {
  const f = convert(
    route(`      middlewares: [{ name: auth@file }, { name: other-mw@kubernetescrd }]
      services: [{ name: a, port: 80 }]
`),
  );
  assert.equal(Object.keys(f.routers).length, 0);
  assert.match(errorsOf(f)[0]?.message ?? '', /invalid reference to middleware other-mw@kubernetescrd/);
  const g = convert(
    route(`      middlewares: [{ name: auth@file }]
      services: [{ name: a, port: 80 }]
`),
  );
  assert.deepEqual(Object.values(g.routers)[0]?.value.middlewares, ['auth@file']);
});

test('missing Service, missing port, unknown port: route not created, error at the reference', () => {
  const f = convert(
    route(`      services: [{ name: nope, port: 80 }]
    - match: Path(\`/p\`)
      services: [{ name: a }]
    - match: Path(\`/q\`)
      services: [{ name: a, port: web }]
`),
  );
  assert.deepEqual(Object.keys(f.routers), []);
  assert.deepEqual(Object.keys(f.services), []);
  const errs = errorsOf(f);
  assert.equal(errs.length, 3);
  assert.match(errs[0]?.message ?? '', /Kubernetes Service ns\/nope not found/);
  assert.equal(errs[0]?.field, 'spec.routes[0].services[0].name');
  assert.equal(errs[0]?.line, 33);
  assert.match(errs[1]?.message ?? '', /port is required/);
  assert.match(errs[2]?.message ?? '', /Service ns\/a has no port web: expected one of 80/);
});

const EXTERNAL =
  route(`      services: [{ name: ext, port: 443 }]
`) +
  `---
apiVersion: v1
kind: Service
metadata: { name: ext, namespace: ns }
spec: { type: ExternalName, externalName: api.example.com }
`;

test('ExternalName services: refused by default, <scheme>://<externalName>:<port> when allowed', () => {
  const f = convert(EXTERNAL);
  assert.deepEqual(Object.keys(f.routers), []);
  assert.match(errorsOf(f)[0]?.message ?? '', /ExternalName services are refused unless allowExternalNameServices/);
  const g = convert(EXTERNAL, { allowExternalNameServices: true });
  assert.deepEqual(errorsOf(g), []);
  const [name] = Object.keys(g.routers);
  assert.deepEqual(g.services[name as string]?.value.loadBalancer?.servers, [{ url: 'https://api.example.com:443' }]);
});

const EMPTY =
  route(`      services: [{ name: empty, port: 80 }]
    - match: Path(\`/gone\`)
      services: [{ name: gone, port: 80 }]
    - match: Path(\`/ok\`)
      services: [{ name: a, port: 80 }]
`) +
  `---
apiVersion: v1
kind: Service
metadata: { name: empty, namespace: ns }
spec: { ports: [{ name: http, port: 80 }] }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: empty-x1, namespace: ns, labels: { kubernetes.io/service-name: empty } }
ports: [{ name: http, port: 8080 }]
endpoints: [{ addresses: [10.3.0.1], conditions: { ready: false } }]
---
apiVersion: v1
kind: Service
metadata: { name: gone, namespace: ns }
spec: { ports: [{ port: 80 }] }
---
apiVersion: traefik.io/v1alpha1
kind: TraefikService
metadata: { name: split, namespace: ns }
spec:
  weighted:
    services: [{ name: a, port: 80 }, { name: empty, port: 80 }]
`;

test('allowEmptyServices (Traefik): false → a route or TraefikService using a Service without ready endpoints is left out with an error; true/absent → 503 service + warning', () => {
  const f = convert(EMPTY, { allowEmptyServices: false });
  assert.deepEqual(
    Object.values(f.routers).map((r) => r.value.rule),
    ['Path(`/ok`)'],
    'only the route whose Service has endpoints',
  );
  assert.ok(!Object.keys(f.services).some((n) => n.includes('split')), 'the TraefikService is not built (as Traefik)');
  const errs = errorsOf(f);
  assert.equal(errs.length, 3, JSON.stringify(errs));
  const [ts, r0, r1] = errs; // TraefikServices are converted before the IngressRoutes that may use them
  assert.match(
    r0?.message ?? '',
    /^route 0 not created: service ns\/empty has no endpoints; set --providers\.kubernetescrd\.allowemptyservices=true to serve 503 instead$/,
  );
  assert.equal(r0?.code, 'GH_CONFIG_REFERENCE');
  assert.equal(r0?.field, 'spec.routes[0].services[0].name');
  assert.match(r1?.message ?? '', /route 1 not created: service ns\/gone has no endpoints/, 'no Endpoints nor EndpointSlice at all');
  assert.match(ts?.message ?? '', /TraefikService not created .*service ns\/empty has no endpoints/);
  assert.equal(ts?.object, 'TraefikService ns/split');

  for (const g of [convert(EMPTY, { allowEmptyServices: true }), convert(EMPTY)]) {
    assert.deepEqual(errorsOf(g), []);
    assert.equal(Object.keys(g.routers).length, 3);
    const empty = Object.entries(g.services).find(([n]) => n.startsWith('ns-r-') && g.routers[n]?.value.rule === 'PathPrefix(`/`)');
    assert.deepEqual(empty?.[1].value.loadBalancer?.servers, [], 'no servers: answers 503');
    assert.equal(g.issues.filter((i) => i.severity === 'warning' && /answers 503/.test(i.message)).length, 3);
  }
});

test('kind List, gatehouse.dev resources, not-yet-supported kinds, namespaces filter, isKubernetesObject', () => {
  const text = `apiVersion: v1
kind: List
items:
  - apiVersion: gatehouse.dev/v1alpha1
    kind: Tenant
    metadata: { name: contoso, namespace: add }
    spec: { issuer: x }
  - apiVersion: traefik.io/v1alpha1
    kind: IngressRouteUDP
    metadata: { name: tcp, namespace: add }
    spec: {}
  - apiVersion: traefik.io/v1alpha1
    kind: Middleware
    metadata: { name: m, namespace: skipped }
    spec: { headers: {} }
`;
  const f = convert(text);
  assert.deepEqual(f.resources, [
    {
      kind: 'Tenant',
      name: 'contoso',
      namespace: 'add',
      spec: { issuer: 'x' },
      source: { file: 'test.yaml', line: 4, object: 'Tenant add/contoso' },
    },
  ]);
  assert.equal(f.issues.length, 1);
  assert.equal(f.issues[0]?.severity, 'warning');
  assert.match(f.issues[0]?.message ?? '', /IngressRouteUDP is not supported yet/);
  assert.equal(f.issues[0]?.line, 8);
  assert.ok(f.middlewares['skipped-m'] !== undefined);
  const g = convert(text, { namespaces: ['add'] });
  assert.equal(g.middlewares['skipped-m'], undefined);
  assert.equal(g.resources.length, 1);

  assert.equal(isKubernetesObject({ apiVersion: 'v1', kind: 'Service' }), true);
  assert.equal(isKubernetesObject({ http: { routers: {} } }), false);
  assert.equal(isKubernetesObject({ apiVersion: 1, kind: 'x' }), false);
  assert.equal(isKubernetesObject(null), false);
});

test('routes with the same match in one IngressRoute share a router name: warning, the later one wins', () => {
  const f = convert(
    route(`      priority: 1
      services: [{ name: a, port: 80 }]
    - match: PathPrefix(\`/\`)
      priority: 2
      services: [{ name: a, port: 80 }]
`),
  );
  const routers = Object.values(f.routers);
  assert.equal(routers.length, 1);
  assert.equal(routers[0]?.value.priority, 2);
  assert.match(f.issues[0]?.message ?? '', /routes 0 and 1 have the same match/);
});

test('parseYamlDocuments: YAML errors become issues with a line; good documents are kept', () => {
  const { documents, issues } = parseYamlDocuments('apiVersion: v1\nkind: Secret\n---\nkey: [unclosed\n', 'bad.yaml');
  assert.equal(documents.length, 1);
  assert.equal(issues.length > 0, true);
  assert.equal(issues[0]?.file, 'bad.yaml');
  assert.match(issues[0]?.message ?? '', /^YAML: /);
});

test('TraefikService highestRandomWeight and failover (Traefik v3) → the same services as the file format', () => {
  const f = convert(
    `${route(`      services: [{ name: hrw, kind: TraefikService }]
    - match: Path(\`/f\`)
      services: [{ name: fo, kind: TraefikService }]
`)}---
apiVersion: traefik.io/v1alpha1
kind: TraefikService
metadata: { name: hrw, namespace: ns }
spec:
  highestRandomWeight:
    services: [{ name: a, port: 80, weight: 2 }, { name: b, namespace: other, port: 443 }]
---
apiVersion: traefik.io/v1alpha1
kind: TraefikService
metadata: { name: fo, namespace: ns }
spec:
  failover:
    service: { name: a, port: 80 }
    fallback: { name: hrw, kind: TraefikService }
    errors: { status: ["500-504"], maxRequestBodyBytes: 1024 }
`,
    { allowCrossNamespace: true },
  );
  assert.deepEqual(errorsOf(f), []);
  assert.deepEqual(f.services['ns-hrw']?.value, {
    highestRandomWeight: {
      services: [
        { name: 'ns-a-80', weight: 2 },
        { name: 'other-b-443', weight: 1 },
      ],
    },
  });
  assert.deepEqual(f.services['ns-fo']?.value, {
    failover: { service: 'ns-a-80', fallback: 'ns-hrw', errors: { status: ['500-504'], maxRequestBodyBytes: 1024 } },
  });
});

test('unknown fields of an IngressRoute, a route or a service reference: a warning naming the closest field', () => {
  const f = convert(
    route(`      kindd: Rule
      services: [{ name: a, port: 80, weigth: 3 }]
`),
  );
  assert.deepEqual(errorsOf(f), []);
  const warnings = f.issues.filter((i) => i.severity === 'warning').map((i) => `${i.field}: ${i.message}`);
  assert.ok(
    warnings.includes('spec.routes[0].kindd: unknown field "kindd" (did you mean "kind"?): ignored (the Kubernetes API server drops it)'),
    warnings.join('\n'),
  );
  assert.ok(
    warnings.includes(
      'spec.routes[0].services[0].weigth: unknown field "weigth" (did you mean "weight"?): ignored (the Kubernetes API server drops it)',
    ),
    warnings.join('\n'),
  );
});
