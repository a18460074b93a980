/**
 * deploy/kubernetes/crds/ is generated from the TypeBox schemas
 * (scripts/gen-crds.ts): regenerated into a temporary folder, it must equal
 * the committed files, and every CRD must be a structural schema as the
 * Kubernetes API server requires
 * (https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#specifying-a-structural-schema).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { toStructural, writeCrds, type JsonSchema } from '../scripts/gen-crds.js';
import { CRD_KINDS } from '../src/providers/kubernetes/kinds.js';
import { TenantSpecSchema } from '../src/identity/schema.js';
import { Type } from '@sinclair/typebox';

const COMMITTED = 'deploy/kubernetes/crds';
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed YAML, read field by field
type Crd = Record<string, any>;

/** Keywords apiextensions.k8s.io/v1 JSONSchemaProps knows (others fail strict decoding or are dropped). */
const KNOWN = new Set([
  'type',
  'format',
  'title',
  'description',
  'default',
  'maximum',
  'exclusiveMaximum',
  'minimum',
  'exclusiveMinimum',
  'maxLength',
  'minLength',
  'pattern',
  'maxItems',
  'minItems',
  'uniqueItems',
  'multipleOf',
  'enum',
  'maxProperties',
  'minProperties',
  'required',
  'items',
  'allOf',
  'oneOf',
  'anyOf',
  'not',
  'properties',
  'additionalProperties',
  'nullable',
  'example',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-embedded-resource',
  'x-kubernetes-int-or-string',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-list-type',
  'x-kubernetes-map-type',
  'x-kubernetes-validations',
]);
/** Set in a logical junctor (allOf/anyOf/oneOf/not), a node may only validate values. */
const NOT_IN_JUNCTORS = ['description', 'type', 'default', 'additionalProperties', 'nullable', 'x-kubernetes-preserve-unknown-fields'];
const JUNCTORS = ['allOf', 'anyOf', 'oneOf', 'not'];

/** Violations of the structural-schema rules, each with its path. */
export function structuralProblems(node: JsonSchema, path = 'openAPIV3Schema', inJunctor = false): string[] {
  const out: string[] = [];
  for (const k of Object.keys(node)) if (!KNOWN.has(k)) out.push(`${path}: ${k} is not a JSONSchemaProps field`);
  if (node.uniqueItems === true) out.push(`${path}: uniqueItems cannot be true`);
  if (inJunctor) {
    for (const k of NOT_IN_JUNCTORS) if (node[k] !== undefined) out.push(`${path}: ${k} must not be set inside a junctor`);
  } else {
    const free = node['x-kubernetes-preserve-unknown-fields'] === true;
    const intOrString = node['x-kubernetes-int-or-string'] === true;
    if (intOrString && node.type !== undefined) out.push(`${path}: x-kubernetes-int-or-string with a type`);
    if (!free && !intOrString && (typeof node.type !== 'string' || node.type === '')) out.push(`${path}: no type`);
  }
  if (node.properties !== undefined && node.additionalProperties !== undefined) {
    out.push(`${path}: properties and additionalProperties together`);
  }
  if (node.additionalProperties === false) out.push(`${path}: additionalProperties: false`);
  if (node.type === 'array' && node.items === undefined) out.push(`${path}: array without items`);
  if (node.type !== undefined && node.type !== 'object' && node.properties !== undefined) {
    out.push(`${path}: properties on a ${String(node.type)}`);
  }
  if (node.type === 'object' && node.properties === undefined && node.additionalProperties === undefined) {
    if (node['x-kubernetes-preserve-unknown-fields'] !== true && !path.endsWith('.metadata')) {
      out.push(`${path}: an object with no properties prunes everything (set x-kubernetes-preserve-unknown-fields)`);
    }
  }
  const props = (node.properties ?? {}) as Record<string, JsonSchema>;
  for (const [name, child] of Object.entries(props)) out.push(...structuralProblems(child, `${path}.${name}`, inJunctor));
  if (typeof node.items === 'object' && node.items !== null)
    out.push(...structuralProblems(node.items as JsonSchema, `${path}[]`, inJunctor));
  if (typeof node.additionalProperties === 'object' && node.additionalProperties !== null) {
    out.push(...structuralProblems(node.additionalProperties as JsonSchema, `${path}{}`, inJunctor));
  }
  for (const j of JUNCTORS) {
    const v = node[j];
    const list = Array.isArray(v) ? (v as JsonSchema[]) : v !== undefined ? [v as JsonSchema] : [];
    list.forEach((c, i) => out.push(...structuralProblems(c, `${path}.${j}[${i}]`, true)));
  }
  return out;
}

/** The root may restrict metadata only to name/generateName. */
function metadataProblems(root: JsonSchema): string[] {
  const md = (root.properties as Record<string, JsonSchema> | undefined)?.metadata;
  if (md === undefined) return [];
  const extra = Object.keys(md).filter((k) => k !== 'type' && k !== 'properties');
  const props = Object.keys((md.properties ?? {}) as object).filter((k) => k !== 'name' && k !== 'generateName');
  return [...extra, ...props].map((k) => `openAPIV3Schema.metadata: ${k} is not allowed`);
}

