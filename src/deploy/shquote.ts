// ssh joins its arguments with spaces and hands the result to the remote user's shell, so every word of a
// remote command must be quoted for POSIX sh. Single quotes keep everything literal except the single
// quote itself, which is closed, escaped and reopened: it's -> 'it'\''s'.

/** One word, safe to paste into a POSIX sh command line. */
export function shQuote(word: string): string {
  if (word.includes("\0")) throw new Error("a shell argument cannot contain a NUL byte");
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** A remote command line from an argument array, every argument quoted. */
export function shCommand(argv: readonly string[]): string {
  return argv.map(shQuote).join(" ");
}

/**
 * Runs a fixed sh script with positional arguments on the remote side: `sh -c SCRIPT pmon ARG...`.
 * The script never contains input; input only ever arrives as "$1", "$2", ...
 */
export function shScript(script: string, args: readonly string[]): string {
  return shCommand(["sh", "-c", script, "pmon", ...args]);
}
