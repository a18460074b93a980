/**
 * Test helper: run one middleware in front of echoHandler on a loopback
 * server and send it one request.
 */
import type { Static, TSchema } from '@sinclair/typebox';
import { request } from 'undici';
import { echoHandler, serveHandler, testDeps, type Echo } from './handler-server.js';
import type { Handler, MiddlewareDefinition } from '../../src/middlewares/types.js';

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  body: Buffer;
  /** What reached the terminal handler (200 from echoHandler only). */
  echo: Echo | null;
}

export async function through<S extends TSchema>(
  def: MiddlewareDefinition<S>,
  opts: Static<S>,
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string | Buffer; terminal?: Handler } = {},
): Promise<Answer> {
  const srv = await serveHandler(def.create(opts, testDeps())(init.terminal ?? echoHandler));
  try {
    const res = await request(srv.url + path, { method: (init.method ?? 'GET') as 'GET', headers: init.headers, body: init.body });
    const body = Buffer.from(await res.body.arrayBuffer());
    const text = body.toString();
    let echo: Echo | null = null;
    if (res.statusCode === 200 && init.terminal === undefined && res.headers['content-type'] === 'application/json')
      echo = JSON.parse(text) as Echo;
    return { status: res.statusCode, headers: res.headers, text, body, echo };
  } finally {
    await srv.close();
  }
}
