/** Traefik's list endpoints' query, shared by /api/http/* and /api/tcp/*. */
import { sendJson } from '../http/answers.js';
import type { RequestContext } from '../http/exchange.js';

/** Traefik's list query: ?search=&status=&page=&per_page= (X-Next-Page header). */
export function list(ctx: RequestContext, items: Array<Record<string, unknown>>): void {
  const q = new URLSearchParams(ctx.query);
  const search = (q.get('search') ?? '').toLowerCase();
  const status = q.get('status') ?? '';
  const page = Math.max(1, Number(q.get('page') ?? '1') || 1);
  const per = Math.max(1, Math.min(1000, Number(q.get('per_page') ?? '100') || 100));
  let out = items.sort((a, b) => String(a.name).localeCompare(String(b.name)));
  if (search !== '')
    out = out.filter(
      (i) =>
        String(i.name).toLowerCase().includes(search) ||
        String(i.rule ?? '')
          .toLowerCase()
          .includes(search),
    );
  if (status !== '') out = out.filter((i) => i.status === status);
  const start = (page - 1) * per;
  const next = start + per < out.length ? String(page + 1) : '1';
  sendJson(ctx, 200, out.slice(start, start + per), { 'x-next-page': next });
}
