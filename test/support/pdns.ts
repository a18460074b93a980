/**
 * A real PowerDNS Authoritative server for tests (`/usr/sbin/pdns_server`,
 * Debian's pdns-server + pdns-backend-sqlite3): a temp dir with a fresh sqlite
 * database, the HTTP API on a free loopback port, DNS on another one, run in the
 * foreground as the current user and stopped by `stop()`.
 *
 * ALIAS expansion needs a recursive resolver: `startPdns` starts a tiny UDP
 * answerer in the test process (`startAnswerer`, A/AAAA for the names the test
 * sets) and points `resolver=` at it. It stands in for the recursive resolver
 * PowerDNS asks, never for PowerDNS itself.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dnsPacket from 'dns-packet';

const SCHEMA = '/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql';
const PDNS = '/usr/sbin/pdns_server';

/** A free port on 127.0.0.1 for both TCP and UDP (PowerDNS binds both for DNS). */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const port = (s.address() as AddressInfo).port;
    await new Promise<void>((r) => s.close(() => r()));
    const u = createSocket('udp4');
    const ok = await new Promise<boolean>((r) => {
      u.once('error', () => r(false));
      u.bind(port, '127.0.0.1', () => r(true));
    });
    await new Promise<void>((r) => u.close(() => r()));
    if (ok) return port;
  }
  throw new Error('no free TCP+UDP port on 127.0.0.1');
}

export interface TestAnswerer {
  readonly port: number;
  /** Sets the A or AAAA answers for `name` (no trailing dot); an empty list removes them. */
  set(name: string, type: 'A' | 'AAAA', values: string[]): void;
  close(): Promise<void>;
}

