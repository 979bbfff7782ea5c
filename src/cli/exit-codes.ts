// The exit codes of every pmon command (docs/cli.md, "Exit codes"): scripts and cron branch on them.
export const EXIT = {
  /** the answer was given */
  OK: 0,
  /** the answer is bad news: a host silent or failed, nothing found, a host that could not be handled */
  BAD_NEWS: 1,
  /** the command line or the configuration is wrong */
  USAGE: 2,
  /** the pmon server is not running or cannot be reached */
  SERVER_DOWN: 3,
  /** an unexpected internal error (a bug) */
  INTERNAL: 4,
} as const;
