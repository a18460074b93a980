/**
 * Where the demo workload's protobuf contract lives and how it is loaded.
 *
 * `proto/add.proto` sits at the repository root (beside package.json), so the
 * same walk-up finds it from `src/demo/` (tsx) and from `dist/src/demo/` (tsc).
 * The standard health service (grpc.health.v1) is declared here as a JSON
 * descriptor, so it needs no extra package.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { GatehouseError } from '../errors.js';

/** Fully-qualified name of the calculator service. */
export const CALCULATOR_SERVICE = 'calculator.Calculator';
/** Fully-qualified name of the standard health service. */
export const HEALTH_SERVICE = 'grpc.health.v1.Health';

/** Options shared by every loader call: field names as written, defaults filled in. */
export const LOADER_OPTIONS: protoLoader.Options = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };

/** The nearest directory at or above `from` (a file URL or path) that holds a package.json. */
export function findPackageRoot(from: string = import.meta.url): string {
  let dir = dirname(from.startsWith('file:') ? fileURLToPath(from) : from);
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new GatehouseError('GH_INTERNAL', `no package.json found above ${from}`);
    dir = parent;
  }
}

/** Absolute path of proto/add.proto. */
export function addProtoPath(): string {
  const p = join(findPackageRoot(), 'proto', 'add.proto');
  if (!existsSync(p))
    throw new GatehouseError('GH_INTERNAL', `calculator contract missing: ${p} (the package must ship its proto/ folder)`);
  return p;
}

let calculatorDef: protoLoader.PackageDefinition | null = null;

/** The `calculator` package definition (loaded once, then cached). */
export function calculatorDefinition(): protoLoader.PackageDefinition {
  if (calculatorDef === null) calculatorDef = protoLoader.loadSync(addProtoPath(), LOADER_OPTIONS);
  return calculatorDef;
}

/** grpc.health.v1 as in https://github.com/grpc/grpc/blob/master/doc/health-checking.md */
const HEALTH_JSON: Parameters<typeof protoLoader.fromJSON>[0] = {
  nested: {
    grpc: {
      nested: {
        health: {
          nested: {
            v1: {
              nested: {
                HealthCheckRequest: { fields: { service: { type: 'string', id: 1 } } },
                HealthCheckResponse: {
                  fields: { status: { type: 'ServingStatus', id: 1 } },
                  nested: { ServingStatus: { values: { UNKNOWN: 0, SERVING: 1, NOT_SERVING: 2, SERVICE_UNKNOWN: 3 } } },
                },
                Health: {
                  methods: {
                    Check: { requestType: 'HealthCheckRequest', responseType: 'HealthCheckResponse', comment: '' },
                    Watch: { requestType: 'HealthCheckRequest', responseType: 'HealthCheckResponse', responseStream: true, comment: '' },
                  },
                },
              },
            },
          },
        },
      },
    },
  },
};

let healthDef: protoLoader.PackageDefinition | null = null;

/** The `grpc.health.v1` package definition (built once, then cached). */
export function healthDefinition(): protoLoader.PackageDefinition {
  if (healthDef === null) healthDef = protoLoader.fromJSON(HEALTH_JSON, LOADER_OPTIONS);
  return healthDef;
}

/** The client constructor (whose `.service` is the server definition) of a fully-qualified service name. */
export function serviceConstructor(def: protoLoader.PackageDefinition, fullName: string): grpc.ServiceClientConstructor {
  let node: unknown = grpc.loadPackageDefinition(def);
  for (const part of fullName.split('.')) node = (node as Record<string, unknown> | undefined)?.[part];
  if (typeof node !== 'function') throw new GatehouseError('GH_INTERNAL', `service ${fullName} not found in its package definition`);
  return node as grpc.ServiceClientConstructor;
}
