/**
 * The one table of reason phrases the gateway writes itself: status lines of
 * its own HTTP/1.1 server, answers it writes on raw sockets (refusals,
 * upgrade rejections). The phrases are node:http's own (`STATUS_CODES`), so an
 * answer reads the same whichever server wrote it (the fast path, node:http or
 * node:http2 with `http.server=node`); `reasons.test.ts` keeps them in step.
 * A copy rather than node's object: the table is ours, frozen, and lookups hit
 * a null-prototype record.
 */

/** Reason phrase by status code. */
export const REASONS: Readonly<Record<number, string>> = Object.freeze(
  Object.assign(Object.create(null) as Record<number, string>, {
    100: 'Continue',
    101: 'Switching Protocols',
    102: 'Processing',
    103: 'Early Hints',
    200: 'OK',
    201: 'Created',
    202: 'Accepted',
    203: 'Non-Authoritative Information',
    204: 'No Content',
    205: 'Reset Content',
    206: 'Partial Content',
    207: 'Multi-Status',
    208: 'Already Reported',
    226: 'IM Used',
    300: 'Multiple Choices',
    301: 'Moved Permanently',
    302: 'Found',
    303: 'See Other',
    304: 'Not Modified',
    305: 'Use Proxy',
    307: 'Temporary Redirect',
    308: 'Permanent Redirect',
    400: 'Bad Request',
    401: 'Unauthorized',
    402: 'Payment Required',
    403: 'Forbidden',
    404: 'Not Found',
    405: 'Method Not Allowed',
    406: 'Not Acceptable',
    407: 'Proxy Authentication Required',
    408: 'Request Timeout',
    409: 'Conflict',
    410: 'Gone',
    411: 'Length Required',
    412: 'Precondition Failed',
    413: 'Payload Too Large',
    414: 'URI Too Long',
    415: 'Unsupported Media Type',
    416: 'Range Not Satisfiable',
    417: 'Expectation Failed',
    418: "I'm a Teapot",
    421: 'Misdirected Request',
    422: 'Unprocessable Entity',
    423: 'Locked',
    424: 'Failed Dependency',
    425: 'Too Early',
    426: 'Upgrade Required',
    428: 'Precondition Required',
    429: 'Too Many Requests',
    431: 'Request Header Fields Too Large',
    451: 'Unavailable For Legal Reasons',
    500: 'Internal Server Error',
    501: 'Not Implemented',
    502: 'Bad Gateway',
    503: 'Service Unavailable',
    504: 'Gateway Timeout',
    505: 'HTTP Version Not Supported',
    506: 'Variant Also Negotiates',
    507: 'Insufficient Storage',
    508: 'Loop Detected',
    509: 'Bandwidth Limit Exceeded',
    510: 'Not Extended',
    511: 'Network Authentication Required',
  }),
);

/** The reason phrase for `status`; "Unknown" for a code the table does not have. */
export function reasonPhrase(status: number): string {
  return REASONS[status] ?? 'Unknown';
}

const STATUS_LINES: string[] = [];
/** "HTTP/1.1 200 OK\r\n", cached per status. */
export function statusLine(status: number): string {
  let s = STATUS_LINES[status];
  if (s === undefined) {
    s = `HTTP/1.1 ${status} ${reasonPhrase(status)}\r\n`;
    if (status >= 100 && status < 1000) STATUS_LINES[status] = s;
  }
  return s;
}
