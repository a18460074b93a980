import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, convert, errorsOf } from '../../../../test/support/kubernetes-yaml.js';

// Not real keys: the converter passes the PEM through; the TLS compile step checks it.
const CRT = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n';
const b64 = (s: string): string => Buffer.from(s).toString('base64');

function tlsSecret(name: string, ns = 'ns', data: Record<string, string> = { 'tls.crt': CRT, 'tls.key': KEY }): string {
  const lines = Object.entries(data)
    .map(([k, v]) => `  ${k}: ${b64(v)}`)
    .join('\n');
  return `---
apiVersion: v1
kind: Secret
metadata: { name: ${name}, namespace: ${ns} }
type: kubernetes.io/tls
data:
${lines}
`;
}

function ingressRoute(tls: string, ns = 'ns'): string {
  return `---
apiVersion: traefik.io/v1alpha1
kind: IngressRoute
metadata: { name: r, namespace: ${ns} }
spec:
  entryPoints: [websecure]
  routes:
    - match: Host(\`a.example.com\`)
      kind: Rule
      services: [{ name: a, port: 80 }]
  tls:
${tls}
`;
}

test('IngressRoute tls.secretName (the seed cert-manager form) → an inline certificate in the default store; the router requires TLS', () => {
  const f = convert(
    BASE + tlsSecret('a-tls') + ingressRoute('    secretName: a-tls\n    certResolver: le\n    domains: [{ main: a.example.com }]'),
  );
  assert.deepEqual(errorsOf(f), []);
  assert.equal(f.tlsCertificates?.length, 1);
  const c = f.tlsCertificates?.[0];
  assert.deepEqual(c?.value, { certFile: CRT, keyFile: KEY });
  assert.equal(c?.source.object, 'IngressRoute ns/r');
  assert.equal(c?.source.field, 'spec.tls.secretName');
  const router = Object.values(f.routers)[0]?.value;
  assert.deepEqual(router?.tls, { certResolver: 'le', domains: [{ main: 'a.example.com' }] });
});

test('stringData Secrets work too; one Secret used by two IngressRoutes is added once', () => {
  const secret = `---
apiVersion: v1
kind: Secret
metadata: { name: a-tls, namespace: ns }
type: kubernetes.io/tls
stringData: { tls.crt: "${CRT.replaceAll('\n', '\\n')}", tls.key: "${KEY.replaceAll('\n', '\\n')}" }
`;
  const second = ingressRoute('    secretName: a-tls').replace('name: r,', 'name: r2,');
  const f = convert(BASE + secret + ingressRoute('    secretName: a-tls') + second);
  assert.deepEqual(errorsOf(f), []);
  assert.equal(f.tlsCertificates?.length, 1);
  assert.deepEqual(f.tlsCertificates?.[0]?.value, { certFile: CRT, keyFile: KEY });
});

test('a missing Secret or missing keys: an error naming the Secret; the routes are kept and still require TLS', () => {
  const missing = convert(BASE + ingressRoute('    secretName: nope'));
  const errs = errorsOf(missing);
  assert.equal(errs.length, 1);
  assert.match(errs[0]?.message ?? '', /Secret ns\/nope not found/);
  assert.equal(errs[0]?.field, 'spec.tls.secretName');
  assert.equal(missing.tlsCertificates?.length, 0);
  const router = Object.values(missing.routers)[0]?.value;
  assert.deepEqual(router?.tls, {});

  const noKey = convert(BASE + tlsSecret('half', 'ns', { 'tls.crt': CRT }) + ingressRoute('    secretName: half'));
  assert.match(errorsOf(noKey)[0]?.message ?? '', /Secret ns\/half is missing \(or has empty\) TLS entries: tls\.key/);
  assert.equal(Object.keys(noKey.routers).length, 1);
  // No secret value in any message.
  for (const i of noKey.issues) assert.ok(!i.message.includes('MIIB'));
});

test('tls.store: default is accepted; another store is a warning (only default is served); tls.options → <ns>-<name>', () => {
  const f = convert(
    BASE +
      ingressRoute('    store: { name: default }\n    options: { name: strict }') +
      ingressRoute('    store: { name: other }').replace('name: r,', 'name: r2,'),
  );
  assert.deepEqual(errorsOf(f), []);
  const warnings = f.issues.filter((i) => i.severity === 'warning');
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]?.message ?? '', /TLS store "other" is ignored/);
  const tlsOf = Object.values(f.routers).map((r) => r.value.tls);
  assert.deepEqual(tlsOf, [{ options: 'ns-strict' }, {}]);
});

