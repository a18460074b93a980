/**
 * Traefik's `tls` section of the dynamic configuration (file format, and the
 * TLSOption / TLSStore CRDs): certificates, stores, options. TypeBox schemas,
 * as the rest of the model (src/config/schema.ts).
 */
import { Type, type Static } from '@sinclair/typebox';

/** `certFile` / `keyFile`: a path, or the PEM itself (Traefik accepts both). */
export const CertificateSchema = Type.Object(
  {
    certFile: Type.String({ minLength: 1, description: 'certificate (PEM chain): a file path or the PEM itself' }),
    keyFile: Type.String({ minLength: 1, description: 'private key (PEM): a file path or the PEM itself' }),
  },
  { additionalProperties: false },
);

/** One entry of `tls.certificates`. */
export const TlsCertificateSchema = Type.Object(
  {
    certFile: Type.String({ minLength: 1 }),
    keyFile: Type.String({ minLength: 1 }),
    stores: Type.Optional(Type.Array(Type.String())),
  },
  { additionalProperties: false },
);

const DomainSchema = Type.Object(
  { main: Type.Optional(Type.String()), sans: Type.Optional(Type.Array(Type.String())) },
  { additionalProperties: false },
);

export const TlsStoreSchema = Type.Object(
  {
    defaultCertificate: Type.Optional(CertificateSchema),
    defaultGeneratedCert: Type.Optional(
      Type.Object({ resolver: Type.String({ minLength: 1 }), domain: Type.Optional(DomainSchema) }, { additionalProperties: false }),
    ),
    /** Kubernetes TLSStore: the default certificate from a Secret (converted to defaultCertificate by the provider). */
    certificates: Type.Optional(Type.Array(Type.Object({ secretName: Type.String() }, { additionalProperties: false }))),
  },
  { additionalProperties: false },
);

export const CLIENT_AUTH_TYPES = [
  'NoClientCert',
  'RequestClientCert',
  'RequireAnyClientCert',
  'VerifyClientCertIfGiven',
  'RequireAndVerifyClientCert',
] as const;
export type ClientAuthType = (typeof CLIENT_AUTH_TYPES)[number];

export const TLS_VERSIONS = ['VersionTLS10', 'VersionTLS11', 'VersionTLS12', 'VersionTLS13'] as const;

export const TlsOptionsSchema = Type.Object(
  {
    minVersion: Type.Optional(Type.String()),
    maxVersion: Type.Optional(Type.String()),
    cipherSuites: Type.Optional(Type.Array(Type.String())),
    curvePreferences: Type.Optional(Type.Array(Type.String())),
    clientAuth: Type.Optional(
      Type.Object(
        {
          caFiles: Type.Optional(Type.Array(Type.String())),
          clientAuthType: Type.Optional(Type.String()),
          /** Kubernetes TLSOption: CA Secrets (converted to PEM by the provider). */
          secretNames: Type.Optional(Type.Array(Type.String())),
        },
        { additionalProperties: false },
      ),
    ),
    sniStrict: Type.Optional(Type.Boolean()),
    alpnProtocols: Type.Optional(Type.Array(Type.String())),
    /** Accepted for Traefik compatibility (Go ignores it since 1.17; so does Gatehouse). */
    preferServerCipherSuites: Type.Optional(Type.Boolean()),
    disableSessionTickets: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export type TlsCertificateConfig = Static<typeof TlsCertificateSchema>;
export type TlsStoreConfig = Static<typeof TlsStoreSchema>;
export type TlsOptionsConfig = Static<typeof TlsOptionsSchema>;
