/**
 * Gatehouse's error catalogue for what goes wrong outside a request: every
 * configuration issue and every thrown GatehouseError carries a stable code
 * (never reused, each documented in docs/errors.md; a test keeps the two in
 * step). Answers the gateway makes to a client have their own table
 * (src/http/answer-codes.ts); the CLI's exit codes are in src/cli/exit-codes.ts.
 */

/** Codes of configuration issues (ConfigIssue.code). */
export type IssueCode =
  /** A file or document does not parse (YAML, TOML, JSON syntax), or cannot be read. */
  | 'GH_CONFIG_PARSE'
  /** An item does not match its schema, or its options are refused. */
  | 'GH_CONFIG_INVALID'
  /** A reference to something that does not exist, is disabled, or forms a cycle. */
  | 'GH_CONFIG_REFERENCE'
  /** A router rule does not parse. */
  | 'GH_RULE_SYNTAX'
  /** A provider cannot run or cannot reach its source. */
  | 'GH_PROVIDER_UNAVAILABLE'
  /** A TLS certificate, store or options object is refused (unreadable, key mismatch, expired, unknown cipher or version). */
  | 'GH_TLS_INVALID';

export type ErrorCode =
  | IssueCode
  /** An unknown flag or `GATEHOUSE_*` variable. */
  | 'GH_FLAG_UNKNOWN'
  /** A flag value of the wrong type or range. */
  | 'GH_FLAG_INVALID'
  /** An entry point cannot listen on its address (in use, not permitted, not an address of this machine). */
  | 'GH_LISTEN_FAILED'
  /** A fault inside Gatehouse or its environment (a missing file of the package). */
  | 'GH_INTERNAL';

export class GatehouseError extends Error {
  readonly code: ErrorCode;
  /** The process exit code when this error ends a command (default 1; 2 for usage errors). */
  readonly exitCode: number;
  constructor(code: ErrorCode, message: string, options: { exitCode?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GatehouseError';
    this.code = code;
    this.exitCode = options.exitCode ?? (code === 'GH_FLAG_UNKNOWN' || code === 'GH_FLAG_INVALID' ? 2 : 1);
  }
}

/** Where a configuration problem is: file, 1-based line, object and field path. */
export interface SourceLocation {
  file?: string;
  line?: number;
  column?: number;
  /** The object the problem belongs to, e.g. `router calc@file` or `IngressRoute add/calc`. */
  object?: string;
  /** Dotted field path inside the document, e.g. `http.routers.calc.rule`. */
  field?: string;
}

/** One configuration problem. Formatted as `file:line: object: field: message`. */
export interface ConfigIssue extends SourceLocation {
  message: string;
  severity?: 'error' | 'warning';
  /** What kind of problem (docs/errors.md); the compiler sets GH_CONFIG_INVALID where nothing more specific applies. */
  code?: IssueCode;
}

export function formatIssue(issue: ConfigIssue): string {
  const where: string[] = [];
  if (issue.file !== undefined) where.push(issue.line !== undefined ? `${issue.file}:${issue.line}` : issue.file);
  if (issue.object !== undefined) where.push(issue.object);
  if (issue.field !== undefined) where.push(`field ${issue.field}`);
  return where.length > 0 ? `${where.join(': ')}: ${issue.message}` : issue.message;
}

export class ConfigError extends GatehouseError {
  readonly issues: readonly ConfigIssue[];
  constructor(issues: readonly ConfigIssue[], code: ErrorCode = 'GH_CONFIG_INVALID') {
    super(code, issues.map(formatIssue).join('\n'));
    this.name = 'ConfigError';
    this.issues = issues;
  }
}
