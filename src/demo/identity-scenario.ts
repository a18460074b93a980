/**
 * The seed's Azure AD + API Management setup as Gatehouse configuration: a
 * tenant, the API app with the `invokeRole` app role, a client app granted
 * that role, one that is not, and the calculator route protected by
 * validateJwt (openid-config of the built-in issuer, the API app as audience,
 * `roles` any-of `invokeRole`, 401 on failure), `azp` → header `client`,
 * Authorization removed before the backend.
 */
export const TENANT_ID = '625422dd-8ffb-45a9-9232-4132babb1324';
export const API_APP_ID = '06b2a484-141c-42d3-9d73-32bec5910b06';
export const CLIENT_APP_ID = 'f1f695cb-2d00-4c0f-84a5-437282f3f3fd';
export const OTHER_APP_ID = '0f9b3c9e-7c52-4a3e-9f0e-2b8f3a6d4c21';
export const CLIENT_SECRET_ENV = 'CALC_CLIENT_SECRET';
export const OTHER_SECRET_ENV = 'CALC_OTHER_SECRET';
export const SCOPE = `api://${API_APP_ID}/.default`;

export const IDENTITY_YAML = `apiVersion: gatehouse.dev/v1alpha1
kind: Tenant
metadata: { name: contoso }
spec:
  tenantId: ${TENANT_ID}
  domain: contoso.example
---
apiVersion: gatehouse.dev/v1alpha1
kind: Application
metadata: { name: calc-api }
spec:
  tenant: contoso
  appId: ${API_APP_ID}
  displayName: calc-api
  identifierUris: ["api://${API_APP_ID}"]
  accessTokenAcceptedVersion: 2
  appRoles:
    - { value: invokeRole, id: 3b1c5d62-4f5e-4c1a-9a55-6f1f2e0c9d11, allowedMemberTypes: [Application], isEnabled: true }
---
apiVersion: gatehouse.dev/v1alpha1
kind: Application
metadata: { name: calc-client }
spec:
  tenant: contoso
  appId: ${CLIENT_APP_ID}
  displayName: add-cli
  passwordCredentials:
    - secretFrom: { env: ${CLIENT_SECRET_ENV} }
  grants:
    - resourceAppId: ${API_APP_ID}
      roles: [invokeRole]
---
apiVersion: gatehouse.dev/v1alpha1
kind: Application
metadata: { name: calc-other }
spec:
  tenant: contoso
  appId: ${OTHER_APP_ID}
  displayName: not-granted
  passwordCredentials:
    - secretFrom: { env: ${OTHER_SECRET_ENV} }
`;

/** The JWT-protected calculator route (Traefik file format), keys from the issuer at `issuerBase`. */
export function protectedCalcYaml(
  issuerBase: string,
  addSvc: string,
  hostRule = 'Host(`secure.127.0.0.1.nip.io`) || PathPrefix(`/secure/`)',
): string {
  return `http:
  routers:
    calc-secure:
      entryPoints: [web]
      rule: ${hostRule}
      priority: 1000
      middlewares: [calc-jwt, secure-strip]
      service: ${addSvc}
  middlewares:
    secure-strip:
      stripPrefix:
        prefixes: [/secure]
    calc-jwt:
      validateJwt:
        headerName: Authorization
        failedValidationHttpCode: 401
        requireExpirationTime: true
        requireSignedTokens: true
        clockSkew: 0s
        openidConfig:
          - url: ${issuerBase}/${TENANT_ID}/v2.0/.well-known/openid-configuration
        audiences: [${API_APP_ID}]
        requiredClaims:
          - name: roles
            match: any
            values: [invokeRole]
        claimsToHeaders:
          client: azp
        forwardToken: false
`;
}
