// The fixed POSIX sh scripts pmon runs on hosts. They never contain input: the install dir and other
// values arrive as "$1", "$2", ... (see shScript), and file contents arrive on stdin.
//
// Layout of the install dir (default /opt/pmon) on a host:
//   pmon, pmon.prev         the binary and the one before it (for rollback)
//   pmon.toml(.prev)        the agent's config, 0600 (no database credentials)
//   agent.secret            the host's Ed25519 private key, 0600; made on the host, never leaves it
//   agent.env               optional extra environment for the agent (KEY=VALUE lines; operator's)
//   data/                   the agent's spool
//   pmon.log, pmon.log.1    the agent's log when pmon's supervisor runs it (no systemd)
//   supervise.pid, agent.pid

/** Name the binary is uploaded under before the atomic rename. */
export const UPLOAD_NAME = ".pmon.upload";

// Shared by the scripts that stop things: stops the process in a pid file if it is still ours.
const STOP_PID = `stop_pid() {
  [ -s "$1" ] || return 0
  p=$(cat "$1")
  case "$p" in ''|*[!0-9]*) rm -f "$1"; return 0;; esac
  if kill -0 "$p" 2>/dev/null && grep -q pmon "/proc/$p/cmdline" 2>/dev/null; then
    kill "$p" 2>/dev/null
    i=0
    while kill -0 "$p" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
    kill -9 "$p" 2>/dev/null
  fi
  rm -f "$1"
}
stop_supervised() { stop_pid "$1/supervise.pid"; stop_pid "$1/agent.pid"; }
`;

/** $1 = install dir. Prints key=value facts about the host. */
export const PROBE = `d=$1
echo "arch=$(uname -m)"
v=$(getconf GNU_LIBC_VERSION 2>/dev/null) || v=
[ -n "$v" ] || v=$(ldd --version 2>&1 | head -n 1)
echo "libc=$v"
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then echo systemd=yes; else echo systemd=no; fi
if [ -x "$d/pmon" ]; then echo "version=$("$d/pmon" --version 2>/dev/null | head -n 1)"; fi
p=$d
while [ ! -d "$p" ]; do p=$(dirname "$p"); done
echo "free_kb=$(df -Pk "$p" | awk 'NR==2 {print $4}')"
if [ -s "$d/agent.secret" ]; then echo secret=yes; else echo secret=no; fi
if [ -e "$d/pmon.prev" ]; then echo prev=yes; else echo prev=no; fi
for c in zstd gzip; do if command -v $c >/dev/null 2>&1; then echo "$c=yes"; else echo "$c=no"; fi; done
if command -v sha256sum >/dev/null 2>&1 || command -v openssl >/dev/null 2>&1; then echo sha256=yes; else echo sha256=no; fi
`;

/** $1 = install dir. Makes the directory and clears a stale upload. */
export const PREPARE = `set -e
umask 022
mkdir -p "$1" "$1/data"
chmod 700 "$1/data"
rm -f "$1/${UPLOAD_NAME}"
`;

/**
 * $1 = install dir, $2 = codec of stdin (zstd, gzip or none), $3 = sha256 of the binary. Unpacks stdin into
 * the upload file and deletes it unless its sha256 matches: a truncated or corrupted copy never gets swapped in.
 */
export const UPLOAD = `set -e
umask 022
cd "$1"
case "$2" in
  zstd) zstd -dcq > ${UPLOAD_NAME} ;;
  gzip) gzip -dc > ${UPLOAD_NAME} ;;
  *) cat > ${UPLOAD_NAME} ;;
esac
if command -v sha256sum >/dev/null 2>&1; then sum=$(sha256sum ${UPLOAD_NAME}); else sum=$(openssl dgst -sha256 -r ${UPLOAD_NAME}); fi
sum=\${sum%% *}
if [ "$sum" != "$3" ]; then
  rm -f ${UPLOAD_NAME}
  echo "the copied binary is damaged (sha256 $sum, expected $3)" >&2
  exit 98
fi
`;

/** $1 = install dir. Checks that the uploaded binary runs, keeps the old one as pmon.prev, renames atomically. */
export const INSTALL = `set -e
cd "$1"
chmod 755 ${UPLOAD_NAME}
if ! out=$(./${UPLOAD_NAME} --version 2>&1); then
  rm -f ${UPLOAD_NAME}
  echo "the binary cannot run on this host: $(echo "$out" | head -n 1)" >&2
  exit 97
fi
if [ -e pmon ]; then ln -f pmon pmon.prev; fi
mv -f ${UPLOAD_NAME} pmon
`;

/**
 * $1 = install dir, $2 = keep | rekey | show. The installed binary makes the host's key pair if it has
 * none (`pmon agent --init-key`; rekey: a new one in any case) and prints only the public key; show
 * prints the existing public key, if any, and changes nothing.
 */
export const INIT_KEY = `set -e
umask 077
cd "$1"
case "$2" in
  rekey) ./pmon agent --init-key --rekey --secret-file "$1/agent.secret" --log-level error ;;
  show) if [ -x ./pmon ] && [ -s agent.secret ]; then ./pmon agent --show-key --secret-file "$1/agent.secret" --log-level error || true; fi ;;
  *) ./pmon agent --init-key --secret-file "$1/agent.secret" --log-level error ;;
esac
`;

