// Load for preauth-cost.test.ts, run as its own process so the test's own probes (/healthz, the
// agent's host row) are not slowed by the sender. Prints the status counts as JSON on stdout.
//   bun flood-client.ts URL hosts REQUESTS WORKERS
//   bun flood-client.ts URL big COUNT BYTES unknown|stale|malformed|badsig HOST
import { HEADERS, ROUTES } from "../../../src/protocol/api.ts";

const [url, mode, a, b, kind, host] = process.argv.slice(2) as [string, string, string, string, string?, string?];
const randomHex = (n: number) => Buffer.from(crypto.getRandomValues(new Uint8Array(n / 2))).toString("hex");
const statuses: Record<string, number> = {};

async function post(body: Uint8Array, headers: Record<string, string>): Promise<void> {
  let key: string;
  try {
    const res = await fetch(url + ROUTES.report, { method: "POST", body, headers });
    await res.arrayBuffer();
    key = String(res.status);
  } catch (e) {
    key = (e as { code?: string }).code ?? "error";
  }
  statuses[key] = (statuses[key] ?? 0) + 1;
}

if (mode === "hosts") {
  const total = Number(a);
  let next = 0;
  const body = new TextEncoder().encode('{"v":1}');
  await Promise.all(
    Array.from({ length: Number(b) }, async () => {
      while (next < total) {
        next++;
        await post(body, { [HEADERS.host]: `h${randomHex(12)}`, [HEADERS.time]: String(Date.now()), [HEADERS.signature]: randomHex(128) });
      }
    }),
  );
} else if (mode === "big") {
  const body = new Uint8Array(Number(b)).fill(0x7b);
  const headers = (): Record<string, string> => {
    switch (kind) {
      case "unknown":
        return { [HEADERS.host]: `h${randomHex(12)}`, [HEADERS.time]: String(Date.now()), [HEADERS.signature]: randomHex(128) };
      case "stale":
        return { [HEADERS.host]: host!, [HEADERS.time]: String(Date.now() - 3_600_000), [HEADERS.signature]: randomHex(128) };
      case "malformed":
        return { [HEADERS.host]: host!, [HEADERS.time]: String(Date.now()), [HEADERS.signature]: "zz" };
      default:
        return { [HEADERS.host]: host!, [HEADERS.time]: String(Date.now()), [HEADERS.signature]: randomHex(128) };
    }
  };
  await Promise.all(Array.from({ length: Number(a) }, () => post(body, headers())));
} else {
  throw new Error(`unknown mode ${mode}`);
}
process.stdout.write(JSON.stringify(statuses) + "\n");
