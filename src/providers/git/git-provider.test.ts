/** The git provider passes the shared provider behaviour table (atomic revisions), over a real repository (file://). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../log.js';
import { runProviderContract } from '../provider.contract.js';
import { GitProvider } from './git-provider.js';
import { gitOptionsFromStatic } from './options.js';
import { TestRepo } from '../../../test/support/git-repo.js';

runProviderContract({
  name: 'git',
  fileFragment: 'git',
  atomic: true,
  changeTimeoutMs: 20_000,
  async setup() {
    const repo = new TestRepo();
    const data = mkdtempSync(join(tmpdir(), 'gatehouse-git-data-'));
    const cfg = gitOptionsFromStatic({ url: repo.url, interval: 100, timeout: 20_000 }, process.cwd())!;
    return {
      provider: new GitProvider({ git: cfg, dataDir: data, watch: true, kubernetes: {}, log: silentLogger }),
      async write(path, content) {
        repo.commit({ [path]: content }, `write ${path}`);
      },
      async remove(path) {
        repo.commit({ [path]: null }, `remove ${path}`);
      },
      async cleanup() {
        repo.remove();
        rmSync(data, { recursive: true, force: true });
      },
    };
  },
});
