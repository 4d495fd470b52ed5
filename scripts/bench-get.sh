#!/usr/bin/env bash
# Benchmarks one `console get NS KEY --raw` (a whole process: start, config, open, read,
# print) against the sqlite3 CLI reading the same row of the same file, with hyperfine,
# over a store of 10,000 documents, and prints the ratio console/sqlite3 (target: <= 1.3).
#
# Usage: scripts/bench-get.sh            (env: DOCS=10000 RUNS=300 WARMUP=30 PROFILE=dist)
# Needs: cargo, hyperfine, sqlite3, jq. Builds `cargo build --profile $PROFILE` first (dist:
# the fat-LTO build that ships; PROFILE=release measures the quick default build); the
# binary is taken from the target directory cargo reports (CARGO_TARGET_DIR or the default).
set -euo pipefail

DOCS=${DOCS:-10000}
RUNS=${RUNS:-300}
WARMUP=${WARMUP:-30}
PROFILE=${PROFILE:-dist}
NS=bench
KEY=$(printf 'doc-%05d' $((DOCS / 2)))

cd "$(dirname "$0")/.."
for tool in cargo hyperfine sqlite3 jq; do
    command -v "$tool" >/dev/null || { echo "bench-get: $tool is not installed" >&2; exit 1; }
done

cargo build --profile "$PROFILE" --quiet --bin console
target_dir=$(cargo metadata --no-deps --format-version 1 | jq -r .target_directory)
BIN="$target_dir/$PROFILE/console"
[ -x "$BIN" ] || { echo "bench-get: no binary at $BIN" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# A private environment: no config file, no profile, nothing from $HOME.
unset CONSOLE_STORE CONSOLE_REMOTE CONSOLE_API_KEY CONSOLE_WORKSPACE CONSOLE_PROFILE RUST_LOG
export CONSOLE_DATA_DIR="$tmp/data" CONSOLE_CONFIG_DIR="$tmp/config"
DB="$tmp/bench.db"

# One `console set` creates the schema (and the workspace); sqlite3 bulk-inserts the rest
# as rows of that schema, then the namespace counters are brought in line.
"$BIN" --store "$DB" set "$NS" doc-00000 '{"id":0}' >/dev/null
sqlite3 "$DB" <<SQL
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $DOCS - 1),
now(ms) AS (SELECT CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))
INSERT INTO documents (workspace, namespace, key, value, version, size_bytes,
                       created_at, updated_at, updated_by, expires_at)
SELECT 'default', '$NS', printf('doc-%05d', i),
       json_object('id', i, 'status', 'open', 'title', 'finding number ' || i,
                   'tags', json_array('agent', 'triage'),
                   'note', replace(hex(zeroblob(60)), '0', 'x')),
       1, 0, ms, ms, 'bench', NULL
FROM n, now;
UPDATE documents SET size_bytes = length(CAST(value AS BLOB))
 WHERE workspace = 'default' AND namespace = '$NS';
-- Each document's id, as the store keeps it (schema 3: history is keyed by it).
INSERT OR IGNORE INTO doc_ids (id, workspace, namespace, key)
SELECT id, workspace, namespace, key FROM documents;
UPDATE namespaces
   SET docs = (SELECT count(*) FROM documents WHERE workspace = 'default' AND namespace = '$NS'),
       bytes = (SELECT sum(size_bytes) FROM documents WHERE workspace = 'default' AND namespace = '$NS')
 WHERE workspace = 'default' AND namespace = '$NS';
COMMIT;
SQL

SQL_GET="SELECT value FROM documents WHERE workspace='default' AND namespace='$NS' AND key='$KEY'"
CONSOLE_CMD="$BIN --store $DB get $NS $KEY --raw"
SQLITE_CMD="sqlite3 $DB \"$SQL_GET\""

# Both must print the same thing, or the comparison means nothing.
a=$("$BIN" --store "$DB" get "$NS" "$KEY" --raw)
b=$(sqlite3 "$DB" "$SQL_GET")
if [ "$a" != "$b" ]; then
    echo "bench-get: outputs differ:" >&2; echo "console: $a" >&2; echo "sqlite3: $b" >&2; exit 1
fi
docs=$("$BIN" --store "$DB" stats "$NS" | jq .documents)
echo "store: $DB ($docs documents, $(du -h "$DB" | cut -f1)); key $NS/$KEY, ${#a} bytes"
echo "binary: $BIN ($(du -h "$BIN" | cut -f1))"

hyperfine -N --warmup "$WARMUP" --runs "$RUNS" --export-json "$tmp/result.json" \
    -n console "$CONSOLE_CMD" -n sqlite3 "$SQLITE_CMD"

jq -r '
  (.results[0]) as $c | (.results[1]) as $s |
  "mean:   console \($c.mean * 1e3 | . * 1000 | round / 1000) ms, sqlite3 \($s.mean * 1e3 | . * 1000 | round / 1000) ms, ratio \($c.mean / $s.mean | . * 100 | round / 100)",
  "median: console \($c.median * 1e3 | . * 1000 | round / 1000) ms, sqlite3 \($s.median * 1e3 | . * 1000 | round / 1000) ms, ratio \($c.median / $s.median | . * 100 | round / 100)",
  "min:    console \($c.min * 1e3 | . * 1000 | round / 1000) ms, sqlite3 \($s.min * 1e3 | . * 1000 | round / 1000) ms, ratio \($c.min / $s.min | . * 100 | round / 100)"
' "$tmp/result.json"
ratio=$(jq '.results[0].mean / .results[1].mean' "$tmp/result.json")
if awk "BEGIN { exit !($ratio <= 1.3) }"; then
    echo "ratio console/sqlite3 (mean) = $ratio: within the 1.3 target"
else
    echo "ratio console/sqlite3 (mean) = $ratio: ABOVE the 1.3 target"
fi
