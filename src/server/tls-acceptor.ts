/**
 * TLS on an entry point: a connection whose first byte starts a TLS handshake
 * record is read up to its ClientHello (bounded, with the header timeout), the
 * TLS options and certificate are chosen from its server name (src/tls/store.ts),
 * and the socket is wrapped in a TLSSocket with them. The entry point serves
 * what comes out (ALPN `h2` → HTTP/2, otherwise HTTP/1.1) as HTTPS.
 *
 * ACME tls-alpn-01 (RFC 8737): a ClientHello offering only `acme-tls/1` gets
 * the challenge certificate for its name and nothing else.
 *
 * TCP routers (docs/tcp.md): the entry point may pass a `route` callback; from
 * the ClientHello it picks a TCP router that takes the raw socket with the
 * ClientHello bytes (passthrough) or the TLS socket after the handshake
 * (termination), or none (the HTTPS path as without TCP routers).
 */
import { constants as cryptoConstants } from 'node:crypto';
import type { Socket } from 'node:net';
import { createSecureContext, TLSSocket } from 'node:tls';
import type { Logger } from '../log.js';
import { MAX_CLIENT_HELLO, parseClientHello, type ClientHello } from '../tls/client-hello.js';
import type { CertificateMaterial } from '../tls/certificates.js';
import type { TlsStore } from '../tls/store.js';

/** A TLS alert record: fatal `description` (RFC 8446 §6). */
function alert(description: number): Buffer {
  return Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, description]);
}
const HANDSHAKE_FAILURE = 40;
const UNRECOGNIZED_NAME = 112;
const DECODE_ERROR = 50;

/** Where a TLS connection goes instead of HTTPS (a TCP router). */
export type TlsHandOff =
  /** The raw socket (paused) and the bytes read so far (the ClientHello), untouched. */
  | { kind: 'passthrough'; take(socket: Socket, read: Buffer): void }
  /**
   * The TLS socket once the handshake is done. `alpn`: protocols the TCP router accepts besides the TLS
   * options' list (the client's offer: a TCP backend may speak any), so a handshake does not fail on ALPN.
   */
  | { kind: 'terminate'; take(ts: TLSSocket): void; alpn?: readonly string[] };

export interface TlsAcceptorOptions {
  log: Logger;
  /** The challenge certificate for a tls-alpn-01 validation of `serverName`, when one is pending. */
  acmeTlsAlpn?: (serverName: string) => Promise<CertificateMaterial | undefined>;
  /** Counts refused handshakes by reason (`sni_strict`, `client_hello`, `no_certificate`, `client_certificate`). */
  onRefused?: (reason: string) => void;
}

export class TlsAcceptor {
  private store: TlsStore | null = null;
  /** Handshakes that arrived before the first store (the material is still on its way). */
  private waiting: Array<() => void> = [];

  constructor(private readonly opts: TlsAcceptorOptions) {}

  /** The store in force; new handshakes use it, established connections keep theirs. */
  setStore(store: TlsStore): void {
    this.store = store;
    const w = this.waiting;
    this.waiting = [];
    for (const f of w) f();
  }

  get current(): TlsStore | null {
    return this.store;
  }

