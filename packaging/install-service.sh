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
# the locked versions (requirements/app.lock, hash-checked), as scripts/setup.sh installs them
pip=(/opt/xunjian/.venv/bin/python -m pip install -q --disable-pip-version-check)
"${pip[@]}" --require-hashes --no-deps -r /opt/xunjian/requirements/app.lock
"${pip[@]}" --no-deps --no-build-isolation /opt/xunjian
# PDF reports: pango, and a Chinese font (a zh-CN PDF without one is refused, not printed as boxes)
need=()
for p in libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-cjk; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "install-service: PDF reports need ${need[*]} (or your distribution's pango and a CJK font)" >&2
  fi
fi
install -d -o root -g xunjian -m 0750 /etc/xunjian /etc/xunjian/holidays
install -d -o xunjian -g xunjian -m 0750 /var/lib/xunjian
[ -f /etc/xunjian/xunjian.yaml ] || install -o root -g xunjian -m 0640 "$src/packaging/xunjian.yaml" /etc/xunjian/xunjian.yaml
[ -f /etc/xunjian/inventory.yaml ] || install -o root -g xunjian -m 0640 "$src/inventory.yaml" /etc/xunjian/inventory.yaml
install -o root -g root -m 0644 "$src/packaging/xunjian.service" /etc/systemd/system/xunjian.service
systemctl daemon-reload
echo "installed: edit /etc/xunjian/*.yaml, then: systemctl enable --now xunjian"
echo "upgrading an existing install: runuser -u xunjian -- /opt/xunjian/.venv/bin/xunjian db upgrade" \
     "-c /etc/xunjian/xunjian.yaml, then: systemctl restart xunjian"
