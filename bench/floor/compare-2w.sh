#!/bin/bash
# Interleaved 2-worker comparison on the harness's CPU layout (wrk and an nginx
# origin on core 0, the proxy on cores 0-1): the undici peer of ../shared/bench,
# the floor proxy (floor-proxy.mjs) and Gatehouse with the bench configuration.
# Needs ../shared/bench/setup.sh run once and `npm run build`. Ports 19080 (origin), 19090 (proxy).
# Usage: bench/floor/compare-2w.sh [rounds] [seconds]
set -u
HERE=$(cd "$(dirname "$0")" && pwd); ROOT=$(cd "$HERE/../.." && pwd); PEERS=$(cd "$ROOT/../shared/bench" && pwd)
R=${1:-3}; D=${2:-10}
W=$(mktemp -d); chmod 755 "$W"; mkdir -p "$W/html"  # nginx workers run unprivileged
head -c 16384 /dev/zero | tr '\0' x > "$W/html/big"
cat > "$W/nginx.conf" <<NGX
worker_processes 1; daemon off; error_log /dev/null; pid $W/nginx.pid;
events { worker_connections 4096; }
http { access_log off; sendfile on; tcp_nopush on; tcp_nodelay on; keepalive_requests 10000000;
  server { listen 127.0.0.1:19080 backlog=4096; root $W/html;
    location = /add/10/10 { default_type text/plain; return 200 "20"; }
    location = /big { } } }
NGX
taskset -c 0 nginx -p "$W" -c "$W/nginx.conf" & O=$!
sleep 1
n=$(curl -s http://127.0.0.1:19080/big | wc -c)
[ "$n" = 16384 ] || { echo "origin /big gave $n bytes, expected 16384" >&2; kill $O; exit 1; }
start() {
  case $1 in
    undici) PORT=19090 UPSTREAM=http://127.0.0.1:19080 taskset -c 0,1 node "$PEERS/node/cluster.js" undici-proxy.js 2 & ;;
    floor) taskset -c 0,1 node "$HERE/floor-proxy.mjs" & ;;
    gatehouse) taskset -c 0,1 node "$ROOT/dist/src/cli/main.js" serve --providers.file.filename="$HERE/routes.yaml" --entrypoints.web.address=127.0.0.1:19090 --entrypoints.traefik.address=127.0.0.1:19091 --workers 2 --log.level=error & ;;
  esac
  P=$!; sleep 2.5
}
for r in $(seq 1 "$R"); do
  for c in undici floor gatehouse; do
    start $c
    for path in /add/10/10 /big; do
      taskset -c 0 wrk -t1 -c64 -d2s "http://127.0.0.1:19090$path" >/dev/null
      echo "r$r $c $path $(taskset -c 0 wrk -t1 -c64 -d${D}s --latency "http://127.0.0.1:19090$path" | awk '/Requests\/sec/{r=$2} / 99%/{p=$2} END{print r, "p99=" p}')"
    done
    pkill -P $P; kill $P 2>/dev/null; sleep 1; kill -9 $P 2>/dev/null; wait $P 2>/dev/null
  done
done
kill $O; wait 2>/dev/null; rm -rf "$W"
