#!/usr/bin/env bash
# Scale benchmark of the TUI on the real (release) binary, in tmux:
#   time to first frame, and to the first frame with keys, after opening a namespace of
#   DOCS documents; resident memory after scrolling; handle+draw time per key press.
# Frame timings come from CONSOLE_TUI_TRACE. Usage: scripts/bench_tui.sh [DOCS] [DIR]
set -euo pipefail
DOCS=${1:-1000000}
DIR=${2:-/tmp/console-tui-bench}
SOCK=console-bench-$$
mkdir -p "$DIR"
STORE="$DIR/big-$DOCS.db"
cd "$(dirname "$0")/.."
cargo build --release --quiet
BIN=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys;print(json.load(sys.stdin)["target_directory"])')/release/console
if [ ! -f "$STORE" ]; then
  echo "seeding $DOCS documents into $STORE (takes a while)"
  cargo run --release --quiet --example seed_scale -- "$STORE" "$DOCS"
fi
TRACE="$DIR/trace.log"
rm -f "$TRACE" "$DIR/start"
trap 'tmux -L $SOCK kill-server 2>/dev/null || true' EXIT
tmux -L $SOCK new-session -d -s b -x 160 -y 45 \
  "date +%s%3N > '$DIR/start'; CONSOLE_DATA_DIR='$DIR' CONSOLE_CONFIG_DIR='$DIR' CONSOLE_TUI_TRACE='$TRACE' exec '$BIN' --store '$STORE' tui --namespace big"
# Wait (bounded) for a frame that shows keys.
for _ in $(seq 1 200); do
  grep -q 'rows=[1-9]' "$TRACE" 2>/dev/null && break
  sleep 0.05
done
PID=$(tmux -L $SOCK list-panes -t b -F '#{pane_pid}')
# Scroll: 400 single steps, a few half pages, in small bursts like a held key.
for _ in $(seq 1 40); do
  for _ in $(seq 1 10); do tmux -L $SOCK send-keys -t b j; done
  sleep 0.03
done
for _ in $(seq 1 20); do tmux -L $SOCK send-keys -t b C-d; sleep 0.03; done
sleep 0.5
RSS_KB=$(awk '/VmRSS/ {print $2}' /proc/$PID/status)
HWM_KB=$(awk '/VmHWM/ {print $2}' /proc/$PID/status)
tmux -L $SOCK send-keys -t b q
sleep 0.2
python3 - "$TRACE" "$(cat "$DIR/start")" "$RSS_KB" "$HWM_KB" <<'PY'
import re, sys
trace, start, rss, hwm = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
frames = [dict(re.findall(r'(\w+)=(\S+)', l)) for l in open(trace)]
first = int(frames[0]['epoch_ms']) - start
data = next(int(f['epoch_ms']) - start for f in frames if int(f['rows']) > 0)
keys = sorted(int(f['handle_and_draw_us']) for f in frames if int(f['keys_in_batch']) > 0)
draws = sorted(int(f['draw_us']) for f in frames)
pct = lambda v, p: v[min(len(v) - 1, int(len(v) * p))] / 1000
print(f"time to first frame (process start -> frame drawn): {first} ms")
print(f"time to first frame with keys listed:              {data} ms")
print(f"resident memory after scrolling: {rss/1024:.1f} MiB (peak {hwm/1024:.1f} MiB)")
print(f"frames after key presses: {len(keys)}; handle+draw p50 {pct(keys,.5):.2f} ms, "
      f"p99 {pct(keys,.99):.2f} ms, max {keys[-1]/1000:.2f} ms")
print(f"draw alone over all {len(draws)} frames: p50 {pct(draws,.5):.2f} ms, max {draws[-1]/1000:.2f} ms")
rows = max(int(f['rows']) for f in frames)
print(f"keys loaded at the end: {rows} (pages of 200)")
PY
