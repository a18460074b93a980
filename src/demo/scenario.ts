/**
 * The seed scenario as configuration files: the seed's IngressRoute and
 * Middleware exactly as written (plus the same route for
 * calc.127.0.0.1.nip.io and localhost), the Kubernetes Service + Endpoints
 * that place `add-svc` on the calculator replicas, the admin dashboard
 * routed through the gateway (api@internal) behind basicAuth, and the
 * two-region priority failover on `/global/…`.
 */

export interface Replica {
  host: string;
  port: number;
}

/** The seed's objects, verbatim (namespace `add`). */
export const SEED_CALC_YAML = `apiVersion: traefik.containo.us/v1alpha1
kind: IngressRoute
metadata:
  name: calc-svc
  namespace: add  
spec:
  entryPoints:
    - web
  routes:
  - match: Host(\`calc.1.1.1.1.xip.io\`) && PathPrefix(\`/\`)
    kind: Rule
    priority: 1
    middlewares:
      - name: calcheader
    services:
    - name: add-svc
      port: 80
---
apiVersion: traefik.containo.us/v1alpha1
kind: Middleware
metadata:
  name: calcheader
  namespace: add
spec:
  headers:
    customRequestHeaders:
      l5d-dst-override: "add-svc.add.svc.cluster.local:80"
`;

/** The same route on hosts that work on this machine (newer API group, to show both load). */
export const LOCAL_CALC_YAML = `apiVersion: traefik.io/v1alpha1
kind: IngressRoute
metadata:
  name: calc-local
  namespace: add
spec:
  entryPoints:
    - web
  routes:
  - match: Host(\`calc.127.0.0.1.nip.io\`) || Host(\`localhost\`) || Host(\`127.0.0.1\`)
    kind: Rule
    middlewares:
      - name: calcheader
    services:
    - name: add-svc
      port: 80
`;

/** Service + Endpoints placing add-svc (port 80 → named port http) on the given replicas. */
export function addServiceYaml(replicas: readonly Replica[]): string {
  const subsets = replicas
    .map((r) => `  - addresses:\n      - ip: ${r.host}\n    ports:\n      - name: http\n        port: ${r.port}\n        protocol: TCP`)
    .join('\n');
  return `apiVersion: v1
kind: Service
metadata:
  name: add-svc
  namespace: add
spec:
  type: ClusterIP
  selector:
    app: add
  ports:
    - name: http
      port: 80
      targetPort: http
---
apiVersion: v1
kind: Endpoints
metadata:
  name: add-svc
  namespace: add
subsets:
${subsets}
`;
}

/** One region of the calculator for the failover view: its servers all have `priority`. */
export interface Region {
  name: string;
  /** Front Door's origin priority, 1 (preferred) to 5. */
  priority: number;
  servers: readonly Replica[];
}

/** The demo's two-region failover: names, path, probe interval (globalCalcYaml). */
export const FAILOVER = {
  router: 'calc-global',
  service: 'calc-global',
  /** The route's path prefix, stripped before the calculator sees the request. */
  prefix: '/global',
  /** The health check's interval and timeout: short, so a stopped region is seen within seconds. */
  interval: '1s',
  timeout: '500ms',
  /** ms, Front Door's default additional latency: on loopback every replica of a region is in the band. */
  latencySensitivity: 50,
} as const;

/**
 * The two-region failover view (docs/failover.md): one loadBalancer with
 * Front Door's origin-group settings over every region's servers, each server
 * at its region's priority, probed on the calculator's /healthz every second
 * (status 200 only, as Front Door), with Front Door's 50 ms latency band so
 * the replicas of the region in use share its traffic. Routed on `/global/…` so the seed's routes,
 * `calc-replicas` and its alert rules keep their meaning.
 */
export function globalCalcYaml(regions: readonly Region[]): string {
  const servers = regions
    .flatMap((r) =>
      r.servers.map((s) => `          - { url: "http://${s.host}:${s.port}", priority: ${r.priority} }   # region ${r.name}\n`),
    )
    .join('');
  return `http:
  routers:
    ${FAILOVER.router}:
      entryPoints: [web]
      rule: PathPrefix(\`${FAILOVER.prefix}/\`)
      priority: 1000
      middlewares: [${FAILOVER.router}-strip]
      service: ${FAILOVER.service}
  middlewares:
    ${FAILOVER.router}-strip:
      stripPrefix:
        prefixes: [${FAILOVER.prefix}]
  services:
    ${FAILOVER.service}:
      loadBalancer:
        latencySensitivity: ${FAILOVER.latencySensitivity}   # ms (Front Door's default): the replicas of a region share its traffic
        healthCheck: { path: /healthz, interval: ${FAILOVER.interval}, timeout: ${FAILOVER.timeout}, status: 200 }
        servers:
${servers}`;
}

/** The admin dashboard through the gateway itself, protected by basicAuth (seed point 3). */
export function adminYaml(htpasswdLine: string): string {
  return `apiVersion: traefik.io/v1alpha1
kind: IngressRoute
metadata:
  name: traefik-admin
  namespace: default
spec:
  entryPoints:
    - web
  routes:
  - match: Host(\`admin.127.0.0.1.nip.io\`)
    kind: Rule
    middlewares:
      - name: admin-auth
    services:
    - name: api@internal
      kind: TraefikService
---
apiVersion: traefik.io/v1alpha1
kind: Middleware
metadata:
  name: admin-auth
  namespace: default
spec:
  basicAuth:
    secret: admin-users
---
apiVersion: v1
kind: Secret
metadata:
  name: admin-users
  namespace: default
stringData:
  users: |
    ${htpasswdLine}
`;
}

/** Names of the demo's alert rules (calcAlertsYaml). */
export const CALC_ALERTS = { successRate: 'calc-success-rate', latency: 'calc-latency-p99', certificates: 'certificate-expiry' } as const;

/**
 * The seed's Azure Monitor metric alerts, as AlertRule objects on the
 * calculator service that add-cli calls: a success-rate rule (fires when a
 * replica stops: its calls fail until the health check takes it out) and a
 * p99-latency rule. Evaluated every 10 s over the last minute, so the demo
 * shows one firing soon after a replica is stopped, and resolving a minute
 * after it is back.
 */
export function calcAlertsYaml(service: string): string {
  return `apiVersion: gatehouse.dev/v1alpha1
kind: AlertRule
metadata:
  name: ${CALC_ALERTS.successRate}
spec:
  description: More than 1% of the calculator's calls fail (a replica down, errors)
  signal: successRate
  scope:
    service: ${service}
  operator: LessThan
  threshold: 0.99
  windowSize: 1m
  evaluationFrequency: 10s
  severity: 1
  minRequests: 20
  labels: { app: calculator }
---
apiVersion: gatehouse.dev/v1alpha1
kind: AlertRule
metadata:
  name: ${CALC_ALERTS.latency}
spec:
  description: The calculator's p99 latency is above 500 ms
  signal: latencyP99
  scope:
    service: ${service}
  operator: GreaterThan
  threshold: 500
  windowSize: 1m
  evaluationFrequency: 10s
  severity: 2
  minRequests: 20
  labels: { app: calculator }
---
apiVersion: gatehouse.dev/v1alpha1
kind: AlertRule
metadata:
  name: ${CALC_ALERTS.certificates}
spec:
  description: A TLS certificate in use expires in less than 14 days (renewal failing, or a file not replaced)
  signal: certificateDaysLeft
  operator: LessThan
  threshold: 14
  windowSize: 1h
  evaluationFrequency: 10m
  severity: 2
`;
}