  /**
   * Reads the ClientHello from `socket` (`first` already read), then calls
   * `onSecure` with the established TLS socket; on failure the connection is
   * closed (with an alert where one applies).
   */
  accept(
    socket: Socket,
    first: Buffer,
    timeoutMs: number,
    onSecure: (ts: TLSSocket) => void,
    route?: (hello: ClientHello) => TlsHandOff | null,
  ): void {
    let buf = first;
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    // A client that leaves mid-handshake (one refusing the certificate) must not keep the timer (and a closing gateway) waiting.
    socket.once('close', () => clearTimeout(timer));
    const fail = (reason: string, description: number): void => {
      clearTimeout(timer);
      this.opts.onRefused?.(reason);
      if (socket.writable) socket.end(alert(description));
      else socket.destroy();
    };
    const step = (): void => {
      const r = parseClientHello(buf);
      if (r.kind === 'need') {
        if (buf.length > MAX_CLIENT_HELLO) fail('client_hello', DECODE_ERROR);
        return;
      }
      socket.off('data', more);
      if (r.kind === 'error') {
        fail('client_hello', DECODE_ERROR);
        return;
      }
      const hand = route?.(r.hello) ?? null;
      if (hand !== null && hand.kind === 'passthrough') {
        clearTimeout(timer);
        socket.pause();
        hand.take(socket, buf);
        return;
      }
      socket.pause();
      socket.unshift(buf);
      this.handshake(socket, r.hello, timer, fail, hand === null ? onSecure : (ts) => hand.take(ts), hand?.alpn);
    };
    const more = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk]);
      step();
    };
    socket.on('data', more);
    step();
  }

  private handshake(
    socket: Socket,
    hello: ClientHello,
    timer: NodeJS.Timeout,
    fail: (reason: string, description: number) => void,
    onSecure: (ts: TLSSocket) => void,
    extraAlpn?: readonly string[],
  ): void {
    if (hello.alpn.length === 1 && hello.alpn[0] === 'acme-tls/1') {
      this.acmeChallenge(socket, hello, timer, fail);
      return;
    }
    const store = this.store;
    if (store === null) {
      // Bounded by the header timeout running on this connection.
      this.waiting.push(() => {
        if (!socket.destroyed) this.handshake(socket, hello, timer, fail, onSecure, extraAlpn);
      });
      return;
    }
    const sel = store.select(hello.serverName);
    if (sel.kind === 'refuse') {
      fail(
        sel.reason.includes('sniStrict') ? 'sni_strict' : 'no_certificate',
        hello.serverName === undefined ? HANDSHAKE_FAILURE : UNRECOGNIZED_NAME,
      );
      return;
    }
    const { options, context } = sel.choice;
    const mode = options.clientAuthType;
    const alpn = options.alpnProtocols.filter((p) => p !== 'acme-tls/1');
    for (const p of extraAlpn ?? []) if (p !== 'acme-tls/1' && !alpn.includes(p)) alpn.push(p);
    const ts = new TLSSocket(socket, {
      isServer: true,
      secureContext: context,
      ALPNProtocols: alpn,
      requestCert: mode !== 'NoClientCert',
      rejectUnauthorized: mode === 'RequireAndVerifyClientCert',
    });
    ts.once('secure', () => {
      clearTimeout(timer);
      if (mode !== 'NoClientCert' && !clientCertificateAccepted(ts, mode)) {
        this.opts.onRefused?.('client_certificate');
        ts.destroy();
        return;
      }
      onSecure(ts);
    });
    ts.on('error', () => {
      clearTimeout(timer);
      ts.destroy();
    });
  }

  private acmeChallenge(
    socket: Socket,
    hello: ClientHello,
    timer: NodeJS.Timeout,
    fail: (reason: string, description: number) => void,
  ): void {
    const name = hello.serverName;
    const lookup = this.opts.acmeTlsAlpn;
    if (name === undefined || lookup === undefined) {
      fail('no_certificate', HANDSHAKE_FAILURE);
      return;
    }
    lookup(name).then(
      (m) => {
        if (m === undefined || socket.destroyed) {
          fail('no_certificate', UNRECOGNIZED_NAME);
          return;
        }
        const ts = new TLSSocket(socket, {
          isServer: true,
          secureContext: createSecureContext({
            cert: m.cert,
            key: m.key,
            minVersion: 'TLSv1.2',
            secureOptions: cryptoConstants.SSL_OP_NO_TICKET,
          }),
          ALPNProtocols: ['acme-tls/1'],
        });
        ts.once('secure', () => {
          clearTimeout(timer);
          ts.end();
        });
        ts.on('error', () => ts.destroy());
      },
      () => fail('no_certificate', HANDSHAKE_FAILURE),
    );
  }
}

/**
 * The client-certificate mode's verdict after the handshake. node:tls verifies the chain only for
 * sockets a tls.Server made (its 'secure' handler reads the handle's verifyError); for a TLSSocket
 * made here, OpenSSL enforces only "a certificate is required" and the chain is checked here, from
 * the same verifyError. Without that call (a future node), a given certificate counts as unverified
 * (fail closed). Sets `authorized` / `authorizationError` as node:tls does.
 */
function clientCertificateAccepted(ts: TLSSocket, mode: string): boolean {
  const peer = ts.getPeerCertificate();
  const has = peer !== null && typeof peer === 'object' && Object.keys(peer).length > 0;
  const handle = (ts as unknown as { _handle?: { verifyError?: () => Error | null } })._handle;
  const verifyError = has ? (typeof handle?.verifyError === 'function' ? handle.verifyError() : new Error('chain not verified')) : null;
  const t = ts as { authorized: boolean; authorizationError?: Error };
  t.authorized = has && verifyError === null;
  if (verifyError !== null) t.authorizationError = verifyError;
  switch (mode) {
    case 'RequestClientCert':
      return true;
    case 'RequireAnyClientCert':
      return has;
    case 'VerifyClientCertIfGiven':
      return !has || verifyError === null;
    case 'RequireAndVerifyClientCert':
      return has && verifyError === null;
    default:
      return false;
  }
}
