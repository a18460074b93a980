/**
 * The build trusts the compiler: a middleware's factory is answered only the
 * names its `references` declared (resolved by the compiler), the snapshot is
 * never mutated, and a factory that throws disables what depends on it with
 * the compiler's messages.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Type } from '@sinclair/typebox';
import { compileConfig } from '../../config/compile.js';
import { emptyFragment, type ConfigFragment } from '../../config/model.js';
import type { Snapshot } from '../../config/runtime.js';
import { silentLogger } from '../../log.js';
import { middleware as chain } from '../../middlewares/chain/index.js';
import { MiddlewareRegistry } from '../../middlewares/registry.js';
import { defineMiddleware, type MiddlewareDefinition } from '../../middlewares/types.js';
import { builtinServices } from '../../services/builtin.js';
import { buildRuntime, type Runtime } from '../build.js';

const PageSchema = Type.Object({ service: Type.String() });
/** Asks for a service without declaring it. */
const undeclared = defineMiddleware({
  type: 'undeclared',
  schema: PageSchema,
  create: (o, deps) => (deps.service(o.service), (next) => next),
});
/** The same, declared. */
const declared = defineMiddleware({
  type: 'declared',
  schema: PageSchema,
  references: (o) => [{ kind: 'service', name: o.service, field: 'service' }],
  create: (o, deps) => (deps.service(o.service), (next) => next),
});
/** Valid for the schema, refused by its factory. */
const refuses = defineMiddleware({
  type: 'refuses',
  schema: Type.Object({}),
  create: () => {
    throw new Error('nope: refused by the factory');
  },
});

const registry = new MiddlewareRegistry([chain, undeclared, declared, refuses] as unknown as MiddlewareDefinition[]);

function fragment(): ConfigFragment {
  const f = emptyFragment('t');
  const src = { file: 'x.yaml' };
  f.services.app = { value: { loadBalancer: { servers: [{ url: 'http://127.0.0.1:9' }] } }, source: src };
  f.middlewares.u = { value: { undeclared: { service: 'app' } }, source: src };
  f.middlewares.d = { value: { declared: { service: 'app' } }, source: src };
  f.middlewares.r = { value: { refuses: {} }, source: src };
  f.middlewares.c = { value: { chain: { middlewares: ['d', 'r'] } }, source: src };
  f.routers.ok = { value: { rule: 'Path(`/ok`)', middlewares: ['d'], service: 'app' }, source: src };
  f.routers.broken = { value: { rule: 'Path(`/broken`)', middlewares: ['c'], service: 'app' }, source: src };
  return f;
}

async function build(): Promise<{ snap: Snapshot; before: string; runtime: Runtime }> {
  const snap = compileConfig({
    fragments: [fragment()],
    entryPoints: ['web'],
    defaultEntryPoints: ['web'],
    defaultRuleSyntax: 'v3',
    registry,
    services: builtinServices(),
    revision: 1,
    internalServices: [],
  });
  const before = JSON.stringify(snap);
  const runtime = buildRuntime(snap, {
    registry,
    internal: {},
    rateLimitStore: { take: () => Promise.resolve({ allowed: true, retryAfterMs: 0 }) },
    log: silentLogger,
    dataDir: '.',
    entryPoints: ['web'],
  });
  await runtime.close(0);
  return { snap, before, runtime };
}

test('a factory gets only the references its kind declared', async () => {
  const { runtime } = await build();
  const v = runtime.view;
  assert.equal(v.middlewares['d@t']?.status, 'enabled');
  assert.deepEqual(v.middlewares['d@t']?.refs, [{ kind: 'service', field: 'declared.service', ref: 'app', name: 'app@t' }]);
  assert.equal(v.middlewares['u@t']?.status, 'disabled');
  assert.match(v.middlewares['u@t']?.errors[0] ?? '', /service "app" is not among the references declared for "u@t"/);
  assert.equal(v.routers['ok@t']?.status, 'enabled');
  assert.equal(typeof runtime.entryPoints.web, 'function');
});

test('a factory that throws disables its users at build time, naming it and its error', async () => {
  const { snap, runtime } = await build();
  // The compiler saw nothing wrong: the failure is the build's.
  assert.equal(snap.middlewares['c@t']?.status, 'enabled');
  assert.equal(snap.routers['broken@t']?.status, 'enabled');
  const v = runtime.view;
  assert.deepEqual(v.middlewares['r@t']?.errors, ['nope: refused by the factory']);
  assert.deepEqual(v.middlewares['c@t']?.errors, ['the middleware "r@t" is disabled: nope: refused by the factory']);
  assert.deepEqual(v.routers['broken@t']?.errors, [
    'the middleware "c@t" is disabled: the middleware "r@t" is disabled: nope: refused by the factory',
  ]);
  assert.deepEqual(
    v.issues.slice(snap.issues.length).map((i) => [i.object, i.field]),
    [
      ['middleware "u@t"', undefined],
      ['middleware "r@t"', undefined],
      ['middleware "c@t"', 'chain.middlewares[1]'],
      ['router "broken@t"', 'middlewares'],
    ],
  );
});

test('the snapshot is left as the compiler made it', async () => {
  const { snap, before, runtime } = await build();
  assert.equal(JSON.stringify(snap), before);
  // The build's errors went into its own view.
  assert.notEqual(JSON.stringify(runtime.view), before);
  assert.equal(snap.middlewares['r@t']?.status, 'enabled');
});
