/** `failover`: the fallback answers while the main service has no healthy server (`buildFailover`). */
import { FailoverSchema } from '../../config/schema.js';
import { buildFailover } from '../composite.js';
import { defineService } from '../types.js';

export const failover = defineService({
  kind: 'failover',
  key: 'failover',
  schema: FailoverSchema,
  references: (c) => [
    { kind: 'service', name: c.service, field: 'service' },
    { kind: 'service', name: c.fallback, field: 'fallback' },
  ],
  build: (c, deps) => buildFailover(deps.service(c.service), deps.service(c.fallback)),
});
