import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sendIpc } from './ipc.js';

test('sendIpc: a child killed while messages are in flight raises no uncaught error (the EPIPE of CI run 17)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gh-ipc-'));
  const script = join(dir, 'child.mjs');
  writeFileSync(script, 'process.on("message", () => {}); process.send("up"); setInterval(() => {}, 1000);\n');
  const child = fork(script, [], { execArgv: [], stdio: 'ignore' });
  await once(child, 'message');
  rmSync(dir, { recursive: true, force: true });
  const errors: Error[] = [];
  const uncaught: unknown[] = [];
  const onUncaught = (e: unknown): void => void uncaught.push(e);
  process.on('uncaughtException', onUncaught);
  try {
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    // Keep writing until the channel is known closed: some writes hit the dead pipe.
    let sent = 0;
    while (sendIpc(child, { big: 'x'.repeat(64 * 1024) }, (e) => errors.push(e))) {
      sent++;
      await new Promise((r) => setImmediate(r));
      if (sent > 10_000) break;
    }
    await exited;
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(uncaught, []);
    assert.equal(sendIpc(child, { after: true }), false, 'a send after the exit is dropped');
  } finally {
    process.off('uncaughtException', onUncaught);
  }
});

test('sendIpc: a process without a channel, or a throwing send, reports false', () => {
  assert.equal(sendIpc({}, 1), false);
  assert.equal(sendIpc({ connected: false, send: () => true }, 1), false);
  let heard: Error | null = null;
  const throwing = {
    connected: true,
    send: (): boolean => {
      throw new Error('channel closed');
    },
  };
  assert.equal(
    sendIpc(throwing, 1, (e) => (heard = e)),
    false,
  );
  assert.equal((heard as Error | null)?.message, 'channel closed');
  let cb: Error | null = null;
  const failing = {
    isConnected: (): boolean => true,
    send: (_m: unknown, callback?: (e: Error | null) => void): boolean => {
      callback?.(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
      return false;
    },
  };
  assert.equal(
    sendIpc(failing, 1, (e) => (cb = e)),
    true,
  );
  assert.equal((cb as Error | null)?.message, 'write EPIPE');
});
