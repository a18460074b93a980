/**
 * Middleware options that hold IP ranges (ipAllowList.sourceRange,
 * ipStrategy.excludedIPs), compiled by the one Go-semantics implementation
 * (src/net/ip.ts) that ClientIP rules and forwarded headers use too. A bad
 * entry becomes a MiddlewareOptionError naming `field[index]`.
 */
import { compileIpRanges, IpRangeError, type IpRanges } from '../../net/ip.js';
import { MiddlewareOptionError } from '../types.js';

export function ipRangesOption(entries: readonly string[], field: string): IpRanges {
  try {
    return compileIpRanges(entries);
  } catch (err) {
    if (err instanceof IpRangeError) throw new MiddlewareOptionError(`${field}[${err.index}]`, err.message);
    throw err;
  }
}
