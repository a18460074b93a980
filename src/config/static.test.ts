import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import { defaultEntryPoints, describeStaticConfig, parseAddress, parseStaticConfig, type StaticConfig } from './static.js';

const SEED = [
  '--api',
  '--accesslog',
  '--entrypoints.web.Address=:8000',
  '--entrypoints.web.forwardedheaders.insecure=true',
  '--providers.kubernetescrd',
  '--ping',
  '--accesslog=true',
  '--log=true',
];

function parse(argv: string[], env: NodeJS.ProcessEnv = {}, cwd = '/srv/app'): StaticConfig {
  return parseStaticConfig({ argv, env, cwd });
}

function fails(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected a ConfigError');
}

function tmp(): { dir: string; done: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'gh-static-'));
  return { dir, done: () => rmSync(dir, { recursive: true, force: true }) };
}

test('the seed container args parse unchanged with Traefik meaning', () => {
  const c = parse(SEED);
  assert.equal(c.entryPoints.web?.address, ':8000');
  assert.equal(c.entryPoints.web?.forwardedHeaders.insecure, true);
  assert.deepEqual(c.api, { insecure: false, dashboard: true, debug: false });
  assert.equal(c.accessLog?.format, 'common');
  assert.ok(c.providers.kubernetesCRD !== undefined);
  assert.equal(c.providers.kubernetesCRD.allowCrossNamespace, false);
  assert.equal(c.ping?.entryPoint, 'traefik');
  // ping on its default entry point brings the internal `traefik` entry point on :8080
  assert.equal(c.entryPoints.traefik?.address, ':8080');
  assert.deepEqual(Object.keys(c.entryPoints).sort(), ['traefik', 'web']);
  assert.deepEqual(defaultEntryPoints(c), ['web']);
  assert.ok(Object.isFrozen(c) && Object.isFrozen(c.entryPoints.web));
});

test('defaults: one `http` entry point on :80, Traefik timeouts, Gatehouse workers and data dir', () => {
  const c = parse([]);
  assert.deepEqual(Object.keys(c.entryPoints), ['http']);
  const ep = c.entryPoints.http!;
  assert.equal(ep.address, ':80');
  assert.equal(ep.transport.respondingTimeouts.readTimeout, 60_000);
  assert.equal(ep.transport.respondingTimeouts.writeTimeout, 0);
  assert.equal(ep.transport.respondingTimeouts.idleTimeout, 180_000);
  assert.equal(ep.transport.lifeCycle.graceTimeOut, 10_000);
  assert.equal(c.core.defaultRuleSyntax, 'v2');
  assert.equal(c.log.level, 'ERROR');
  assert.equal(c.api, undefined);
  assert.equal(c.ping, undefined);
  assert.equal(c.workers, availableParallelism());
  assert.equal(c.dataDir, '/srv/app/.gatehouse');
  assert.equal(c.providers.providersThrottleDuration, 200);
});

test('a user-defined traefik entry point is kept (the bench passes its own address)', () => {
  const c = parse(['--entrypoints.traefik.address=127.0.0.1:9123', '--api.insecure', '--metrics.prometheus']);
  assert.deepEqual(Object.keys(c.entryPoints), ['traefik']);
  assert.equal(c.entryPoints.traefik?.address, '127.0.0.1:9123');
  assert.equal(c.api?.insecure, true);
  assert.deepEqual(c.metrics.prometheus?.buckets, [0.1, 0.3, 1.2, 5]);
  assert.equal(c.metrics.prometheus?.addEntryPointsLabels, true);
  assert.equal(c.metrics.prometheus?.addRoutersLabels, false);
});

test('identity.insecure and api.insecure bring the traefik entry point; --section=false removes a section', () => {
  assert.equal(parse(['--identity.insecure']).entryPoints.traefik?.address, ':8080');
  const c = parse(['--api', '--api=false', '--entrypoints.web.address=:81']);
  assert.equal(c.api, undefined);
  assert.equal(c.entryPoints.traefik, undefined);
  assert.equal(parse(['--api.dashboard=false']).api?.dashboard, false);
});

test('Gatehouse flags accept both --name value and --name=value', () => {
  const a = parse(['--workers', '4', '--datadir', 'state']);
  assert.equal(a.workers, 4);
  assert.equal(a.dataDir, '/srv/app/state');
  const b = parse(['--workers=3', '--dataDir=/var/lib/gh']);
  assert.equal(b.workers, 3);
  assert.equal(b.dataDir, '/var/lib/gh');
});

