#!/usr/bin/env bash
# What the tests need beyond Node.js: a MariaDB server, an OpenSSH server and client, iproute2, a C compiler,
# objdump (glibc symbol check), systemd-analyze (unit files check), zsh and fish (completion tests),
# promtool (the /metrics format check), debootstrap and systemd-nspawn (tests on a booted systemd host),
# rpmbuild (make package), cpio (reading an .rpm back) and chromium (web UI tests and bench).
set -euo pipefail
need=()
command -v mariadbd >/dev/null || command -v mysqld >/dev/null || need+=(mariadb-server)
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ssh >/dev/null || need+=(openssh-client)
command -v ip >/dev/null || need+=(iproute2)
command -v cc >/dev/null || need+=(gcc)
command -v objdump >/dev/null || need+=(binutils)
command -v systemd-analyze >/dev/null || need+=(systemd)
command -v zsh >/dev/null || need+=(zsh)             # shell completion tests
command -v fish >/dev/null || need+=(fish)
command -v promtool >/dev/null || need+=(prometheus) # promtool check metrics
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v systemd-nspawn >/dev/null || need+=(systemd-container)
command -v rpmbuild >/dev/null || need+=(rpm)        # make package
command -v cpio >/dev/null || need+=(cpio)
[ -x /usr/bin/chromium ] || need+=(chromium)         # web UI tests and bench
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
