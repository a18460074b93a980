/**
 * Internal services (`api@internal`, `ping@internal`, …): created by the
 * compiler for the ones the static configuration enables, never configured
 * (no `key`); built from the handlers the composition root provides.
 */
import { defineService } from '../types.js';

export const internal = defineService({
  kind: 'internal',
  references: () => [],
  build(_c, deps) {
    const h = deps.internal(deps.name);
    if (h === undefined) throw new Error(`the internal service "${deps.name}" is not enabled`);
    const name = deps.name;
    return {
      handler: (ctx) => {
        ctx.serviceName = name;
        h(ctx);
      },
      healthy: () => true,
    };
  },
});
