/**
 * The UpstreamDispatcher contract (dispatcher.contract.ts) run against each
 * implementation the gateway uses: undici's Pool (`https://` servers, and
 * WebSocket upgrades), the raw pool (`http://` servers) and the h2c client.
 */
import { Pool } from 'undici';
import { runDispatcherContract } from './dispatcher.contract.js';
import { H2cDispatcher } from './h2c.js';
import { RawPool } from './raw/pool.js';

const opts = { connections: 4, keepAliveTimeout: 10_000, connectTimeout: 2000 };

runDispatcherContract({ name: 'undici Pool', protocol: 'http1', create: (origin) => new Pool(origin, opts) });
runDispatcherContract({ name: 'RawPool', protocol: 'http1', create: (origin) => new RawPool(origin, opts) });
runDispatcherContract({
  name: 'H2cDispatcher',
  protocol: 'h2c',
  create: (origin) => new H2cDispatcher(origin.host, { connectTimeout: opts.connectTimeout }),
});
