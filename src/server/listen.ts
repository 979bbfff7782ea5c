// Parsing server.listen: "0.0.0.0:9300", "[::]:9300", ":9300", "9300".
import { ConfigError } from "../config/load.ts";

export function parseListen(listen: string): { hostname: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(listen.trim()) ?? /^()()(\d+)$/.exec(listen.trim());
  if (!m) throw new ConfigError(`server.listen must be HOST:PORT, got "${listen}"`);
  const port = Number(m[3]);
  if (port > 65535) throw new ConfigError(`server.listen port out of range: ${port}`);
  return { hostname: m[1] || m[2] || "0.0.0.0", port };
}
