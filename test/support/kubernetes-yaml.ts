/**
 * Shared helpers for the Kubernetes objects tests
 * (src/providers/formats/kubernetes/): YAML text → documents → fragment, and
 * a small Service/Endpoints/Middleware base.
 */
import assert from 'node:assert/strict';
import type { SourceDocument } from '../../src/config/model.js';
import { fromKubernetesObjects, type KubernetesConvertOptions } from '../../src/providers/formats/kubernetes/convert.js';
import { parseYamlDocuments } from '../../src/providers/formats/kubernetes/documents.js';

export function yamlDocs(text: string, file = 'test.yaml'): SourceDocument[] {
  const { documents, issues } = parseYamlDocuments(text, file);
  assert.deepEqual(issues, []);
  return documents;
}
export const convert = (text: string, opts?: KubernetesConvertOptions) => fromKubernetesObjects(yamlDocs(text), opts);
export const errorsOf = (f: ReturnType<typeof convert>) => f.issues.filter((i) => i.severity !== 'warning');

export const BASE = `apiVersion: v1
kind: Service
metadata: { name: a, namespace: ns }
spec: { ports: [{ port: 80 }] }
---
apiVersion: v1
kind: Endpoints
metadata: { name: a, namespace: ns }
subsets: [{ addresses: [{ ip: 10.1.0.1 }], ports: [{ port: 8080 }] }]
---
apiVersion: v1
kind: Service
metadata: { name: b, namespace: other }
spec: { ports: [{ port: 443, targetPort: 8443 }], clusterIP: 10.96.0.7 }
---
apiVersion: v1
kind: Endpoints
metadata: { name: b, namespace: other }
subsets: [{ addresses: [{ ip: 10.2.0.1 }, { ip: 10.2.0.2 }], ports: [{ port: 8443 }] }]
---
apiVersion: traefik.containo.us/v1alpha1
kind: Middleware
metadata: { name: mw, namespace: other }
spec: { headers: { customRequestHeaders: { x: y } } }
`;

export function route(body: string, ns = 'ns'): string {
  return `${BASE}---
apiVersion: traefik.containo.us/v1alpha1
kind: IngressRoute
metadata: { name: r, namespace: ${ns} }
spec:
  routes:
    - match: PathPrefix(\`/\`)
      kind: Rule
${body}`;
}
