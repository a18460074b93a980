import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { tokenMain } from './token.js';
import { hashSecretMain } from './hash-secret.js';
import { compileIdentity, IdentityProvider, verifySecretHash } from '../identity/index.js';
import { silentLogger } from '../log.js';
import { serveHandler } from '../../test/support/handler-server.js';

const TID = '625422dd-8ffb-45a9-9232-4132babb1324';
const API = '06b2a484-141c-42d3-9d73-32bec5910b06';
const CLIENT = 'f1f695cb-2d00-4c0f-84a5-437282f3f3fd';

function sink(): { out: PassThrough; text: () => string } {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  return { out, text: () => Buffer.concat(chunks).toString() };
}

const dir = mkdtempSync(join(tmpdir(), 'gh-cli-'));
const h = sink();
assert.equal(await hashSecretMain(['--secret-env', 'S'], { S: 'cli-secret-0123456789' }, h.out), 0);
const hash = h.text().trim();
const idp = new IdentityProvider({ dataDir: dir, log: silentLogger });
await idp.init();
idp.update(
  compileIdentity(
    [
      { kind: 'Tenant', name: 'contoso', spec: { tenantId: TID }, source: {} },
      {
        kind: 'Application',
        name: 'api',
        spec: {
          tenant: 'contoso',
          appId: API,
          identifierUris: [`api://${API}`],
          appRoles: [{ value: 'invokeRole', id: '3b1c5d62-4f5e-4c1a-9a55-6f1f2e0c9d11' }],
        },
        source: {},
      },
      {
        kind: 'Application',
        name: 'client',
        spec: {
          tenant: 'contoso',
          appId: CLIENT,
          passwordCredentials: [{ secretHash: hash }],
          grants: [{ resourceAppId: API, roles: ['invokeRole'] }],
        },
        source: {},
      },
    ],
    {},
  ).config,
);
const srv = await serveHandler(idp.handler);
after(async () => {
  await srv.close();
  await idp.close();
  rmSync(dir, { recursive: true, force: true });
});

test('hash-secret prints a verifiable scrypt hash; --generate prints a secret and its hash', async () => {
  assert.match(hash, /^\$scrypt\$ln=15,r=8,p=1\$/);
  assert.equal(await verifySecretHash('cli-secret-0123456789', hash), true);
  assert.equal(await verifySecretHash('cli-secret-012345678', hash), false);
  const g = sink();
  assert.equal(await hashSecretMain(['--generate'], {}, g.out), 0);
  const [, secret, , phc] = g.text().split(/\s+/);
  assert.equal(await verifySecretHash(secret as string, phc as string), true);
  assert.equal(await hashSecretMain([], {}, sink().out), 2);
});

test('token prints an access token; --decode shows its claims; errors give the AADSTS description', async () => {
  const args = ['--tenant', TID, '--client-id', CLIENT, '--client-secret-env', 'CS', '--scope', `api://${API}/.default`, '--url', srv.url];
  const a = sink();
  assert.equal(await tokenMain(args, { CS: 'cli-secret-0123456789' }, a.out), 0);
  assert.match(a.text(), /^eyJ[\w-]+\.[\w-]+\.[\w-]+\n$/);
  const d = sink();
  assert.equal(await tokenMain([...args, '--decode'], { CS: 'cli-secret-0123456789' }, d.out), 0);
  const decoded = JSON.parse(d.text()) as { claims: Record<string, unknown> };
  assert.deepEqual(decoded.claims.roles, ['invokeRole']);
  assert.equal(decoded.claims.azp, CLIENT);
  const e = sink();
  assert.equal(await tokenMain(args, { CS: 'wrong-secret-000000' }, e.out), 1);
  assert.match(e.text(), /HTTP 401: invalid_client: AADSTS7000215/);
});
