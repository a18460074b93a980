#!/usr/bin/env node
/**
 * The `gatehouse` command: serve (default), check, stat, top, tap, edges,
 * alerts, demo, token, hash-secret, add, add-cli, version, help. The table of
 * commands is commands.ts; each command lives in its own file.
 */
import { GatehouseError } from '../errors.js';
import { EXIT } from './exit-codes.js';
import { runCli } from './commands.js';

runCli(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = err instanceof GatehouseError ? err.exitCode : EXIT.FAILED;
  },
);