test('committed CRDs equal a fresh generation (stale: run npm run gen:crds)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gh-crds-'));
  try {
    const files = writeCrds(dir);
    const committed = readdirSync(COMMITTED)
      .filter((f) => f.endsWith('.yaml'))
      .sort();
    assert.deepEqual(committed, files.map((f) => f.name).sort(), 'stale: run npm run gen:crds (file list differs)');
    for (const f of files) {
      assert.equal(
        readFileSync(join(COMMITTED, f.name), 'utf8'),
        readFileSync(join(dir, f.name), 'utf8'),
        `stale: run npm run gen:crds (${f.name})`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('one CRD per watched kind, both Traefik groups and gatehouse.dev, each structural with status and printer columns', () => {
  const docs = readdirSync(COMMITTED)
    .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
    .map((f) => ({ file: f, crd: parse(readFileSync(join(COMMITTED, f), 'utf8')) as Crd }));
  const names = docs.map((d) => d.crd.metadata.name as string).sort();
  assert.deepEqual(names, CRD_KINDS.map((k) => `${k.plural}.${k.group}`).sort());
  assert.equal(names.filter((n) => n.endsWith('.traefik.io')).length, 8);
  assert.equal(names.filter((n) => n.endsWith('.traefik.containo.us')).length, 8);
  assert.equal(names.filter((n) => n.endsWith('.gatehouse.dev')).length, 3);
  for (const { file, crd } of docs) {
    assert.equal(crd.apiVersion, 'apiextensions.k8s.io/v1', file);
    const v = crd.spec.versions[0];
    assert.equal(v.name, 'v1alpha1', file);
    assert.deepEqual(v.subresources, { status: {} }, file);
    assert.deepEqual(
      v.additionalPrinterColumns.map((c: { name: string; jsonPath: string }) => [c.name, c.jsonPath]),
      [
        ['READY', '.status.conditions[?(@.type=="Ready")].status'],
        ['AGE', '.metadata.creationTimestamp'],
      ],
      file,
    );
    const root = v.schema.openAPIV3Schema as JsonSchema;
    const problems = [...structuralProblems(root), ...metadataProblems(root)];
    assert.deepEqual(problems, [], `${file} is not structural`);
    const props = root.properties as Record<string, JsonSchema>;
    const conditions = (props.status!.properties as Record<string, JsonSchema>).conditions!;
    assert.equal(conditions.type, 'array', file);
    assert.ok(JSON.stringify(root).indexOf('$schema') === -1 && JSON.stringify(root).indexOf('$id') === -1, file);
  }
});

test('the gatehouse.dev specs come from the TypeBox schemas; Traefik kinds without one are free-form and say so', () => {
  const tenant = parse(readFileSync(join(COMMITTED, 'gatehouse.dev_tenants.yaml'), 'utf8'));
  const spec = tenant.spec.versions[0].schema.openAPIV3Schema.properties.spec;
  assert.deepEqual(Object.keys(spec.properties).sort(), Object.keys(TenantSpecSchema.properties).sort());
  assert.deepEqual(spec.required, ['tenantId']);
  assert.deepEqual(spec.properties.accessTokenLifetime, { 'x-kubernetes-int-or-string': true });
  const alert = parse(readFileSync(join(COMMITTED, 'gatehouse.dev_alertrules.yaml'), 'utf8'));
  const aspec = alert.spec.versions[0].schema.openAPIV3Schema.properties.spec;
  assert.equal(aspec.properties.signal.type, 'string');
  assert.ok(aspec.properties.signal.enum.includes('successRate'));
  assert.equal(aspec.properties.labels.additionalProperties.type, 'string');
  const irText = readFileSync(join(COMMITTED, 'traefik.io_ingressroutes.yaml'), 'utf8');
  assert.match(irText, /# IngressRoute has no TypeBox schema yet/);
  const ir = parse(irText);
  assert.equal(ir.spec.versions[0].schema.openAPIV3Schema.properties.spec['x-kubernetes-preserve-unknown-fields'], true);
  const mw = parse(readFileSync(join(COMMITTED, 'traefik.containo.us_middlewares.yaml'), 'utf8'));
  const mspec = mw.spec.versions[0].schema.openAPIV3Schema.properties.spec;
  for (const t of ['headers', 'stripPrefix', 'basicAuth', 'rateLimit']) assert.ok(mspec.properties[t], t);
});

test('toStructural converts TypeBox output to the structural subset, and the checker catches what it must', () => {
  const s = toStructural(
    Type.Object(
      {
        a: Type.Union([Type.Literal('x'), Type.Literal('y')]),
        b: Type.Record(Type.String(), Type.Integer()),
        c: Type.Unknown(),
        d: Type.Union([Type.String(), Type.Number()]),
        e: Type.Optional(Type.Array(Type.Boolean())),
      },
      { additionalProperties: false, $id: 'X' },
    ),
  );
  assert.deepEqual(s, {
    type: 'object',
    properties: {
      a: { type: 'string', enum: ['x', 'y'] },
      b: { type: 'object', additionalProperties: { type: 'integer' } },
      c: { 'x-kubernetes-preserve-unknown-fields': true },
      d: { 'x-kubernetes-int-or-string': true },
      e: { type: 'array', items: { type: 'boolean' } },
    },
    required: ['a', 'b', 'c', 'd'],
  });
  assert.deepEqual(structuralProblems(s), []);
  // The raw TypeBox output is not structural: the checker must say so.
  const raw = JSON.parse(
    JSON.stringify(Type.Object({ a: Type.Union([Type.Literal('x'), Type.Null()]) }, { additionalProperties: false })),
  ) as JsonSchema;
  const problems = structuralProblems(raw);
  assert.ok(
    problems.some((p) => p.includes('additionalProperties: false')),
    problems.join('\n'),
  );
  assert.ok(
    problems.some((p) => p.includes('const is not a JSONSchemaProps field')),
    problems.join('\n'),
  );
  assert.ok(
    problems.some((p) => p.includes('type must not be set inside a junctor')),
    problems.join('\n'),
  );
  assert.ok(
    problems.some((p) => p.includes('openAPIV3Schema.a: no type')),
    problems.join('\n'),
  );
});
