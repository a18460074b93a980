/**
 * The formats every provider can deliver, as one converter: Traefik's file
 * format (fragment `file`, or the provider's own name) and Kubernetes objects
 * (Traefik CRDs, Services, Endpoints, Secrets, and Gatehouse kinds; fragment
 * `kubernetescrd`). A document may hold either; each converter takes what it
 * knows and ignores the rest.
 */
import type { ConfigFragment, SourceDocument } from '../../config/model.js';
import { fromTraefikFileDocuments } from './traefik-file.js';
import { fromKubernetesObjects, type KubernetesConvertOptions } from './kubernetes/convert.js';

export interface FormatOptions {
  kubernetes: KubernetesConvertOptions;
  /** The fragment name of Traefik file-format documents (default `file`; the git provider's is `git`). */
  fileFragment?: string;
}

/** Convert parsed documents into the fragments of every format. */
export function fragmentsFromDocuments(docs: SourceDocument[], opts: FormatOptions): ConfigFragment[] {
  return [fromTraefikFileDocuments(docs, opts.fileFragment), fromKubernetesObjects(docs, opts.kubernetes)];
}
