import { test } from 'node:test';
import assert from 'node:assert/strict';
import { convert } from '../../../../test/support/kubernetes-yaml.js';
import { compileTcp } from '../../../tcp/compile.js';
import type { Snapshot } from '../../../config/runtime.js';

const OBJECTS = `apiVersion: traefik.io/v1alpha1
kind: IngressRouteTCP
metadata: { name: db, namespace: apps }
spec:
  entryPoints: [websecure]
  routes:
    - match: HostSNI(\`db.example.com\`)
      middlewares:
        - name: office
      services:
        - name: postgres
          port: 5432
          weight: 3
          proxyProtocol: { version: 2 }
  tls:
    passthrough: true
---
apiVersion: traefik.io/v1alpha1
kind: MiddlewareTCP
metadata: { name: office, namespace: apps }
spec:
  ipAllowList:
    sourceRange: [10.0.0.0/8]
---
apiVersion: v1
kind: Service
metadata: { name: postgres, namespace: apps }
spec:
  ports: [{ name: pg, port: 5432, targetPort: 5432 }]
---
apiVersion: v1
kind: Endpoints
metadata: { name: postgres, namespace: apps }
subsets:
  - addresses: [{ ip: 10.1.0.5 }, { ip: 10.1.0.6 }]
    ports: [{ name: pg, port: 5432 }]
`;

test('IngressRouteTCP and MiddlewareTCP: Traefik names, endpoints as addresses, weighted over services; compiled', () => {
  const f = convert(OBJECTS);
  assert.deepEqual(f.issues, []);
  const routers = Object.entries(f.tcpRouters ?? {});
  assert.equal(routers.length, 1);
  const [key, router] = routers[0]!;
  assert.match(key, /^apps-db-[0-9a-f]{20}$/);
  assert.deepEqual(router.value, {
    rule: 'HostSNI(`db.example.com`)',
    service: key,
    entryPoints: ['websecure'],
    middlewares: ['apps-office'],
    tls: { passthrough: true },
  });
  assert.deepEqual(f.tcpServices?.[key]?.value, { weighted: { services: [{ name: `${key}-postgres-5432`, weight: 3 }] } });
  assert.deepEqual(f.tcpServices?.[`${key}-postgres-5432`]?.value, {
    loadBalancer: { servers: [{ address: '10.1.0.5:5432' }, { address: '10.1.0.6:5432' }], proxyProtocol: { version: 2 } },
  });
  assert.deepEqual(f.tcpMiddlewares?.['apps-office']?.value, { ipAllowList: { sourceRange: ['10.0.0.0/8'] } });
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
  const out = compileTcp({ fragments: [f], snapshot: snap, entryPoints: ['websecure'], defaultEntryPoints: ['websecure'] });
  assert.deepEqual(out.issues, []);
  assert.equal(out.section.routers[`${key}@kubernetescrd`]?.status, 'enabled');
});

test('IngressRouteTCP: a missing Service is an error naming it', () => {
  const f = convert(OBJECTS.replace('name: postgres\n          port', 'name: nope\n          port'));
  assert.ok(
    f.issues.some((i) => /Service apps\/nope not found/.test(i.message)),
    JSON.stringify(f.issues),
  );
  assert.deepEqual(Object.keys(f.tcpRouters ?? {}), []);
});
