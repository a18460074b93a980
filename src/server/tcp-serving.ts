/**
 * TCP routers in a serving process: every snapshot's `tcp` section becomes one
 * TcpEntryRuntime per entry point that has TCP routers (docs/tcp.md); the
 * others get none and serve HTTP exactly as before. The inFlightConn counters
 * live as long as the gateway, so a reload does not reset them.
 */
import type { Snapshot } from '../config/runtime.js';
import type { Logger } from '../log.js';
import { tcpSectionOf } from '../tcp/compile.js';
import { TcpEntryRuntime, type InFlightCounters } from '../tcp/runtime.js';
import type { Gateway } from './gateway.js';

const counters = new WeakMap<Gateway, InFlightCounters>();

/** Apply the snapshot's TCP routers to every entry point of `gw`. */
export function applyTcp(s: Snapshot, gw: Gateway, log: Logger): void {
  const section = tcpSectionOf(s);
  let c = counters.get(gw);
  if (c === undefined) {
    c = new Map();
    counters.set(gw, c);
  }
  for (const name of Object.keys(gw.connections())) {
    const ep = gw.entryPoint(name);
    if (ep === undefined) continue;
    const has =
      section !== undefined && Object.values(section.routers).some((r) => r.status !== 'disabled' && r.entryPoints.includes(name));
    ep.setTcp(has ? new TcpEntryRuntime(name, section, { log, counters: c, idleTimeout: ep.idleTimeout }) : null);
  }
}