/** $1 = install dir. stdin: the agent's config. */
export const WRITE_CONFIG = `set -e
umask 077
cd "$1"
if [ ! -s agent.secret ]; then echo "the host has no agent key" >&2; exit 1; fi
if [ -f pmon.toml ]; then cp -p pmon.toml pmon.toml.prev; fi
cat > pmon.toml.tmp
mv -f pmon.toml.tmp pmon.toml
chmod 600 agent.secret pmon.toml
`;

/** $1 = install dir, $2 = unit path. stdin: the unit. Installs, enables and (re)starts the agent's unit. */
export const START_SYSTEMD = `set -e
${STOP_PID}stop_supervised "$1"
umask 022
cat > "$2.tmp"
mv -f "$2.tmp" "$2"
systemctl daemon-reload
systemctl enable pmon-agent.service >/dev/null 2>&1
systemctl restart pmon-agent.service
`;

/** $1 = install dir. (Re)starts pmon's own supervisor, detached from the ssh session. */
export const START_SUPERVISOR = `${STOP_PID}stop_supervised "$1"
cd "$1" || exit 1
if command -v setsid >/dev/null 2>&1; then
  setsid ./pmon supervise --install-dir "$1" --config "$1/pmon.toml" </dev/null >/dev/null 2>&1 &
else
  nohup ./pmon supervise --install-dir "$1" --config "$1/pmon.toml" </dev/null >/dev/null 2>&1 &
fi
i=0
# generous: a loaded host may take a while to start a 100 MiB binary
while [ ! -s supervise.pid ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done
if [ ! -s supervise.pid ]; then echo "the supervisor did not start (see $1/pmon.log)" >&2; exit 1; fi
`;

/** $1 = install dir. Puts pmon.prev (and its config) back in place; the caller restarts the agent. */
export const ROLLBACK = `set -e
cd "$1"
if [ ! -e pmon.prev ]; then echo "no previous binary (pmon.prev) to roll back to" >&2; exit 1; fi
ln -f pmon pmon.failed
mv -f pmon.prev pmon
if [ -f pmon.toml.prev ]; then mv -f pmon.toml.prev pmon.toml; fi
`;

/**
 * $1 = install dir, $2 = unit path. Stops and disables the agent, then deletes pmon's files and the
 * directory if it is empty (never `rm -rf` of an operator-chosen path).
 */
export const REMOVE = `${STOP_PID}if [ -e "$2" ] && command -v systemctl >/dev/null 2>&1; then
  systemctl disable --now pmon-agent.service >/dev/null 2>&1 || true
  rm -f "$2"
  systemctl daemon-reload || true
fi
rm -f "$2"
stop_supervised "$1"
if [ -d "$1" ]; then
  cd "$1" || exit 1
  rm -f pmon pmon.prev pmon.failed pmon.toml pmon.toml.prev pmon.toml.tmp agent.secret agent.secret.tmp agent.env \\
    pmon.log pmon.log.1 supervise.pid agent.pid ${UPLOAD_NAME}
  rm -rf data
  cd /
  rmdir "$1" 2>/dev/null || true
fi
if [ -e "$1/pmon" ] || [ -e "$1/agent.secret" ]; then echo "could not delete pmon's files in $1" >&2; exit 1; fi
`;

/** $1 = install dir, $2 = "yes" when systemd runs the agent. Prints the agent's last log lines; never fails. */
export const AGENT_LOG_TAIL = `if [ "$2" = yes ] && command -v journalctl >/dev/null 2>&1; then
  journalctl -u pmon-agent.service -n 5 --no-pager -o cat 2>/dev/null
else
  tail -n 5 "$1/pmon.log" 2>/dev/null
fi
exit 0
`;

export interface ProbeResult {
  arch: string;
  libc: string;
  systemd: boolean;
  /** `pmon --version` of the installed binary, "" when none */
  version: string;
  freeKb: number;
  hasSecret: boolean;
  hasPrevious: boolean;
  /** decompressors and a sha256 tool on the host */
  zstd: boolean;
  gzip: boolean;
  sha256: boolean;
}

export function parseProbe(out: string): ProbeResult {
  const kv = new Map<string, string>();
  for (const line of out.split("\n")) {
    const i = line.indexOf("=");
    if (i > 0) kv.set(line.slice(0, i).trim(), line.slice(i + 1).trim());
  }
  return {
    arch: kv.get("arch") ?? "",
    libc: kv.get("libc") ?? "",
    systemd: kv.get("systemd") === "yes",
    version: kv.get("version") ?? "",
    freeKb: Number(kv.get("free_kb") ?? NaN),
    hasSecret: kv.get("secret") === "yes",
    hasPrevious: kv.get("prev") === "yes",
    zstd: kv.get("zstd") === "yes",
    gzip: kv.get("gzip") === "yes",
    sha256: kv.get("sha256") === "yes",
  };
}

/** glibc version from `getconf GNU_LIBC_VERSION` ("glibc 2.36") or `ldd --version` ("ldd (GNU libc) 2.17"); null for musl/unknown. */
export function glibcVersion(libc: string): [number, number] | null {
  if (!/glibc|gnu libc|GLIBC/i.test(libc)) return null;
  const m = /(\d+)\.(\d+)\s*$/.exec(libc) ?? /(\d+)\.(\d+)/.exec(libc);
  return m ? [Number(m[1]), Number(m[2])] : null;
}
