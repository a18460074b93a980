/**
 * Where the DNS publisher's records come from (docs/dns.md, "Sources"), end to end
 * with the real gateway and a real PowerDNS (test/support/pdns.ts):
 *
 * - Kubernetes objects read from files: an IngressRoute's
 *   `external-dns.kubernetes.io/target` annotation, `exclude`, an IngressRouteTCP's
 *   `HostSNI` host; the other annotations (kubectl's last-applied-configuration)
 *   never reach the API;
 * - the live Kubernetes provider (the API server stand-in, driven by the real
 *   kubectl): a `DNSEndpoint` applied, then changed, is published; a cluster
 *   without ExternalDNS's CRD is said once in the log and the provider goes on.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { request } from 'undici';
import { startPdns, type TestPdns } from './support/pdns.js';
import { eventually, startGateway, type TestGateway } from './support/gateway.js';
import { KubeApiServer } from './support/kube-apiserver/index.js';
import { KubernetesProvider } from '../src/providers/kubernetes/index.js';
import type { ProviderMessage } from '../src/providers/types.js';
import { createLogger, silentLogger } from '../src/log.js';
import { Value } from '@sinclair/typebox/value';
import { parseConfigText } from '../src/config/parse-documents.js';
import { fromTraefikFileDocuments } from '../src/providers/formats/traefik-file.js';
import { compileConfig } from '../src/config/compile.js';
import { compileTcp, TCP_SECTION } from '../src/tcp/compile.js';
import { builtinRegistry } from '../src/middlewares/builtin.js';
import { builtinServices } from '../src/services/builtin.js';
import { dnsOptionsFromStatic, DnsStaticSchema, type DnsStaticSection } from '../src/dns/options.js';
import { DnsPublisher } from '../src/dns/publisher.js';

/** A value only kubectl's last-applied-configuration annotation holds: it must never be served. */
const MARKER = 'last-applied-marker-5f1c9e';

async function getText(url: string): Promise<{ status: number; body: string }> {
  const r = await request(url);
  return { status: r.statusCode, body: await r.body.text() };
}

async function getJson<T>(url: string): Promise<T> {
  const r = await getText(url);
  assert.equal(r.status, 200, `${url}: ${r.body}`);
  return JSON.parse(r.body) as T;
}

interface DnsView {
  records: Array<{ name: string; type: string; targets: string[]; resource: string; resources: string[]; state: string }>;
  skipped: Array<{ source: string; host?: string; reason: string }>;
  lastError: unknown;
}

const dnsFlags = (pdns: TestPdns, zone: string): string[] => [
  '--api.insecure',
  '--dns.provider=pdns',
  `--dns.pdns.server=${pdns.apiUrl}`,
  `--dns.pdns.apikeyfile=${pdns.apiKeyFile}`,
  `--dns.checkaddress=127.0.0.1:${pdns.dnsPort}`,
  '--dns.targets=203.0.113.10',
  '--dns.policy=sync',
  `--dns.domainfilters=${zone}`,
  '--dns.mineventsyncinterval=0s',
];

const BACKEND = `apiVersion: v1
kind: Service
metadata: { name: app, namespace: apps }
spec: { ports: [{ port: 80 }] }
---
apiVersion: v1
kind: Endpoints
metadata: { name: app, namespace: apps }
subsets: [{ addresses: [{ ip: 127.0.0.1 }], ports: [{ port: 9 }] }]
`;

const OBJECTS = `${BACKEND}---
apiVersion: traefik.io/v1alpha1
kind: IngressRoute
metadata:
  name: targeted
  namespace: apps
  annotations:
    external-dns.kubernetes.io/target: 198.51.100.7
    kubectl.kubernetes.io/last-applied-configuration: '{"metadata":{"annotations":{"note":"${MARKER}"}}}'
spec:
  routes:
    - match: Host(\`web.sources.test\`)
      services: [{ name: app, port: 80 }]
---
apiVersion: traefik.io/v1alpha1
kind: IngressRoute
metadata:
  name: excluded
  namespace: apps
  annotations:
    external-dns.kubernetes.io/exclude: "true"
spec:
  routes:
    - match: Host(\`hidden.sources.test\`)
      services: [{ name: app, port: 80 }]
---
apiVersion: traefik.io/v1alpha1
kind: IngressRoute
metadata: { name: plain, namespace: apps }
spec:
  routes:
    - match: Host(\`plain.sources.test\`)
      services: [{ name: app, port: 80 }]
---
apiVersion: traefik.io/v1alpha1
kind: IngressRouteTCP
metadata:
  name: db
  namespace: apps
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{"metadata":{"annotations":{"note":"${MARKER}"}}}'
spec:
  routes:
    - match: HostSNI(\`db.sources.test\`)
      services: [{ name: app, port: 80 }]
  tls: { passthrough: true }
`;

