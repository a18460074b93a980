import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText } from '../config/parse-documents.js';
import { fromTraefikFileDocuments } from '../providers/formats/traefik-file.js';
import { compileTcp, TCP_SECTION } from '../tcp/compile.js';
import type { Snapshot } from '../config/runtime.js';
import { tcpMiddlewareJson, tcpOverview, tcpRouterJson, tcpServiceJson } from './tcp-api.js';

test('TCP API shapes (Traefik) and overview counts', () => {
  const p = parseConfigText(
    'dyn.yml',
    `tcp:
  routers:
    db:
      entryPoints: [web]
      rule: HostSNI(\`db.test\`)
      service: svc
      middlewares: [office]
      tls: { passthrough: true }
    bad:
      rule: HostSNI(\`*\`)
      service: nope
  services:
    svc:
      loadBalancer: { servers: [{ address: "10.0.0.1:5432" }] }
  middlewares:
    office:
      ipAllowList: { sourceRange: [10.0.0.0/8] }
`,
  );
  const frag = fromTraefikFileDocuments(p.documents);
  const snap = {
    revision: 1,
    createdAt: '',
    routers: {},
    middlewares: {},
    services: {},
    serversTransports: {},
    resources: [],
    issues: [],
  } as Snapshot;
  const out = compileTcp({ fragments: [frag], snapshot: snap, entryPoints: ['web'], defaultEntryPoints: ['web'] });
  snap.sections = { [TCP_SECTION]: out.section };
  assert.deepEqual(tcpRouterJson(out.section.routers['db@file']!), {
    entryPoints: ['web'],
    middlewares: ['office@file'],
    service: 'svc',
    rule: 'HostSNI(`db.test`)',
    ruleSyntax: 'v3',
    priority: 18,
    tls: { passthrough: true },
    status: 'enabled',
    using: ['web'],
    name: 'db@file',
    provider: 'file',
  });
  assert.deepEqual(tcpServiceJson(out.section.services['svc@file']!), {
    loadBalancer: { servers: [{ address: '10.0.0.1:5432' }] },
    status: 'enabled',
    usedBy: ['db@file'],
    name: 'svc@file',
    provider: 'file',
    type: 'loadbalancer',
  });
  assert.equal(tcpMiddlewareJson(out.section.middlewares['office@file']!).type, 'ipallowlist');
  assert.deepEqual(tcpOverview(snap), {
    routers: { total: 2, warnings: 0, errors: 1 },
    services: { total: 1, warnings: 0, errors: 0 },
    middlewares: { total: 1, warnings: 0, errors: 0 },
  });
});
