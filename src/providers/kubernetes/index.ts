/**
 * The `kubernetescrd` provider, loaded when it starts: `@kubernetes/client-node`
 * (and what it pulls in) weighs about 50 MiB of heap in every process, so a
 * gateway that does not watch an API server never loads it (measured in `npm run bench`:
 * worker peak RSS 162 MiB with it and ioredis imported at startup, against 111
 * MiB before they were added; a 1-worker gateway at rest: 93.5 MiB, as before).
 */
import type { Snapshot } from '../../config/runtime.js';
import type { Provider, ProviderMessage, ProviderStatus, ProviderVerdict } from '../types.js';
import type { KubernetesProviderOptions, KubernetesProviderStatus, LiveKubernetesProvider } from './kubernetes-provider.js';

export type { KubernetesProviderOptions, KubernetesProviderStatus, StatusTiming } from './kubernetes-provider.js';
export { kubernetesOptionsFromStatic, type KubernetesProviderConfig } from './options.js';

export class KubernetesProvider implements Provider {
  readonly name = 'kubernetescrd';
  readonly #o: KubernetesProviderOptions;
  #live: LiveKubernetesProvider | null = null;
  #closed = false;
  readonly #leaderListeners: Array<(leader: boolean) => void> = [];

  constructor(o: KubernetesProviderOptions) {
    this.#o = o;
  }

  async start(emit: (msg: ProviderMessage) => void): Promise<void> {
    const { LiveKubernetesProvider } = await import('./kubernetes-provider.js');
    if (this.#closed) return;
    this.#live = new LiveKubernetesProvider({
      ...this.#o,
      onLeaderChange: (leader) => {
        this.#o.onLeaderChange?.(leader);
        for (const l of this.#leaderListeners) l(leader);
      },
    });
    await this.#live.start(emit);
  }

  /** Call `listener` each time this replica gains or loses the Lease. */
  onLeaderChange(listener: (leader: boolean) => void): void {
    this.#leaderListeners.push(listener);
  }

  status(): KubernetesProviderStatus {
    if (this.#live !== null) return this.#live.status();
    const url = this.#o.config.endpoint ?? '';
    return {
      leader: false,
      lease: `${this.#o.config.leaseNamespace ?? 'default'}/gatehouse-status`,
      leaseHolder: '',
      name: this.name,
      type: this.name,
      url,
      state: 'starting',
      revision: '',
      lastUpdate: '',
      message: '',
      conditions: [
        { type: 'Ready', status: 'Unknown', reason: 'Progressing', message: 'starting', lastTransitionTime: new Date().toISOString() },
      ],
    };
  }

  /**
   * Each compiled snapshot: the objects' Ready conditions and Events follow its
   * issues (written by the replica holding the Lease; docs/kubernetes.md).
   */
  onSnapshot(snapshot: Snapshot): void {
    this.#live?.onSnapshot(snapshot);
  }

  /** Whether this replica holds the `gatehouse-status` Lease. */
  get leader(): boolean {
    return this.#live?.leader ?? false;
  }

  /** Status and Event writes this replica made. */
  get writes(): { status: number; events: number } {
    return this.#live?.writes ?? { status: 0, events: 0 };
  }

  onVerdict(verdict: ProviderVerdict): void {
    void verdict; // the live provider sends no atomic messages
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#live?.close();
  }
}

/**
 * Whether a provider status says this replica holds the kubernetescrd Lease:
 * true/false for the kubernetescrd provider's entry, undefined for any other.
 */
export function leaderOf(status: ProviderStatus): boolean | undefined {
  const leader = (status as Partial<KubernetesProviderStatus>).leader;
  return status.type === 'kubernetescrd' && typeof leader === 'boolean' ? leader : undefined;
}
