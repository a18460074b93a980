/**
 * Services made of services: weighted (smooth WRR over child services,
 * skipping unhealthy ones), mirroring (the main service answers; a copy of the
 * request goes to each mirror for `percent` of requests, its answer discarded),
 * failover (the fallback answers while the main service has no healthy server).
 */
import { Writable } from 'node:stream';
import type { MirroringConfig, WeightedConfig } from '../config/schema.js';
import { RequestContext } from '../http/exchange.js';
import { answer } from '../http/answers.js';
import type { Handler } from '../http/handler.js';
import type { ResponseWriter } from '../http/response-writer.js';

export interface ChildService {
  handler: Handler;
  healthy(): boolean;
}

export function buildWeighted(cfg: WeightedConfig, children: readonly ChildService[]): ChildService {
  const entries = cfg.services.map((s, i) => ({ child: children[i]!, weight: s.weight ?? 1, current: 0 }));
  const handler: Handler = (ctx) => {
    let best: (typeof entries)[number] | null = null;
    let total = 0;
    for (const e of entries) {
      if (e.weight <= 0 || !e.child.healthy()) continue;
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
  return { handler, healthy: () => entries.some((e) => e.weight > 0 && e.child.healthy()) };
}

export function buildFailover(main: ChildService, fallback: ChildService): ChildService {
  return {
    handler: (ctx) => (main.healthy() ? main.handler(ctx) : fallback.handler(ctx)),
    healthy: () => main.healthy() || fallback.healthy(),
  };
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
    const b = ctx.body;
    if (b === null || Buffer.isBuffer(b)) {
      run(b);
      return;
    }
    // Buffer the body so both the main service and the mirrors get it.
    const chunks: Buffer[] = [];
    let size = 0;
    let tooBig = false;
    b.pipe(
      new Writable({
        write(chunk: Buffer, _e, cb) {
          size += chunk.length;
          if (maxBody >= 0 && size > maxBody) tooBig = true;
          else chunks.push(chunk);
          cb();
        },
        final(cb) {
          cb();
          if (tooBig) answer(ctx, 'GH_BODY_TOO_LARGE');
          else run(Buffer.concat(chunks));
        },
      }),
    );
  };
  return { handler, healthy: () => main.healthy() };
}
