/**
 * After publishing, ask the authoritative server over DNS what it now answers.
 * PowerDNS serves an ALIAS by resolving its target; with `expand-alias=no` or no
 * `resolver=` it answers an A query with nothing and logs nothing, so an apex
 * ALIAS can look published in the API and be empty on the wire. `checkAnswers`
 * makes that visible.
 */
import { createSocket } from 'node:dgram';
import { randomInt } from 'node:crypto';
import { isIP } from 'node:net';
import dnsPacket from 'dns-packet';
import type { RecordSet } from './types.js';

export interface AnswerCheck {
  /** The server answers what the record set says (A/AAAA: the same addresses; ALIAS: at least one address; CNAME: the target). */
  readonly ok: boolean;
  /** What the server answered (addresses or host names, sorted). */
  readonly answer: readonly string[];
  /** Why it is not ok: an empty ALIAS, a DNS error code, a timeout. */
  readonly error?: string;
}

export interface CheckOptions {
  /** Per query; default 2 s. */
  readonly timeoutMs?: number;
}

/** Key of a record set in `checkAnswers`' result: `<name> <type>`. */
export function answerKey(rs: Pick<RecordSet, 'name' | 'type'>): string {
  return `${rs.name} ${rs.type}`;
}

/**
 * Queries `host:port` (UDP) for every A, AAAA, CNAME and ALIAS record set given
 * (TXT is skipped) and compares. An ALIAS is queried as A, then AAAA when A is empty.
 */
export async function checkAnswers(
  host: string,
  port: number,
  records: readonly RecordSet[],
  opts: CheckOptions = {},
): Promise<Map<string, AnswerCheck>> {
  const timeoutMs = opts.timeoutMs ?? 2000;
  const out = new Map<string, AnswerCheck>();
  for (const rs of records) {
    if (rs.type === 'TXT') continue;
    try {
      if (rs.type === 'ALIAS') {
        let answer = await queryOnce(host, port, rs.name, 'A', timeoutMs);
        if (answer.length === 0) answer = await queryOnce(host, port, rs.name, 'AAAA', timeoutMs);
        out.set(
          answerKey(rs),
          answer.length > 0
            ? { ok: true, answer }
            : {
                ok: false,
                answer,
                error: `the ALIAS ${rs.name} → ${rs.values.join(', ')} answers no address (PowerDNS: is expand-alias=yes set, with a working resolver=?)`,
              },
        );
        continue;
      }
      const answer = await queryOnce(host, port, rs.name, rs.type, timeoutMs);
      const want = [...new Set(rs.values.map((v) => canonical(rs.type, v)))].sort();
      const got = [...new Set(answer.map((v) => canonical(rs.type, v)))].sort();
      const same = want.length === got.length && want.every((v, i) => v === got[i]);
      out.set(
        answerKey(rs),
        same
          ? { ok: true, answer }
          : { ok: false, answer, error: `${rs.name} ${rs.type} answers [${answer.join(', ')}], expected [${want.join(', ')}]` },
      );
    } catch (err) {
      out.set(answerKey(rs), { ok: false, answer: [], error: (err as Error).message });
    }
  }
  return out;
}

function canonical(type: string, v: string): string {
  if (type === 'AAAA' && isIP(v) === 6) return new URL(`http://[${v}]/`).hostname.slice(1, -1);
  return v.toLowerCase().replace(/\.$/, '');
}

/** One UDP question; resolves the data of the answers of that type (rcode NOERROR), rejects on timeout or an error rcode. */
export function queryOnce(host: string, port: number, name: string, type: 'A' | 'AAAA' | 'CNAME', timeoutMs: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const id = randomInt(0, 0x10000);
    const sock = createSocket(isIP(host) === 6 ? 'udp6' : 'udp4');
    let done = false;
    const finish = (err: Error | null, value?: string[]): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.close();
      if (err !== null) reject(err);
      else resolve(value ?? []);
    };
    const timer = setTimeout(
      () => finish(new Error(`no DNS answer from ${host}:${port} for ${name} ${type} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    sock.on('error', (err) => finish(new Error(`DNS query to ${host}:${port} for ${name} ${type} failed: ${err.message}`)));
    sock.on('message', (msg) => {
      let p: dnsPacket.DecodedPacket & { rcode?: string };
      try {
        p = dnsPacket.decode(msg) as dnsPacket.DecodedPacket & { rcode?: string };
      } catch {
        return; // not a DNS message: keep waiting
      }
      if (p.id !== id || p.type !== 'response') return;
      const rcode = p.rcode ?? 'NOERROR';
      if (rcode !== 'NOERROR' && rcode !== 'NXDOMAIN') {
        finish(new Error(`${host}:${port} answered ${rcode} for ${name} ${type}`));
        return;
      }
      const data: string[] = [];
      for (const a of p.answers ?? []) if (a.type === type && typeof a.data === 'string') data.push(a.data);
      finish(null, data.sort());
    });
    const q = dnsPacket.encode({ type: 'query', id, flags: 0, questions: [{ type, name, class: 'IN' }] });
    sock.send(q, port, host, (err) => {
      if (err) finish(new Error(`DNS query to ${host}:${port} for ${name} ${type} failed: ${err.message}`));
    });
  });
}
