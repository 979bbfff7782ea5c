// pmon versions are semantic versions (1.2.3, 1.2.3-rc.1). Version rows the old tool wrote (such as
// "1.6") are not pmon versions: they never start or stop a pmon rollout.

const PMON_VERSION_RE = /^(\d{1,9})\.(\d{1,9})\.(\d{1,9})(?:-([0-9A-Za-z.-]+))?$/;

export function isPmonVersion(v: string): boolean {
  return PMON_VERSION_RE.test(v.trim());
}

/** <0 when a is older than b, 0 when equal, >0 when newer. Both must be pmon versions. */
export function compareVersions(a: string, b: string): number {
  const pa = PMON_VERSION_RE.exec(a.trim());
  const pb = PMON_VERSION_RE.exec(b.trim());
  if (!pa || !pb) throw new Error(`not pmon versions: ${JSON.stringify(a)}, ${JSON.stringify(b)}`);
  for (let i = 1; i <= 3; i++) {
    const d = Number(pa[i]) - Number(pb[i]);
    if (d !== 0) return d;
  }
  // a release is newer than its pre-releases; pre-releases compare field by field
  const ra = pa[4];
  const rb = pb[4];
  if (ra === rb) return 0;
  if (ra === undefined) return 1;
  if (rb === undefined) return -1;
  const fa = ra.split(".");
  const fb = rb.split(".");
  for (let i = 0; i < Math.max(fa.length, fb.length); i++) {
    const x = fa[i];
    const y = fb[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const nx = /^\d+$/.test(x) ? Number(x) : undefined;
    const ny = /^\d+$/.test(y) ? Number(y) : undefined;
    if (nx !== undefined && ny !== undefined) {
      if (nx !== ny) return nx - ny;
    } else if (nx !== undefined) return -1;
    else if (ny !== undefined) return 1;
    else if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}
