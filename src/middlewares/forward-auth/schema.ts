import { Type, type Static } from '@sinclair/typebox';

export const ForwardAuthSchema = Type.Object(
  {
    /** URL of the authentication server (http or https). */
    address: Type.String({ minLength: 1 }),
    trustForwardHeader: Type.Optional(Type.Boolean()),
    /** Headers copied from the auth response into the forwarded request. */
    authResponseHeaders: Type.Optional(Type.Array(Type.String())),
    authResponseHeadersRegex: Type.Optional(Type.String()),
    /** Only these request headers are sent to the auth server (all when unset). */
    authRequestHeaders: Type.Optional(Type.Array(Type.String())),
    /** Cookies of the auth response added to the final response (Traefik v3). */
    addAuthCookiesToResponse: Type.Optional(Type.Array(Type.String())),
    tls: Type.Optional(
      Type.Object(
        {
          ca: Type.Optional(Type.String()),
          cert: Type.Optional(Type.String()),
          key: Type.Optional(Type.String()),
          insecureSkipVerify: Type.Optional(Type.Boolean()),
          /** Deprecated in Traefik; accepted and ignored. */
          caOptional: Type.Optional(Type.Boolean()),
        },
        { additionalProperties: false },
      ),
    ),
    /** Send the request body to the auth server (Traefik v3). */
    forwardBody: Type.Optional(Type.Boolean()),
    /** Largest body forwarded, bytes; -1 (default) = no own limit (Gatehouse caps at 16 MiB). */
    maxBodySize: Type.Optional(Type.Integer({ minimum: -1 })),
    /** Traefik v3: largest auth-server answer body, bytes; over it the client gets 401. Absent or -1: 1 MiB (Gatehouse's cap, answering 500). */
    maxResponseBodySize: Type.Optional(Type.Integer({ minimum: -1 })),
    preserveLocationHeader: Type.Optional(Type.Boolean()),
    /** Call the auth server with the client's method instead of GET (Traefik v3). */
    preserveRequestMethod: Type.Optional(Type.Boolean()),
    /** Auth response header naming the user (set as the caller for logs and telemetry). */
    headerField: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

export type ForwardAuthOptions = Static<typeof ForwardAuthSchema>;
