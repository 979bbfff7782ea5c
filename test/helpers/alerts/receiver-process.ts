// A stand-alone webhook receiver for tests whose senders live in another network namespace (lab hosts):
// run it with `bun receiver-process.ts HOST PORT FILE` inside that namespace; every POST body is
// appended to FILE as one JSON line, and "listening" is printed once it accepts.
import { appendFileSync } from "node:fs";

const [hostname, port, file] = process.argv.slice(2);
Bun.serve({
  hostname,
  port: Number(port),
  async fetch(req) {
    const text = await req.text();
    appendFileSync(file!, JSON.stringify({ path: new URL(req.url).pathname, at: Date.now(), body: JSON.parse(text || "null") }) + "\n");
    return Response.json({ errcode: 0, errmsg: "ok" });
  },
});
console.log("listening");
