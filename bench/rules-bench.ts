/**
 * Micro-benchmark: ns per rule match over a 100-router table (a linear scan,
 * the worst case the router's host index avoids). Not a test.
 *   npx tsx bench/rules-bench.ts
 */
import { compileRule, type RuleInput } from '../src/rules/index.js';

const rules: string[] = [];
for (let i = 0; i < 100; i++) {
  switch (i % 5) {
    case 0:
      rules.push(`Host(\`svc${i}.example.com\`) && PathPrefix(\`/api/v${i}\`)`);
      break;
    case 1:
      rules.push(`Host(\`svc${i}.example.com\`) && Path(\`/users/{id:[0-9]+}\`)`);
      break;
    case 2:
      rules.push(`HostRegexp(\`{sub:[a-z]+}.svc${i}.example.com\`) && Method(\`GET\`, \`POST\`)`);
      break;
    case 3:
      rules.push(`Host(\`svc${i}.example.com\`) && (Headers(\`X-Env\`, \`prod\`) || Query(\`debug=1\`)) && !ClientIP(\`10.0.0.0/8\`)`);
      break;
    default:
      rules.push(`PathPrefix(\`/static${i}\`) || Host(\`cdn${i}.example.com\`)`);
  }
}
const compiled = rules.map((r) => compileRule(r, 'v2'));
const v3 = Array.from({ length: 100 }, (_, i) => compileRule(`Host(\`svc${i}.example.com\`) && PathRegexp(\`^/api/v[0-9]+/items\`)`, 'v3'));

const requests: RuleInput[] = [
  { method: 'GET', host: 'svc50.example.com', path: '/api/v50/items', query: '', headers: {}, remoteIp: '192.0.2.1' },
  { method: 'POST', host: 'a.svc97.example.com', path: '/users/12', query: 'debug=1', headers: { 'x-env': 'prod' }, remoteIp: '10.1.2.3' },
  { method: 'GET', host: 'unknown.test', path: '/static99/app.js', query: 'v=3', headers: {}, remoteIp: '::1' },
];

function run(label: string, table: readonly { match: (r: RuleInput) => boolean }[]): void {
  let sink = 0;
  for (let w = 0; w < 2000; w++) for (const r of requests) for (const c of table) if (c.match(r)) sink++;
  const rounds = 20000;
  const t0 = process.hrtime.bigint();
  for (let k = 0; k < rounds; k++) {
    const r = requests[k % requests.length] as RuleInput;
    for (let i = 0; i < table.length; i++) if ((table[i] as { match: (r: RuleInput) => boolean }).match(r)) sink++;
  }
  const ns = Number(process.hrtime.bigint() - t0);
  const calls = rounds * table.length;
  console.log(`${label}: ${(ns / calls).toFixed(1)} ns/match, ${(ns / rounds / 1000).toFixed(2)} µs per 100-router scan (sink ${sink})`);
}

run('v2 mixed table', compiled);
run('v3 Host && PathRegexp table', v3);
