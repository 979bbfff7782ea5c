// uid -> user name from /etc/passwd, read once per collector (a lookup per process would be far too slow).
import { readFileSync } from "node:fs";

const DEFAULT_PASSWD_PATH = "/etc/passwd";

export function parsePasswd(text: string): Map<number, string> {
  const users = new Map<number, string>();
  for (const line of text.split("\n")) {
    const f = line.split(":");
    if (f.length < 3 || line.startsWith("#")) continue;
    const uid = Number(f[2]);
    // the first entry wins, as getpwuid(3) does
    if (Number.isInteger(uid) && !users.has(uid)) users.set(uid, f[0]!);
  }
  return users;
}

/** Returns a resolver: the name for known uids, the number as a string otherwise. */
export function createUserResolver(passwdPath = DEFAULT_PASSWD_PATH): (uid: number) => string {
  let users: Map<number, string>;
  try {
    users = parsePasswd(readFileSync(passwdPath, "latin1"));
  } catch {
    users = new Map();
  }
  return (uid) => users.get(uid) ?? String(uid);
}
