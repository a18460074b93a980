/** The file provider passes the shared provider behaviour table. */
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { silentLogger } from '../../log.js';
import { runProviderContract } from '../provider.contract.js';
import { FileProvider } from './file-provider.js';

runProviderContract({
  name: 'file',
  fileFragment: 'file',
  async setup() {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-file-provider-'));
    return {
      provider: new FileProvider({ directory: dir, watch: true, kubernetes: {}, log: silentLogger, debounceMs: 20 }),
      async write(path, content) {
        const target = join(dir, path);
        mkdirSync(dirname(target), { recursive: true });
        // Atomic replace, as editors and config management tools do.
        const tmp = join(dir, `.${Math.random().toString(36).slice(2)}.tmp`);
        writeFileSync(tmp, content);
        renameSync(tmp, target);
      },
      async remove(path) {
        rmSync(join(dir, path), { force: true });
      },
      async cleanup() {
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
});
