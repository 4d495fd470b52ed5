#!/usr/bin/env bash
# Benchmarks queries and facets over 1,000,000 findings (issue 15's targets), release
# binary, embedded and served:
# - the first page (100 keys) of `severity=high !reviewed`, which 1% of the documents
#   match: `console list --where` (a whole process) and `GET /storage/{ns}?where=` (curl
#   against `console serve` on the same file); target under 100 ms;
# - facet counts of `severity` over the whole namespace (`console facets`, and
#   `GET /_facets`); target under 1 s;
# - a query that matches nothing, walked to the end page by page (`--all`): the total, and
#   the slowest single page (what a UI waits for at most between two progress updates).
#
# Usage: scripts/bench-query.sh      (env: DOCS=1000000 RUNS=15 KEEP=path/to/reuse.db)
# Needs: cargo, sqlite3, curl, jq, python3. Each figure is the median of RUNS runs (min and
# max given too); the machine is shared, so compare medians side by side.
set -euo pipefail

DOCS=${DOCS:-1000000}
RUNS=${RUNS:-15}
NS=findings
QUERY='severity=high !reviewed'

cd "$(dirname "$0")/.."
for tool in cargo sqlite3 curl jq python3; do
    command -v "$tool" >/dev/null || { echo "bench-query: $tool is not installed" >&2; exit 1; }
done
cargo build --release --quiet --bin console
target_dir=$(cargo metadata --no-deps --format-version 1 | jq -r .target_directory)
BIN="$target_dir/release/console"

tmp=$(mktemp -d)
server_pid=
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
unset CONSOLE_STORE CONSOLE_REMOTE CONSOLE_API_KEY CONSOLE_WORKSPACE CONSOLE_PROFILE RUST_LOG
export CONSOLE_DATA_DIR="$tmp/data" CONSOLE_CONFIG_DIR="$tmp/config"
DB=${KEEP:-$tmp/bench.db}

if [ ! -s "$DB" ]; then
    echo "generating $DOCS findings in $DB ..."
    start=$(date +%s.%N)
    # One `console set` creates the schema and the workspace; sqlite3 bulk-inserts the
    # rest as rows of that schema; the namespace counters are then brought in line.
    # 10% are severity=high, and one in ten of those is not reviewed: 1% match the query.
    "$BIN" --store "$DB" set "$NS" f-0000000 '{"severity":"info"}' >/dev/null
    sqlite3 "$DB" <<SQL
PRAGMA journal_mode = WAL;
BEGIN;
DELETE FROM documents WHERE workspace = 'default' AND namespace = '$NS';
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $DOCS - 1),
now(ms) AS (SELECT CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))
INSERT INTO documents (workspace, namespace, key, value, version, size_bytes,
                       created_at, updated_at, updated_by, expires_at)
SELECT 'default', '$NS', printf('f-%07d', i),
       json_object(
         'title', 'finding number ' || i || ' in service ' || (i % 97),
         'severity', CASE WHEN i % 10 = 0 THEN 'high' WHEN i % 10 < 4 THEN 'medium'
                          WHEN i % 10 < 8 THEN 'low' ELSE 'info' END,
         'agent', 'scanner-' || (i % 7),
         'reviewed', json(CASE WHEN i % 10 = 0 THEN (CASE WHEN i % 100 = 0 THEN 'false' ELSE 'true' END)
                               WHEN i % 3 = 0 THEN 'true' ELSE 'false' END),
         'evidence', json_object('confidence', (i % 100) / 100.0, 'source', 'sast'),
         'tags', json_array('service-' || (i % 97), CASE WHEN i % 11 = 0 THEN 'secrets' ELSE 'deps' END)),
       1, 0, ms - (i % 86400) * 1000, ms - (i % 86400) * 1000, 'bench', NULL
FROM n, now;
UPDATE documents SET size_bytes = length(CAST(value AS BLOB))
 WHERE workspace = 'default' AND namespace = '$NS';
INSERT OR IGNORE INTO doc_ids (id, workspace, namespace, key)
SELECT id, workspace, namespace, key FROM documents;
UPDATE namespaces
   SET docs = (SELECT count(*) FROM documents WHERE workspace = 'default' AND namespace = '$NS'),
       bytes = (SELECT sum(size_bytes) FROM documents WHERE workspace = 'default' AND namespace = '$NS')
 WHERE workspace = 'default' AND namespace = '$NS';
COMMIT;
SQL
    echo "generated in $(python3 -c "print(round($(date +%s.%N) - $start, 1))") s"
fi
docs=$("$BIN" --store "$DB" stats "$NS" | jq .documents)
matching=$(sqlite3 "$DB" "SELECT count(*) FROM documents WHERE namespace = '$NS'
  AND json_extract(value, '\$.severity') = 'high' AND json_extract(value, '\$.reviewed') = 0")
echo "store: $DB ($docs documents, $(du -h "$DB" | cut -f1)); '$QUERY' matches $matching"
echo "binary: $BIN"

# Runs a command RUNS times; prints median / min / max wall time in ms.
timed() {
    local label=$1; shift
    python3 - "$RUNS" "$label" "$@" <<'PY'
import subprocess, sys, time, statistics
runs, label, cmd = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)  # warm-up, and it must succeed
t = []
for _ in range(runs):
    s = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    t.append((time.perf_counter() - s) * 1000)
print(f"{label:<52} median {statistics.median(t):8.1f} ms   min {min(t):8.1f}   max {max(t):8.1f}   ({runs} runs)")
PY
}

# The same first page must come back embedded and served.
"$BIN" --store "$DB" list "$NS" --where "$QUERY" --limit 100 --json | jq -c '.keys | length, .[0], .[-1]' | tr '\n' ' '
echo "(first page: keys, first, last)"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BIN" --store "$DB" serve --listen "127.0.0.1:$port" --no-auth >"$tmp/serve.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
U="http://127.0.0.1:$port/storage/$NS"
Q=$(jq -rn --arg q "$QUERY" '$q|@uri')

echo "--- first page of '$QUERY' (limit 100); target < 100 ms"
timed "embedded: console list --where (whole process)" "$BIN" --store "$DB" list "$NS" --where "$QUERY" --limit 100 --json
timed "served: GET ?where= (curl)" curl -sf "$U?where=$Q&limit=100"
timed "baseline: console list, no query (whole process)" "$BIN" --store "$DB" list "$NS" --limit 100 --json
echo "--- facets of severity over $docs documents; target < 1 s"
timed "embedded: console facets severity" "$BIN" --store "$DB" facets "$NS" severity --json
timed "served: GET /_facets?field=severity (curl)" curl -sf "$U/_facets?field=severity"
echo "--- a query matching nothing, walked to the end"
RUNS=3 timed "embedded: console list --where severity=critical --all" "$BIN" --store "$DB" list "$NS" --where severity=critical --all --json
RUNS=3 timed "served: one page of severity=critical (20,000 scanned)" curl -sf "$U?where=severity%3Dcritical"
"$BIN" --store "$DB" facets "$NS" severity --json | jq -c .
