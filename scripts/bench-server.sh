#!/usr/bin/env bash
# Load benchmark of `console serve`, run side by side with its peers on this machine:
#   1. GET of one document at 32 connections vs an axum hello-world (the machine's HTTP
#      ceiling), built here from the same axum and tokio versions;
#   2. durable PUT at 64 connections vs etcd 3.4 (Debian's etcd-server) through its HTTP
#      gateway (/v3/kv/put), same value size.
# The machine is shared and noisy, so the loads run in ROUNDS interleaved rounds (each
# round: ceiling GET, console GET, console PUT, etcd PUT) and the ratios are computed per
# round; the summary gives every round and the median ratio.
# All traffic goes to 127.0.0.1; every load is bounded by DURATION. Needs wrk and etcd
# (apt-get install wrk etcd-server). Usage: scripts/bench-server.sh [DURATION_SECS [ROUNDS]]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10}
ROUNDS=${2:-3}
VALUE_BYTES=${VALUE_BYTES:-256}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/console-target}"
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

for tool in wrk etcd curl; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install wrk etcd-server curl)" >&2; exit 1; }
done

PROFILE=${PROFILE:-dist}   # dist: the fat-LTO build that ships; release: the quick one
echo "== building console ($PROFILE)"
cargo build --profile "$PROFILE" --quiet --bin console
CONSOLE="$CARGO_TARGET_DIR/$PROFILE/console"

echo "== building the axum hello-world ceiling"
HELLO_DIR="$HOME/.cache/console-bench/hello"
mkdir -p "$HELLO_DIR/src"
axum_v=$(grep -A1 '^name = "axum"$' Cargo.lock | sed -n 's/version = "\(.*\)"/\1/p' | head -1)
tokio_v=$(grep -A1 '^name = "tokio"$' Cargo.lock | sed -n 's/version = "\(.*\)"/\1/p' | head -1)
cat > "$HELLO_DIR/Cargo.toml" <<TOML
[package]
name = "hello"
version = "0.1.0"
edition = "2024"
[dependencies]
axum = "=$axum_v"
tokio = { version = "=$tokio_v", features = ["rt-multi-thread", "macros", "net"] }
[profile.release]
debug = 0
TOML
cat > "$HELLO_DIR/src/main.rs" <<'RS'
use axum::{Router, routing::get};
#[tokio::main]
async fn main() {
    let app = Router::new().route("/", get(|| async { "{\"hello\":\"world\"}" }));
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:7480".into());
    let listener = tokio::net::TcpListener::bind(&addr).await.unwrap();
    axum::serve(listener, app).await.unwrap();
}
RS
(cd "$HELLO_DIR" && CARGO_TARGET_DIR="$HELLO_DIR/target" cargo build --release --quiet)
HELLO="$HELLO_DIR/target/release/hello"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 100); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done; echo "no answer from $1" >&2; exit 1; }
# Requests per second and latency percentiles from wrk's --latency report.
rps() { awk '/Requests\/sec/ {print $2}' "$1"; }
pct() { awk -v p="$2" '$1 == p {print $2}' "$1"; }

VALUE=$(python3 -c "import json; print(json.dumps({'data': 'x' * ($VALUE_BYTES - 12)}))")

# The three servers run side by side for the whole benchmark (idle while not loaded).
HELLO_PORT=$(free_port); "$HELLO" "127.0.0.1:$HELLO_PORT" & PIDS+=($!)
wait_http "http://127.0.0.1:$HELLO_PORT/"

