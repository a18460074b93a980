/**
 * Middleware CRD → middleware `<ns>-<name>`. The spec has the keys of
 * Traefik's file format; the Kubernetes-specific ones are converted:
 * basicAuth/digestAuth `secret` → `users`, forwardAuth `tls.caSecret` /
 * `tls.certSecret` → `tls.ca` / `tls.cert` + `tls.key` (PEM content),
 * errors `service` (a Kubernetes service reference) → a service name, chain
 * `middlewares` ({ name, namespace } list) → names. Other keys (including
 * Gatehouse ones such as `validateJwt`) pass through for the compiler to
 * validate against the middleware schemas.
 */
import { makeId } from './naming.js';
import { ConvertFailure, isRecord, type ConvertContext, type K8sObject, type Path } from './objects.js';
import { caFromSecret, certFromSecret, usersFromSecret } from './secrets.js';
import { nameAndService } from './services.js';
import { middlewareRef } from './ingress-route.js';
import { addService } from './traefik-service.js';
import { secretMarker } from './external-secrets.js';

type Converter = (ctx: ConvertContext, obj: K8sObject, id: string, value: Record<string, unknown>, path: Path) => Record<string, unknown>;

function auth(basic: boolean): Converter {
  return (ctx, obj, _id, value, path) => {
    const { secret, ...rest } = value;
    if (typeof secret !== 'string' || secret === '') {
      if (Array.isArray(rest.users)) return rest; // Gatehouse leniency: inline users as in the file format.
      throw new ConvertFailure([...path, 'secret'], 'auth secret must be set: expected the name of a Secret in the same namespace');
    }
    if (ctx.isExternalSecret(obj.namespace, secret))
      return { ...rest, users: secretMarker(obj.namespace, secret, basic ? 'users-basic' : 'users-digest') };
    return { ...rest, users: usersFromSecret(ctx, obj.namespace, secret, [...path, 'secret'], basic) };
  };
}

const forwardAuth: Converter = (ctx, obj, _id, value, path) => {
  if (!isRecord(value.tls)) return value;
  const { caSecret, certSecret, ...tls } = value.tls;
  if (typeof caSecret === 'string' && caSecret !== '')
    tls.ca = ctx.isExternalSecret(obj.namespace, caSecret)
      ? secretMarker(obj.namespace, caSecret, 'ca')
      : caFromSecret(ctx, obj.namespace, caSecret, [...path, 'tls', 'caSecret']);
  if (typeof certSecret === 'string' && certSecret !== '' && ctx.isExternalSecret(obj.namespace, certSecret)) {
    tls.cert = secretMarker(obj.namespace, certSecret, 'tls.crt');
    tls.key = secretMarker(obj.namespace, certSecret, 'tls.key');
  } else if (typeof certSecret === 'string' && certSecret !== '') {
    const { cert, key } = certFromSecret(ctx, obj.namespace, certSecret, [...path, 'tls', 'certSecret']);
    tls.cert = cert;
    tls.key = key;
  }
  return { ...value, tls };
};

const errors: Converter = (ctx, obj, id, value, path) => {
  if (value.service === undefined || typeof value.service === 'string') return value;
  const named = nameAndService(ctx, obj, obj.namespace, value.service, [...path, 'service']);
  let service = named.name;
  if (named.service !== undefined) {
    service = `${id}-errorpage-service`;
    addService(ctx, obj, [...path, 'service'], service, named.service);
  }
  return { ...value, service };
};

const chain: Converter = (ctx, obj, _id, value, path) => {
  if (!Array.isArray(value.middlewares))
    throw new ConvertFailure([...path, 'middlewares'], 'expected a list of middleware references { name, namespace }');
  const middlewares = value.middlewares.map((m: unknown, i: number) =>
    typeof m === 'string' ? m : middlewareRef(ctx, obj.namespace, m, [...path, 'middlewares', i]),
  );
  return { ...value, middlewares };
};

const CONVERTERS: Readonly<Record<string, Converter>> = Object.assign(Object.create(null) as Record<string, Converter>, {
  basicAuth: auth(true),
  digestAuth: auth(false),
  forwardAuth,
  errors,
  chain,
});

export function convertMiddleware(ctx: ConvertContext, obj: K8sObject): void {
  const spec = ctx.get(obj, ['spec']);
  const id = makeId(obj.namespace, obj.name);
  if (!isRecord(spec) || Object.keys(spec).length === 0) {
    ctx.error(
      obj,
      ['spec'],
      `Middleware not created ("${id}"): expected spec with one middleware type, e.g. headers, basicAuth, stripPrefix`,
    );
    return;
  }
  if (spec.plugin !== undefined) {
    ctx.warn(obj, ['spec', 'plugin'], `Middleware not created ("${id}"): Traefik plugins are not supported by Gatehouse`);
    return;
  }
  const out: Record<string, unknown> = {};
  try {
    for (const [type, value] of Object.entries(spec)) {
      const convert = CONVERTERS[type];
      out[type] = convert !== undefined && isRecord(value) ? convert(ctx, obj, id, value, ['spec', type]) : value;
    }
  } catch (e) {
    if (!(e instanceof ConvertFailure)) throw e;
    ctx.error(obj, e.path, `Middleware not created ("${id}"): ${e.message}`, e.code);
    return;
  }
  ctx.fragment.middlewares[id] = { value: structuredClone(out), source: ctx.loc(obj, ['spec']) };
}
