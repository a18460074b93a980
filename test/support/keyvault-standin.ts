/**
 * A stand-in for Azure Key Vault's secret REST API (test support, never
 * shipped), written from Microsoft's reference for "Get Secret"
 * (`GET {vaultBaseUrl}/secrets/{secret-name}/{secret-version}?api-version=7.4`)
 * and Key Vault's authentication and error documentation. What it covers is
 * listed in docs/secrets.md; in short:
 *
 * - vaults by name under one loopback server: `{base}/{vault}/secrets/{name}[/{version}]`
 *   (real vaults are hosts: `https://{vault}.vault.azure.net`);
 * - GET of the latest version (no version, or an empty one) and of a given version;
 *   `{ value, id, contentType?, attributes: { enabled, created, updated, recoveryLevel } }`;
 * - api-version required (400 BadParameter otherwise);
 * - 401 with `WWW-Authenticate: Bearer authorization="…", resource="https://vault.azure.net"`
 *   without a token or with a token that does not verify;
 * - tokens verified with `jose` against the issuer's discovery document and JWKS
 *   (issuer, audience `https://vault.azure.net`, signature, expiry): only tokens that
 *   Gatehouse's identity provider issued through the client-credentials flow pass;
 * - 403 Forbidden (innererror ForbiddenByPolicy) for a verified token whose
 *   client is not in the vault's access policy;
 * - 404 SecretNotFound (unknown secret or version) in Azure's error shape;
 * - "down": every connection is reset, as an unreachable vault;
 * - a certificate only as its secret (`setCertificate`): `contentType`
 *   application/x-pem-file or application/x-pkcs12, `kid`, `managed: true`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listenLoopback, startGateway, type TestGateway } from './gateway.js';

export const KEY_VAULT_RESOURCE = 'https://vault.azure.net';

interface Version {
  readonly version: string;
  readonly value: string;
  readonly contentType?: string;
  readonly created: number;
  /** A certificate's secret (Key Vault creates one per certificate version): `managed: true`, `kid`. */
  readonly certificate?: boolean;
}

export interface KeyVaultStandIn {
  /** `http://127.0.0.1:<port>` */
  readonly base: string;
  /** For `--secrets.azurekeyvault.vaulturltemplate`: `http://127.0.0.1:<port>/{name}`. */
  readonly template: string;
  /** Add a new version of a secret (it becomes the latest); returns its version id. */
  setSecret(vault: string, name: string, value: string, contentType?: string): string;
  /**
   * Add a new version of a certificate as Key Vault exposes it through the
   * secrets API: the secret of the same name, `contentType`
   * application/x-pem-file (PEM key and chain) or application/x-pkcs12
   * (base64 PFX), `managed: true` and `kid`. Returns the version id.
   */
  setCertificate(vault: string, name: string, value: string, contentType: 'application/x-pem-file' | 'application/x-pkcs12'): string;
  /** Reset every connection (true) or answer again (false). */
  setDown(down: boolean): void;
  /** GET requests that reached a secret (authorised or not). */
  readonly requests: number;
  close(): Promise<void>;
}

