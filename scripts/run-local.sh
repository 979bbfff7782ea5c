#!/usr/bin/env bash
# `make run`: pmon on this one machine with the embedded SQLite store. Starts `pmon server` and a local
# `pmon agent` in the background (state in .tmp/run), waits for the first report and shows `pmon status`.
# `make stop` stops both. PMON_PORT picks the port (default 9300), PMON_RUN_DIR the state directory,
# PMON_RUN_WAIT_S how long to wait for the first report (default 60).
set -euo pipefail
cd "$(dirname "$0")/.."
D=$(realpath -m "${PMON_RUN_DIR:-$PWD/.tmp/run}")
PORT=${PMON_PORT:-9300}
WAIT_S=${PMON_RUN_WAIT_S:-60}
BIN="$PWD/dist/pmon"
HOST=$(hostname)

# Stops a previous run and waits until it has exited, so its last log lines and database writes are
# done before this run truncates the logs.
stop() {
  for p in agent server; do
    local f="$D/$p.pid"
    [ -f "$f" ] || continue
    local pid
    pid=$(cat "$f")
    if kill -0 "$pid" 2>/dev/null && grep -q pmon "/proc/$pid/cmdline" 2>/dev/null; then
      kill "$pid"
      for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; sleep 0.2; fi
      echo "stopped pmon $p (pid $pid)"
    fi
    rm -f "$f"
  done
}
if [ "${1:-}" = stop ]; then stop; exit 0; fi
stop >/dev/null

fail() {
  echo "make run: $*" >&2
  stop >/dev/null
  exit 1
}

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

STARTED_MS=$(date +%s%3N)
"$BIN" server --config "$D/pmon.toml" >"$D/server.log" 2>&1 &
echo $! >"$D/server.pid"
# Up means: our server logged that it listens. A port that merely answers may be another program's.
for _ in $(seq 300); do
  grep -q "listening on" "$D/server.log" && break
  if ! kill -0 "$(cat "$D/server.pid")" 2>/dev/null; then
    tail -n 3 "$D/server.log" >&2
    if grep -qiE "cannot listen|EADDRINUSE|address already in use|in use" "$D/server.log"; then
      fail "the server cannot listen on 127.0.0.1:$PORT (is another program using that port?); pick another port: PMON_PORT=9301 make run"
    fi
    fail "the server exited at start (log: $D/server.log)"
  fi
  sleep 0.1
done
grep -q "listening on" "$D/server.log" || fail "the server did not start listening on 127.0.0.1:$PORT within 30 s (log: $D/server.log)"

# --rekey: a previous run's agent (stopped above) may have reported moments ago with the old key
"$BIN" enroll --config "$D/pmon.toml" --no-deploy "$HOST" --secret-out "$D/agent.secret" --rekey
"$BIN" agent --config "$D/pmon.toml" >"$D/agent.log" 2>&1 &
echo $! >"$D/agent.pid"

# The first report of THIS run: the store may hold reports of earlier runs.
echo "waiting up to ${WAIT_S} s for the agent's first report..."
reported=""
for _ in $(seq "$WAIT_S"); do
  last=$("$BIN" status --config "$D/pmon.toml" --json 2>/dev/null | grep -o '"last_report_at": [0-9]*' | grep -o '[0-9]*$' | sort -n | tail -n 1 || true)
  if [ -n "$last" ] && [ "$last" -ge "$STARTED_MS" ]; then reported=1; break; fi
  kill -0 "$(cat "$D/agent.pid")" 2>/dev/null || break
  sleep 1
done
if [ -z "$reported" ]; then
  fail "no report from the agent within ${WAIT_S} s; its log's last line: $(tail -n 1 "$D/agent.log" 2>/dev/null || echo '(empty)')"
fi
"$BIN" status --config "$D/pmon.toml" || true
R=${D#"$PWD"/} # shown relative to the checkout when it is inside it
cat <<MSG

pmon server and agent are running in the background (logs: $R/server.log, $R/agent.log).
  dist/pmon status --config $R/pmon.toml             hosts
  dist/pmon top --config $R/pmon.toml --by cpu       top processes now
  dist/pmon top --config $R/pmon.toml --at '5m ago'  top processes 5 minutes ago
  make stop                                          stop both
MSG
