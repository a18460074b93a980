/**
 * Lists of objects in the static configuration (Gatehouse issue 14): the entry
 * point's `http.tls.domains` as indexed flags (`domains[0].main`), environment
 * variables (`_DOMAINS_0_MAIN`) and file lists (YAML, TOML arrays of tables),
 * with the errors naming the flag or variable.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import { describeStaticConfig, parseStaticConfig, type StaticConfig } from './static.js';

const EP = '--entrypoints.websecure';
const ENV = 'GATEHOUSE_ENTRYPOINTS_WEBSECURE';

function parse(argv: string[], env: NodeJS.ProcessEnv = {}): StaticConfig {
  return parseStaticConfig({ argv, env, cwd: '/srv/app' });
}

function messages(argv: string[], env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parse(argv, env);
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
    return e.issues.map((i) => i.message);
  }
  return assert.fail('expected a ConfigError');
}

function withFile<T>(name: string, text: string, fn: (file: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'gh-static-lists-'));
  try {
    const file = join(dir, name);
    writeFileSync(file, text);
    return fn(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('flags: the issue contract, indexed domains with main and comma-separated sans', () => {
  const c = parse([
    `${EP}.address=:8443`,
    `${EP}.http.tls.certresolver=le`,
    `${EP}.http.tls.options=modern`,
    `${EP}.http.tls.domains[0].main=example.com`,
    `${EP}.http.tls.domains[0].sans=www.example.com,api.example.com`,
    `${EP}.http.tls.domains[1].main=example.org`,
  ]);
  assert.deepEqual(c.entryPoints.websecure?.http.tls, {
    certResolver: 'le',
    options: 'modern',
    domains: [
      { main: 'example.com', sans: ['www.example.com', 'api.example.com'] },
      { main: 'example.org', sans: [] },
    ],
  });
});

test('flags: indexes in any order and any case of the names; the bare boolean section still works', () => {
  const c = parse([
    `--EntryPoints.WebSecure.address=:8443`,
    `${EP}.HTTP.TLS.Domains[1].Main=b.test`,
    `${EP}.http.tls.domains[0].SANs=a2.test`,
    `${EP}.http.tls.domains[0].main=a.test`,
  ]);
  assert.deepEqual(c.entryPoints.WebSecure?.http.tls?.domains, [
    { main: 'a.test', sans: ['a2.test'] },
    { main: 'b.test', sans: [] },
  ]);
  const bare = parse([`${EP}.address=:8443`, `${EP}.http.tls=true`]);
  assert.deepEqual(bare.entryPoints.websecure?.http.tls, {});
  const flag = parse([`${EP}.address=:8443`, `${EP}.http.tls`, `${EP}.http.tls.certResolver=le`]);
  assert.deepEqual(flag.entryPoints.websecure?.http.tls, { certResolver: 'le' });
  assert.equal(parse([`${EP}.address=:8443`]).entryPoints.websecure?.http.tls, undefined);
});

test('flags: a gap, a non-numeric index, a missing index, an unknown field are errors naming the flag', () => {
  const base = `${EP}.address=:8443`;
  assert.deepEqual(messages([base, `${EP}.http.tls.domains[0].main=a.test`, `${EP}.http.tls.domains[2].main=c.test`]), [
    `${EP}.http.tls.domains[2].main: list index 2 without 1: elements are numbered from 0 with no gap`,
  ]);
  assert.deepEqual(messages([base, `${EP}.http.tls.domains[1].main=b.test`]), [
    `${EP}.http.tls.domains[1].main: list index 1 without 0: elements are numbered from 0 with no gap`,
  ]);
  assert.deepEqual(messages([base, `${EP}.http.tls.domains[a].main=a.test`]), [
    `invalid flag ${EP}.http.tls.domains[a].main: invalid list index "[a]": expected a number from 0, e.g. ${EP}.http.tls.domains[0].…`,
  ]);
  assert.match(messages([base, `${EP}.http.tls.domains[-1].main=a.test`])[0] ?? '', /invalid list index "\[-1\]"/);
  assert.match(messages([base, `${EP}.http.tls.domains[01].main=a.test`])[0] ?? '', /invalid list index "\[01\]"/);
  assert.match(messages([base, `${EP}.http.tls.domains[5000].main=a.test`])[0] ?? '', /list index \[5000\] is larger than 999/);
  assert.deepEqual(messages([base, `${EP}.http.tls.domains[0].mian=a.test`]), [
    `unknown flag ${EP}.http.tls.domains[0].mian: did you mean ${EP}.http.tls.domains[0].main?`,
  ]);
  assert.deepEqual(messages([base, `${EP}.http.tls.domains.main=a.test`]), [
    `invalid flag ${EP}.http.tls.domains.main: ${EP}.http.tls.domains is a list: give the element index after it, e.g. ${EP}.http.tls.domains[0].…`,
  ]);
  assert.deepEqual(messages([base, `${EP}.http.tls.domains=a.test`]), [
    `invalid value "a.test" for ${EP}.http.tls.domains: this is a list: set its elements by index, e.g. domains[0].main=…`,
  ]);
  assert.deepEqual(messages([base, `${EP}.http.tls.domains[0.main=a.test`]), [
    `malformed list index in ${EP}.http.tls.domains[0.main: expected name[N], e.g. domains[0]`,
  ]);
  assert.deepEqual(messages([`${EP}.address[0]=:8443`]), [
    `invalid flag ${EP}.address[0]: ${EP}.address is not a list: it takes no index [0]`,
  ]);
  // An element without its required main.
  assert.deepEqual(messages([base, `${EP}.http.tls.domains[0].sans=www.a.test`]), [`${EP}.http.tls.domains[0].main is required`]);
});

test('environment: _DOMAINS_N_MAIN / _SANS, entry point names with _, errors naming the variable', () => {
  const c = parse([], {
    [`${ENV}_ADDRESS`]: ':8443',
    [`${ENV}_HTTP_TLS_CERTRESOLVER`]: 'le',
    [`${ENV}_HTTP_TLS_DOMAINS_0_MAIN`]: 'a.test',
    [`${ENV}_HTTP_TLS_DOMAINS_0_SANS`]: 'www.a.test, api.a.test',
    [`${ENV}_HTTP_TLS_DOMAINS_1_MAIN`]: 'b.test',
    GATEHOUSE_ENTRYPOINTS_MY_EP_ADDRESS: ':8444',
    GATEHOUSE_ENTRYPOINTS_MY_EP_HTTP_TLS_DOMAINS_0_MAIN: 'c.test',
  });
  assert.deepEqual(c.entryPoints.websecure?.http.tls, {
    certResolver: 'le',
    domains: [
      { main: 'a.test', sans: ['www.a.test', 'api.a.test'] },
      { main: 'b.test', sans: [] },
    ],
  });
  assert.deepEqual(c.entryPoints.my_ep?.http.tls?.domains, [{ main: 'c.test', sans: [] }]);

  const addr = { [`${ENV}_ADDRESS`]: ':8443' };
  assert.deepEqual(messages([], { ...addr, [`${ENV}_HTTP_TLS_DOMAINS_0_MAIN`]: 'a.test', [`${ENV}_HTTP_TLS_DOMAINS_2_MAIN`]: 'c.test' }), [
    `${ENV}_HTTP_TLS_DOMAINS_2_MAIN: list index 2 without 1: elements are numbered from 0 with no gap`,
  ]);
  assert.deepEqual(messages([], { ...addr, [`${ENV}_HTTP_TLS_DOMAINS_0_MAN`]: 'a.test' }), [
    `unknown environment variable ${ENV}_HTTP_TLS_DOMAINS_0_MAN: did you mean ${ENV}_HTTP_TLS_DOMAINS_0_MAIN?`,
  ]);
  assert.deepEqual(messages([], { ...addr, [`${ENV}_HTTP_TLS_DOMAINS_X_MAIN`]: 'a.test' }), [
    `invalid environment variable ${ENV}_HTTP_TLS_DOMAINS_X_MAIN: ${ENV}_HTTP_TLS_DOMAINS is a list: give the element index after it, e.g. ${ENV}_HTTP_TLS_DOMAINS_0_…`,
  ]);
  assert.match(messages([], { ...addr, [`${ENV}_HTTP_TLS_DOMAINS_00_MAIN`]: 'a.test' })[0] ?? '', /invalid list index "00"/);
});

test('file: YAML and TOML lists; a source setting a list replaces the lower one as a whole', () => {
  const yaml = [
    'entryPoints:',
    '  websecure:',
    '    address: ":8443"',
    '    http:',
    '      tls:',
    '        certResolver: le',
    '        domains:',
    '          - main: a.test',
    '            sans: [www.a.test]',
    '          - main: b.test',
    '',
  ].join('\n');
  withFile('static.yaml', yaml, (file) => {
    const c = parse(['--configfile', file]);
    assert.deepEqual(c.entryPoints.websecure?.http.tls?.domains, [
      { main: 'a.test', sans: ['www.a.test'] },
      { main: 'b.test', sans: [] },
    ]);
    // Flags (highest) replace the file's list; the rest of the file's tls stays.
    const f = parse(['--configfile', file, `${EP}.http.tls.domains[0].main=z.test`]);
    assert.deepEqual(f.entryPoints.websecure?.http.tls, { certResolver: 'le', domains: [{ main: 'z.test', sans: [] }] });
    const e = parse(['--configfile', file], {
      [`${ENV}_HTTP_TLS_DOMAINS_0_MAIN`]: 'y.test',
      [`${ENV}_HTTP_TLS_DOMAINS_0_SANS`]: 'w.y.test',
    });
    assert.deepEqual(e.entryPoints.websecure?.http.tls?.domains, [{ main: 'y.test', sans: ['w.y.test'] }]);
  });
  const toml = [
    '[entryPoints.websecure]',
    'address = ":8443"',
    '[entryPoints.websecure.http.tls]',
    'certResolver = "le"',
    '[[entryPoints.websecure.http.tls.domains]]',
    'main = "a.test"',
    'sans = ["www.a.test", "api.a.test"]',
    '[[entryPoints.websecure.http.tls.domains]]',
    'main = "b.test"',
    '',
  ].join('\n');
  withFile('static.toml', toml, (file) => {
    assert.deepEqual(parse([`--configfile=${file}`]).entryPoints.websecure?.http.tls?.domains, [
      { main: 'a.test', sans: ['www.a.test', 'api.a.test'] },
      { main: 'b.test', sans: [] },
    ]);
  });
});

test('file: errors name the element with its index and line', () => {
  const yaml = [
    'entryPoints:',
    '  websecure:',
    '    address: ":8443"',
    '    http:',
    '      tls:',
    '        domains:',
    '          - main: a.test',
    '          - mian: b.test',
    '          - just-a-string',
    '',
  ].join('\n');
  withFile('bad.yaml', yaml, (file) => {
    try {
      parse(['--configfile', file]);
      assert.fail('expected a ConfigError');
    } catch (e) {
      assert.ok(e instanceof ConfigError);
      const unknown = e.issues.find((i) => i.field === 'entryPoints.websecure.http.tls.domains[1].mian');
      assert.deepEqual(unknown, {
        file,
        line: 8,
        field: 'entryPoints.websecure.http.tls.domains[1].mian',
        message: 'unknown key "mian": did you mean "main"?',
      });
      const notMap = e.issues.find((i) => i.field === 'entryPoints.websecure.http.tls.domains[2]');
      assert.equal(notMap?.line, 9);
      assert.equal(notMap?.message, 'expected a mapping, got "just-a-string"');
    }
  });
  withFile('bad2.yaml', 'entryPoints:\n  websecure:\n    address: ":8443"\n    http:\n      tls:\n        domains: a.test\n', (file) => {
    try {
      parse(['--configfile', file]);
      assert.fail('expected a ConfigError');
    } catch (e) {
      assert.ok(e instanceof ConfigError);
      assert.deepEqual(
        e.issues.map((i) => [i.field, i.line, i.message]),
        [['entryPoints.websecure.http.tls.domains', 6, 'expected a list of mappings, got "a.test"']],
      );
    }
  });
});

test('help lists the indexed flags', () => {
  const lines = describeStaticConfig();
  const find = (flag: string): string | undefined => lines.find((l) => l.trimStart().startsWith(`${flag} `));
  assert.match(find('--entrypoints.<name>.http.tls.domains[n].main') ?? '', /main domain/);
  assert.match(find('--entrypoints.<name>.http.tls.domains[n].sans') ?? '', /comma-separated/);
  assert.match(find('--entrypoints.<name>.http.tls.certresolver') ?? '', /resolver/);
});