describe('Kubernetes objects from files: annotations and TCP routers reach the publisher', () => {
  let pdns: TestPdns;
  let gw: TestGateway;
  before(async () => {
    pdns = await startPdns();
    await pdns.createZone('sources.test');
    gw = await startGateway({ files: { 'apps.yaml': OBJECTS }, flags: dnsFlags(pdns, 'sources.test') });
  });
  after(async () => {
    await gw?.close();
    await pdns?.close();
  });

  test('target annotation → its address; exclude → nothing; HostSNI of an IngressRouteTCP → the default target', async () => {
    const published = await eventually(
      async () =>
        (await pdns.dig('web.sources.test', 'A')).join() === '198.51.100.7' &&
        (await pdns.dig('db.sources.test', 'A')).join() === '203.0.113.10' &&
        (await pdns.dig('plain.sources.test', 'A')).join() === '203.0.113.10',
      20_000,
      200,
    );
    const status = await getJson<DnsView>(`${gw.admin}/api/dns`);
    assert.ok(published, `records published: ${JSON.stringify(status)}`);
    assert.equal(status.lastError, null);
    assert.deepEqual(await pdns.dig('hidden.sources.test', 'A'), [], 'the excluded router publishes nothing');
    assert.equal(
      status.records.some((r) => r.name === 'hidden.sources.test'),
      false,
    );
    const skip = status.skipped.find((s) => s.source.startsWith('apps-excluded-'));
    assert.ok(skip !== undefined, JSON.stringify(status.skipped));
    assert.match(skip.reason, /excluded by the external-dns\.kubernetes\.io\/exclude annotation/);

    // The TCP router is its own resource (an HTTP router may have the same name), in the ownership record too.
    const db = status.records.find((r) => r.name === 'db.sources.test' && r.type === 'A');
    assert.match(db?.resource ?? '', /^tcprouter\/apps-db-[0-9a-f]+@kubernetescrd$/);
    const txt = (await pdns.dig('a-gh.db.sources.test', 'TXT')).join(' ');
    assert.match(txt, /external-dns\/resource=tcprouter\/apps-db-/);
    const web = status.records.find((r) => r.name === 'web.sources.test' && r.type === 'A');
    assert.match(web?.resource ?? '', /^router\/apps-targeted-[0-9a-f]+@kubernetescrd$/);

    // Each HTTP router carries its record's state; nothing of the objects' other annotations is served.
    const routers = await getJson<Array<{ name: string; dns?: { name: string; state: string } }>>(`${gw.admin}/api/http/routers`);
    const targeted = routers.find((r) => r.name.startsWith('apps-targeted-'));
    assert.deepEqual(targeted?.dns, { name: 'web.sources.test', type: 'A', state: 'Published' });
    const tcpRouters = await getJson<Array<{ name: string; dns?: { name: string; state: string } }>>(`${gw.admin}/api/tcp/routers`);
    const dbRouter = tcpRouters.find((r) => r.name.startsWith('apps-db-'));
    assert.deepEqual(dbRouter?.dns, { name: 'db.sources.test', type: 'A', state: 'Published' });
    const one = await getJson<{ dns?: unknown }>(`${gw.admin}/api/tcp/routers/${encodeURIComponent(dbRouter?.name ?? '')}`);
    assert.deepEqual(one.dns, { name: 'db.sources.test', type: 'A', state: 'Published' });
    for (const path of ['/api/http/routers', '/api/tcp/routers', '/api/rawdata', '/api/dns', '/api/overview']) {
      const r = await getText(`${gw.admin}${path}`);
      assert.equal(r.status, 200, path);
      assert.equal(r.body.includes(MARKER), false, `${path} must not show other annotations`);
      assert.equal(r.body.includes('last-applied-configuration'), false, `${path} must not show other annotations`);
    }
  });
});

