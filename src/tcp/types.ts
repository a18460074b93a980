/** What the TCP proxy needs of a connection (shared by the runtime and the proxy). */
import type { Duplex } from 'node:stream';

/** A connection as the entry point hands it over. */
export interface TcpConn {
  /** The client side: the accepted socket (plain, passthrough) or the TLSSocket (termination). */
  readonly socket: Duplex;
  /** Bytes already read from `socket` that the backend must get first (the ClientHello, the first plain bytes). */
  readonly replay: Buffer | null;
  readonly clientIp: string;
  readonly clientPort: number;
  /** Where the client connected to (the entry point's address, or the inbound PROXY header's destination). */
  readonly localIp: string;
  readonly localPort: number;
}
