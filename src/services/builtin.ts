/** Every service kind Gatehouse ships. */
import type { TSchema } from '@sinclair/typebox';
import { ServiceRegistry } from './registry.js';
import type { ServiceDefinition } from './types.js';
import { failover } from './kinds/failover.js';
import { highestRandomWeight } from './kinds/highest-random-weight.js';
import { internal } from './kinds/internal.js';
import { loadBalancer } from './kinds/load-balancer.js';
import { mirroring } from './kinds/mirroring.js';
import { weighted } from './kinds/weighted.js';

/** In Traefik's order: error messages list the configuration keys in it. */
export const BUILTIN_SERVICES: readonly ServiceDefinition<TSchema>[] = [
  loadBalancer,
  weighted,
  highestRandomWeight,
  mirroring,
  failover,
  internal,
] as unknown as readonly ServiceDefinition<TSchema>[];

let shared: ServiceRegistry | null = null;

export function builtinServices(): ServiceRegistry {
  shared ??= new ServiceRegistry(BUILTIN_SERVICES);
  return shared;
}
