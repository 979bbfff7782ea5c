// Taking over a host that runs the old Python client. Left alone, it would keep reporting beside the
// pmon agent, and with its server gone it would raise "server connection error" alerts; its
// conf/config.ini holds the database's write credentials. The old tool started the client from root's
// crontab (`*/1 * * * * bash <dir>/start_client.sh`, which runs `rpc.py --role client ...`).
import type { Remote } from "./ssh.ts";

/**
 * $1 = "yes" to delete the old directory too. Prints what it did, one `key=value` a line:
 * cron=FILE (an entry removed), stopped=PID, config=PATH (deleted), dir_removed=PATH or dir_kept=PATH.
 * Only the client's cron lines go; an old server on the same host (start_server.sh) is left running.
 */
export const TAKE_OVER_LEGACY_CLIENT = `pat='start_client\\.sh|rpc\\.py.*--role[ =]client'
dirs=
for f in /var/spool/cron/root /var/spool/cron/crontabs/root; do
  [ -f "$f" ] && grep -Eq "$pat" "$f" || continue
  for d in $(grep -E "$pat" "$f" | grep -Eo '/[^ ;"]*/start_client\\.sh' | sed 's#/start_client\\.sh$##'); do dirs="$dirs $d"; done
  # rewrite in place: the file keeps its owner and mode; touching the directory makes cron reread it
  grep -Ev "$pat" "$f" > "$f.pmon-new" || true
  cat "$f.pmon-new" > "$f" && rm -f "$f.pmon-new"
  touch "$(dirname "$f")"
  echo "cron=$f"
done
# "$r.py": the pattern must not match this script's own command line, which holds its text
r=rpc; pids=
for p in /proc/[0-9]*; do
  pid=\${p#/proc/}
  [ "$pid" = "$$" ] || [ "$pid" = "$PPID" ] && continue
  c=$(tr '\\0' ' ' < "$p/cmdline" 2>/dev/null) || continue
  case "$c" in *"$r.py "*--role" "client*|*"$r.py "*--role=client*) ;; *) continue;; esac
  for w in $c; do case "$w" in */"$r.py") dirs="$dirs $(dirname "$w")";; esac; done
  kill "$pid" 2>/dev/null && echo "stopped=$pid" && pids="$pids $pid"
done
[ -d /opt/soft/rpc_for_monitor ] && dirs="$dirs /opt/soft/rpc_for_monitor"
[ -n "$pids" ] && sleep 1 && kill -9 $pids 2>/dev/null
for d in $(printf '%s\\n' $dirs | sort -u); do
  # only a directory that really is the old tool's, never / or a relative path
  case "$d" in /?*) ;; *) continue;; esac
  [ -f "$d/$r.py" ] || continue
  [ -d "$d/state" ] && echo stop > "$d/state/state.log"
  if [ -f "$d/conf/config.ini" ]; then rm -f "$d/conf/config.ini" && echo "config=$d/conf/config.ini"; fi
  if [ "$1" = yes ]; then rm -rf "$d" && echo "dir_removed=$d"; else echo "dir_kept=$d"; fi
done
exit 0
`;

export interface LegacyTakeover {
  cronFiles: string[];
  stoppedPids: number[];
  configsDeleted: string[];
  dirsRemoved: string[];
  dirsKept: string[];
}

export function parseTakeover(out: string): LegacyTakeover {
  const r: LegacyTakeover = { cronFiles: [], stoppedPids: [], configsDeleted: [], dirsRemoved: [], dirsKept: [] };
  for (const line of out.split("\n")) {
    const i = line.indexOf("=");
    if (i < 0) continue;
    const [k, v] = [line.slice(0, i), line.slice(i + 1).trim()];
    if (k === "cron") r.cronFiles.push(v);
    else if (k === "stopped" && /^\d+$/.test(v)) r.stoppedPids.push(Number(v));
    else if (k === "config") r.configsDeleted.push(v);
    else if (k === "dir_removed") r.dirsRemoved.push(v);
    else if (k === "dir_kept") r.dirsKept.push(v);
  }
  return r;
}

/** One sentence for the enroll summary, or null when the host had no trace of the old client. */
export function describeTakeover(t: LegacyTakeover): string | null {
  const parts: string[] = [];
  if (t.cronFiles.length) parts.push(`removed its cron entry from ${t.cronFiles.join(", ")}`);
  if (t.stoppedPids.length) parts.push(`stopped pid ${t.stoppedPids.join(", ")}`);
  if (t.configsDeleted.length) parts.push(`deleted ${t.configsDeleted.join(", ")} (database credentials)`);
  if (t.dirsRemoved.length) parts.push(`removed ${t.dirsRemoved.join(", ")}`);
  if (t.dirsKept.length) parts.push(`kept the rest of ${t.dirsKept.join(", ")} (deploy.remove_legacy_dir = true deletes it)`);
  return parts.length ? `old client taken over: ${parts.join("; ")}` : null;
}

/** Stops the old client for good before the pmon agent starts; returns what it did, for the summary. */
export async function takeOverLegacyClient(remote: Remote, removeDir: boolean): Promise<string | null> {
  return describeTakeover(parseTakeover(await remote.script("taking over the old client", TAKE_OVER_LEGACY_CLIENT, [removeDir ? "yes" : "no"])));
}
