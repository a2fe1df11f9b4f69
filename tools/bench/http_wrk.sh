#!/usr/bin/env bash
# HTTP face against gRPC, in one run on one machine: starts a standalone
# xxl-executor with both faces, measures gRPC Beat and Run with xxl-bench's
# ceiling phase, then HTTP /beat and /run with Debian's wrk (keep-alive
# connections), and prints the rates and their ratios. Each HTTP phase
# starts once the executor is idle again (no run queued or running, read
# from its /metrics), as xxl-bench's gRPC phases do on their own rig: the
# runs of a previous phase would otherwise still be executing under it.
#   tools/bench/http_wrk.sh [BUILD_DIR] [SECONDS] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build}
SECONDS_EACH=${2:-10}
CONNECTIONS=${3:-32}
WORK=$(mktemp -d)
PID=
cleanup() {
  [[ -n $PID ]] && kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
for tool in wrk curl; do
  command -v $tool >/dev/null || { echo "http_wrk: needs $tool (apt-get install $tool)" >&2; exit 2; }
done

"$BUILD/server/xxl-executor" --listen=127.0.0.1:0 --http_listen=127.0.0.1:0 --metrics \
  --log_path="$WORK/data" >"$WORK/executor.log" 2>&1 &
PID=$!
for _ in $(seq 100); do
  grep -q "ready, advertised" "$WORK/executor.log" && break
  sleep 0.1
done
GRPC=$(sed -n 's/.*gRPC serving on .* (port \([0-9]*\)).*/\1/p' "$WORK/executor.log")
HTTP=$(sed -n 's/.*HTTP (XXL-JOB protocol .*) serving on .* (port \([0-9]*\)).*/\1/p' "$WORK/executor.log")
[[ -n $GRPC && -n $HTTP ]] || { cat "$WORK/executor.log"; exit 1; }

"$BUILD/tools/xxl-bench" --target="127.0.0.1:$GRPC" --phases=ceiling \
  --duration="${SECONDS_EACH}s" --concurrency="$CONNECTIONS" \
  --csv="$WORK/grpc.csv" >"$WORK/bench.log" 2>&1
grpc_beat=$(awk -F, '$1=="ceiling.beat_rate"{print $2}' "$WORK/grpc.csv")
grpc_run=$(awk -F, '$1=="ceiling.run_rate"{print $2}' "$WORK/grpc.csv")

# Waits (up to 5 minutes) until no run is queued or running.
wait_idle() {
  for _ in $(seq 3000); do
    busy=$(curl -s "http://127.0.0.1:$HTTP/metrics" |
      awk '/^xxl_executor_runs_(queued|running) /{n += $2} END {print n + 0}')
    [[ $busy == 0 ]] && return
    sleep 0.1
  done
  echo "http_wrk: the executor stayed busy" >&2
  exit 1
}

wait_idle
wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_EACH}s" --latency \
  -s tools/bench/wrk/beat.lua "http://127.0.0.1:$HTTP/beat" >"$WORK/beat.txt"
wait_idle
wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_EACH}s" --latency \
  -s tools/bench/wrk/run.lua "http://127.0.0.1:$HTTP/run" >"$WORK/run.txt"
rate() { awk '/Requests\/sec/{print $2}' "$1"; }
p99() { awk '$1=="99%"{print $2}' "$1"; }
errors() { awk '/Non-2xx|Socket errors/{print}' "$1"; }
http_beat=$(rate "$WORK/beat.txt")
http_run=$(rate "$WORK/run.txt")


printf '%-28s %12s\n' "gRPC Beat (calls/s)" "$grpc_beat" "gRPC Run (calls/s)" "$grpc_run" \
  "HTTP /beat (requests/s)" "$http_beat" "HTTP /run (requests/s)" "$http_run" \
  "HTTP /beat p99" "$(p99 "$WORK/beat.txt")" "HTTP /run p99" "$(p99 "$WORK/run.txt")"
awk -v hb="$http_beat" -v gb="$grpc_beat" -v hr="$http_run" -v gr="$grpc_run" \
  'BEGIN { printf "%-28s %12.2f\n%-28s %12.2f\n", "HTTP /beat / gRPC Beat", hb / gb, "HTTP /run / gRPC Run", hr / gr }'
errors "$WORK/beat.txt"; errors "$WORK/run.txt"
