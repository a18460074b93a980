# syntax=docker/dockerfile:1
# Gatehouse container image (docs/kubernetes.md, "Install").
#   docker build -t gatehouse:0.1.0 .
# The runtime tree is what `npm pack` ships (package.json "files") plus the
# production dependencies: test/deploy-image.test.ts assembles the same tree and
# runs the gateway from it, since base images cannot be pulled on the CI machines.

# --- build: compile TypeScript with the dev dependencies --------------------
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: "prepare" (npm run build) needs the sources, copied below.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY bench ./bench
COPY proto ./proto
COPY docs ./docs
COPY web ./web
COPY README.md ./
RUN npm run build && npm pack --ignore-scripts --pack-destination /tmp && mv /tmp/gatehouse-*.tgz /tmp/gatehouse.tgz

# --- runtime: the packed files and production dependencies only -------------
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    GATEHOUSE_ENTRYPOINTS_WEB_ADDRESS=:8000 \
    GATEHOUSE_PING=true \
    GATEHOUSE_DATADIR=/var/lib/gatehouse
WORKDIR /app
COPY --from=build /tmp/gatehouse.tgz /tmp/gatehouse.tgz
COPY package-lock.json /tmp/package-lock.json
RUN tar -xzf /tmp/gatehouse.tgz --strip-components=1 -C /app \
 && cp /tmp/package-lock.json /app/package-lock.json \
 && npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force \
 && rm -f /tmp/gatehouse.tgz /tmp/package-lock.json \
 && groupadd --system --gid 10001 gatehouse \
 && useradd --system --uid 10001 --gid gatehouse --home-dir /var/lib/gatehouse --create-home gatehouse
USER 10001:10001
# web :8000, traefik entry point (ping, metrics, API) :8080
EXPOSE 8000 8080
VOLUME ["/var/lib/gatehouse"]
# No curl in the image: node itself asks /ping (the traefik entry point).
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/ping').then(r=>process.exit(r.status===200?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "dist/src/cli/main.js"]
# Defaults come from the GATEHOUSE_* variables above; flags (Kubernetes `args`) win.
CMD ["serve"]
