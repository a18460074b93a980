/**
 * Services made of services: weighted (smooth WRR over child services),
 * highestRandomWeight (the child with the highest score for the client's IP),
 * mirroring (the main service answers; a copy of the request goes to each
 * mirror for `percent` of requests, its answer discarded), failover (the
 * fallback answers while the main service is down, or instead of a main
 * answer whose status is listed in `errors.status`).
 *
 * Health follows Traefik's propagation rule: a parent follows its children's
 * health only when it has `healthCheck` itself (the compiler checks that each
 * child then reports health: a load balancer with `healthCheck`, or a service
 * made of services with `healthCheck`). Without it, weighted and
 * highestRandomWeight send to every child by weight, and a child with no
 * healthy server answers 503 itself. A failover always follows its main
 * service's health, and its fallback's only with `healthCheck`.
 */
import { Writable } from 'node:stream';
import type { OutgoingHttpHeaders } from 'node:http';
import type { FailoverConfig, HighestRandomWeightConfig, MirroringConfig, WeightedConfig } from '../config/schema.js';
import { RequestContext } from '../http/exchange.js';
import { answer } from '../http/answers.js';
import type { Handler } from '../http/handler.js';
import type { ResponseWriter } from '../http/response-writer.js';
import { hrwScore } from './hrw.js';

export interface ChildService {
  handler: Handler;
  /** Whether the service can answer (some server up); meaningful to a parent only when `reportsHealth`. */
  healthy(): boolean;
  /** Whether a parent may follow this service's health (Traefik: it has `healthCheck`). */
  readonly reportsHealth?: boolean;
}

export function buildWeighted(cfg: WeightedConfig, children: readonly ChildService[]): ChildService {
  const follow = cfg.healthCheck !== undefined;
  const entries = cfg.services.map((s, i) => ({ child: children[i]!, weight: s.weight ?? 1, current: 0 }));
  const handler: Handler = (ctx) => {
    let best: (typeof entries)[number] | null = null;
    let total = 0;
    for (const e of entries) {
      if (e.weight <= 0 || (follow && !e.child.healthy())) continue;
      e.current += e.weight;
      total += e.weight;
      if (best === null || e.current > best.current) best = e;
    }
    if (best === null) {
      answer(ctx, 'GH_NO_HEALTHY_SERVER');
      return;
    }
    best.current -= total;
    best.child.handler(ctx);
  };
  return { handler, healthy: () => entries.some((e) => e.weight > 0 && e.child.healthy()), reportsHealth: follow };
}

/** highestRandomWeight: each child scored by its name as written and the client's IP (Traefik's RemoteAddr). */
export function buildHighestRandomWeight(cfg: HighestRandomWeightConfig, children: readonly ChildService[]): ChildService {
  const follow = cfg.healthCheck !== undefined;
  const entries = cfg.services.map((s, i) => ({ name: s.name, child: children[i]!, weight: s.weight ?? 1 })).filter((e) => e.weight > 0);
  const handler: Handler = (ctx) => {
    let best: (typeof entries)[number] | null = null;
    let bestScore = 0;
    for (const e of entries) {
      if (follow && !e.child.healthy()) continue;
      const score = hrwScore(ctx.remoteIp, e.name, e.weight);
      if (score > bestScore) {
        best = e;
        bestScore = score;
      }
    }
    if (best === null) {
      answer(ctx, 'GH_NO_HEALTHY_SERVER');
      return;
    }
    best.child.handler(ctx);
  };
  return { handler, healthy: () => entries.some((e) => e.child.healthy()), reportsHealth: follow };
}

export function buildFailover(cfg: FailoverConfig, main: ChildService, fallback: ChildService): ChildService {
  const followFallback = cfg.healthCheck !== undefined;
  const fallbackUp = (): boolean => !followFallback || fallback.healthy();
  const toFallback: Handler = (ctx) => (fallbackUp() ? fallback.handler(ctx) : answer(ctx, 'GH_NO_HEALTHY_SERVER'));
  const ranges = cfg.errors?.status !== undefined && cfg.errors.status.length > 0 ? parseStatusRanges(cfg.errors.status) : null;
  const maxBody = cfg.errors?.maxRequestBodyBytes ?? -1;
  const handler: Handler =
    ranges === null
      ? (ctx) => (main.healthy() ? main.handler(ctx) : toFallback(ctx))
      : (ctx) => {
          if (!main.healthy()) {
            toFallback(ctx);
            return;
          }
          // The request may go twice: keep its body.
          bufferBody(ctx, maxBody, (body) => {
            if (body === TOO_LARGE) {
              answer(ctx, 'GH_BODY_TOO_LARGE');
              return;
            }
            const rw = ctx.rw;
            const method = ctx.method;
            const path = ctx.path;
            const query = ctx.query;
            const headers = { ...ctx.headers };
            ctx.body = body;
            ctx.rw = new StatusDivert(rw, ranges, () => {
              // The main answer is discarded: the same request goes to the fallback.
              ctx.rw = rw;
              ctx.method = method;
              ctx.path = path;
              ctx.query = query;
              ctx.headers = headers;
              ctx.body = body;
              ctx.status = 0;
              ctx.originStatus = 0;
              ctx.originReason = '';
              ctx.code = null;
              ctx.upstreamError = null;
              toFallback(ctx);
            });
            main.handler(ctx);
          });
        };
  return {
    handler,
    healthy: () => main.healthy() || (followFallback && fallback.healthy()),
    reportsHealth: followFallback,
  };
}

