/**
 * Certificate and CA files change under a running gateway (cert-manager or
 * certbot replace them; a Kubernetes Secret volume flips its symlink): the
 * compile step read them, so a change must compile the configuration again.
 * Polled (stat: inode, size, mtime) rather than fs.watch, which misses
 * renames through symlinks and is unreliable on network and overlay mounts.
 */
import { stat } from 'node:fs/promises';

export const CERT_FILES_POLL_MS = 5000;

export class CertificateFilesWatch {
  private seen = new Map<string, string>();
  private timer: NodeJS.Timeout | null = null;
  private busy = false;

  constructor(
    /** The files to watch now (from the snapshot in force). */
    private readonly files: () => readonly string[],
    private readonly onChange: (changed: string[]) => void,
    private readonly everyMs = CERT_FILES_POLL_MS,
  ) {}

  start(): void {
    void this.check(true);
    this.timer = setInterval(() => void this.check(false), this.everyMs);
    this.timer.unref();
  }

  private async check(first: boolean): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const now = new Map<string, string>();
      const changed: string[] = [];
      for (const f of this.files()) {
        let sig: string;
        try {
          const s = await stat(f);
          sig = `${s.ino}:${s.size}:${s.mtimeMs}`;
        } catch (err) {
          sig = `missing:${(err as NodeJS.ErrnoException).code ?? ''}`;
        }
        now.set(f, sig);
        const before = this.seen.get(f);
        if (!first && before !== undefined && before !== sig) changed.push(f);
      }
      this.seen = now;
      if (changed.length > 0) this.onChange(changed);
    } finally {
      this.busy = false;
    }
  }

  close(): void {
    if (this.timer !== null) clearInterval(this.timer);
  }
}
