/**
 * The HTTP side of the stand-in: bearer-token authentication, discovery,
 * CRUD on resources and the /status subresource, patches, and watches
 * (chunked JSON lines, BOOKMARK, 410 Gone, timeoutSeconds), written from the
 * Kubernetes API conventions (https://kubernetes.io/docs/reference/using-api/api-concepts/).
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { apiResourceList, apiVersionOf, findResource, groups, RESOURCES, type ResourceType } from './resources.js';
import { ApiError, notFound, Store, type Obj, type StoreEvent } from './store.js';
import { parseFieldSelector, parseLabelSelector, SelectorError } from './selectors.js';
import { jsonPatch, mergePatch, PatchError, strategicMergePatch } from './patch.js';
import type { AdmissionWebhooks } from './admission.js';
import { validateWebhookConfiguration, VWC } from './webhook-config.js';

export interface HandlerOptions {
  store: Store;
  /** The bearer token accepted now (a function: the test may rotate it). */
  token: string | (() => string);
  /** How often a watch with allowWatchBookmarks=true gets a BOOKMARK. */
  bookmarkMs: number;
  /** Every request, for tests ("METHOD path?query"). */
  requests: string[];
  /** The User-Agent of every request, at the same index as `requests` (who wrote what). */
  userAgents?: string[];
  /** Open watch responses, ended when the server stops. */
  watches: Set<ServerResponse>;
  /** Validating admission webhooks called on create/update (admission.ts). */
  admission?: AdmissionWebhooks;
  /** The resources served (default RESOURCES): a cluster without a CRD answers 404 for its kind. */
  resources?: readonly ResourceType[];
}

const NAMESPACE = findResource('', 'v1', 'namespaces')!;
const MAX_BODY = 3 * 1024 * 1024;

function status(code: number, reason: string, message: string, details?: Record<string, unknown>): Obj {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    ...(details !== undefined ? { details } : {}),
    code,
  };
}

function send(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

function authorised(req: IncomingMessage, token: string): boolean {
  const h = req.headers.authorization ?? '';
  const m = /^Bearer (.+)$/.exec(h);
  return m !== null && timingSafeEqual(digest(m[1]!), digest(token));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > MAX_BODY) throw new ApiError(413, 'RequestEntityTooLarge', 'request entity too large');
    chunks.push(c);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ApiError(400, 'BadRequest', `the body of the request was in an unknown format: ${(err as Error).message}`);
  }
}

interface Target {
  resource: ResourceType;
  namespace: string | null;
  name: string | null;
  sub: 'status' | null;
}

/** `/api/v1/...` or `/apis/<g>/<v>/...` → the resource it names, or null. */
function route(path: string[], table: readonly ResourceType[]): Target | null {
  let group: string;
  let version: string;
  let rest: string[];
  if (path[0] === 'api' && path.length >= 3) [group, version, rest] = ['', path[1]!, path.slice(2)];
  else if (path[0] === 'apis' && path.length >= 4) [group, version, rest] = [path[1]!, path[2]!, path.slice(3)];
  else return null;
  let namespace: string | null = null;
  if (rest[0] === 'namespaces' && rest.length >= 3 && !(group === '' && rest.length === 3 && rest[2] === 'status')) {
    namespace = rest[1]!;
    rest = rest.slice(2);
  }
  const resource = findResource(group, version, rest[0]!, table);
  if (resource === undefined || rest.length > 3) return null;
  if (resource.namespaced === false && namespace !== null) return null;
  const sub = rest[2] === undefined ? null : rest[2] === 'status' && resource.status ? 'status' : undefined;
  if (sub === undefined) return null;
  return { resource, namespace, name: rest[1] ?? null, sub };
}

function labelsOf(o: Obj): Record<string, string> {
  const m = (o.metadata ?? {}) as Obj;
  return (typeof m.labels === 'object' && m.labels !== null ? m.labels : {}) as Record<string, string>;
}

/** A list item as the real server writes it: built-in kinds without apiVersion/kind. */
function asItem(r: ResourceType, o: Obj): Obj {
  if (r.custom) return o;
  const { apiVersion: _a, kind: _k, ...rest } = o;
  return rest;
}