/** Traefik's status lists: "500", "500-504", "404,418" (inclusive ranges). Throws on a malformed entry. */
export function parseStatusRanges(entries: readonly string[]): ReadonlyArray<readonly [number, number]> {
  const out: Array<[number, number]> = [];
  for (const entry of entries)
    for (const part of entry.split(',')) {
      const m = /^(\d{3})(?:-(\d{3}))?$/.exec(part.trim());
      if (m === null) throw new Error(`"${part.trim()}" is not a status code or a range like "500-504"`);
      const lo = Number(m[1]);
      const hi = m[2] === undefined ? lo : Number(m[2]);
      if (lo < 100 || hi > 599 || hi < lo) throw new Error(`"${part.trim()}" is not a valid status range (100-599, low-high)`);
      out.push([lo, hi]);
    }
  return out;
}

const TOO_LARGE = Symbol('too large');

/** The request body as one Buffer (null: none), or TOO_LARGE past `max` bytes (-1: no limit). */
function bufferBody(ctx: RequestContext, max: number, cb: (body: Buffer | null | typeof TOO_LARGE) => void): void {
  const b = ctx.body;
  if (b === null || Buffer.isBuffer(b)) {
    cb(b !== null && max >= 0 && b.length > max ? TOO_LARGE : b);
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let tooBig = false;
  b.pipe(
    new Writable({
      write(chunk: Buffer, _e, next) {
        size += chunk.length;
        if (max >= 0 && size > max) tooBig = true;
        else chunks.push(chunk);
        next();
      },
      final(next) {
        next();
        cb(tooBig ? TOO_LARGE : Buffer.concat(chunks));
      },
    }),
  );
}

/** Passes the main service's answer through, unless its status is listed: then it is swallowed and `divert` runs at its end. */
class StatusDivert implements ResponseWriter {
  headersSent = false;
  private diverted = false;
  private ended = false;
  constructor(
    private readonly inner: ResponseWriter,
    private readonly ranges: ReadonlyArray<readonly [number, number]>,
    private readonly divert: () => void,
  ) {}
  writeHead(status: number, headers: OutgoingHttpHeaders): void {
    this.headersSent = true;
    this.diverted = this.ranges.some(([lo, hi]) => status >= lo && status <= hi);
    if (!this.diverted) this.inner.writeHead(status, headers);
  }
  write(chunk: Buffer): boolean {
    return this.diverted ? true : this.inner.write(chunk);
  }
  end(chunk?: Buffer | string): void {
    if (this.ended) return;
    this.ended = true;
    if (this.diverted) this.divert();
    else this.inner.end(chunk);
  }
  onDrain(cb: () => void): void {
    if (this.diverted) setImmediate(cb);
    else this.inner.onDrain(cb);
  }
  destroy(err?: Error): void {
    if (this.diverted) {
      if (this.ended) return;
      // The main answer broke after its head: the fallback answers anyway.
      this.ended = true;
      this.divert();
    } else this.inner.destroy(err);
  }
  addTrailers(trailers: OutgoingHttpHeaders): void {
    if (!this.diverted) this.inner.addTrailers(trailers);
  }
}

/** A writer that discards the mirror's answer. */
class DiscardWriter implements ResponseWriter {
  headersSent = false;
  writeHead(): void {
    this.headersSent = true;
  }
  write(): boolean {
    return true;
  }
  end(): void {}
  onDrain(cb: () => void): void {
    setImmediate(cb);
  }
  destroy(): void {}
  addTrailers(): void {}
}

export function buildMirroring(cfg: MirroringConfig, main: ChildService, mirrors: readonly ChildService[]): ChildService {
  const maxBody = cfg.maxBodySize ?? -1;
  const mirrorBody = cfg.mirrorBody ?? true;
  const plan = (cfg.mirrors ?? []).map((m, i) => ({ child: mirrors[i]!, percent: m.percent ?? 0, count: 0 }));
  let total = 0;
  const handler: Handler = (ctx) => {
    total++;
    const chosen = plan.filter((p) => p.percent > 0 && (p.count * 100) / total < p.percent);
    if (chosen.length === 0) {
      main.handler(ctx);
      return;
    }
    const run = (body: Buffer | null): void => {
      for (const p of chosen) {
        p.count++;
        const copy = new RequestContext(ctx.req, new DiscardWriter(), {
          entryPoint: ctx.entryPoint,
          scheme: ctx.scheme,
          remoteIp: ctx.remoteIp,
          clientIp: ctx.clientIp,
          host: ctx.host,
          path: ctx.path,
          query: ctx.query,
          start: ctx.start,
        });
        copy.method = ctx.method;
        copy.headers = { ...ctx.headers };
        copy.body = mirrorBody ? body : null;
        if (!mirrorBody) delete copy.headers['content-length'];
        try {
          p.child.handler(copy);
        } catch {
          /* a mirror never affects the main answer */
        }
      }
      ctx.body = body;
      main.handler(ctx);
    };
    // Buffer the body so both the main service and the mirrors get it (a body already in memory is not capped again).
    bufferBody(ctx, Buffer.isBuffer(ctx.body) ? -1 : maxBody, (body) => {
      if (body === TOO_LARGE) answer(ctx, 'GH_BODY_TOO_LARGE');
      else run(body);
    });
  };
  return { handler, healthy: () => main.healthy(), reportsHealth: cfg.healthCheck !== undefined };
}
