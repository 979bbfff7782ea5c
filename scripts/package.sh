#!/usr/bin/env bash
# `make package`: a .deb (dpkg-deb) and an .rpm (rpmbuild) of a built pmon binary.
# Usage: scripts/package.sh BINARY VERSION OUTDIR [FORMATS] (FORMATS: "deb rpm" by default). Both packages install /usr/bin/pmon, the two systemd units
# (rendered from init/ with packaged paths), /etc/pmon/pmon.toml (a conffile) and, from their maintainer
# scripts, the pmon system user and /var/lib/pmon (0700, pmon).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:?binary}
VERSION=${2:?version}
OUT=${3:?output dir}
FORMATS=${4:-deb rpm}
[[ "$VERSION" =~ ^[0-9][A-Za-z0-9.+~]*$ ]] || { echo "package: version must start with a digit and hold only letters, digits, . + ~ (got '$VERSION')" >&2; exit 2; }
[ -x "$BIN" ] || { echo "package: $BIN is missing: run 'make build' first" >&2; exit 2; }
case "$(uname -m)" in
  x86_64) DEB_ARCH=amd64 RPM_ARCH=x86_64 ;;
  aarch64) DEB_ARCH=arm64 RPM_ARCH=aarch64 ;;
  *) echo "package: unsupported machine $(uname -m)" >&2; exit 2 ;;
esac
mkdir -p "$OUT"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# The packaged units are the manual-install units of init/ with packaged paths; nothing else differs.
server_unit() {
  sed -e '1,/^\[Unit\]/{/^#/d}' -e 's#/usr/local/bin/pmon#/usr/bin/pmon#g' init/pmon-server.service |
    sed '1i # Installed by the pmon package: `systemctl enable --now pmon-server`. Config: /etc/pmon/pmon.toml.'
}
agent_unit() {
  sed -e '1,/^\[Unit\]/{/^#/d}' \
    -e 's#^ExecStart=@INSTALL_DIR@/pmon agent --config @INSTALL_DIR@/pmon.toml$#ExecStart=/usr/bin/pmon agent --config /etc/pmon/pmon.toml#' \
    -e 's#^EnvironmentFile=-@INSTALL_DIR@/agent.env$#EnvironmentFile=-/etc/default/pmon-agent#' \
    -e 's#^WorkingDirectory=@INSTALL_DIR@$#WorkingDirectory=/var/lib/pmon#' \
    -e 's#^ReadWritePaths=@INSTALL_DIR@$#ReadWritePaths=/var/lib/pmon#' \
    -e 's#its install dir (spool, state)#its data dir (spool, state)#' init/pmon-agent.service |
    sed '1i # Installed by the pmon package: `systemctl enable --now pmon-agent`. Config: /etc/pmon/pmon.toml.'
}

# stage DIR UNITDIR: the files both packages hold
stage() {
  local d=$1 unitdir=$2
  install -D -m 0755 "$BIN" "$d/usr/bin/pmon"
  install -d -m 0755 "$d/$unitdir" "$d/etc/pmon"
  server_unit > "$d/$unitdir/pmon-server.service"
  agent_unit > "$d/$unitdir/pmon-agent.service"
  chmod 0644 "$d/$unitdir"/*.service
  if grep -q '@INSTALL_DIR@\|/usr/local/bin' "$d/$unitdir"/*.service; then
    echo "package: a unit still names an install-dir path: init/ changed, update scripts/package.sh" >&2; exit 1
  fi
  install -m 0644 conf/pmon.toml "$d/etc/pmon/pmon.toml"
}

# .deb (Debian's unit dir is /lib/systemd/system; postinst/postrm make and delete /var/lib/pmon)
build_deb() {
  local D="$WORK/deb" deb
  stage "$D" lib/systemd/system
  install -d -m 0755 "$D/DEBIAN"
  install -m 0755 packaging/debian/postinst packaging/debian/prerm packaging/debian/postrm "$D/DEBIAN/"
  echo /etc/pmon/pmon.toml > "$D/DEBIAN/conffiles"
  cat > "$D/DEBIAN/control" <<CONTROL
Package: pmon
Version: $VERSION
Architecture: $DEB_ARCH
Maintainer: pmon maintainers <maintainers@pmon.invalid>
Installed-Size: $(du -sk --exclude=DEBIAN "$D" | cut -f1)
Depends: passwd
Section: admin
Priority: optional
Description: fleet-wide, process-level resource monitor for Linux
 pmon agents report per-process CPU, memory, disk and network use of every host
 to a pmon server, which stores the history (SQLite or MySQL), alerts, and
 deploys agents over ssh.
CONTROL
  deb="$OUT/pmon_${VERSION}_${DEB_ARCH}.deb"
  dpkg-deb --root-owner-group -Zgzip -z6 --build "$D" "$deb" >/dev/null
  echo "$deb"
}

# .rpm with rpmbuild (Debian's rpm package is enough: nothing is compiled, the spec packs staged files)
build_rpm() {
  local R="$WORK/rpm" f
  if ! command -v rpmbuild >/dev/null; then
    echo "package: rpmbuild not found (apt-get install rpm): no .rpm built" >&2
    return
  fi
  stage "$R/stage" usr/lib/systemd/system
  install -d -m 0700 "$R/stage/var/lib/pmon"
  sed -e "s/@VERSION@/${VERSION//\~/_}/" -e "s/@RPM_ARCH@/$RPM_ARCH/" packaging/rpm/pmon.spec > "$R/pmon.spec"
  rpmbuild -bb --quiet --define "_topdir $R/top" --define "stage $R/stage" --define "_binary_payload w6.gzdio" \
    --target "$RPM_ARCH" "$R/pmon.spec" >"$R/build.log" 2>&1 || { cat "$R/build.log" >&2; exit 1; }
  for f in "$R"/top/RPMS/*/*.rpm; do cp "$f" "$OUT/"; echo "$OUT/$(basename "$f")"; done
}

for format in $FORMATS; do
  case "$format" in
    deb) build_deb ;;
    rpm) build_rpm ;;
    *) echo "package: unknown format '$format' (deb, rpm)" >&2; exit 2 ;;
  esac
done
