/**
 * The identity issuer's signing keys and failure limiter shared by two
 * Gatehouse replicas through one real redis-server (docs/redis.md, "The
 * identity issuer"): each replica has its own data directory; a token issued
 * by one verifies through validateJwt on the other; a rotation forced on one
 * reaches the other within seconds (same JWKS); bad secrets spread over both
 * trip the limit as one; with Redis stopped both keep issuing and verifying
 * with the last shared key, a replica started meanwhile answers 503
 * GH_IDENTITY_KEYS_UNAVAILABLE, and once Redis is back (empty) the set is put
 * back and the late replica gets the same keys.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { join, dirname } from 'node:path';
import { decodeProtectedHeader } from 'jose';
import { request } from 'undici';
import { startGateway, eventually, listenLoopback, type TestGateway } from './support/gateway.js';
import { startRedis, type TestRedis } from './support/redis.js';
import { IDENTITY_YAML, TENANT_ID, API_APP_ID, CLIENT_APP_ID, OTHER_APP_ID, SCOPE } from '../src/demo/identity-scenario.js';
import { identityProviders, type IdentityProvider } from '../src/identity/provider.js';

const SECRET = 'test-secret-value-1234567890';
const OTHER = 'other-secret-value-0987654321';
let redis: TestRedis;
let up: Server;
let upPort: number;
let a: TestGateway;
let b: TestGateway;
let c: TestGateway | null = null;

function flags(): string[] {
  return ['--identity.insecure', `--redis.endpoints=${redis.endpoint}`, '--redis.timeout=200ms', '--redis.cooldown=300ms'];
}

/** The calculator route protected by validateJwt against this gateway's own discovery document, accepting every replica's issuer. */
function calcYaml(self: TestGateway, issuers: string[]): string {
  return `http:
  routers:
    calc-secure:
      entryPoints: [web]
      rule: PathPrefix(\`/secure/\`)
      middlewares: [calc-jwt, secure-strip]
      service: add
  middlewares:
    secure-strip:
      stripPrefix: { prefixes: [/secure] }
    calc-jwt:
      validateJwt:
        openidConfig:
          - url: ${self.admin}/${TENANT_ID}/v2.0/.well-known/openid-configuration
        issuers: [${issuers.map((i) => `"${i}"`).join(', ')}]
        audiences: [${API_APP_ID}]
        unknownKidCooldown: 100ms
        tokenCacheSize: 0
        forwardToken: false
  services:
    add:
      loadBalancer:
        servers: [{ url: "http://127.0.0.1:${upPort}" }]
`;
}

const issuer = (gw: TestGateway): string => `${gw.admin}/${TENANT_ID}/v2.0`;

