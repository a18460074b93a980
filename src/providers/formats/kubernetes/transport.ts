/**
 * ServersTransport → serversTransport `<ns>-<name>` and TLSOption → TLS
 * options `<ns>-<name>` (or `default`). Secrets referenced by name become PEM
 * content (rootCAs, certificates, clientAuth CA files).
 */
import type { ServersTransportConfig } from '../../../config/schema.js';
import { makeId } from './naming.js';
import { asString, ConvertFailure, isRecord, type ConvertContext, type K8sObject } from './objects.js';
import { caFromSecret, certFromSecret } from './secrets.js';

const TRANSPORT_KEYS = [
  'serverName',
  'insecureSkipVerify',
  'maxIdleConnsPerHost',
  'disableHTTP2',
  'peerCertURI',
  'forwardingTimeouts',
] as const;

export function convertServersTransport(ctx: ConvertContext, obj: K8sObject): void {
  const id = makeId(obj.namespace, obj.name);
  const spec = ctx.get(obj, ['spec']);
  try {
    if (!isRecord(spec)) throw new ConvertFailure(['spec'], 'expected spec');
    const out: Record<string, unknown> = {};
    for (const k of TRANSPORT_KEYS) if (spec[k] !== undefined) out[k] = structuredClone(spec[k]);
    const rootCAs: string[] = [];
    if (Array.isArray(spec.rootCAsSecrets)) {
      spec.rootCAsSecrets.forEach((s: unknown, i: number) => {
        if (typeof s !== 'string') throw new ConvertFailure(['spec', 'rootCAsSecrets', i], 'expected a Secret name');
        rootCAs.push(caFromSecret(ctx, obj.namespace, s, ['spec', 'rootCAsSecrets', i]));
      });
    }
    if (Array.isArray(spec.rootCAs)) {
      spec.rootCAs.forEach((r: unknown, i: number) => {
        const secret = isRecord(r) ? asString(r.secret) : undefined;
        if (secret === undefined)
          throw new ConvertFailure(['spec', 'rootCAs', i], 'expected { secret: <name> } (configMap is not supported yet)');
        rootCAs.push(caFromSecret(ctx, obj.namespace, secret, ['spec', 'rootCAs', i, 'secret']));
      });
    }
    if (rootCAs.length > 0) out.rootCAs = rootCAs;
    if (Array.isArray(spec.certificatesSecrets)) {
      out.certificates = spec.certificatesSecrets.map((s: unknown, i: number) => {
        if (typeof s !== 'string') throw new ConvertFailure(['spec', 'certificatesSecrets', i], 'expected a Secret name');
        const { cert, key } = certFromSecret(ctx, obj.namespace, s, ['spec', 'certificatesSecrets', i]);
        return { certFile: cert, keyFile: key };
      });
    }
    ctx.fragment.serversTransports[id] = { value: out as ServersTransportConfig, source: ctx.loc(obj, ['spec']) };
  } catch (e) {
    if (!(e instanceof ConvertFailure)) throw e;
    ctx.error(obj, e.path, `ServersTransport not created ("${id}"): ${e.message}`);
  }
}

export function convertTlsOption(ctx: ConvertContext, obj: K8sObject): void {
  const id = obj.name === 'default' ? 'default' : makeId(obj.namespace, obj.name);
  const spec = ctx.get(obj, ['spec']);
  try {
    const out: Record<string, unknown> = isRecord(spec) ? structuredClone(spec) : {};
    if (isRecord(out.clientAuth)) {
      const { secretNames, ...clientAuth } = out.clientAuth;
      if (Array.isArray(secretNames)) {
        clientAuth.caFiles = secretNames.map((s: unknown, i: number) => {
          if (typeof s !== 'string') throw new ConvertFailure(['spec', 'clientAuth', 'secretNames', i], 'expected a Secret name');
          return caFromSecret(ctx, obj.namespace, s, ['spec', 'clientAuth', 'secretNames', i]);
        });
      }
      out.clientAuth = clientAuth;
    }
    if (id === 'default') {
      ctx.defaultTlsNamespaces.push(obj.namespace);
      if (ctx.defaultTlsNamespaces.length > 1) {
        ctx.error(
          obj,
          [],
          `default TLS options are defined in several namespaces (${ctx.defaultTlsNamespaces.join(', ')}): none of them is used (as Traefik)`,
        );
        delete ctx.fragment.tlsOptions.default;
        return;
      }
    }
    ctx.fragment.tlsOptions[id] = { value: out, source: ctx.loc(obj, ['spec']) };
  } catch (e) {
    if (!(e instanceof ConvertFailure)) throw e;
    ctx.error(obj, e.path, `TLSOption not created ("${id}"): ${e.message}`);
  }
}