export CONSOLE_DATA_DIR="$WORK/data" CONSOLE_CONFIG_DIR="$WORK/config"
STORE="$WORK/console.db"
"$CONSOLE" --store "$STORE" workspaces create bench --tier enterprise >/dev/null
KEY=$("$CONSOLE" --store "$STORE" keys create --workspace bench --name bench --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
CONSOLE_PORT=$(free_port); "$CONSOLE" serve --store "$STORE" --listen "127.0.0.1:$CONSOLE_PORT" > "$WORK/serve.log" 2>&1 & PIDS+=($!)
wait_http "http://127.0.0.1:$CONSOLE_PORT/healthz"
curl -s -X PUT -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
  -d "$VALUE" "http://127.0.0.1:$CONSOLE_PORT/storage/bench/doc" > /dev/null
cat > "$WORK/put.lua" <<LUA
local n = 0
request = function()
  n = n + 1
  return wrk.format("PUT", "/storage/bench/k" .. (n % 1000), nil, '$VALUE')
end
LUA

ETCD_PORT=$(free_port); PP=$(free_port)
etcd --data-dir "$WORK/etcd" --listen-client-urls "http://127.0.0.1:$ETCD_PORT" \
  --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" --listen-peer-urls "http://127.0.0.1:$PP" \
  --initial-advertise-peer-urls "http://127.0.0.1:$PP" --initial-cluster "default=http://127.0.0.1:$PP" \
  > "$WORK/etcd.log" 2>&1 & PIDS+=($!)
wait_http "http://127.0.0.1:$ETCD_PORT/version"
B64VALUE=$(printf '%s' "$VALUE" | base64 -w0)
cat > "$WORK/etcd.lua" <<LUA
local n = 0
local b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local function enc(s)
  return ((s:gsub('.', function(x)
    local r, b = '', x:byte()
    for i = 8, 1, -1 do r = r .. (b % 2 ^ i - b % 2 ^ (i - 1) > 0 and '1' or '0') end
    return r
  end) .. '0000'):gsub('%d%d%d?%d?%d?%d?', function(x)
    if #x < 6 then return '' end
    local c = 0
    for i = 1, 6 do c = c + (x:sub(i, i) == '1' and 2 ^ (6 - i) or 0) end
    return b64:sub(c + 1, c + 1)
  end) .. ({ '', '==', '=' })[#s % 3 + 1])
end
request = function()
  n = n + 1
  local body = '{"key":"' .. enc("bench/k" .. (n % 1000)) .. '","value":"$B64VALUE"}'
  return wrk.format("POST", "/v3/kv/put", nil, body)
end
LUA

for r in $(seq "$ROUNDS"); do
  echo "== round $r of $ROUNDS: hello-world GET, console GET, console PUT, etcd PUT (${DURATION}s each)"
  wrk -t2 -c32 -d"${DURATION}s" --latency "http://127.0.0.1:$HELLO_PORT/" > "$WORK/hello.$r.txt"
  wrk -t2 -c32 -d"${DURATION}s" --latency -H "Authorization: Bearer $KEY" \
    "http://127.0.0.1:$CONSOLE_PORT/storage/bench/doc" > "$WORK/get.$r.txt"
  wrk -t2 -c64 -d"${DURATION}s" --latency -s "$WORK/put.lua" -H "Authorization: Bearer $KEY" \
    -H 'Content-Type: application/json' "http://127.0.0.1:$CONSOLE_PORT" > "$WORK/put.$r.txt"
  wrk -t2 -c64 -d"${DURATION}s" --latency -s "$WORK/etcd.lua" -H 'Content-Type: application/json' \
    "http://127.0.0.1:$ETCD_PORT" > "$WORK/etcd.$r.txt"
done
grep -q '"header"' <(curl -s -X POST -d "{\"key\":\"$(printf bench/k1 | base64)\"}" "http://127.0.0.1:$ETCD_PORT/v3/kv/range") \
  || { echo "etcd did not store the benchmark's writes" >&2; exit 1; }
curl -sf -H "Authorization: Bearer $KEY" "http://127.0.0.1:$CONSOLE_PORT/storage/bench/k1" > /dev/null \
  || { echo "console did not store the benchmark's writes" >&2; exit 1; }

for f in "$WORK"/*.txt; do
  if grep -q "Non-2xx" "$f"; then echo "warning: $(basename "$f") had non-2xx answers:" >&2; grep "Non-2xx" "$f" >&2; fi
done

echo
echo "== results (value ${VALUE_BYTES} B, ${DURATION}s per load, 2 wrk threads, same machine)"
printf '%-6s %-34s %12s %10s %10s\n' "round" "load" "req/s" "p50" "p99"
for r in $(seq "$ROUNDS"); do
  for f in hello get put etcd; do
    case $f in
      hello) name="axum hello-world GET (c=32)";; get) name="console GET document (c=32)";;
      put) name="console durable PUT (c=64)";; etcd) name="etcd 3.4 PUT via gateway (c=64)";;
    esac
    t="$WORK/$f.$r.txt"
    printf '%-6s %-34s %12s %10s %10s\n' "$r" "$name" "$(rps "$t")" "$(pct "$t" 50%)" "$(pct "$t" 99%)"
  done
done
args=()
for r in $(seq "$ROUNDS"); do
  args+=("$(rps "$WORK/get.$r.txt")" "$(rps "$WORK/hello.$r.txt")" "$(rps "$WORK/put.$r.txt")" "$(rps "$WORK/etcd.$r.txt")")
done
python3 - "${args[@]}" <<'PY'
import statistics, sys
v = list(map(float, sys.argv[1:]))
rounds = [v[i:i + 4] for i in range(0, len(v), 4)]
get = [g / h for g, h, _, _ in rounds]
put = [p / e for _, _, p, e in rounds]
print("GET ratio console/hello-world per round:", " ".join(f"{x:.2f}" for x in get),
      f"| median {statistics.median(get):.2f}  (target >= 0.6)")
print("PUT ratio console/etcd per round:       ", " ".join(f"{x:.2f}" for x in put),
      f"| median {statistics.median(put):.2f}  (target >= 3)")
PY
