// The systemd units ship inside the binary, so `pmon enroll` needs no other file.
import agentUnit from "../../init/pmon-agent.service" with { type: "text" };
import serverUnit from "../../init/pmon-server.service" with { type: "text" };

const AGENT_UNIT_NAME = "pmon-agent.service";
export const AGENT_UNIT_PATH = `/etc/systemd/system/${AGENT_UNIT_NAME}`;

/** Install dirs go unquoted into unit files and paths, so only plain absolute paths are accepted. */
const INSTALL_DIR_RE = /^\/[A-Za-z0-9._\/-]*[A-Za-z0-9._-]$/;

export function checkInstallDir(dir: string): string {
  if (!INSTALL_DIR_RE.test(dir) || dir.split("/").includes("..")) {
    throw new Error(`install dir must be an absolute path of letters, digits, ".", "_", "-" and "/" (got ${JSON.stringify(dir)})`);
  }
  return dir;
}

export function renderAgentUnit(installDir: string): string {
  return agentUnit.replaceAll("@INSTALL_DIR@", checkInstallDir(installDir));
}

export function serverUnitText(): string {
  return serverUnit;
}
