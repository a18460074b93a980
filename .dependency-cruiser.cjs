/**
 * The layer rule of docs/architecture.md, enforced by `npm test`
 * (scripts/test.mjs runs `depcruise`): a folder under src/ imports only
 * folders on lower layers (and itself); no file-level import cycle.
 * Test files and shared test cases (*.test.ts, *.contract.ts) are not part
 * of the shipped graph and are left out.
 */
const LAYERS = [
  // 0: leaves
  ['util', 'errors.ts', 'log.ts', 'version.ts'],
  // 1: primitives and the exchange types (Go regexp, IP ranges, JOSE, net/http, HTTP/1 wire)
  ['regex', 'net', 'jose', 'http', 'http1'],
  // 2: rule languages, telemetry data structures
  ['rules', 'observe'],
  // 3: the configuration model and compiler; the router table
  ['config', 'router'],
  // 4: the upstream clients (pools per transport configuration); DNS clients (wire, TSIG, RFC 2136, PowerDNS) and the record publisher; TCP routers (schema, compile, runtime, proxy, PROXY protocol)
  ['upstream', 'dns', 'tcp'],
  // 5: what the configuration describes and where it comes from; certificates (stores, TLS options, ACME)
  ['providers', 'middlewares', 'services', 'identity', 'alerts', 'tls'],
  // 6: surfaces over the parts, and the process backplane; the secret store (a provider the compile step reads)
  ['admin', 'cluster', 'secrets'],
  // 7: composition (the serving and primary halves, the root); the demo workload
  ['server', 'demo'],
  // 8: the command line
  ['cli'],
];

const esc = (s) => s.replace(/[.]/g, '\\.');
const pathOf = (entry) => (entry.endsWith('.ts') ? `^src/${esc(entry)}$` : `^src/${entry}/`);

const forbidden = [
  { name: 'no-circular', severity: 'error', comment: 'no import cycle between files', from: {}, to: { circular: true } },
];
LAYERS.forEach((layer, i) => {
  const lower = LAYERS.slice(0, i).flat();
  for (const entry of layer) {
    const allowed = [entry, ...lower].map(pathOf).join('|');
    forbidden.push({
      name: `layer-${entry.replace(/\.ts$/, '')}`,
      severity: 'error',
      comment: `src/${entry} (layer ${i}) may import only: ${[entry, ...lower].join(', ')}`,
      from: { path: pathOf(entry), pathNot: '\\.(test|contract)\\.ts$' },
      to: { path: '^src/', pathNot: allowed },
    });
  }
});
forbidden.push({
  name: 'unknown-folder',
  severity: 'error',
  comment: 'every folder under src/ has a layer in .dependency-cruiser.cjs',
  from: { path: '^src/', pathNot: `${LAYERS.flat().map(pathOf).join('|')}|\\.(test|contract)\\.ts$` },
  to: {},
});

module.exports = {

  forbidden,
  options: {
    includeOnly: '^src/',
    exclude: { path: '\\.(test|contract)\\.ts$' },
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
