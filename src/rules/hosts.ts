/** Host names as rules compare them: the same normalisation ctx.host gets. */

/**
 * Lower-case, brackets of an IPv6 literal removed, a `:port` suffix removed,
 * one trailing dot removed (Traefik matches `example.com.` and `example.com`
 * alike). A Host rule with a port matches that host on any port.
 */
export function normalizeRuleHost(raw: string): string {
  let h = raw.toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    if (end > 0) h = h.slice(1, end);
  } else {
    const colon = h.indexOf(':');
    if (colon >= 0 && colon === h.lastIndexOf(':') && /^[0-9]*$/.test(h.slice(colon + 1))) h = h.slice(0, colon);
  }
  if (h.endsWith('.')) h = h.slice(0, -1);
  return h;
}

export function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}
