/** `highestRandomWeight` (Traefik v3): the child service with the highest score for the client's IP (`buildHighestRandomWeight`). */
import { HighestRandomWeightSchema } from '../../config/schema.js';
import { buildHighestRandomWeight } from '../composite.js';
import { defineService } from '../types.js';

export const highestRandomWeight = defineService({
  kind: 'highestrandomweight',
  key: 'highestRandomWeight',
  schema: HighestRandomWeightSchema,
  references: (c) => c.services.map((s, i) => ({ kind: 'service' as const, name: s.name, field: `services[${i}].name` })),
  build: (c, deps) =>
    buildHighestRandomWeight(
      c,
      c.services.map((s) => deps.service(s.name)),
    ),
});
