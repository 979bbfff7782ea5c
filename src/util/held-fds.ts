// Descriptors pmon holds open for its own reading (the /proc stat files of every process, see
// procfs/pid-stat-files.ts). The socket-owner search skips them in the agent's own fd directory, where
// thousands of them would otherwise be read as links every sample. Exact: the same thread opens and
// registers, closes and unregisters them.
export const heldFiles = new Set<number>();
