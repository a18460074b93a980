/**
 * The patch formats of the Kubernetes API: JSON merge patch (RFC 7386),
 * JSON patch (RFC 6902), and strategic merge patch for built-in kinds,
 * simplified: maps merge, lists are replaced unless the patch carries
 * `$setElementOrder/<field>` (then elements merge by the key the order names),
 * `$patch: delete|replace` and `$retainKeys` are honoured.
 */
type Json = unknown;
const isObj = (v: Json): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);

export class PatchError extends Error {}

export function mergePatch(target: Json, patch: Json): Json {
  if (!isObj(patch)) return structuredClone(patch);
  const out: Record<string, Json> = isObj(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function unescape(token: string): string {
  return token.replace(/~1/g, '/').replace(/~0/g, '~');
}

function walk(doc: Json, path: string): { parent: Json; key: string } {
  if (!path.startsWith('/')) throw new PatchError(`invalid JSON pointer "${path}"`);
  const tokens = path.slice(1).split('/').map(unescape);
  let parent: Json = doc;
  for (const t of tokens.slice(0, -1)) {
    if (Array.isArray(parent)) parent = parent[Number(t)];
    else if (isObj(parent)) parent = parent[t];
    else throw new PatchError(`path ${path} does not exist`);
    if (parent === undefined) throw new PatchError(`path ${path} does not exist`);
  }
  return { parent, key: tokens[tokens.length - 1] ?? '' };
}

function getAt(doc: Json, path: string): Json {
  if (path === '') return doc;
  const { parent, key } = walk(doc, path);
  const v = Array.isArray(parent) ? parent[Number(key)] : isObj(parent) ? parent[key] : undefined;
  if (v === undefined) throw new PatchError(`path ${path} does not exist`);
  return v;
}

function removeAt(doc: Json, path: string): Json {
  const { parent, key } = walk(doc, path);
  if (Array.isArray(parent)) {
    const i = Number(key);
    if (!(i >= 0 && i < parent.length)) throw new PatchError(`path ${path} does not exist`);
    return parent.splice(i, 1)[0];
  }
  if (!isObj(parent) || !(key in parent)) throw new PatchError(`path ${path} does not exist`);
  const v = parent[key];
  delete parent[key];
  return v;
}

function addAt(doc: Json, path: string, value: Json, replace: boolean): void {
  const { parent, key } = walk(doc, path);
  if (Array.isArray(parent)) {
    const i = key === '-' ? parent.length : Number(key);
    if (!(i >= 0 && i <= parent.length)) throw new PatchError(`path ${path} is out of range`);
    if (replace) parent[i] = value;
    else parent.splice(i, 0, value);
  } else if (isObj(parent)) {
    if (replace && !(key in parent)) throw new PatchError(`path ${path} does not exist`);
    parent[key] = value;
  } else throw new PatchError(`path ${path} does not exist`);
}

export function jsonPatch(target: Json, ops: Json): Json {
  if (!Array.isArray(ops)) throw new PatchError('a JSON patch is an array of operations');
  let doc = structuredClone(target);
  for (const op of ops) {
    if (!isObj(op) || typeof op.op !== 'string' || typeof op.path !== 'string') throw new PatchError('invalid JSON patch operation');
    const path = op.path;
    switch (op.op) {
      case 'add':
        if (path === '') doc = structuredClone(op.value);
        else addAt(doc, path, structuredClone(op.value), false);
        break;
      case 'replace':
        if (path === '') doc = structuredClone(op.value);
        else addAt(doc, path, structuredClone(op.value), true);
        break;
      case 'remove':
        removeAt(doc, path);
        break;
      case 'move': {
        const v = removeAt(doc, String(op.from));
        addAt(doc, path, v, false);
        break;
      }
      case 'copy':
        addAt(doc, path, structuredClone(getAt(doc, String(op.from))), false);
        break;
      case 'test':
        if (JSON.stringify(getAt(doc, path)) !== JSON.stringify(op.value)) throw new PatchError(`test failed at ${path}`);
        break;
      default:
        throw new PatchError(`unknown JSON patch operation "${op.op}"`);
    }
  }
  return doc;
}

/** Strategic merge patch, simplified (see the file comment). */
export function strategicMergePatch(target: Json, patch: Json): Json {
  if (!isObj(patch)) return structuredClone(patch);
  if (patch.$patch === 'replace') {
    const { $patch: _, ...rest } = patch;
    return structuredClone(rest);
  }
  let out: Record<string, Json> = isObj(target) ? { ...target } : {};
  if (Array.isArray(patch.$retainKeys)) {
    const keep = new Set(patch.$retainKeys as string[]);
    out = Object.fromEntries(Object.entries(out).filter(([k]) => keep.has(k)));
  }
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith('$')) continue;
    if (v === null) {
      delete out[k];
      continue;
    }
    const order = patch[`$setElementOrder/${k}`];
    if (Array.isArray(v) && Array.isArray(order) && order.every(isObj) && order.length > 0) {
      out[k] = mergeList(Array.isArray(out[k]) ? (out[k] as Json[]) : [], v, order as Array<Record<string, Json>>);
    } else if (Array.isArray(v)) {
      out[k] = v.filter((e) => !(isObj(e) && e.$patch === 'delete')).map((e) => structuredClone(e));
    } else out[k] = strategicMergePatch(out[k], v);
  }
  for (const k of Object.keys(patch)) {
    const m = /^\$deleteFromPrimitiveList\/(.+)$/.exec(k);
    if (m !== null && Array.isArray(out[m[1]!])) {
      const drop = new Set((patch[k] as Json[]).map((x) => JSON.stringify(x)));
      out[m[1]!] = (out[m[1]!] as Json[]).filter((x) => !drop.has(JSON.stringify(x)));
    }
  }
  return out;
}

function mergeList(orig: Json[], patch: Json[], order: Array<Record<string, Json>>): Json[] {
  const key = Object.keys(order[0]!)[0]!;
  const same = (a: Json, b: Json): boolean => isObj(a) && isObj(b) && JSON.stringify(a[key]) === JSON.stringify(b[key]);
  const result: Json[] = [];
  for (const o of order) {
    const p = patch.find((e) => same(e, o));
    if (isObj(p) && p.$patch === 'delete') continue;
    const base = orig.find((e) => same(e, o));
    if (p !== undefined) result.push(base !== undefined ? strategicMergePatch(base, p) : structuredClone(p));
    else if (base !== undefined) result.push(base);
  }
  return result;
}