test('the publisher: an HTTP and a TCP router of the same name are two resources, each with its own state', async (t) => {
  const pdns = await startPdns();
  t.after(() => pdns.close());
  const parsed = parseConfigText(
    '/t/dynamic.yaml',
    `http:
  routers:
    same: { rule: "Host(\`web.twin.test\`)", service: svc }
  services:
    svc: { loadBalancer: { servers: [{ url: "http://127.0.0.1:9" }] } }
tcp:
  routers:
    same: { rule: "HostSNI(\`db.twin.test\`)", service: svc, tls: { passthrough: true } }
  services:
    svc: { loadBalancer: { servers: [{ address: "127.0.0.1:9" }] } }
`,
  );
  assert.equal(parsed.error, undefined, parsed.error?.message);
  const frag = fromTraefikFileDocuments(parsed.documents);
  const snap = compileConfig({
    fragments: [frag],
    entryPoints: ['web'],
    defaultEntryPoints: ['web'],
    defaultRuleSyntax: 'v3',
    registry: builtinRegistry(),
    services: builtinServices(),
    revision: 1,
  });
  const tcp = compileTcp({ fragments: [frag], snapshot: snap, entryPoints: ['web'], defaultEntryPoints: ['web'] });
  assert.deepEqual(tcp.issues, []);
  snap.sections = { [TCP_SECTION]: tcp.section };
  const o = dnsOptionsFromStatic(
    Value.Default(DnsStaticSchema, {
      provider: 'pdns',
      policy: 'sync',
      targets: ['203.0.113.10'],
      checkaddress: 'off',
      txtowner: 'twin',
      pdns: { server: pdns.apiUrl, apikeyfile: pdns.apiKeyFile },
    }) as DnsStaticSection,
    '/',
  );
  assert.ok(o !== null);
  const p = new DnsPublisher({ options: o, log: silentLogger });
  try {
    await pdns.createZone('twin.test');
    p.update(snap);
    const s = await p.syncNow();
    assert.equal(s.lastError, null, JSON.stringify(s));
    assert.deepEqual(await pdns.dig('web.twin.test', 'A'), ['203.0.113.10']);
    assert.deepEqual(await pdns.dig('db.twin.test', 'A'), ['203.0.113.10']);
    assert.deepEqual(s.records.map((r) => `${r.name} ${r.resource}`).sort(), [
      'db.twin.test tcprouter/same@file',
      'web.twin.test router/same@file',
    ]);
    assert.deepEqual(p.routerStates()['same@file'], { name: 'web.twin.test', type: 'A', state: 'Published' });
    assert.deepEqual(p.tcpRouterStates()['same@file'], { name: 'db.twin.test', type: 'A', state: 'Published' });
  } finally {
    await p.close();
  }
});

describe('the live Kubernetes provider: DNSEndpoint objects applied with kubectl', () => {
  let pdns: TestPdns;
  let api: KubeApiServer;
  let gw: TestGateway;
  const apply = (yaml: string): Promise<string> => api.kubectlOk(['apply', '--validate=false', '-f', '-'], yaml);
  const endpoint = (target: string): string => `apiVersion: externaldns.k8s.io/v1alpha1
kind: DNSEndpoint
metadata: { name: db, namespace: apps }
spec:
  endpoints:
    - dnsName: ep.kube.test
      recordType: A
      recordTTL: 120
      targets: [${target}]
`;
  before(async () => {
    pdns = await startPdns();
    await pdns.createZone('kube.test');
    api = await KubeApiServer.start({ bookmarkMs: 500 });
    await apply('apiVersion: v1\nkind: Namespace\nmetadata: { name: apps }\n');
    gw = await startGateway({
      flags: [
        ...dnsFlags(pdns, 'kube.test'),
        `--providers.kubernetescrd.endpoint=${api.url}`,
        `--providers.kubernetescrd.token=${api.token}`,
        `--providers.kubernetescrd.certauthfilepath=${api.certs.caFile}`,
        '--providers.kubernetescrd.throttleduration=200ms',
      ],
    });
  });
  after(async () => {
    await gw?.close();
    await api?.close();
    await pdns?.close();
  });

  test('a DNSEndpoint is published, and follows a change; an IngressRoute applied with kubectl keeps its target annotation', async () => {
    await apply(endpoint('192.0.2.77'));
    const first = await eventually(async () => (await pdns.dig('ep.kube.test', 'A')).join() === '192.0.2.77', 20_000, 200);
    const status = await getJson<DnsView>(`${gw.admin}/api/dns`);
    assert.ok(first, `DNSEndpoint published: ${JSON.stringify(status)}`);
    const rec = status.records.find((r) => r.name === 'ep.kube.test');
    assert.equal(rec?.resource, 'dnsendpoint/apps/db');
    assert.equal(rec?.state, 'Published');

    // The watch, not only the first list: an edit reaches the zone.
    await apply(endpoint('192.0.2.78'));
    assert.ok(
      await eventually(async () => (await pdns.dig('ep.kube.test', 'A')).join() === '192.0.2.78', 20_000, 200),
      `changed: ${JSON.stringify(await getJson<DnsView>(`${gw.admin}/api/dns`))}`,
    );

    // kubectl apply writes last-applied-configuration: the annotation that matters is carried, that one is not.
    await apply(`${BACKEND}---
apiVersion: traefik.io/v1alpha1
kind: IngressRoute
metadata:
  name: live
  namespace: apps
  annotations:
    external-dns.alpha.kubernetes.io/target: 198.51.100.8
    note: ${MARKER}
spec:
  routes:
    - match: Host(\`live.kube.test\`)
      services: [{ name: app, port: 80 }]
`);
    assert.ok(
      await eventually(async () => (await pdns.dig('live.kube.test', 'A')).join() === '198.51.100.8', 20_000, 200),
      `IngressRoute published: ${JSON.stringify(await getJson<DnsView>(`${gw.admin}/api/dns`))}`,
    );
    for (const path of ['/api/http/routers', '/api/rawdata']) {
      const r = await getText(`${gw.admin}${path}`);
      assert.equal(r.body.includes(MARKER), false, path);
      assert.equal(r.body.includes('last-applied-configuration'), false, path);
    }
  });
});