export interface StandInOptions {
  /** OpenID discovery document of the token issuer (v1: `{base}/{tenant}/.well-known/openid-configuration`). */
  readonly discoveryUrl: string;
  /** Tenant named in the 401 challenge. */
  readonly tenantId: string;
  /** Client ids (appid/azp) in the access policy: they may get secrets. */
  readonly allowedClients: readonly string[];
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

const azureError = (code: string, message: string, inner?: string): unknown => ({
  error: { code, message, ...(inner !== undefined ? { innererror: { code: inner } } : {}) },
});

export async function startKeyVaultStandIn(o: StandInOptions): Promise<KeyVaultStandIn> {
  const disco = (await (await fetch(o.discoveryUrl)).json()) as { issuer: string; jwks_uri: string };
  const jwks = createRemoteJWKSet(new URL(disco.jwks_uri));
  const vaults = new Map<string, Map<string, Version[]>>();
  let down = false;
  let requests = 0;
  let base = '';
  const challenge = {
    'www-authenticate': `Bearer authorization="https://login.microsoftonline.com/${o.tenantId}", resource="${KEY_VAULT_RESOURCE}"`,
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const m = /^\/([a-zA-Z0-9-]+)\/secrets\/([0-9a-zA-Z-]+)(?:\/([0-9a-fA-F]*))?\/?$/.exec(url.pathname);
    if (m === null) return send(res, 404, azureError('NotFound', 'The requested resource was not found.'));
    if (req.method !== 'GET') return send(res, 405, azureError('MethodNotAllowed', `Method ${req.method} is not allowed.`));
    requests++;
    if (url.searchParams.get('api-version') === null)
      return send(res, 400, azureError('BadParameter', 'The request URI must contain an api-version query parameter.'));
    const auth = req.headers.authorization ?? '';
    if (!/^Bearer /i.test(auth))
      return send(res, 401, azureError('Unauthorized', 'AKV10000: Request is missing a Bearer or PoP token.'), challenge);
    let claims: JWTPayload;
    try {
      ({ payload: claims } = await jwtVerify(auth.slice(7).trim(), jwks, { issuer: disco.issuer, audience: KEY_VAULT_RESOURCE }));
    } catch (err) {
      const code = (err as { code?: string }).code ?? 'ERR_JWT_INVALID';
      return send(res, 401, azureError('Unauthorized', `AKV10022: Invalid token (${code}).`), challenge);
    }
    const vault = m[1] as string;
    const client = String(claims.appid ?? claims.azp ?? '');
    if (!o.allowedClients.includes(client)) {
      return send(
        res,
        403,
        azureError(
          'Forbidden',
          `The user, group or application 'appid=${client};oid=${String(claims.oid ?? '')}' does not have secrets get permission on key vault '${vault};location=standin'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287`,
          'ForbiddenByPolicy',
        ),
      );
    }
    const versions = vaults.get(vault)?.get(m[2] as string) ?? [];
    const wanted = (m[3] ?? '').toLowerCase();
    const v = wanted === '' ? versions[versions.length - 1] : versions.find((x) => x.version === wanted);
    if (v === undefined) {
      return send(
        res,
        404,
        azureError(
          'SecretNotFound',
          `A secret with (name/id) ${m[2]}${wanted !== '' ? `/${wanted}` : ''} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182`,
        ),
      );
    }
    send(res, 200, {
      value: v.value,
      ...(v.contentType !== undefined ? { contentType: v.contentType } : {}),
      id: `${base}/${vault}/secrets/${m[2]}/${v.version}`,
      ...(v.certificate === true ? { kid: `${base}/${vault}/keys/${m[2]}/${v.version}`, managed: true } : {}),
      attributes: { enabled: true, created: v.created, updated: v.created, recoveryLevel: 'Recoverable+Purgeable', recoverableDays: 90 },
      tags: {},
    });
  }

  const server = createServer((req, res) => {
    if (down) {
      req.socket.destroy();
      return;
    }
    handle(req, res).catch(() => send(res, 500, azureError('InternalError', 'stand-in failure')));
  });
  function add(vault: string, name: string, value: string, contentType: string | undefined, certificate: boolean): string {
    const version = randomBytes(16).toString('hex');
    const secrets = vaults.get(vault) ?? new Map<string, Version[]>();
    vaults.set(vault, secrets);
    secrets.set(name, [
      ...(secrets.get(name) ?? []),
      {
        version,
        value,
        created: Math.floor(Date.now() / 1000),
        ...(contentType !== undefined ? { contentType } : {}),
        ...(certificate ? { certificate } : {}),
      },
    ]);
    return version;
  }
  const port = await listenLoopback(server);
  base = `http://127.0.0.1:${port}`;
  return {
    base,
    template: `${base}/{name}`,
    setSecret: (vault, name, value, contentType) => add(vault, name, value, contentType, false),
    setCertificate: (vault, name, value, contentType) => add(vault, name, value, contentType, true),
    setDown(d) {
      down = d;
    },
    get requests() {
      return requests;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/**
 * The identity provider Key Vault trusts (a Gatehouse gateway with
 * `--identity.insecure`: tenant, the Key Vault resource app, a reader in the
 * vault's access policy and an outsider that is not) and a stand-in vault,
 * with the flags a gateway needs to read it.
 */
export const KV_TENANT = '7d3c1e52-0b7a-4c55-8f7e-3f0d6c1a9b21';
export const KV_RESOURCE_APP = 'cfa8b339-82a2-471a-a3c9-0fc0be7a4093';
export const KV_READER = '2b0f6a8e-5d1c-4e3b-9a7f-1c2d3e4f5a6b';
export const KV_OUTSIDER = '3c1a7b9f-6e2d-4f4c-8b8a-2d3e4f5a6b7c';
export const KV_READER_SECRET = 'reader-secret-value-3141592653';
export const KV_OUTSIDER_SECRET = 'outsider-secret-value-2718281828';

export const KV_IDP_YAML = `apiVersion: gatehouse.dev/v1alpha1
kind: Tenant
metadata: { name: corp }
spec: { tenantId: ${KV_TENANT}, domain: corp.example }
---
apiVersion: gatehouse.dev/v1alpha1
kind: Application
metadata: { name: azure-key-vault }
spec:
  tenant: corp
  appId: ${KV_RESOURCE_APP}
  identifierUris: ["https://vault.azure.net"]
  accessTokenAcceptedVersion: 1
---
apiVersion: gatehouse.dev/v1alpha1
kind: Application
metadata: { name: kv-reader }
spec:
  tenant: corp
  appId: ${KV_READER}
  passwordCredentials: [{ secretFrom: { env: KV_READER_SECRET } }]
---
apiVersion: gatehouse.dev/v1alpha1
kind: Application
metadata: { name: kv-outsider }
spec:
  tenant: corp
  appId: ${KV_OUTSIDER}
  passwordCredentials: [{ secretFrom: { env: KV_OUTSIDER_SECRET } }]
`;

export interface VaultWithIdentity {
  readonly idp: TestGateway;
  readonly kv: KeyVaultStandIn;
  /** A directory for the client secret files (removed by close). */
  readonly dir: string;
  /** `--secrets.azurekeyvault.*` for a client (default the reader) whose secret is in a file of `dir`. */
  flags(client?: { id: string; secret: string }): string[];
  close(): Promise<void>;
}

export async function startVaultWithIdentity(): Promise<VaultWithIdentity> {
  process.env.KV_READER_SECRET = KV_READER_SECRET;
  process.env.KV_OUTSIDER_SECRET = KV_OUTSIDER_SECRET;
  const idp = await startGateway({ files: { 'identity.yaml': KV_IDP_YAML }, flags: ['--identity.insecure'] });
  const kv = await startKeyVaultStandIn({
    discoveryUrl: `${idp.admin}/${KV_TENANT}/.well-known/openid-configuration`,
    tenantId: KV_TENANT,
    allowedClients: [KV_READER],
  });
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-kv-client-'));
  let n = 0;
  return {
    idp,
    kv,
    dir,
    flags(client = { id: KV_READER, secret: KV_READER_SECRET }) {
      const file = join(dir, `client-secret-${++n}`);
      writeFileSync(file, `${client.secret}\n`);
      return [
        `--secrets.azurekeyvault.tenantid=${KV_TENANT}`,
        `--secrets.azurekeyvault.clientid=${client.id}`,
        `--secrets.azurekeyvault.clientsecretfile=${file}`,
        `--secrets.azurekeyvault.authorityhost=${idp.admin}`,
        `--secrets.azurekeyvault.vaulturltemplate=${kv.template}`,
      ];
    },
    async close() {
      await kv.close();
      await idp.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
