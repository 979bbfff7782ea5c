// Test child: listens on HOST (port chosen by the kernel), prints "PORT n", reads every connection to the
// end, prints "DONE bytes" once EXPECT bytes have arrived and "CLOSED bytes" when a connection is gone,
// and exits when stdin closes.
import { createServer } from "node:net";

const [host = "127.0.0.1", expectText = "0"] = process.argv.slice(2);
const expect = Number(expectText);
let received = 0;
let reported = false;
const server = createServer((conn) => {
  conn.on("data", (chunk) => {
    received += chunk.length;
    if (!reported && received >= expect) {
      reported = true;
      process.stdout.write(`DONE ${received}\n`);
    }
  });
  conn.on("error", () => {});
  conn.on("close", () => process.stdout.write(`CLOSED ${received}\n`));
});
server.listen(0, host, () => {
  const addr = server.address();
  process.stdout.write(`PORT ${typeof addr === "object" && addr ? addr.port : 0}\n`);
});
process.stdin.on("data", () => {});
process.stdin.on("end", () => process.exit(0));
