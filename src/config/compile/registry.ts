/**
 * What the compiler needs from a registry of kinds (middleware types, service
 * kinds). Declared here, where it is used, so that `src/config/` imports
 * neither `src/middlewares/` nor `src/services/`: the caller passes the
 * registries in (Traefik's habit, `pkg/server/router/router.go:32-40`).
 */
import type { TSchema } from '@sinclair/typebox';

/** What a reference points at. */
export type ReferenceKind = 'service' | 'middleware' | 'serversTransport';

/** A name that an item's configuration points to, as written (`svc`, `svc@other`). */
export interface Reference {
  readonly kind: ReferenceKind;
  readonly name: string;
  /** Field path inside the options, e.g. `middlewares[0]` or `service`. */
  readonly field: string;
}

/** One problem found in a value. `critical` defaults to true (the item is disabled; false: a warning). */
export interface Problem {
  /** Dotted path inside the value ('' for the value itself). */
  readonly path: string;
  readonly message: string;
  readonly critical?: boolean;
}

/**
 * A registry of kinds, keyed by the configuration key (`headers`,
 * `loadBalancer`, …). `D` is the registry's own definition type: the
 * compiler only hands back what `get` returned.
 */
export interface KindRegistry<D, T extends string = string> {
  /** The definition for a configuration key, or undefined when there is none. */
  get(key: string): D | undefined;
  /** The known configuration keys, for "did you mean" hints. */
  types(): readonly string[];
  /** The type recorded in the snapshot (`RuntimeMiddleware.type`, `RuntimeService.type`). */
  typeOf(def: D): T;
  /** The options schema, whose spelling field names take when a fragment matches them case-insensitively. */
  schemaOf?(def: D): TSchema | undefined;
  /** Shape problems (the TypeBox schema), formatted by `schemaProblems`. */
  validate(def: D, value: unknown): Problem[];
  /** Meaning problems, asked only when `validate` found none (an unsupported URL scheme, an empty list). */
  check?(def: D, value: unknown): Problem[];
  /** The references the options hold, asked only when `validate` found none. */
  references(def: D, value: unknown): Reference[];
}
