/** `mirroring`: the main service answers, mirrors get copies (`buildMirroring`). */
import { MirroringSchema } from '../../config/schema.js';
import { buildMirroring } from '../composite.js';
import { defineService, type Reference } from '../types.js';

export const mirroring = defineService({
  kind: 'mirroring',
  key: 'mirroring',
  schema: MirroringSchema,
  references: (c) => [
    { kind: 'service', name: c.service, field: 'service' },
    ...(c.mirrors ?? []).map((m, i): Reference => ({ kind: 'service', name: m.name, field: `mirrors[${i}].name` })),
  ],
  build: (c, deps) =>
    buildMirroring(
      c,
      deps.service(c.service),
      (c.mirrors ?? []).map((m) => deps.service(m.name)),
    ),
});