/** A token request; `host` as a load balancer in front of the replicas would send it (the issuer follows the Host header). */
async function token(
  gw: TestGateway,
  clientId = CLIENT_APP_ID,
  secret = SECRET,
  host?: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await request(`${gw.admin}/${TENANT_ID}/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(host !== undefined ? { host } : {}) },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret, scope: SCOPE }).toString(),
  });
  return { status: r.statusCode, body: (await r.body.json()) as Record<string, unknown> };
}

async function accessToken(gw: TestGateway): Promise<string> {
  const t = await token(gw);
  assert.equal(t.status, 200, JSON.stringify(t.body));
  return String(t.body.access_token);
}

async function calc(gw: TestGateway, jwt: string): Promise<{ status: number; text: string }> {
  const r = await fetch(`${gw.url}/secure/add/10/10`, { headers: { authorization: `Bearer ${jwt}` } });
  return { status: r.status, text: await r.text() };
}

async function jwksKids(gw: TestGateway): Promise<string[]> {
  const r = await fetch(`${gw.admin}/${TENANT_ID}/discovery/v2.0/keys`);
  const doc = (await r.json()) as { keys: Array<{ kid: string; n: string }> };
  return doc.keys.map((k) => `${k.kid}:${k.n.slice(0, 16)}`).sort();
}

function provider(gw: TestGateway): IdentityProvider {
  const data = join(dirname(gw.dir), 'data');
  const p = identityProviders().find((x) => x.dataDir === data);
  assert.ok(p !== undefined, `the issuer of ${gw.admin}`);
  return p;
}

async function startReplica(): Promise<TestGateway> {
  const gw = await startGateway({ files: { 'identity.yaml': IDENTITY_YAML }, flags: flags() });
  assert.ok(
    await eventually(async () => {
      const r = await fetch(`${gw.admin}/${TENANT_ID}/v2.0/.well-known/openid-configuration`);
      await r.arrayBuffer();
      return r.status === 200;
    }, 5000),
    'tenant loaded',
  );
  return gw;
}

async function routeUp(gw: TestGateway): Promise<void> {
  assert.ok(
    await eventually(async () => {
      const r = await fetch(`${gw.url}/secure/add/1/1`);
      await r.arrayBuffer();
      return r.status === 401;
    }, 5000),
    'protected route is up',
  );
}

before(async () => {
  process.env.CALC_CLIENT_SECRET = SECRET;
  process.env.CALC_OTHER_SECRET = OTHER;
  redis = await startRedis();
  up = createServer((req, res) => {
    const m = /^\/add\/(-?\d+)\/(-?\d+)$/.exec(req.url ?? '');
    res.end(m !== null ? String(Number(m[1]) + Number(m[2])) : 'bad');
  });
  upPort = await listenLoopback(up);
  a = await startReplica();
  b = await startReplica();
  for (const gw of [a, b]) gw.write('calc.yaml', calcYaml(gw, [issuer(a), issuer(b)]));
  await routeUp(a);
  await routeUp(b);
});

after(async () => {
  await c?.close();
  await a?.close();
  await b?.close();
  up?.close();
  await redis?.close();
});

test('both replicas publish the same keys, and a token issued by one verifies on the other', async () => {
  const ka = await jwksKids(a);
  assert.equal(ka.length, 1);
  assert.deepEqual(await jwksKids(b), ka);
  const fromA = await accessToken(a);
  const fromB = await accessToken(b);
  assert.equal(decodeProtectedHeader(fromA).kid, decodeProtectedHeader(fromB).kid);
  assert.deepEqual(await calc(b, fromA), { status: 200, text: '20' });
  assert.deepEqual(await calc(a, fromB), { status: 200, text: '20' });
  // The keys are in Redis, not (only) in each data directory.
  assert.match(await redis.command('EXISTS', 'gatehouse:identity:signing-keys'), /^:1/);
});

test('a rotation forced on one replica reaches the other within seconds', async () => {
  const before = String(decodeProtectedHeader(await accessToken(b)).kid);
  const pa = provider(a);
  const pb = provider(b);
  await pa.rotate();
  const next = pa.keyIds().active;
  assert.ok(next !== undefined && next !== before, 'A rotated');
  assert.ok(await eventually(() => pb.keyIds().active === next, 3000), 'B signs with the new key within 3 s');
  const ja = await jwksKids(a);
  assert.equal(ja.length, 2, 'the new key and the retired one');
  assert.deepEqual(await jwksKids(b), ja);
  const fromA = await accessToken(a);
  const fromB = await accessToken(b);
  assert.equal(decodeProtectedHeader(fromA).kid, next);
  assert.equal(decodeProtectedHeader(fromB).kid, next);
  assert.deepEqual(await calc(b, fromA), { status: 200, text: '20' });
  assert.deepEqual(await calc(a, fromB), { status: 200, text: '20' });
});

test('concurrent rotations on both replicas make one new key, not two', async () => {
  const pa = provider(a);
  const pb = provider(b);
  const was = pa.keyIds().active;
  await Promise.all([pa.rotate(), pb.rotate()]);
  assert.ok(await eventually(() => pa.keyIds().active === pb.keyIds().active && pa.keyIds().active !== was, 3000));
  // One rotation: the new key, the one it replaced and the one retired before.
  assert.equal((await jwksKids(a)).length, 3);
  assert.deepEqual(await jwksKids(b), await jwksKids(a));
  assert.match(await redis.command('EXISTS', 'gatehouse:identity:rotate-lock'), /^:0/, 'the lock was released');
});

test('bad secrets spread over both replicas trip the failure limit as one', async () => {
  // Default: 10 failures per client and address in 5 minutes; 5 on each replica.
  for (let i = 0; i < 10; i++) {
    const t = await token(i % 2 === 0 ? a : b, OTHER_APP_ID, 'wrong-secret');
    assert.equal(t.status, 401, `attempt ${i + 1}`);
  }
  for (const gw of [a, b]) {
    const t = await token(gw, OTHER_APP_ID, OTHER);
    assert.equal(t.status, 429, 'locked out on both replicas, even with the right secret');
    assert.match(String(t.body.error_description), /^AADSTS50053/);
  }
  // Another client is not affected.
  assert.equal((await token(a)).status, 200);
});

test('Redis stopped: both keep issuing and verifying with the last shared key; a new replica answers 503 until Redis is back', async () => {
  const kid = provider(a).keyIds().active;
  const jwks = await jwksKids(a);
  await redis.stop();
  try {
    for (const [issuerGw, checker] of [
      [a, b],
      [b, a],
    ] as const) {
      const jwt = await accessToken(issuerGw);
      assert.equal(decodeProtectedHeader(jwt).kid, kid);
      assert.deepEqual(await calc(checker, jwt), { status: 200, text: '20' });
    }
    assert.deepEqual(await jwksKids(b), jwks);

    // A replica that never reached Redis has no key it may sign with.
    c = await startReplica();
    const r = await token(c);
    assert.equal(r.status, 503);
    assert.equal(r.body.error, 'temporarily_unavailable');
    assert.match(String(r.body.error_description), /^AADSTS90033: .*Redis/);
    assert.equal(JSON.stringify(r.body).includes('PRIVATE'), false);
  } finally {
    await redis.start();
  }
  // Redis is back, empty (no persistence): a replica puts the shared set back; the late one gets the same keys.
  const late = c;
  assert.ok(late !== null);
  assert.ok(await eventually(async () => (await token(late)).status === 200, 8000, 200), 'the late replica issues once Redis is back');
  assert.deepEqual(await jwksKids(late), jwks);
  assert.equal(provider(late).keyIds().active, kid);
  // Issued by the late replica under A's name (as behind one load balancer), verified by A.
  const viaLate = await token(late, CLIENT_APP_ID, SECRET, new URL(a.admin).host);
  assert.equal(viaLate.status, 200);
  assert.deepEqual(await calc(a, String(viaLate.body.access_token)), { status: 200, text: '20' });
});
