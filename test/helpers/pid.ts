// Whether a process exists: signal 0 is checked for permission and existence but never delivered.
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
