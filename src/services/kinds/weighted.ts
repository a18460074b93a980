/** `weighted`: smooth WRR over child services (`buildWeighted`). */
import { WeightedSchema } from '../../config/schema.js';
import { buildWeighted } from '../composite.js';
import { defineService } from '../types.js';

export const weighted = defineService({
  kind: 'weighted',
  key: 'weighted',
  schema: WeightedSchema,
  references: (c) => c.services.map((s, i) => ({ kind: 'service' as const, name: s.name, field: `services[${i}].name` })),
  build: (c, deps) =>
    buildWeighted(
      c,
      c.services.map((s) => deps.service(s.name)),
    ),
});
