/**
 * TLS in a serving process: every snapshot's TLS section becomes the store new
 * handshakes use. The section holds only public descriptions; the PEM material
 * of certificates this process does not hold yet is asked from the primary
 * (`tls.material`), so keys never travel in snapshots. Until it arrives, the
 * previous store keeps serving.
 */
import type { Snapshot } from '../config/runtime.js';
import type { ServingBackplane } from '../cluster/backplane.js';
import type { Logger } from '../log.js';
import type { CertificateMaterial } from '../tls/certificates.js';
import { TLS_SECTION, type TlsSection } from '../tls/compile.js';
import { TlsStore } from '../tls/store.js';
import { TlsAcceptor } from './tls-acceptor.js';

function isMaterial(v: unknown): v is CertificateMaterial {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as CertificateMaterial).cert === 'string' &&
    typeof (v as CertificateMaterial).key === 'string'
  );
}

export class TlsServing {
  readonly acceptor: TlsAcceptor;
  private material = new Map<string, CertificateMaterial>();
  private generation = 0;

  constructor(
    private readonly bp: ServingBackplane,
    private readonly log: Logger,
  ) {
    this.acceptor = new TlsAcceptor({
      log,
      acmeTlsAlpn: async (serverName) => {
        const m = await bp.rpc('tls.alpnChallenge', { serverName });
        return isMaterial(m) ? m : undefined;
      },
    });
  }

  /** A new snapshot: fetch the material it lacks, then swap the store (later snapshots win). */
  update(s: Snapshot): void {
    const section = s.sections?.[TLS_SECTION] as TlsSection | undefined;
    if (section === undefined) return;
    const gen = ++this.generation;
    const missing = section.certificates.map((c) => c.id).filter((id) => !this.material.has(id));
    const apply = (): void => {
      if (gen !== this.generation) return;
      const keep = new Map<string, CertificateMaterial>();
      for (const c of section.certificates) {
        const m = this.material.get(c.id);
        if (m !== undefined) keep.set(c.id, m);
      }
      this.material = keep;
      this.acceptor.setStore(new TlsStore(section, keep));
    };
    if (missing.length === 0) {
      apply();
      return;
    }
    void this.fetch(missing, 0).then(apply);
  }

  private async fetch(ids: string[], attempt: number): Promise<void> {
    try {
      const got = (await this.bp.rpc('tls.material', { ids })) as Record<string, unknown>;
      for (const id of ids) {
        const m = got[id];
        if (isMaterial(m)) this.material.set(id, m);
      }
    } catch (err) {
      if (attempt >= 5) {
        this.log.error(
          { err: (err as Error).message },
          'TLS: certificate material could not be fetched from the primary: the previous certificates keep serving',
        );
        return;
      }
      await new Promise((r) => setTimeout(r, 200 * 2 ** attempt).unref());
      return this.fetch(ids, attempt + 1);
    }
  }
}