test('values: durations, lists, enums (case-insensitive), numbers', () => {
  const c = parse([
    '--entrypoints.web.address=:8000',
    '--entrypoints.web.transport.respondingTimeouts.readTimeout=1m30s',
    '--entrypoints.web.transport.lifecycle.gracetimeout=3',
    '--entrypoints.web.forwardedheaders.trustedips=10.0.0.0/8, 127.0.0.1',
    '--entrypoints.web.http.middlewares=auth@file,headers@file',
    '--entrypoints.web.http.redirections.entrypoint.to=:443',
    '--metrics.prometheus.buckets=0.05,0.5,2',
    '--log.level=debug',
    '--accesslog.format=JSON',
    '--core.defaultRuleSyntax=v3',
  ]);
  const ep = c.entryPoints.web!;
  assert.equal(ep.transport.respondingTimeouts.readTimeout, 90_000);
  assert.equal(ep.transport.lifeCycle.graceTimeOut, 3000);
  assert.deepEqual(ep.forwardedHeaders.trustedIPs, ['10.0.0.0/8', '127.0.0.1']);
  assert.deepEqual(ep.http.middlewares, ['auth@file', 'headers@file']);
  assert.deepEqual(ep.http.redirections?.entryPoint, { to: ':443', scheme: 'https', permanent: true, priority: 2147483646 });
  assert.deepEqual(c.metrics.prometheus?.buckets, [0.05, 0.5, 2]);
  assert.equal(c.log.level, 'DEBUG');
  assert.equal(c.accessLog?.format, 'json');
  assert.equal(c.core.defaultRuleSyntax, 'v3');
});

test('unknown flags and env keys name the closest known one; every problem is reported', () => {
  const e = fails(() =>
    parse(['--entrypoints.web.adress=:8000', '--apii', '--workers=zero'], { GATEHOUSE_PROVIDERS_KUBERNETESCDR: 'true' }),
  );
  const text = e.issues.map((i) => i.message);
  assert.ok(text.includes('unknown flag --entrypoints.web.adress: did you mean --entrypoints.web.address?'), text.join('\n'));
  assert.ok(text.includes('unknown flag --apii: did you mean --api?'), text.join('\n'));
  assert.ok(
    text.some((t) => t.startsWith('invalid value "zero" for --workers: expected an integer')),
    text.join('\n'),
  );
  assert.ok(
    text.includes('unknown environment variable GATEHOUSE_PROVIDERS_KUBERNETESCDR: did you mean GATEHOUSE_PROVIDERS_KUBERNETESCRD?'),
    text.join('\n'),
  );
  assert.equal(e.issues.length, 4);
  assert.equal(fails(() => parse(['--nope'])).code, 'GH_FLAG_UNKNOWN');
  assert.equal(fails(() => parse(['--workers=0'])).code, 'GH_FLAG_INVALID');
  assert.match(fails(() => parse(['serve'])).message, /unexpected argument "serve"/);
  assert.match(fails(() => parse(['--entrypoints.web.address'])).message, /needs a value/);
});

test('bad values name the flag and what was expected', () => {
  assert.match(fails(() => parse(['--entrypoints.web.address=:99999'])).message, /--entrypoints\.web\.address: invalid port "99999"/);
  assert.match(fails(() => parse(['--entrypoints.web.address=8000'])).message, /expected \[host\]:port/);
  assert.match(fails(() => parse(['--entrypoints.web.address=:53/udp'])).message, /UDP/);
  assert.match(fails(() => parse(['--entrypoints.a.address=:80', '--entrypoints.b.address=:80'])).message, /already listens there/);
  assert.match(fails(() => parse(['--log.level=loud'])).message, /--log\.level: expected one of TRACE, DEBUG/);
  assert.match(fails(() => parse(['--entrypoints.web.transport.respondingtimeouts.idletimeout=soon'])).message, /expected a duration/);
  assert.match(fails(() => parse(['--entrypoints.web.forwardedheaders.insecure'])).message, /--entrypoints\.web\.address is required/);
  assert.match(
    fails(() => parse(['--providers.file'])).message,
    /exactly one of --providers\.file\.directory and --providers\.file\.filename/,
  );
  assert.match(
    fails(() => parse(['--ping.entrypoint=web', '--entrypoints.other.address=:81'])).message,
    /entry point "web" does not exist/,
  );
  assert.match(fails(() => parse(['--log=false'])).message, /cannot be disabled/);
});

test('environment variables use the GATEHOUSE_ prefix with underscores; entry point names may contain _', () => {
  const c = parse([], {
    GATEHOUSE_ENTRYPOINTS_WEB_ADDRESS: ':8000',
    GATEHOUSE_API_INSECURE: 'true',
    GATEHOUSE_ENTRYPOINTS_MY_EP_ADDRESS: ':8001',
    GATEHOUSE_WORKERS: '2',
    PATH: '/bin',
  });
  assert.equal(c.entryPoints.web?.address, ':8000');
  assert.equal(c.entryPoints.my_ep?.address, ':8001');
  assert.equal(c.api?.insecure, true);
  assert.equal(c.entryPoints.traefik?.address, ':8080');
  assert.equal(c.workers, 2);
});

