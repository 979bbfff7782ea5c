// The /proc stat files pmon keeps open, one per process (procfs/pid-stat-files.ts): their count is the
// process's budget, and the socket-owner search skips them in the agent's own fd directory, where thousands
// of them would otherwise be read as links every sample. Exact: the same thread opens and registers, closes
// and unregisters them.
export const heldFiles = new Set<number>();
