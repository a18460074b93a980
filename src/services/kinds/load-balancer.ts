/** `loadBalancer`: servers by URL, through `buildLoadBalancer` (wrr, p2c or hrw; sticky cookie; active and passive health checks). */
import { LoadBalancerSchema } from '../../config/schema.js';
import { buildLoadBalancer, unreachablePort } from '../load-balancer.js';
import { defineService, type Problem } from '../types.js';

const SCHEMES = ['http:', 'https:', 'h2c:'];

export const loadBalancer = defineService({
  kind: 'loadbalancer',
  key: 'loadBalancer',
  schema: LoadBalancerSchema,
  references: (c) =>
    c.serversTransport === undefined ? [] : [{ kind: 'serversTransport', name: c.serversTransport, field: 'serversTransport' }],
  validate(c) {
    const out: Problem[] = [];
    c.servers.forEach((s, i) => {
      if (unreachablePort(s.url)) {
        out.push({
          path: `servers[${i}].url`,
          message: `port of "${s.url}" is above 65535: the server cannot be reached and its requests answer 502 (Traefik accepts it the same way)`,
          critical: false,
        });
        return;
      }
      let u: URL;
      try {
        u = new URL(s.url);
      } catch {
        out.push({ path: `servers[${i}].url`, message: `invalid URL "${s.url}": expected e.g. http://10.0.0.1:8080` });
        return;
      }
      if (!SCHEMES.includes(u.protocol))
        out.push({ path: `servers[${i}].url`, message: `unsupported scheme "${u.protocol.slice(0, -1)}": expected http, https or h2c` });
    });
    if (c.strategy === 'leasttime')
      out.push({ path: 'strategy', message: 'load-balancer strategy "leasttime" is not supported yet: use wrr, p2c or hrw' });
    // Traefik keeps such a service (it answers 503): a warning, not an error.
    if (c.servers.length === 0) out.push({ path: 'servers', message: 'no servers: requests answer 503', critical: false });
    return out;
  },
  build(c, deps) {
    const t = deps.transport(c.serversTransport);
    return buildLoadBalancer(c, {
      name: deps.name,
      pools: deps.pools,
      transport: t.config,
      transportName: t.name,
      log: deps.log,
      onClose: (fn) => deps.onClose(fn),
      onServerStatus: deps.onServerStatus,
    });
  },
});
