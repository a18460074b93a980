import { test } from 'node:test';
import assert from 'node:assert/strict';
import { convert, errorsOf, route, BASE } from '../../../../test/support/kubernetes-yaml.js';

const AUTH = `apiVersion: traefik.io/v1alpha1
kind: Middleware
metadata: { name: users, namespace: ns }
spec: { basicAuth: { secret: htpasswd, realm: calc, removeHeader: true } }
---
apiVersion: traefik.io/v1alpha1
kind: Middleware
metadata: { name: typed, namespace: ns }
spec: { basicAuth: { secret: admin-cred } }
---
apiVersion: traefik.io/v1alpha1
kind: Middleware
metadata: { name: missing, namespace: ns }
spec: { basicAuth: { secret: nope } }
---
apiVersion: v1
kind: Secret
metadata: { name: htpasswd, namespace: ns }
data:
  users: ${Buffer.from('alice:$apr1$abc$xyz\n\nbob:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n').toString('base64')}
---
apiVersion: v1
kind: Secret
type: kubernetes.io/basic-auth
metadata: { name: admin-cred, namespace: ns }
stringData: { username: admin, password: password }
`;

test('basicAuth secret: users lines from data (base64), kubernetes.io/basic-auth → {SHA} line, missing secret → error', () => {
  const f = convert(AUTH);
  assert.deepEqual(f.middlewares['ns-users']?.value, {
    basicAuth: { realm: 'calc', removeHeader: true, users: ['alice:$apr1$abc$xyz', 'bob:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g='] },
  });
  // sha1("password") in base64, as Traefik hashes a basic-auth Secret's password.
  assert.deepEqual(f.middlewares['ns-typed']?.value, { basicAuth: { users: ['admin:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g='] } });
  assert.equal(f.middlewares['ns-missing'], undefined);
  const errs = errorsOf(f);
  assert.equal(errs.length, 1);
  assert.match(errs[0]?.message ?? '', /Middleware not created \("ns-missing"\): Secret ns\/nope not found/);
  assert.equal(errs[0]?.field, 'spec.basicAuth.secret');
  assert.equal(errs[0]?.line, 14);
  for (const i of f.issues) assert.doesNotMatch(i.message, /password|W6ph5/);
});

test('errors and chain middlewares: service reference → generated service, middleware refs → names; plugin → warning', () => {
  const f = convert(`${BASE}---
apiVersion: traefik.io/v1alpha1
kind: Middleware
metadata: { name: oops, namespace: ns }
spec: { errors: { status: ["500-599"], query: "/{status}.html", service: { name: a, port: 80 } } }
---
apiVersion: traefik.io/v1alpha1
kind: Middleware
metadata: { name: both, namespace: ns }
spec: { chain: { middlewares: [{ name: oops }, { name: auth@file }] } }
---
apiVersion: traefik.io/v1alpha1
kind: Middleware
metadata: { name: jwt, namespace: ns }
spec: { validateJwt: { audiences: [x] } }
---
apiVersion: traefik.io/v1alpha1
kind: Middleware
metadata: { name: plug, namespace: ns }
spec: { plugin: { demo: {} } }
`);
  assert.deepEqual(f.middlewares['ns-oops']?.value, {
    errors: { status: ['500-599'], query: '/{status}.html', service: 'ns-oops-errorpage-service' },
  });
  assert.deepEqual(f.services['ns-oops-errorpage-service']?.value.loadBalancer?.servers, [{ url: 'http://10.1.0.1:8080' }]);
  assert.deepEqual(f.middlewares['ns-both']?.value, { chain: { middlewares: ['ns-oops', 'auth@file'] } });
  assert.deepEqual(f.middlewares['ns-jwt']?.value, { validateJwt: { audiences: ['x'] } });
  assert.equal(f.middlewares['ns-plug'], undefined);
  assert.deepEqual(errorsOf(f), []);
  assert.match(f.issues[0]?.message ?? '', /plugins are not supported/);
});

test('ServersTransport, TLSOption and forwardAuth tls: Secrets become PEM content; serversTransport reference → <ns>-<name>', () => {
  const f =
    convert(`${route(`      services: [{ name: a, port: 80, serversTransport: mtls, sticky: { cookie: { name: s, httpOnly: true } }, strategy: RoundRobin }]
`)}---
apiVersion: traefik.io/v1alpha1
kind: ServersTransport
metadata: { name: mtls, namespace: ns }
spec: { serverName: backend.local, rootCAsSecrets: [ca], certificatesSecrets: [client] }
---
apiVersion: traefik.io/v1alpha1
kind: TLSOption
metadata: { name: modern, namespace: ns }
spec: { minVersion: VersionTLS13, clientAuth: { secretNames: [ca], clientAuthType: RequireAndVerifyClientCert } }
---
apiVersion: traefik.io/v1alpha1
kind: Middleware
metadata: { name: fwd, namespace: ns }
spec: { forwardAuth: { address: "https://auth.local/check", tls: { caSecret: ca, certSecret: client } } }
---
apiVersion: v1
kind: Secret
metadata: { name: ca, namespace: ns }
stringData: { ca.crt: CA-PEM }
---
apiVersion: v1
kind: Secret
metadata: { name: client, namespace: ns }
type: kubernetes.io/tls
stringData: { tls.crt: CERT-PEM, tls.key: KEY-PEM }
`);
  assert.deepEqual(errorsOf(f), []);
  const [name] = Object.keys(f.routers);
  assert.deepEqual(f.services[name as string]?.value.loadBalancer, {
    servers: [{ url: 'http://10.1.0.1:8080' }],
    passHostHeader: true,
    strategy: 'wrr',
    sticky: { cookie: { name: 's', httpOnly: true } },
    serversTransport: 'ns-mtls',
  });
  assert.deepEqual(f.serversTransports['ns-mtls']?.value, {
    serverName: 'backend.local',
    rootCAs: ['CA-PEM'],
    certificates: [{ certFile: 'CERT-PEM', keyFile: 'KEY-PEM' }],
  });
  assert.deepEqual(f.tlsOptions['ns-modern']?.value, {
    minVersion: 'VersionTLS13',
    clientAuth: { clientAuthType: 'RequireAndVerifyClientCert', caFiles: ['CA-PEM'] },
  });
  assert.deepEqual(f.middlewares['ns-fwd']?.value, {
    forwardAuth: { address: 'https://auth.local/check', tls: { ca: 'CA-PEM', cert: 'CERT-PEM', key: 'KEY-PEM' } },
  });
});
