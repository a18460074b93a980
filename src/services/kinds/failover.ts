/**
 * `failover`: the fallback answers while the main service is down, and, with
 * `errors.status` (Traefik v3), instead of a main answer with a listed status
 * (the request body is kept, up to `errors.maxRequestBodyBytes`, to send it again).
 */
import { FailoverSchema } from '../../config/schema.js';
import { buildFailover, parseStatusRanges } from '../composite.js';
import { defineService, type Problem } from '../types.js';

export const failover = defineService({
  kind: 'failover',
  key: 'failover',
  schema: FailoverSchema,
  references: (c) => [
    { kind: 'service', name: c.service, field: 'service' },
    { kind: 'service', name: c.fallback, field: 'fallback' },
  ],
  validate(c) {
    const out: Problem[] = [];
    try {
      parseStatusRanges(c.errors?.status ?? []);
    } catch (err) {
      out.push({ path: 'errors.status', message: (err as Error).message });
    }
    return out;
  },
  build: (c, deps) => buildFailover(c, deps.service(c.service), deps.service(c.fallback)),
});
