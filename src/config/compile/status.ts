/**
 * Runtime status, Traefik's `AddError(err, critical)`
 * (`pkg/config/runtime/runtime_http.go`): a critical error disables an item,
 * any other makes it a warning unless it is already disabled. Every error is
 * also an issue (file, line, object, field), so `gatehouse check`, the logs
 * and the API say the same thing. The compiler and the build both record
 * through this one helper.
 */
import type { ConfigIssue, IssueCode, SourceLocation } from '../../errors.js';
import type { ItemStatus, Snapshot } from '../runtime.js';

/** How an item is named in an issue's `object`: `router "web@file"`. */
export type ItemLabel = 'router' | 'service' | 'middleware' | 'serversTransport';

/** What `addError` changes: any router, service, middleware or serversTransport. */
export interface StatusItem {
  readonly name: string;
  status: ItemStatus;
  readonly errors: string[];
  readonly source: SourceLocation;
}

export class StatusBook {
  private readonly labels = new Map<StatusItem, ItemLabel>();

  /** `issues`: where the issue of every error goes (the snapshot's list). */
  constructor(private readonly issues: ConfigIssue[]) {}

  /** A book over every item of a snapshot (the build records into its view). */
  static forSnapshot(s: Snapshot): StatusBook {
    const book = new StatusBook(s.issues);
    for (const r of Object.values(s.routers)) book.track('router', r);
    for (const v of Object.values(s.services)) book.track('service', v);
    for (const m of Object.values(s.middlewares)) book.track('middleware', m);
    for (const t of Object.values(s.serversTransports)) book.track('serversTransport', t);
    return book;
  }

  /** Remember how `item` is labelled in issues; returns it. */
  track<T extends StatusItem>(label: ItemLabel, item: T): T {
    this.labels.set(item, label);
    return item;
  }

  /** Record `message` on `item` (and as an issue): critical → disabled, otherwise a warning. */
  addError(item: StatusItem, message: string, critical: boolean, field?: string, code: IssueCode = 'GH_CONFIG_INVALID'): void {
    this.record(item, message, message, critical, field, code);
  }

  /**
   * The same for a schema problem, whose message ("expected string, got 5")
   * does not say what it is about: the item's error names the field
   * (`rule: expected string, got 5`), as MiddlewareOptionError messages do;
   * the issue carries the field apart.
   */
  addFieldError(item: StatusItem, message: string, critical: boolean, field: string | undefined): void {
    this.record(item, field === undefined ? message : `${field}: ${message}`, message, critical, field, 'GH_CONFIG_INVALID');
  }

  private record(item: StatusItem, text: string, message: string, critical: boolean, field: string | undefined, code: IssueCode): void {
    item.errors.push(text);
    if (critical) item.status = 'disabled';
    else if (item.status !== 'disabled') item.status = 'warning';
    const label = this.labels.get(item);
    this.issues.push({
      ...item.source,
      object: label === undefined ? item.name : `${label} "${item.name}"`,
      // Always set: the source's own field (where the item is defined) is not where the problem is.
      field,
      message,
      code,
      ...(critical ? {} : { severity: 'warning' as const }),
    });
  }
}

/** Why an item that others point at is unusable: its first error. */
export function disabledBecause(kind: string, item: StatusItem): string {
  return `the ${kind} "${item.name}" is disabled: ${item.errors[0] ?? 'no reason recorded'}`;
}
