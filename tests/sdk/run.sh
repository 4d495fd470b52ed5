#!/usr/bin/env bash
# Runs the real Python SDK (orchagent-sdk==0.1.13) against `console serve`.
# Usage: [SDK_STORE=postgres://…] tests/sdk/run.sh PATH/TO/console [PYTHON]
#   PYTHON: an interpreter with orchagent-sdk==0.1.13 installed; when omitted, a venv is
#   created in $SDK_VENV (default: a temporary directory) and the SDK installed with pip.
# Builds nothing: pass the console binary. Exits non-zero when a test fails.
set -euo pipefail

console=${1:?usage: run.sh PATH/TO/console [PYTHON]}
console=$(cd "$(dirname "$console")" && pwd)/$(basename "$console")
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
server_pid=""
cleanup() {
    if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

python=${2:-}
if [ -z "$python" ]; then
    venv=${SDK_VENV:-$work/venv}
    if [ ! -x "$venv/bin/python" ]; then
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet orchagent-sdk==0.1.13
    fi
    python=$venv/bin/python
fi

export CONSOLE_CONFIG_DIR=$work/config CONSOLE_DATA_DIR=$work/data
unset CONSOLE_REMOTE CONSOLE_PROFILE CONSOLE_WORKSPACE CONSOLE_STORE
# SDK_STORE: run against another store (e.g. a postgres:// URL); default a fresh file.
store=${SDK_STORE:-$work/store.db}
"$console" --store "$store" workspaces create sdk-test --tier free >/dev/null
key=$("$console" --store "$store" keys create --workspace sdk-test --name sdk --json |
    "$python" -c 'import json, sys; print(json.load(sys.stdin)["key"])')

"$console" --store "$store" serve --listen 127.0.0.1:0 >"$work/out" 2>"$work/log" &
server_pid=$!
for _ in $(seq 1 100); do
    grep -q '^listening on ' "$work/out" 2>/dev/null && break
    sleep 0.1
done
url=$(sed -n 's/^listening on //p' "$work/out" | head -1)
if [ -z "$url" ]; then
    echo "console serve did not start:" >&2
    cat "$work/log" >&2
    exit 1
fi

unset ORCHAGENT_SERVICE_KEY
status=0
ORCHAGENT_GATEWAY_URL=$url ORCHAGENT_API_KEY=$key "$python" "$here/test_sdk.py" || status=$?
exit $status
