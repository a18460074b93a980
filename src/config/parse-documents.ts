/**
 * Parses one configuration file (YAML, multi-document; TOML; JSON) into
 * SourceDocuments whose `lineOf(path)` points at the 1-based line of a node.
 * YAML and JSON positions come from the `yaml` package's node ranges; TOML
 * positions from a best-effort line index (smol-toml keeps no positions).
 */
import { LineCounter, isAlias, isMap, isScalar, isSeq, parseAllDocuments, parseDocument, type Document, type Node as YamlNode } from 'yaml';
import { parse as parseToml, TomlError } from 'smol-toml';
import type { SourceDocument } from './model.js';
import type { ConfigIssue } from '../errors.js';
import { tomlLineIndex } from './toml-lines.js';

export type ConfigFormat = 'yaml' | 'toml' | 'json';

export interface ParsedFile {
  documents: SourceDocument[];
  /** Set when the file does not parse: the whole file is rejected. */
  error?: ConfigIssue;
}

/** The format of a file name, or undefined when the provider ignores it. */
export function formatOf(file: string): ConfigFormat | undefined {
  const dot = file.lastIndexOf('.');
  if (dot < 0) return undefined;
  switch (file.slice(dot + 1).toLowerCase()) {
    case 'yaml':
    case 'yml':
      return 'yaml';
    case 'toml':
      return 'toml';
    case 'json':
      return 'json';
    default:
      return undefined;
  }
}

type Path = readonly (string | number)[];

/** Line of the key (for map entries) or item (for sequences) at `path`. */
function yamlLineOf(doc: Document, lc: LineCounter, path: Path): number | undefined {
  let node: unknown = doc.contents;
  const lineAt = (n: unknown): number | undefined => {
    const r = (n as YamlNode | null)?.range;
    return r === undefined || r === null ? undefined : lc.linePos(r[0]).line;
  };
  let line = lineAt(node);
  for (const seg of path) {
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) {
      const key = String(seg);
      // Field names are matched as Traefik's file provider matches them (case-insensitively) when not found as written.
      const pair =
        node.items.find((p) => isScalar(p.key) && String(p.key.value) === key) ??
        node.items.find((p) => isScalar(p.key) && String(p.key.value).toLowerCase() === key.toLowerCase());
      if (pair === undefined) return undefined;
      line = lineAt(pair.key);
      node = pair.value;
    } else if (isSeq(node)) {
      const item = node.items[Number(seg)];
      if (item === undefined) return undefined;
      line = lineAt(item) ?? line;
      node = item;
    } else {
      return undefined;
    }
  }
  return line;
}

function firstLine(message: string): string {
  const l = message.split('\n', 1)[0] ?? message;
  return l.replace(/ at line \d+, column \d+:?\s*$/, '').trim();
}

function parseYaml(file: string, text: string): ParsedFile {
  const lc = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lc, uniqueKeys: true });
  const list = Array.isArray(docs) ? docs : [];
  const out: SourceDocument[] = [];
  for (let index = 0; index < list.length; index++) {
    const doc = list[index] as Document;
    const err = doc.errors[0];
    if (err !== undefined) {
      const line = err.linePos?.[0].line ?? lc.linePos(err.pos[0]).line;
      return { documents: [], error: { file, line, code: 'GH_CONFIG_PARSE', message: `invalid YAML: ${firstLine(err.message)}` } };
    }
    if (doc.contents === null) continue;
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      return {
        documents: [],
        error: {
          file,
          line: lc.linePos(doc.range?.[0] ?? 0).line,
          code: 'GH_CONFIG_PARSE',
          message: `invalid YAML: ${(e as Error).message}`,
        },
      };
    }
    if (value === null || value === undefined) continue;
    out.push({ file, index, value, lineOf: (path) => yamlLineOf(doc, lc, path) });
  }
  return { documents: out };
}

function lineOfOffset(text: string, pos: number): number {
  let line = 1;
  for (let i = 0; i < pos && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/** Node 20 says `Unexpected token '}', ..."<context>"... is not valid JSON`: find the context in the text. */
function jsonErrorLine(text: string, msg: string): number | undefined {
  const m = /^Unexpected token '(.)', (?:\.\.\.)?"([\s\S]*?)"(?:\.\.\.)? is not valid JSON/.exec(msg);
  if (m === null) return msg.includes('end of JSON input') ? lineOfOffset(text, text.trimEnd().length) : undefined;
  const at = text.indexOf(m[2] as string);
  if (at < 0) return undefined;
  const tok = (m[2] as string).indexOf(m[1] as string);
  return lineOfOffset(text, at + Math.max(0, tok));
}

function parseJson(file: string, text: string): ParsedFile {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    const msg = (e as Error).message;
    const lm = /line (\d+)/.exec(msg);
    const pm = /position (\d+)/.exec(msg);
    const line = lm !== null ? Number(lm[1]) : pm !== null ? lineOfOffset(text, Number(pm[1])) : jsonErrorLine(text, msg);
    return { documents: [], error: { file, line, code: 'GH_CONFIG_PARSE', message: `invalid JSON: ${msg.split('\n', 1)[0]}` } };
  }
  if (value === null) return { documents: [] };
  // JSON is YAML: reuse the YAML parser for positions only.
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: false });
  const positions = doc.errors.length === 0;
  return { documents: [{ file, index: 0, value, lineOf: (path) => (positions ? yamlLineOf(doc, lc, path) : undefined) }] };
}

function parseTomlFile(file: string, text: string): ParsedFile {
  let value: unknown;
  try {
    value = parseToml(text);
  } catch (e) {
    if (e instanceof TomlError)
      return {
        documents: [],
        error: {
          file,
          line: e.line,
          code: 'GH_CONFIG_PARSE',
          message: `invalid TOML: ${firstLine(e.message.replace(/^Invalid TOML document: /, ''))}`,
        },
      };
    return { documents: [], error: { file, code: 'GH_CONFIG_PARSE', message: `invalid TOML: ${(e as Error).message}` } };
  }
  // TomlDate and friends become plain strings so values stay JSON-like.
  value = JSON.parse(JSON.stringify(value)) as unknown;
  let index: Map<string, number> | undefined;
  let lower: Map<string, number> | undefined;
  const lineOf = (path: Path): number | undefined => {
    index ??= tomlLineIndex(text);
    for (let n = path.length; n >= 0; n--) {
      const key = path.slice(0, n).join('\u0000');
      let l = index.get(key);
      if (l === undefined) {
        // Field names spelled in another case than the schema's (Traefik matches them case-insensitively).
        lower ??= new Map([...index].reverse().map(([k, v]) => [k.toLowerCase(), v]));
        l = lower.get(key.toLowerCase());
      }
      if (l !== undefined) return l;
    }
    return undefined;
  };
  return { documents: [{ file, index: 0, value, lineOf }] };
}

/** Parses `text` as the format of `file` (or `format`). Never throws. */
export function parseConfigText(file: string, text: string, format: ConfigFormat | undefined = formatOf(file)): ParsedFile {
  switch (format) {
    case 'toml':
      return parseTomlFile(file, text);
    case 'json':
      return parseJson(file, text);
    default:
      return parseYaml(file, text);
  }
}
