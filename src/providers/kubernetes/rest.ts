/**
 * A small JSON client for the few writes the provider makes (the /status
 * subresource, Leases, Events), on the same KubeConfig as the informers
 * (server, CA, token): plain HTTP verbs and paths, so a 409 Conflict or a
 * 404 is a status code to switch on, not an exception to parse.
 */
import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

export interface RestResponse {
  status: number;
  /** The parsed JSON body (null when there is none or it is not JSON). */
  body: Record<string, unknown> | null;
}

export type RestCall = (
  method: 'GET' | 'POST' | 'PUT' | 'PATCH',
  path: string,
  body?: unknown,
  contentType?: string,
) => Promise<RestResponse>;

const TIMEOUT_MS = 10_000;
const MAX_BODY = 4 * 1024 * 1024;

/** A RestCall against the KubeConfig's current cluster; `userAgent` names the caller (its holder identity). */
export function restClient(kc: KubeConfig, userAgent: string): RestCall {
  const server = kc.getCurrentCluster()?.server ?? '';
  return async (method, path, body, contentType = 'application/json') => {
    const url = new URL(path, server);
    const text = body === undefined ? undefined : JSON.stringify(body);
    const opts: RequestOptions & Record<string, unknown> = {
      method,
      headers: {
        accept: 'application/json',
        'user-agent': userAgent,
        ...(text !== undefined ? { 'content-type': contentType, 'content-length': Buffer.byteLength(text) } : {}),
      },
      timeout: TIMEOUT_MS,
    };
    await kc.applyToHTTPSOptions(opts);
    const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
    if (url.protocol === 'http:') delete opts.agent;
    return new Promise<RestResponse>((resolve, reject) => {
      const req = send(url, opts, (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let n = 0;
        res.on('data', (c: Buffer) => {
          n += c.length;
          if (n > MAX_BODY) req.destroy(new Error(`answer of ${method} ${url.pathname} larger than ${MAX_BODY} bytes`));
          else chunks.push(c);
        });
        res.on('end', () => {
          let parsed: Record<string, unknown> | null = null;
          try {
            parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
          } catch {
            parsed = null;
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${url.pathname}: no answer within ${TIMEOUT_MS} ms`)));
      req.on('error', reject);
      req.end(text);
    });
  };
}

/** The message of a Kubernetes Status body (or the HTTP status). */
export function statusMessage(r: RestResponse): string {
  const m = r.body?.message;
  return typeof m === 'string' ? `${r.status}: ${m}` : `HTTP ${r.status}`;
}
