#!/usr/bin/env bash
# `make run`: pmon on this one machine with the embedded SQLite store. Starts `pmon server` and a local
# `pmon agent` in the background (state in .tmp/run), waits for the first report and shows `pmon status`.
# `make stop` stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
D="$PWD/.tmp/run"
PORT=${PMON_PORT:-9300}
BIN="$PWD/dist/pmon"
HOST=$(hostname)

stop() {
  for p in agent server; do
    if [ -f "$D/$p.pid" ] && kill -0 "$(cat "$D/$p.pid")" 2>/dev/null; then kill "$(cat "$D/$p.pid")"; echo "stopped pmon $p"; fi
    rm -f "$D/$p.pid"
  done
}
if [ "${1:-}" = stop ]; then stop; exit 0; fi
stop >/dev/null

mkdir -p "$D"
cat > "$D/pmon.toml" <<CFG
# Written by 'make run'.
[agent]
servers = ["http://127.0.0.1:$PORT"]
secret_file = "$D/agent.secret"
data_dir = "$D/agent"
interval_s = 10
jitter_s = 1

[server]
listen = "127.0.0.1:$PORT"
url = "http://127.0.0.1:$PORT"
data_dir = "$D/server"
CFG

"$BIN" server --config "$D/pmon.toml" >"$D/server.log" 2>&1 &
echo $! >"$D/server.pid"
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
  kill -0 "$(cat "$D/server.pid")" 2>/dev/null || { cat "$D/server.log"; exit 1; }
  sleep 0.1
done

"$BIN" enroll --config "$D/pmon.toml" --no-deploy "$HOST" --secret-out "$D/agent.secret"
"$BIN" agent --config "$D/pmon.toml" >"$D/agent.log" 2>&1 &
echo $! >"$D/agent.pid"

echo "waiting for the agent's first report..."
for _ in $(seq 60); do
  "$BIN" status --config "$D/pmon.toml" --json 2>/dev/null | grep -q '"last_report_at": [0-9]' && break
  sleep 1
done
"$BIN" status --config "$D/pmon.toml" || true
cat <<MSG

pmon server and agent are running in the background (logs: .tmp/run/server.log, .tmp/run/agent.log).
  dist/pmon status --config .tmp/run/pmon.toml             hosts
  dist/pmon top --config .tmp/run/pmon.toml --by cpu       top processes now
  dist/pmon top --config .tmp/run/pmon.toml --at '5m ago'  top processes 5 minutes ago
  make stop                                                stop both
MSG