test('TLSStore default: defaultCertificate and certificates from Secrets, defaultGeneratedCert as is', () => {
  const store = `---
apiVersion: traefik.io/v1alpha1
kind: TLSStore
metadata: { name: default, namespace: ns }
spec:
  defaultCertificate: { secretName: def }
  certificates: [{ secretName: one }, { secretName: two }]
  defaultGeneratedCert: { resolver: le, domain: { main: example.com } }
`;
  const f = convert(BASE + tlsSecret('def') + tlsSecret('one') + tlsSecret('two') + store + ingressRoute('    secretName: one'));
  assert.deepEqual(errorsOf(f), []);
  assert.deepEqual(Object.keys(f.tlsStores ?? {}), ['default']);
  assert.deepEqual(f.tlsStores?.default?.value, {
    defaultCertificate: { certFile: CRT, keyFile: KEY },
    defaultGeneratedCert: { resolver: 'le', domain: { main: 'example.com' } },
  });
  // one and two in the store; the IngressRoute's use of one does not add it again.
  assert.deepEqual(
    f.tlsCertificates?.map((c) => [c.value.stores, c.source.field]),
    [
      [['default'], 'spec.certificates[0].secretName'],
      [['default'], 'spec.certificates[1].secretName'],
    ],
  );
  assert.ok(!f.issues.some((i) => /TLSStore is not supported/.test(i.message)));
});

test('TLSStore with another name → store <ns>-<name>; a missing Secret → the store is not created, naming the Secret', () => {
  const f = convert(
    tlsSecret('one') +
      `---
apiVersion: traefik.io/v1alpha1
kind: TLSStore
metadata: { name: mine, namespace: ns }
spec: { certificates: [{ secretName: one }] }
---
apiVersion: traefik.io/v1alpha1
kind: TLSStore
metadata: { name: broken, namespace: ns }
spec: { defaultCertificate: { secretName: gone } }
`,
  );
  assert.deepEqual(Object.keys(f.tlsStores ?? {}), ['ns-mine']);
  assert.deepEqual(f.tlsCertificates?.[0]?.value.stores, ['ns-mine']);
  const errs = errorsOf(f);
  assert.equal(errs.length, 1);
  assert.match(errs[0]?.message ?? '', /TLSStore not created \("ns-broken"\): Secret ns\/gone not found/);
  assert.equal(errs[0]?.field, 'spec.defaultCertificate.secretName');
});

test('the default TLSStore in two namespaces: none is used (as Traefik)', () => {
  const store = (ns: string): string => `---
apiVersion: traefik.io/v1alpha1
kind: TLSStore
metadata: { name: default, namespace: ${ns} }
spec: { defaultGeneratedCert: { resolver: le } }
`;
  const f = convert(store('a') + store('b'));
  assert.deepEqual(Object.keys(f.tlsStores ?? {}), []);
  assert.match(errorsOf(f)[0]?.message ?? '', /default TLSStore is defined in several namespaces \(a, b\)/);
});

test('TLSOption → options whose fields are those of TlsOptionsSchema; clientAuth.secretNames → caFiles (PEM)', async () => {
  const { Value } = await import('@sinclair/typebox/value');
  const { TlsOptionsSchema } = await import('../../../config/tls-schema.js');
  const ca = `---
apiVersion: v1
kind: Secret
metadata: { name: clients-ca, namespace: ns }
data: { ca.crt: ${b64(CRT)} }
`;
  const f = convert(
    ca +
      `---
apiVersion: traefik.io/v1alpha1
kind: TLSOption
metadata: { name: mtls, namespace: ns }
spec:
  minVersion: VersionTLS12
  maxVersion: VersionTLS13
  cipherSuites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]
  curvePreferences: [CurveP256]
  clientAuth: { secretNames: [clients-ca], clientAuthType: RequireAndVerifyClientCert }
  sniStrict: true
  alpnProtocols: [h2, http/1.1]
  disableSessionTickets: true
  preferServerCipherSuites: true
`,
  );
  assert.deepEqual(errorsOf(f), []);
  const o = f.tlsOptions['ns-mtls']?.value;
  assert.deepEqual((o as { clientAuth: unknown }).clientAuth, { caFiles: [CRT], clientAuthType: 'RequireAndVerifyClientCert' });
  assert.ok(Value.Check(TlsOptionsSchema, o), JSON.stringify([...Value.Errors(TlsOptionsSchema, o)].map((e) => e.path)));
});