/** A minimal recursive-resolver stand-in over UDP: answers A/AAAA from a table, NXDOMAIN otherwise. */
export async function startAnswerer(): Promise<TestAnswerer> {
  const table = new Map<string, string[]>();
  const sock: Socket = createSocket('udp4');
  sock.on('message', (msg, rinfo) => {
    let q: dnsPacket.DecodedPacket;
    try {
      q = dnsPacket.decode(msg);
    } catch {
      return;
    }
    const question = q.questions?.[0];
    if (question === undefined) return;
    const name = question.name.toLowerCase().replace(/\.$/, '');
    const type = question.type;
    const values = type === 'A' || type === 'AAAA' ? (table.get(`${type} ${name}`) ?? []) : [];
    const known = table.has(`A ${name}`) || table.has(`AAAA ${name}`);
    const reply = dnsPacket.encode({
      type: 'response',
      id: q.id ?? 0,
      flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | (known ? 0 : 3), // rcode 3: NXDOMAIN
      questions: [question],
      answers: values.map((data) => ({ type: type as 'A' | 'AAAA', name: question.name, ttl: 60, data })),
    });
    sock.send(reply, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(0, '127.0.0.1', () => resolve());
  });
  return {
    port: sock.address().port,
    set(name, type, values) {
      const key = `${type} ${name.toLowerCase()}`;
      if (values.length === 0) table.delete(key);
      else table.set(key, [...values]);
    },
    close: () => new Promise<void>((r) => sock.close(() => r())),
  };
}

export interface TestPdns {
  /** `http://127.0.0.1:<port>` (the API is under /api/v1). */
  readonly apiUrl: string;
  readonly apiKey: string;
  /** A file holding the API key (what `--dns.pdns.apikeyfile` points to). */
  readonly apiKeyFile: string;
  readonly dnsPort: number;
  /** The resolver PowerDNS asks for ALIAS targets. */
  readonly resolver: TestAnswerer;
  /** Creates a Native zone (name without trailing dot) with an NS record, through the API. */
  createZone(zone: string): Promise<void>;
  /** Answers of `dig @127.0.0.1 -p dnsPort +short name type`, one line each, sorted. */
  dig(name: string, type: string): Promise<string[]>;
  /** Stops the server (SIGTERM; SIGKILL after 3 s). The resolver and the temp dir stay until `close`. */
  stop(): Promise<void>;
  /** Stops the server and the resolver and removes the temp dir. */
  close(): Promise<void>;
}

export async function startPdns(opts: { expandAlias?: boolean } = {}): Promise<TestPdns> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-pdns-'));
  const resolver = await startAnswerer();
  let child: ChildProcess | null = null;
  try {
    const db = join(dir, 'pdns.sqlite3');
    const schema = spawnSync('sqlite3', [db], { input: readFileSync(SCHEMA, 'utf8'), encoding: 'utf8' });
    if (schema.status !== 0) throw new Error(`sqlite3 could not create the PowerDNS schema: ${schema.stderr}`);
    const apiKey = randomBytes(18).toString('base64url');
    const apiKeyFile = join(dir, 'api-key');
    writeFileSync(apiKeyFile, `${apiKey}\n`, { mode: 0o600 });
    const webPort = await freePort();
    const dnsPort = await freePort();
    const expand = opts.expandAlias !== false;
    const conf = [
      'launch=gsqlite3',
      `gsqlite3-database=${db}`,
      'api=yes',
      `api-key=${apiKey}`,
      'webserver=yes',
      'webserver-address=127.0.0.1',
      `webserver-port=${webPort}`,
      'webserver-allow-from=127.0.0.0/8',
      'local-address=127.0.0.1',
      `local-port=${dnsPort}`,
      `socket-dir=${dir}`,
      'guardian=no',
      'daemon=no',
      'disable-syslog=yes',
      'security-poll-suffix=',
      'cache-ttl=0',
      'negquery-cache-ttl=0',
      'query-cache-ttl=0',
      `expand-alias=${expand ? 'yes' : 'no'}`,
      ...(expand ? [`resolver=127.0.0.1:${resolver.port}`] : []),
      '',
    ].join('\n');
    writeFileSync(join(dir, 'pdns.conf'), conf, { mode: 0o600 });
    const c = spawn(PDNS, [`--config-dir=${dir}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    let out = '';
    c.stdout?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-4000)));
    c.stderr?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-4000)));
    const apiUrl = `http://127.0.0.1:${webPort}`;
    const end = Date.now() + 15_000;
    for (;;) {
      if (c.exitCode !== null) throw new Error(`pdns_server exited (${c.exitCode}): ${out.slice(-1000)}`);
      try {
        const r = await fetch(`${apiUrl}/api/v1/servers/localhost`, {
          headers: { 'X-API-Key': apiKey },
          signal: AbortSignal.timeout(1000),
        });
        await r.arrayBuffer();
        if (r.ok) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > end) throw new Error(`pdns_server did not answer on ${apiUrl} within 15 s: ${out.slice(-1000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }

    const stop = async (): Promise<void> => {
      const p = child;
      child = null;
      if (p === null || p.exitCode !== null) return;
      const exited = new Promise<void>((r) => p.once('exit', () => r()));
      p.kill('SIGTERM');
      const t = setTimeout(() => p.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(t);
    };

    return {
      apiUrl,
      apiKey,
      apiKeyFile,
      dnsPort,
      resolver,
      async createZone(zone) {
        const r = await fetch(`${apiUrl}/api/v1/servers/localhost/zones`, {
          method: 'POST',
          headers: { 'X-API-Key': apiKey, 'content-type': 'application/json' },
          body: JSON.stringify({ name: `${zone}.`, kind: 'Native', nameservers: [`ns1.${zone}.`] }),
          signal: AbortSignal.timeout(5000),
        });
        const text = await r.text();
        if (r.status !== 201) throw new Error(`creating zone ${zone} failed: HTTP ${r.status} ${text}`);
      },
      dig(name, type) {
        // Asynchronous: the resolver PowerDNS asks for ALIAS targets runs in this process.
        return new Promise<string[]>((resolve, reject) => {
          const args = ['@127.0.0.1', '-p', String(dnsPort), '+short', '+time=2', '+tries=1', name, type];
          const d = spawn('dig', args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
          let out = '';
          d.stdout.on('data', (b: Buffer) => (out += b.toString()));
          d.stderr.on('data', (b: Buffer) => (out += b.toString()));
          d.on('error', reject);
          d.on('close', (code) => {
            if (code !== 0) reject(new Error(`dig ${name} ${type} failed (${code}): ${out}`));
            else
              resolve(
                out
                  .split('\n')
                  .map((l) => l.trim())
                  .filter((l) => l !== '')
                  .sort(),
              );
          });
        });
      },
      stop,
      async close() {
        await stop();
        await resolver.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    child?.kill('SIGKILL');
    await resolver.close();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
