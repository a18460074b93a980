/**
 * Strict decoder for the chunked transfer coding (RFC 9112 §7.1), shared by
 * the downstream request parser and the upstream response parser: hex sizes
 * of at most 12 significant digits (leading zeros allowed, the size line
 * bounded), extensions skipped but bounded, whitespace (BWS) allowed only
 * before an extension (RFC 9112 §7.1.1), CRLF required
 * everywhere (a bare LF is refused: request-smuggling defence), trailer
 * section bounded and kept as raw text for the caller to parse or drop.
 * Data is handed out as slices of the input: no copy.
 */

const MAX_EXTENSION = 1024;
const MAX_TRAILERS = 8192;

const enum S {
  Size,
  /** Whitespace after the size: an extension (';') must follow. */
  Bws,
  Ext,
  SizeLf,
  Data,
  DataCr,
  DataLf,
  Trailer,
  TrailerLf,
  Done,
}

export class ChunkedDecoder {
  private state = S.Size;
  private size = 0;
  private digits = 0;
  private lineBytes = 0;
  private lineEmpty = true;
  /** Raw trailer section: each line with its CRLF, without the final empty line; '' when none. Not validated: parse it strictly before use. */
  trailers = '';
  /** Why decoding failed (after feed returned -1). */
  error: string | null = null;

  reset(): void {
    this.state = S.Size;
    this.size = 0;
    this.digits = 0;
    this.lineBytes = 0;
    this.lineEmpty = true;
    this.trailers = '';
    this.error = null;
  }

  /** The last chunk and the trailer section have been read. */
  get done(): boolean {
    return this.state === S.Done;
  }

  /**
   * Feed buf[start..]; onData receives each piece of data. Returns the offset
   * where decoding stopped (right after the body when done, else buf.length),
   * or -1 on a framing error (see `error`).
   */
  feed(buf: Buffer, start: number, onData: (chunk: Buffer) => void): number {
    let i = start;
    const len = buf.length;
    while (i < len) {
      const c = buf[i]!;
      switch (this.state) {
        case S.Size: {
          let v = -1;
          if (c >= 0x30 && c <= 0x39) v = c - 0x30;
          else if (c >= 0x61 && c <= 0x66) v = c - 0x57;
          else if (c >= 0x41 && c <= 0x46) v = c - 0x37;
          if (v >= 0) {
            // Leading zeros are not significant; the line stays bounded (MAX_EXTENSION) all the same.
            if (++this.lineBytes > MAX_EXTENSION) return this.fail('chunk size line too long');
            if (this.size !== 0 || v !== 0) {
              if (++this.digits > 12) return this.fail('chunk size too large');
              this.size = this.size * 16 + v;
            }
            i++;
            continue;
          }
          if (this.lineBytes === 0) return this.fail('invalid chunk size'); // no digit at all
          this.lineBytes = 0; // the extension's own limit starts here
          if (c === 0x0d) this.state = S.SizeLf;
          else if (c === 0x3b /* ; */) this.state = S.Ext;
          else if (c === 0x20 || c === 0x09) this.state = S.Bws;
          else return this.fail('invalid chunk size');
          i++;
          continue;
        }
        case S.Bws:
          if (c === 0x3b) this.state = S.Ext;
          else if ((c !== 0x20 && c !== 0x09) || ++this.lineBytes > MAX_EXTENSION) return this.fail('invalid chunk extension');
          i++;
          continue;
        case S.Ext:
          if (c === 0x0d) this.state = S.SizeLf;
          else if (c === 0x0a || c === 0 || ++this.lineBytes > MAX_EXTENSION) return this.fail('invalid chunk extension');
          i++;
          continue;
        case S.SizeLf:
          if (c !== 0x0a) return this.fail('expected LF after chunk size');
          i++;
          this.digits = 0;
          this.lineBytes = 0;
          if (this.size === 0) {
            this.state = S.Trailer;
            this.lineEmpty = true;
          } else this.state = S.Data;
          continue;
        case S.Data: {
          const n = Math.min(this.size, len - i);
          onData(buf.subarray(i, i + n));
          this.size -= n;
          i += n;
          if (this.size === 0) this.state = S.DataCr;
          continue;
        }
        case S.DataCr:
          if (c !== 0x0d) return this.fail('expected CRLF after chunk data');
          this.state = S.DataLf;
          i++;
          continue;
        case S.DataLf:
          if (c !== 0x0a) return this.fail('expected CRLF after chunk data');
          this.state = S.Size;
          i++;
          continue;
        case S.Trailer: {
          // Read one trailer line up to CR.
          let j = i;
          while (j < len && buf[j] !== 0x0d && buf[j] !== 0x0a) j++;
          if (j > i) {
            this.lineEmpty = false;
            if (this.trailers.length + (j - i) > MAX_TRAILERS) return this.fail('trailer section too large');
            this.trailers += buf.toString('latin1', i, j);
          }
          if (j === len) return len;
          if (buf[j] === 0x0a) return this.fail('bare LF in trailer section');
          this.state = S.TrailerLf;
          i = j + 1;
          continue;
        }
        case S.TrailerLf:
          if (c !== 0x0a) return this.fail('expected LF in trailer section');
          i++;
          if (this.lineEmpty) {
            this.state = S.Done;
            return i;
          }
          this.trailers += '\r\n';
          this.state = S.Trailer;
          this.lineEmpty = true;
          continue;
        default:
          return i;
      }
    }
    return i;
  }

  private fail(msg: string): number {
    this.error = msg;
    return -1;
  }
}
