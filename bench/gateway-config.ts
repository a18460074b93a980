/**
 * The configuration the benchmark loads (Traefik file format), like
 * ../shared/bench/run-peers.sh: a catch-all seed-like route with the headers
 * middleware (`l5d-dst-override`) to the origin and 100 routers on other hosts
 * that never match. Plus one route on host `jwt.bench.local` with the same
 * headers middleware followed by validateJwt (seed semantics: audience,
 * required role, claimsToHeaders, forwardToken false), keyed by an inline
 * HS256 secret, and the token to call it with.
 */
import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';

export const JWT_HOST = 'jwt.bench.local';
const AUDIENCE = '06b2a484-141c-42d3-9d73-32bec5910b06';
const ISSUER = 'https://bench.gatehouse.local/v2.0';

export interface BenchConfig {
  yaml: string;
  /** `Bearer …` for the JWT route. */
  authorization: string;
}

export async function benchConfig(upstream: string): Promise<BenchConfig> {
  const secret = randomBytes(32);
  const token = await new SignJWT({ azp: 'bench-client', roles: ['invokeRole'] })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime('6h')
    .sign(secret);
  const lines: string[] = ['http:', '  routers:'];
  lines.push(
    '    calc:',
    '      rule: "PathPrefix(`/`)"',
    '      entryPoints: [web]',
    '      middlewares: [calcheader]',
    '      service: origin',
    '      priority: 1',
  );
  lines.push(
    '    calcjwt:',
    `      rule: "Host(\`${JWT_HOST}\`)"`,
    '      entryPoints: [web]',
    '      middlewares: [calcheader, calcjwt]',
    '      service: origin',
  );
  for (let i = 1; i <= 100; i++) {
    lines.push(
      `    other${i}:`,
      `      rule: "Host(\`svc${i}.example.com\`) && PathPrefix(\`/api/v${i}\`)"`,
      '      entryPoints: [web]',
      '      middlewares: [calcheader]',
      '      service: origin',
    );
  }
  lines.push(
    '  middlewares:',
    '    calcheader:',
    '      headers:',
    '        customRequestHeaders:',
    '          l5d-dst-override: "add-svc.add.svc.cluster.local:80"',
    '    calcjwt:',
    '      validateJwt:',
    '        failedValidationHttpCode: 401',
    '        issuerSigningKeys:',
    `          - secret: "${secret.toString('base64')}"`,
    '            alg: HS256',
    `        audiences: ["${AUDIENCE}"]`,
    `        issuers: ["${ISSUER}"]`,
    '        requiredClaims:',
    '          - name: roles',
    '            match: any',
    '            values: [invokeRole]',
    '        claimsToHeaders:',
    '          client: azp',
    '        forwardToken: false',
    '  services:',
    '    origin:',
    '      loadBalancer:',
    '        servers:',
    `          - url: "${upstream}"`,
    '',
  );
  return { yaml: lines.join('\n'), authorization: `Bearer ${token}` };
}
