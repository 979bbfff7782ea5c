// Per-interface traffic in the host row's net JSON (net.ifaces): how many interfaces a report keeps and
// the key the rest are summed under. Shared by the writer, the series query and the web page.

/** Interfaces stored per report (the busiest); the others are summed under OTHER_INTERFACES. */
export const MAX_STORED_INTERFACES = 16;

/** Not a possible interface name: /proc/net/dev ends names with ":", so none contains one. */
export const OTHER_INTERFACES = ":others";
