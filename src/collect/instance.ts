// What tells one instance of a program from its siblings (mysqld on 3306 vs 3307): port-like arguments
// on its command line plus the TCP ports it listens on.

const MAX_INSTANCE_CHARS = 1024;

function validPort(s: string | undefined): string | undefined {
  if (s === undefined || !/^\d{1,5}$/.test(s)) return undefined;
  const n = Number(s);
  return n >= 1 && n <= 65535 ? String(n) : undefined;
}

/** Tokens like "port=3307", "defaults-file=/etc/my.cnf", "jmx-port=9010" found in the arguments. */
export function instanceArgs(args: readonly string[]): string[] {
  const tokens: string[] = [];
  const add = (t: string) => {
    if (!tokens.includes(t)) tokens.push(t);
  };
  for (let i = 1; i < args.length; i++) {
    const a = args[i]!;
    const next = args[i + 1];
    let m: RegExpMatchArray | null;
    if ((m = a.match(/^--?port=(.*)$/))) {
      const p = validPort(m[1]);
      if (p) add(`port=${p}`);
    } else if (a === "--port" || a === "-port" || a === "-p" || a === "-P") {
      const p = validPort(next);
      if (p) {
        add(`port=${p}`);
        i++;
      }
    } else if ((m = a.match(/^-[pP](\d{1,5})$/))) {
      const p = validPort(m[1]);
      if (p) add(`port=${p}`);
    } else if ((m = a.match(/^--defaults-file=(.+)$/))) {
      add(`defaults-file=${m[1]}`);
    } else if (a === "--defaults-file" && next) {
      add(`defaults-file=${next}`);
      i++;
    } else if ((m = a.match(/^-Dcom\.sun\.management\.jmxremote\.port=(\d+)$/))) {
      const p = validPort(m[1]);
      if (p) add(`jmx-port=${p}`);
    } else if ((m = a.match(/^-Dserver\.port=(\d+)$/))) {
      const p = validPort(m[1]);
      if (p) add(`port=${p}`);
    }
  }
  return tokens;
}

/** "port=3307 defaults-file=/etc/my3307.cnf listen=3307,33070" ("" when nothing identifies it). */
export function formatInstance(args: readonly string[], listenPorts: Iterable<number>): string {
  const tokens = instanceArgs(args);
  const ports = [...new Set(listenPorts)].sort((a, b) => a - b);
  if (ports.length > 0) tokens.push(`listen=${ports.join(",")}`);
  const s = tokens.join(" ");
  return s.length > MAX_INSTANCE_CHARS ? s.slice(0, MAX_INSTANCE_CHARS) : s;
}