export function makeHandler(opts: HandlerOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const { store } = opts;
  const table = opts.resources ?? RESOURCES;
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'https://localhost');
    opts.requests.push(`${req.method ?? ''} ${url.pathname}${url.search}`);
    opts.userAgents?.push(req.headers['user-agent'] ?? '');
    handle(req, res, url).catch((err: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (err instanceof ApiError) send(res, err.code, status(err.code, err.reason, err.message, err.details));
      else if (err instanceof SelectorError) send(res, 400, status(400, 'BadRequest', err.message));
      else if (err instanceof PatchError) send(res, 422, status(422, 'Invalid', err.message));
      else send(res, 500, status(500, 'InternalError', String(err)));
    });
  };

  async function handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (!authorised(req, typeof opts.token === 'function' ? opts.token() : opts.token)) {
      send(res, 401, status(401, 'Unauthorized', 'Unauthorized'));
      return;
    }
    const path = url.pathname.split('/').filter((s) => s !== '');
    const method = req.method ?? 'GET';
    if ((req.headers['content-type'] ?? '').includes('protobuf'))
      throw new ApiError(
        415,
        'UnsupportedMediaType',
        'the stand-in speaks JSON only (application/vnd.kubernetes.protobuf is not supported)',
      );
    // Discovery.
    if (method === 'GET') {
      const p = url.pathname.replace(/\/$/, '');
      if (p === '/version')
        return send(res, 200, { major: '1', minor: '32', gitVersion: 'v1.32.0-gatehouse-standin', platform: 'linux/amd64' });
      if (p === '/api') return send(res, 200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] });
      if (p === '/api/v1') return send(res, 200, apiResourceList('', 'v1', table));
      if (p === '/apis')
        return send(res, 200, { kind: 'APIGroupList', apiVersion: 'v1', groups: [...groups(table)].map(([g, v]) => apiGroup(g, v)) });
      if (path[0] === 'apis' && path.length === 2) {
        const v = groups(table).get(path[1]!);
        if (v !== undefined) return send(res, 200, { kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(path[1]!, v) });
      }
      if (path[0] === 'apis' && path.length === 3 && groups(table).get(path[1]!)?.includes(path[2]!) === true)
        return send(res, 200, apiResourceList(path[1]!, path[2]!, table));
    }
    const t = route(path, table);
    if (t === null) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    const ns = t.resource.namespaced ? (t.namespace ?? null) : '';
    if (t.resource.namespaced && ns !== null && method !== 'GET' && method !== 'DELETE' && !store.has(NAMESPACE, '', ns))
      throw new ApiError(404, 'NotFound', `namespaces "${ns}" not found`, { name: ns, kind: 'namespaces' });

    if (t.name === null) {
      if (method === 'GET') {
        const labels = parseLabelSelector(url.searchParams.get('labelSelector'));
        const fields = parseFieldSelector(url.searchParams.get('fieldSelector'));
        const match = (o: Obj): boolean => labels(labelsOf(o)) && fields(o);
        const watch = url.searchParams.get('watch');
        if (watch === 'true' || watch === '1') return startWatch(req, res, url, t.resource, ns, match);
        const items = store
          .list(t.resource, t.resource.namespaced ? ns : null)
          .filter(match)
          .map((o) => asItem(t.resource, o));
        return send(res, 200, {
          kind: `${t.resource.kind}List`,
          apiVersion: apiVersionOf(t.resource),
          metadata: { resourceVersion: String(store.resourceVersion) },
          items,
        });
      }
      if (method === 'POST') {
        if (ns === null) throw new ApiError(405, 'MethodNotAllowed', 'create needs a namespace in the path');
        const body = parseJson(await readBody(req)) as Obj;
        checkKind(t.resource, body);
        const m = (body.metadata ?? {}) as Obj;
        if (t.resource.namespaced && m.namespace !== undefined && m.namespace !== ns)
          throw new ApiError(400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request');
        validate(t.resource, body);
        await opts.admission?.review('CREATE', t.resource, ns, body, null);
        if (dryRun(url)) return send(res, 201, body);
        return send(res, 201, store.create(t.resource, ns, body));
      }
      throw new ApiError(405, 'MethodNotAllowed', `${method} is not supported on a collection here`);
    }
    const nsKey = ns ?? '';
    switch (method) {
      case 'GET':
        return send(res, 200, store.get(t.resource, nsKey, t.name));
      case 'PUT': {
        const body = parseJson(await readBody(req)) as Obj;
        checkKind(t.resource, body);
        validate(t.resource, body);
        if (t.sub !== 'status') await opts.admission?.review('UPDATE', t.resource, nsKey, body, store.get(t.resource, nsKey, t.name));
        if (dryRun(url)) return send(res, 200, body);
        return send(res, 200, store.update(t.resource, nsKey, t.name, body, t.sub === 'status'));
      }
      case 'PATCH': {
        const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
        const patch = parseJson(await readBody(req));
        const current = store.get(t.resource, nsKey, t.name);
        let next: unknown;
        if (type === 'application/merge-patch+json') next = mergePatch(current, patch);
        else if (type === 'application/json-patch+json') next = jsonPatch(current, patch);
        else if (type === 'application/strategic-merge-patch+json') {
          if (t.resource.custom)
            throw new ApiError(
              415,
              'UnsupportedMediaType',
              `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`,
            );
          next = strategicMergePatch(current, patch);
        } else
          throw new ApiError(
            415,
            'UnsupportedMediaType',
            `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json${t.resource.custom ? '' : ', application/strategic-merge-patch+json'}`,
          );
        const obj = next as Obj;
        validate(t.resource, obj);
        if (t.sub !== 'status') await opts.admission?.review('UPDATE', t.resource, nsKey, obj, current);
        // The patch applies to the version read here, whatever it says about resourceVersion (unless it sets one).
        if (dryRun(url)) return send(res, 200, obj);
        return send(res, 200, store.update(t.resource, nsKey, t.name, obj, t.sub === 'status'));
      }
      case 'DELETE': {
        if (dryRun(url)) return send(res, 200, store.get(t.resource, nsKey, t.name));
        const gone = store.delete(t.resource, nsKey, t.name);
        if (t.resource === NAMESPACE)
          for (const r of table)
            if (r.namespaced) for (const o of store.list(r, t.name)) store.delete(r, t.name, String((o.metadata as Obj).name));
        return send(res, 200, gone);
      }
      default:
        throw new ApiError(405, 'MethodNotAllowed', `${method} is not supported`);
    }
  }

  function startWatch(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    r: ResourceType,
    ns: string | null,
    match: (o: Obj) => boolean,
  ): void {
    const rvParam = url.searchParams.get('resourceVersion') ?? '';
    const bookmarks = url.searchParams.get('allowWatchBookmarks') === 'true';
    const timeout = Number(url.searchParams.get('timeoutSeconds') ?? '0');
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked', 'cache-control': 'no-cache' });
    res.flushHeaders();
    opts.watches.add(res);
    const write = (type: string, object: Obj): void => {
      if (!res.writableEnded) res.write(`${JSON.stringify({ type, object })}\n`);
    };
    const inScope = (o: Obj): boolean => ns === null || (o.metadata as Obj).namespace === ns || !r.namespaced;
    let last = store.resourceVersion;
    const onEvent = (e: StoreEvent): void => {
      if (e.resource !== r || !inScope(e.object)) return;
      last = e.rv;
      const now = e.type !== 'DELETED' && match(e.object);
      const before = e.previous !== null && match(e.previous);
      if (e.type === 'ADDED' && now) write('ADDED', e.object);
      else if (e.type === 'MODIFIED' && now) write(before ? 'MODIFIED' : 'ADDED', e.object);
      else if (e.type === 'MODIFIED' && before) write('DELETED', e.object);
      else if (e.type === 'DELETED' && before) write('DELETED', e.object);
    };
    let stop: () => void = () => undefined;
    const timers: NodeJS.Timeout[] = [];
    const end = (): void => {
      stop();
      for (const t of timers) clearTimeout(t);
      opts.watches.delete(res);
      if (!res.writableEnded) res.end();
    };
    res.on('close', end);
    if (rvParam === '' || rvParam === '0') {
      // "Start at most recent": synthetic ADDED for every object, then changes.
      for (const o of store.list(r, ns)) if (match(o)) write('ADDED', o);
      stop = store.watch(store.resourceVersion, onEvent);
    } else {
      const from = Number(rvParam);
      if (!Number.isInteger(from) || from < 0) {
        write('ERROR', status(400, 'BadRequest', `invalid resource version "${rvParam}"`));
        return end();
      }
      try {
        stop = store.watch(from, onEvent);
      } catch (err) {
        if (err instanceof ApiError && err.code === 410) {
          write('ERROR', status(410, 'Expired', err.message));
          return end();
        }
        throw err;
      }
    }
    if (bookmarks)
      timers.push(
        setInterval(() => {
          write('BOOKMARK', {
            kind: r.kind,
            apiVersion: apiVersionOf(r),
            metadata: { resourceVersion: String(Math.max(last, store.resourceVersion)) },
          });
        }, opts.bookmarkMs),
      );
    if (timeout > 0) timers.push(setTimeout(end, timeout * 1000));
    req.socket.setTimeout(0);
  }
}

function apiGroup(name: string, versions: string[]): Obj {
  const vs = versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v }));
  return { name, versions: vs, preferredVersion: vs[0] };
}

function checkKind(r: ResourceType, body: Obj): void {
  if (typeof body !== 'object' || body === null) throw new ApiError(400, 'BadRequest', 'the body must be an object');
  if (body.kind !== undefined && body.kind !== r.kind)
    throw new ApiError(400, 'BadRequest', `the kind of the object (${String(body.kind)}) does not match the resource (${r.kind})`);
  if (body.apiVersion !== undefined && body.apiVersion !== apiVersionOf(r))
    throw new ApiError(
      400,
      'BadRequest',
      `the apiVersion of the object (${String(body.apiVersion)}) does not match the resource (${apiVersionOf(r)})`,
    );
}

/** The API server's validation of built-in kinds, where the stand-in has one (before validating admission, as there). */
function validate(r: ResourceType, body: Obj): void {
  if (r === VWC) validateWebhookConfiguration(body);
}

function dryRun(url: URL): boolean {
  return url.searchParams.get('dryRun') === 'All';
}

export { notFound };
