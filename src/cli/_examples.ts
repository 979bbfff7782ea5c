// Examples shown at the end of `pmon <command> --help`.
export const EXAMPLES: Record<string, string[]> = {
  pmon: [
    "pmon server --config /etc/pmon/pmon.toml          # receive and store reports",
    "pmon enroll 10.0.0.11 10.0.0.12                   # deploy agents over ssh",
    "pmon status                                       # every host, exit 1 if one is silent",
    "pmon top --at '2026-11-24 03:00' --by cpu         # who used the CPU then",
  ],
  server: [
    "pmon server                                       # SQLite in /var/lib/pmon, port 9300",
    "pmon server --storage mysql://pmon_rw:pw@db1:3306/dbzz_monitor --listen 0.0.0.0:9300",
  ],
  agent: [
    "pmon agent --once --json                          # one report from this machine on stdout",
    "pmon agent --once --json --proc-root test/fixtures/proc --proc-root-next test/fixtures/proc-next",
    "pmon agent --server http://10.0.0.9:9300 --secret-file /opt/pmon/agent.secret --interval 30",
  ],
  enroll: [
    "pmon enroll 10.0.0.11 10.0.0.12 --identity ~/.ssh/pmon_deploy",
    "pmon enroll --no-deploy db7 --secret-out /tmp/db7.secret   # agent installed by Ansible",
  ],
  remove: ["pmon remove 10.0.0.14"],
  rollback: ["/opt/pmon-0.1.0/pmon rollback --config /etc/pmon/pmon.toml   # the fleet goes back to 0.1.0"],
  migrate: [
    "pmon migrate --storage mysql://pmon_rw:pw@db1:3306/dbzz_monitor               # what pmon server does at start",
    "pmon migrate --partition --storage mysql://pmon_rw:pw@db1:3306/dbzz_monitor   # daily partitions for big old tables",
  ],
  import: ["pmon config import config.ini --output /etc/pmon/pmon.toml --port 9300   # from the old tool's config"],
  completion: ["source <(pmon completion bash)            # in ~/.bashrc", "pmon completion fish > ~/.config/fish/completions/pmon.fish"],
  check: ["pmon config check --config /etc/pmon/pmon.toml", "pmon config check --connect --quiet   # in a deploy script: exit 2 on any problem"],
  status: ["pmon status", "pmon status --json | jq '.hosts[] | select(.state != \"running\")'", "pmon status --source api"],
  top: [
    "pmon top                                          # the whole fleet, now, by CPU",
    "pmon top --host db1 --at '3h ago' --by mem",
    "pmon top --at 03:00 --by io                       # the last 03:00 (today's, or yesterday's before then)",
    "pmon top --at 'yesterday 03:00' --utc             # times printed in UTC",
    "pmon top --from '2026-11-24 02:00' --to '2026-11-24 04:00' --by io --limit 20",
    "pmon top --at 2026-11-24T03:00:00Z --by net --json",
  ],
};
