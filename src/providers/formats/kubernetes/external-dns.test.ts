import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, convert } from '../../../../test/support/kubernetes-yaml.js';
import { compileConfig } from '../../../config/compile.js';
import { compileTcp } from '../../../tcp/compile.js';
import { builtinRegistry } from '../../../middlewares/builtin.js';
import { builtinServices } from '../../../services/builtin.js';

const SECRET = 'hunter2-in-last-applied';

const OBJECTS = `${BASE}
---
apiVersion: traefik.io/v1alpha1
kind: IngressRoute
metadata:
  name: web
  namespace: ns
  annotations:
    external-dns.kubernetes.io/target: 198.51.100.7
    external-dns.alpha.kubernetes.io/ttl: "60"
    kubectl.kubernetes.io/last-applied-configuration: '{"password":"${SECRET}"}'
    other.example.com/note: not carried
  labels:
    external-dns.kubernetes.io/exclude: "false"
    app: web
spec:
  routes:
    - match: Host(\`web.example.com\`)
      services: [{ name: a, port: 80 }]
    - match: Host(\`www.example.com\`)
      services: [{ name: a, port: 80 }]
---
apiVersion: traefik.io/v1alpha1
kind: IngressRoute
metadata: { name: plain, namespace: ns, annotations: { team: a } }
spec:
  routes:
    - match: Host(\`plain.example.com\`)
      services: [{ name: a, port: 80 }]
---
apiVersion: traefik.io/v1alpha1
kind: IngressRouteTCP
metadata:
  name: db
  namespace: ns
  annotations:
    external-dns.kubernetes.io/exclude: "true"
    kubectl.kubernetes.io/last-applied-configuration: '{"password":"${SECRET}"}'
spec:
  routes:
    - match: HostSNI(\`db.example.com\`)
      services: [{ name: a, port: 80 }]
  tls: { passthrough: true }
`;

test('IngressRoute and IngressRouteTCP: only the ExternalDNS annotations and labels reach the runtime routers', () => {
  const f = convert(OBJECTS);
  assert.deepEqual(
    f.issues.filter((i) => i.severity !== 'warning'),
    [],
  );
  const http = f.externalDns?.routers ?? {};
  const tcp = f.externalDns?.tcpRouters ?? {};
  const webKeys = Object.keys(f.routers).filter((k) => k.startsWith('ns-web-'));
  assert.equal(webKeys.length, 2);
  for (const k of webKeys)
    assert.deepEqual(http[k], {
      annotations: { 'external-dns.kubernetes.io/target': '198.51.100.7', 'external-dns.alpha.kubernetes.io/ttl': '60' },
      labels: { 'external-dns.kubernetes.io/exclude': 'false' },
    });
  const plain = Object.keys(f.routers).find((k) => k.startsWith('ns-plain-'));
  assert.ok(plain !== undefined);
  assert.equal(http[plain], undefined, 'an object without ExternalDNS keys carries nothing');
  const db = Object.keys(f.tcpRouters ?? {})[0];
  assert.ok(db !== undefined);
  assert.deepEqual(tcp[db], { annotations: { 'external-dns.kubernetes.io/exclude': 'true' } });
  // The router configuration itself is as written (schema-checked, shown as the user's config).
  assert.equal(JSON.stringify(f.routers).includes('external-dns'), false);

  const snap = compileConfig({
    fragments: [f],
    entryPoints: ['web'],
    defaultEntryPoints: ['web'],
    defaultRuleSyntax: 'v3',
    registry: builtinRegistry(),
    services: builtinServices(),
    revision: 1,
  });
  const web = snap.routers[`${webKeys[0] ?? ''}@kubernetescrd`];
  assert.equal(web?.status, 'enabled');
  assert.equal(web?.externalDns?.annotations?.['external-dns.kubernetes.io/target'], '198.51.100.7');
  assert.equal(snap.routers[`${plain}@kubernetescrd`]?.externalDns, undefined);
  const tcpOut = compileTcp({ fragments: [f], snapshot: snap, entryPoints: ['web'], defaultEntryPoints: ['web'] });
  assert.deepEqual(tcpOut.section.routers[`${db}@kubernetescrd`]?.externalDns?.annotations, {
    'external-dns.kubernetes.io/exclude': 'true',
  });
  // Nothing else of the metadata travels in the snapshot (it is sent to workers and shown in the API).
  const text = JSON.stringify({ snap, tcp: tcpOut.section });
  assert.equal(text.includes(SECRET), false, 'last-applied-configuration must not reach the snapshot');
  assert.equal(text.includes('not carried'), false);
  assert.equal(text.includes('"app"'), false);
});