test('precedence: file < env < flags; keys case-insensitive in every source', () => {
  const t = tmp();
  try {
    const file = join(t.dir, 'gatehouse.yaml');
    writeFileSync(
      file,
      [
        'entryPoints:',
        '  web:',
        '    address: ":1000"',
        '    transport:',
        '      respondingTimeouts:',
        '        idleTimeout: 30',
        'log:',
        '  level: debug',
        'api: {}',
        'ping:',
        'providers:',
        '  file:',
        '    directory: dynamic',
        '',
      ].join('\n'),
    );
    const fileOnly = parse(['--configfile', file]);
    assert.equal(fileOnly.entryPoints.web?.address, ':1000');
    assert.equal(fileOnly.entryPoints.web?.transport.respondingTimeouts.idleTimeout, 30_000);
    assert.equal(fileOnly.log.level, 'DEBUG');
    assert.ok(fileOnly.api !== undefined && fileOnly.ping !== undefined);
    assert.equal(fileOnly.providers.file?.directory, '/srv/app/dynamic');
    assert.equal(fileOnly.providers.file?.watch, true);
    assert.equal(fileOnly.configFile, file);

    const env = { GATEHOUSE_CONFIGFILE: file, GATEHOUSE_ENTRYPOINTS_WEB_ADDRESS: ':2000' };
    const withEnv = parse([], env);
    assert.equal(withEnv.entryPoints.web?.address, ':2000');
    assert.equal(withEnv.log.level, 'DEBUG');
    const withFlag = parse(['--ENTRYPOINTS.Web.ADDRESS=:3000'], env);
    assert.deepEqual(Object.keys(withFlag.entryPoints).sort(), ['traefik', 'web']);
    assert.equal(withFlag.entryPoints.web?.address, ':3000');
    assert.equal(withFlag.entryPoints.web?.transport.respondingTimeouts.idleTimeout, 30_000);
  } finally {
    t.done();
  }
});

test('a TOML configuration file', () => {
  const t = tmp();
  try {
    const file = join(t.dir, 'gatehouse.toml');
    writeFileSync(
      file,
      '[entryPoints.web]\naddress = ":8000"\n\n[entryPoints.web.forwardedHeaders]\ntrustedIPs = ["10.0.0.1"]\n\n[metrics.prometheus]\naddRoutersLabels = true\n',
    );
    const c = parse([`--configfile=${file}`]);
    assert.deepEqual(c.entryPoints.web?.forwardedHeaders.trustedIPs, ['10.0.0.1']);
    assert.equal(c.metrics.prometheus?.addRoutersLabels, true);
    assert.equal(c.entryPoints.traefik?.address, ':8080');
  } finally {
    t.done();
  }
});

test('a bad configuration file names file, line and field', () => {
  const t = tmp();
  try {
    const file = join(t.dir, 'bad.yaml');
    writeFileSync(file, 'entryPoints:\n  web:\n    adress: ":80"\nlog:\n  level: 7\n');
    const e = fails(() => parse(['--configfile', file]));
    const unknown = e.issues.find((i) => i.field === 'entryPoints.web.adress');
    assert.deepEqual(unknown, { file, line: 3, field: 'entryPoints.web.adress', message: 'unknown key "adress": did you mean "address"?' });
    const bad = e.issues.find((i) => i.field === 'log.level');
    assert.equal(bad?.line, 5);
    assert.match(bad?.message ?? '', /expected one of TRACE/);
    assert.match(e.message, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3: field entryPoints\\.web\\.adress`));

    writeFileSync(file, 'entryPoints:\n  web:\n    address: ":80\n');
    const p = fails(() => parse(['--configfile', file]));
    assert.equal(p.code, 'GH_CONFIG_PARSE');
    assert.equal(p.issues[0]?.file, file);
    assert.ok(typeof p.issues[0]?.line === 'number');
    assert.match(fails(() => parse(['--configfile', join(t.dir, 'missing.yaml')])).message, /ENOENT/);
  } finally {
    t.done();
  }
});

test('parseAddress', () => {
  assert.deepEqual(parseAddress(':8000'), { host: '', port: 8000 });
  assert.deepEqual(parseAddress('127.0.0.1:8000'), { host: '127.0.0.1', port: 8000 });
  assert.deepEqual(parseAddress('[::1]:8000'), { host: '::1', port: 8000 });
  assert.deepEqual(parseAddress(':8000/tcp'), { host: '', port: 8000 });
  assert.deepEqual(parseAddress('localhost:0'), { host: 'localhost', port: 0 });
  for (const bad of ['8000', ':65536', ':http', '::1:80', ':80/udp', ':80/sctp']) assert.throws(() => parseAddress(bad), Error, bad);
});

test('asDefault selects the default entry points', () => {
  const c = parse(['--entrypoints.a.address=:81', '--entrypoints.b.address=:82', '--entrypoints.b.asdefault']);
  assert.deepEqual(defaultEntryPoints(c), ['b']);
});

test('describeStaticConfig lists every flag with a description', () => {
  const lines = describeStaticConfig();
  const find = (flag: string): string | undefined => lines.find((l) => l.trimStart().startsWith(`${flag} `));
  assert.match(find('--entrypoints.<name>.address') ?? '', /listen address/);
  assert.match(find('--workers') ?? '', /worker processes/);
  assert.match(find('--providers.kubernetescrd') ?? '', /enable this section/);
  assert.match(find('--entrypoints.<name>.transport.respondingtimeouts.idletimeout') ?? '', /default: 180s/);
  assert.match(find('--ping.entrypoint') ?? '', /default: traefik/);
});
