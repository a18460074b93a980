/**
 * Gatehouse's error catalogue. Every error carries a stable `code` (never reused,
 * documented in docs/errors.md), the HTTP `status` a client sees when the error
 * ends a request, and an optional `cause`.
 */
export type ErrorCode =
  | 'GH_CONFIG_PARSE'
  | 'GH_CONFIG_INVALID'
  | 'GH_CONFIG_REFERENCE'
  | 'GH_RULE_SYNTAX'
  | 'GH_FLAG_UNKNOWN'
  | 'GH_FLAG_INVALID'
  | 'GH_NO_ROUTER'
  | 'GH_NO_HEALTHY_SERVER'
  | 'GH_UPSTREAM_FAILED'
  | 'GH_UPSTREAM_TIMEOUT'
  | 'GH_SERVICE_DISABLED'
  | 'GH_BODY_TOO_LARGE'
  | 'GH_RATE_LIMITED'
  | 'GH_UNAUTHORIZED'
  | 'GH_FORBIDDEN'
  | 'GH_PROVIDER_UNAVAILABLE'
  | 'GH_INTERNAL';

export class GatehouseError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  constructor(code: ErrorCode, message: string, options: { status?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GatehouseError';
    this.code = code;
    this.status = options.status ?? 500;
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
