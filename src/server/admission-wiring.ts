/**
 * The admission webhook's verdict in the primary (where the configuration
 * watcher lives): the provider's translation options, the core objects read
 * from its API server, and the watcher's trial compile (src/admin/admission.ts).
 */
import { createAdmissionValidator, type AdmissionRequest, type AdmissionReviewer } from '../admin/admission.js';
import { kubernetesCoreObjects, type CoreObjectReader } from '../admin/admission-kube.js';
import type { ConfigWatcher } from './config-watcher.js';
import type { ServeOptions } from './options.js';

const PROVIDER = 'kubernetescrd';

/** The rpc handler: an AdmissionRequest (from a serving process) → its verdict. */
export function admissionReviewer(o: ServeOptions, watcher: ConfigWatcher): (args: unknown) => Promise<unknown> {
  let review: Promise<AdmissionReviewer> | null = null;
  const make = async (): Promise<AdmissionReviewer> => {
    const c = o.kubernetesApi;
    const reader: CoreObjectReader =
      c === null ? { server: '(admission review)', read: () => Promise.resolve([]) } : await kubernetesCoreObjects(c);
    return createAdmissionValidator({
      coreObjects: (ns, secrets) => reader.read(ns, secrets),
      trial: (edit) => watcher.trial(PROVIDER, edit),
      server: reader.server,
      convert:
        c === null
          ? o.kubernetes
          : {
              allowCrossNamespace: c.allowCrossNamespace,
              allowExternalNameServices: c.allowExternalNameServices,
              namespaces: c.namespaces,
            },
    });
  };
  return async (args) => {
    review ??= make();
    review.catch(() => (review = null));
    return (await review)(args as AdmissionRequest);
  };
}