test('a cluster without the DNSEndpoint CRD: the provider says so once and serves the other kinds', async () => {
  const api = await KubeApiServer.start({ bookmarkMs: 500, withoutGroups: ['externaldns.k8s.io'] });
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(
        ...chunk
          .toString('utf8')
          .split('\n')
          .filter((l) => l !== ''),
      );
      done();
    },
  });
  const p = new KubernetesProvider({
    config: {
      source: 'flags',
      endpoint: api.url,
      token: api.token,
      certAuthFilePath: api.certs.caFile,
      namespaces: [],
      allowCrossNamespace: false,
      allowExternalNameServices: false,
      allowEmptyServices: true,
      throttleMs: 100,
    },
    log: createLogger('info', sink),
    startTimeoutMs: 5000,
  });
  const messages: ProviderMessage[] = [];
  const absentLines = (): string[] => lines.filter((l) => l.includes('dnsendpoints.externaldns.k8s.io'));
  try {
    // The stand-in really refuses the kind, as a cluster without ExternalDNS does.
    const refused = await api.kubectl(['get', 'dnsendpoints.externaldns.k8s.io', '-A']);
    assert.notEqual(refused.code, 0);
    await api.kubectlOk(['apply', '--validate=false', '-f', '-'], 'apiVersion: v1\nkind: Namespace\nmetadata: { name: apps }\n');
    await p.start((m) => messages.push(m));
    assert.equal(p.status().state, 'ready', JSON.stringify(p.status()));
    await api.kubectlOk(
      ['apply', '--validate=false', '-f', '-'],
      `${BACKEND}---
apiVersion: traefik.io/v1alpha1
kind: IngressRoute
metadata: { name: web, namespace: apps }
spec:
  routes:
    - match: Host(\`web.example.test\`)
      services: [{ name: app, port: 80 }]
`,
    );
    assert.ok(
      await eventually(
        () => messages.some((m) => m.fragments.some((f) => Object.keys(f.routers).some((k) => k.startsWith('apps-web-')))),
        10_000,
      ),
      'the IngressRoute is served without the DNSEndpoint kind',
    );
    const last = messages[messages.length - 1]!;
    assert.deepEqual(last.issues, [], 'a missing optional CRD is not a problem of the provider');
    assert.equal(p.status().state, 'ready');
    await new Promise((r) => setTimeout(r, 300));
    const said = absentLines();
    assert.equal(said.length, 1, `said once: ${JSON.stringify(lines)}`);
    assert.match(said[0] ?? '', /does not serve dnsendpoints\.externaldns\.k8s\.io .*going on without DNSEndpoint objects/);
  } finally {
    await p.close();
    await api.close();
  }
});
