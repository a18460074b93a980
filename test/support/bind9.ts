/**
 * A real BIND 9 for tests (Debian's `bind9` package: `/usr/sbin/named`): a temp
 * dir with a TSIG key made by `tsig-keygen`, two primary zones (`example.test`,
 * `example.org.test`) from zone files with SOA and NS, dynamic updates allowed to
 * the key (`update-policy { grant <key> zonesub ANY; }`), zone transfers to the
 * keys only (an hmac-sha256 and an hmac-sha512 key), listening on 127.0.0.1 on a free port (TCP and UDP), run in the
 * foreground (`named -g`) as the current user, stopped by `stop()`.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './pdns.js';

export const NAMED = '/usr/sbin/named';
const TSIG_KEYGEN = '/usr/sbin/tsig-keygen';

export interface TestBind9 {
  readonly dir: string;
  readonly port: number;
  readonly keyName: string;
  readonly secretBase64: string;
  readonly algorithm: 'hmac-sha256';
  /** A second key, hmac-sha512, with the same rights. */
  readonly sha512: { readonly keyName: string; readonly secretBase64: string };
  /** The zones it serves (no trailing dot). */
  readonly zones: readonly string[];
  /** `dig @127.0.0.1 -p <port> <args…>`; its standard output. */
  dig(args: string[]): string;
  /** Answers of `dig +short name type`, one line each, sorted. */
  lookup(name: string, type: string): string[];
  /** `dig -y hmac-sha256:<key>:<secret> AXFR <zone>`: the transferred records, one zone-file line each (`+noall +answer`). */
  axfr(zone: string): string[];
  /** What named printed (-g: its log on stderr). */
  log(): string;
  stop(): Promise<void>;
}

function zoneFile(zone: string): string {
  return [
    '$TTL 300',
    `@ IN SOA ns1.${zone}. hostmaster.${zone}. ( 1 3600 600 86400 60 )`,
    `@ IN NS ns1.${zone}.`,
    'ns1 IN A 127.0.0.1',
    '',
  ].join('\n');
}

export async function startBind9(): Promise<TestBind9> {
  if (!existsSync(NAMED))
    throw new Error(`${NAMED} is missing: install Debian's bind9 package (apt-get install bind9 bind9-utils dnsutils)`);
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bind9-'));
  const keyName = 'gatehouse-test-key';
  const zones = ['example.test', 'example.org.test'];
  let child: ChildProcess | null = null;
  let out = '';
  try {
    const keyConf = execFileSync(TSIG_KEYGEN, ['-a', 'hmac-sha256', keyName], { encoding: 'utf8' });
    const secretBase64 = /secret "([^"]+)"/.exec(keyConf)?.[1];
    if (secretBase64 === undefined) throw new Error(`tsig-keygen printed no secret: ${keyConf}`);
    const key512Name = 'gatehouse-test-key-512';
    const key512Conf = execFileSync(TSIG_KEYGEN, ['-a', 'hmac-sha512', key512Name], { encoding: 'utf8' });
    const secret512 = /secret "([^"]+)"/.exec(key512Conf)?.[1];
    if (secret512 === undefined) throw new Error(`tsig-keygen printed no secret: ${key512Conf}`);
    writeFileSync(join(dir, 'tsig.key'), keyConf + key512Conf, { mode: 0o600 });
    for (const z of zones) writeFileSync(join(dir, `${z}.db`), zoneFile(z));
    const port = await freePort();
    const conf = [
      `include "${join(dir, 'tsig.key')}";`,
      'options {',
      `  directory "${dir}";`,
      `  pid-file "${join(dir, 'named.pid')}";`,
      `  session-keyfile "${join(dir, 'session.key')}";`,
      `  managed-keys-directory "${dir}";`,
      `  listen-on port ${port} { 127.0.0.1; };`,
      '  listen-on-v6 { none; };',
      '  recursion no;',
      '  dnssec-validation no;',
      '  notify no;',
      '  allow-query { any; };',
      '  allow-transfer { none; };',
      // Small transfer messages: a zone of a few records is sent as several TCP messages, so
      // multi-message TSIG verification (RFC 8945 5.3.1) is exercised.
      '  transfer-message-size 512;',
      '};',
      'controls { };', // no rndc channel on 953 (other tests run at the same time)
      ...zones.map(
        (z) =>
          `zone "${z}" { type primary; file "${z}.db"; update-policy { grant ${keyName} zonesub ANY; grant ${key512Name} zonesub ANY; }; allow-transfer { key ${keyName}; key ${key512Name}; }; };`,
      ),
      '',
    ].join('\n');
    const confFile = join(dir, 'named.conf');
    writeFileSync(confFile, conf);
    const check = spawnSync('/usr/bin/named-checkconf', [confFile], { encoding: 'utf8' });
    if (check.error === undefined && check.status !== 0)
      throw new Error(`named-checkconf refused the test configuration: ${check.stdout}${check.stderr}`);

    const c = spawn(NAMED, ['-g', '-4', '-n', '1', '-c', confFile], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    c.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr?.on('data', (d: Buffer) => (out += d.toString()));

    const dig = (args: string[]): string => {
      const r = spawnSync('dig', ['@127.0.0.1', '-p', String(port), '+time=2', '+tries=1', ...args], { encoding: 'utf8', timeout: 10_000 });
      return r.stdout ?? '';
    };
    const end = Date.now() + 20_000;
    for (;;) {
      if (c.exitCode !== null) throw new Error(`named exited (${c.exitCode}): ${out.slice(-2000)}`);
      const soa = dig(['+short', 'SOA', zones[0] as string]).trim();
      if (soa.startsWith('ns1.')) break;
      if (Date.now() > end) throw new Error(`named did not answer on 127.0.0.1:${port} within 20 s: ${out.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }

    const stop = async (): Promise<void> => {
      const p = child;
      child = null;
      if (p !== null && p.exitCode === null && p.signalCode === null) {
        const exited = new Promise<void>((r) => p.once('exit', () => r()));
        p.kill('SIGTERM');
        const t = setTimeout(() => p.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      }
      rmSync(dir, { recursive: true, force: true });
    };

    return {
      dir,
      port,
      keyName,
      secretBase64,
      algorithm: 'hmac-sha256',
      sha512: { keyName: key512Name, secretBase64: secret512 },
      zones,
      dig,
      lookup: (name, type) =>
        dig(['+short', name, type])
          .split('\n')
          .map((l) => l.trim())
          .filter((l) => l !== '')
          .sort(),
      axfr: (zone) =>
        dig(['-y', `hmac-sha256:${keyName}:${secretBase64}`, '+noall', '+answer', 'AXFR', zone])
          .split('\n')
          .map((l) => l.trim())
          .filter((l) => l !== '' && !l.startsWith(';')),
      log: () => out,
      stop,
    };
  } catch (err) {
    child?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
