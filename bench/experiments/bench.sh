#!/usr/bin/env bash
# Fast-path study: the three prototypes vs the undici peer, harness CPU layout
# (wrk + nginx origin on core 0, proxy on core 1). Interleaved rounds, the
# order reversed every other round. Usage: bench/experiments/bench.sh [ROUNDS] [DURATION]
# Needs nginx and wrk; writes results to $OUT (default /tmp/fast-path-bench).
set -euo pipefail
ROUNDS=${1:-3}; DUR=${2:-5s}
HERE=$(cd "$(dirname "$0")" && pwd); MAIN=$(cd "$HERE/../.." && pwd)
PEER=/work/shared/bench/node/undici-proxy.js
OUT=${OUT:-/tmp/fast-path-bench}; rm -rf "$OUT"; mkdir -p "$OUT"/{nginx/html,nginx/tmp,nginx/logs,raw}
OPORT=${OPORT:-28180}; BASE=${BASE:-28181}
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; [ -f "$OUT/nginx/nginx.pid" ] && kill "$(cat "$OUT/nginx/nginx.pid")" 2>/dev/null || true; }
trap cleanup EXIT INT TERM
sed "s/@PORT@/$OPORT/" /work/shared/bench/conf/nginx-backend.conf > "$OUT/nginx/nginx.conf"
head -c 16384 /dev/zero | tr '\0' 'x' > "$OUT/nginx/html/big"
taskset -c 0 nginx -p "$OUT/nginx" -c "$OUT/nginx/nginx.conf" > "$OUT/nginx/logs/out.txt" 2>&1 & PIDS+=($!)
NAMES=(undici llhttp js node-http); declare -A PORT
i=0
for n in "${NAMES[@]}"; do
  PORT[$n]=$((BASE + i)); i=$((i + 1))
  if [ "$n" = undici ]; then
    (cd /work/shared/bench/node && PORT=${PORT[$n]} UPSTREAM=http://127.0.0.1:$OPORT exec taskset -c 1 node "$PEER") > "$OUT/$n.log" 2>&1 & PIDS+=($!)
  else
    (cd "$MAIN" && PORT=${PORT[$n]} MODE=$n UPSTREAM=http://127.0.0.1:$OPORT exec taskset -c 1 node --import tsx "$HERE/proxy-main.ts") > "$OUT/$n.log" 2>&1 & PIDS+=($!)
  fi
done
sleep 3
for n in "${NAMES[@]}"; do
  [ "$(curl -s "http://127.0.0.1:${PORT[$n]}/add/10/10")" = 20 ] || { echo "$n: bad small answer"; exit 1; }
  [ "$(curl -s "http://127.0.0.1:${PORT[$n]}/big" | wc -c)" = 16384 ] || { echo "$n: bad big answer"; exit 1; }
done
echo -e "round\tbody\tproxy\trps\tp50\tp99\terrors" > "$OUT/results.tsv"
for r in $(seq 1 "$ROUNDS"); do
  order=("${NAMES[@]}"); if [ $((r % 2)) -eq 0 ]; then order=(node-http js llhttp undici); fi
  for body in small big; do
    path=/add/10/10; [ $body = big ] && path=/big
    for n in "${order[@]}"; do
      url="http://127.0.0.1:${PORT[$n]}$path"
      taskset -c 0 wrk -t1 -c64 -d2s "$url" > /dev/null
      f="$OUT/raw/$r-$body-$n.txt"
      taskset -c 0 wrk -t1 -c64 -d"$DUR" --latency "$url" > "$f"
      rps=$(awk '/Requests\/sec/ {print $2}' "$f")
      p50=$(awk '/^ +50%/ {print $2}' "$f"); p99=$(awk '/^ +99%/ {print $2}' "$f")
      err=$(awk '/Non-2xx|Socket errors/ {print $0}' "$f" | tr '\n' ' ')
      echo -e "$r\t$body\t$n\t$rps\t$p50\t$p99\t${err:-0}" | tee -a "$OUT/results.tsv"
    done
  done
done
