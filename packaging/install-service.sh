#!/usr/bin/env bash
# Install xunjian as a systemd service: /opt/xunjian (code + venv), /etc/xunjian (config),
# /var/lib/xunjian (store, spool), user `xunjian`. Idempotent; run as root from the source tree.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
[ "$(id -u)" -eq 0 ] || { echo "install-service: run as root" >&2; exit 1; }
id xunjian >/dev/null 2>&1 || useradd --system --home-dir /var/lib/xunjian --shell /usr/sbin/nologin xunjian
install -d -o root -g root -m 0755 /opt/xunjian
cp -a "$src/." /opt/xunjian/
[ -x /opt/xunjian/.venv/bin/python ] || python3 -m venv /opt/xunjian/.venv
/opt/xunjian/.venv/bin/python -m pip install -q --disable-pip-version-check /opt/xunjian
install -d -o root -g xunjian -m 0750 /etc/xunjian
install -d -o xunjian -g xunjian -m 0750 /var/lib/xunjian
[ -f /etc/xunjian/xunjian.yaml ] || install -o root -g xunjian -m 0640 "$src/packaging/xunjian.yaml" /etc/xunjian/xunjian.yaml
[ -f /etc/xunjian/inventory.yaml ] || install -o root -g xunjian -m 0640 "$src/inventory.yaml" /etc/xunjian/inventory.yaml
install -o root -g root -m 0644 "$src/packaging/xunjian.service" /etc/systemd/system/xunjian.service
systemctl daemon-reload
echo "installed: edit /etc/xunjian/*.yaml, then: systemctl enable --now xunjian"
