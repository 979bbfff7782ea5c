// Test child, run as an unprivileged user: one network sample, printed as JSON, with the listener on
// port ARG (opened by root) picked out.
import { createNetworkCollector } from "../../../../src/collect/network.ts";
import { createLogger } from "../../../../src/log.ts";

const rootPort = Number(process.argv[2]);
const net = createNetworkCollector({ procRoot: "/proc", log: createLogger("silent"), netMibS: 10, topN: 10 });
const s = net.sample([{ name: "lo", rx_bytes_per_s: 1000, tx_bytes_per_s: 1000, speed_mbps: null }]);
process.stdout.write(`RESULT ${JSON.stringify({ capabilities: net.capabilities, errors: s.errors, rootListener: s.listen_ports.find((p) => p.port === rootPort) })}\n`);
net.close();
