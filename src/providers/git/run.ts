/**
 * Runs a program (git, kustomize, kubectl) the way the git provider needs:
 * no shell (arguments as an array), bounded time (SIGKILL of the whole
 * process group at the deadline), bounded output (killed past the cap), no
 * terminal prompt, and error messages with credentials taken out.
 */
import { spawn } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { delimiter, isAbsolute, join } from 'node:path';

/** Output past this many bytes (stdout or stderr) stops the command. */
export const MAX_OUTPUT_BYTES = 32 * 1024 * 1024;

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs: number;
  maxOutputBytes?: number;
}

export interface RunResult {
  stdout: string;
  stderr: string;
}

/** A command that failed: `message` is safe to show (no credentials). */
export class CommandError extends Error {
  readonly stderr: string;
  readonly exitCode: number | null;
  readonly timedOut: boolean;
  constructor(message: string, stderr: string, exitCode: number | null, timedOut: boolean) {
    super(message);
    this.name = 'CommandError';
    this.stderr = stderr;
    this.exitCode = exitCode;
    this.timedOut = timedOut;
  }
}

/** `https://user:secret@host/x` → `https://host/x`: what status and logs may show of a URL. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, (_m, scheme: string) => scheme);
}

/** Credentials inside any URL a message mentions, taken out. */
export function redactText(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s'"]*:[^/@\s'"]*@/gi, '$1');
}

export async function run(bin: string, args: readonly string[], opts: RunOptions): Promise<RunResult> {
  const cap = opts.maxOutputBytes ?? MAX_OUTPUT_BYTES;
  return new Promise<RunResult>((resolve, reject) => {
    const child = spawn(bin, args, {
      cwd: opts.cwd,
      env: { ...(opts.env ?? process.env), GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group: the deadline kills ssh and helpers too
      shell: false,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let errBytes = 0;
    let why: 'timeout' | 'output' | null = null;
    const kill = (reason: 'timeout' | 'output'): void => {
      if (why !== null) return;
      why = reason;
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    };
    const timer = setTimeout(() => kill('timeout'), opts.timeoutMs);
    child.stdout.on('data', (b: Buffer) => {
      outBytes += b.length;
      if (outBytes > cap) kill('output');
      else out.push(b);
    });
    child.stderr.on('data', (b: Buffer) => {
      errBytes += b.length;
      if (errBytes <= 64 * 1024) err.push(b);
    });
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new CommandError(e.code === 'ENOENT' ? `${bin}: not found on PATH` : `${bin}: ${e.message}`, '', null, false));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const stderr = redactText(Buffer.concat(err).toString('utf8'));
      const name = `${bin} ${args[0] ?? ''}`.trim();
      if (why === 'timeout')
        reject(new CommandError(`${name}: no answer within ${opts.timeoutMs} ms (--providers.git.timeout)`, stderr, code, true));
      else if (why === 'output') reject(new CommandError(`${name}: more than ${cap} bytes of output: stopped`, stderr, code, false));
      else if (code !== 0) reject(new CommandError(`${name} failed: ${firstLines(stderr) || `exit code ${code}`}`, stderr, code, false));
      else resolve({ stdout: Buffer.concat(out).toString('utf8'), stderr });
    });
  });
}

function firstLines(text: string): string {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('hint:'))
    .slice(0, 3)
    .join('; ');
}

/** The absolute path of an executable found on PATH, or null. */
export async function which(bin: string, path = process.env.PATH ?? ''): Promise<string | null> {
  if (isAbsolute(bin)) return (await isExecutable(bin)) ? bin : null;
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue;
    const p = join(dir, bin);
    if (await isExecutable(p)) return p;
  }
  return null;
}

async function isExecutable(p: string): Promise<boolean> {
  try {
    await access(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
