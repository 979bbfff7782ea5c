// Test child: connects to HOST:PORT, sends exactly BYTES bytes, prints "SENT", then either closes at once
// ("close") or keeps the connection open until stdin closes ("hold").
import { connect } from "node:net";

const [host = "127.0.0.1", portText = "0", bytesText = "0", mode = "hold"] = process.argv.slice(2);
const total = Number(bytesText);
const chunk = Buffer.alloc(1024 * 1024, 0x61);
const sock = connect({ host, port: Number(portText) }, () => {
  let left = total;
  const pump = (): void => {
    while (left > 0) {
      const n = Math.min(left, chunk.length);
      left -= n;
      if (!sock.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
        sock.once("drain", pump);
        return;
      }
    }
    if (mode === "close") {
      sock.end(() => {
        process.stdout.write("SENT\n");
      });
      sock.on("close", () => process.exit(0));
    } else {
      process.stdout.write("SENT\n");
    }
  };
  pump();
});
sock.on("error", (e) => {
  process.stderr.write(`sender: ${e.message}\n`);
  process.exit(1);
});
process.stdin.on("data", () => {});
process.stdin.on("end", () => {
  sock.destroy();
  process.exit(0);
});
