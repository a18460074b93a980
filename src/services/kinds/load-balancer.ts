/**
 * `loadBalancer`: servers by URL, through `buildLoadBalancer` (wrr, p2c or hrw;
 * sticky cookie; active and passive health checks; Front Door's origin-group
 * priority, latency band and allDown, docs/failover.md).
 */
import { LoadBalancerSchema } from '../../config/schema.js';
import { sampleWindow, statusMatcher } from '../health-check.js';
import { buildLoadBalancer, unreachablePort } from '../load-balancer.js';
import { usesOriginGroup } from '../origin-group.js';
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
    const group = usesOriginGroup(c);
    c.servers.forEach((s, i) => {
      if (group && s.weight !== undefined && s.weight > 1000)
        out.push({
          path: `servers[${i}].weight`,
          message: `weight ${s.weight} is above 1000, Front Door's maximum, in a load balancer with origin-group settings (priority, latencySensitivity, allDown): use 0 to 1000 (0: never)`,
        });
    });
    const hc = c.healthCheck;
    if (hc !== undefined) {
      try {
        statusMatcher(hc.status);
      } catch (err) {
        out.push({
          path: 'healthCheck.status',
          message: `${(err as Error).message}: expected e.g. 200, "200-299,404" or ["200-299", "404"]`,
        });
      }
      const w = sampleWindow(hc);
      if (w.required > w.size)
        out.push({
          path: 'healthCheck.successfulSamplesRequired',
          message: `${w.required} is more than sampleSize ${w.size}: a server could never be healthy`,
        });
    }
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
