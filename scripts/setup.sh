#!/usr/bin/env bash
# Set up xunjian in ./.venv and run it, or run its tests. Idempotent: run it again any time.
#
#   bash scripts/setup.sh demo          install, then inspect the example inventory.yaml
#   bash scripts/setup.sh test [ARGS]   install everything the tests need, then run them
#                                        (ARGS go to pytest, e.g. -m slow, -k ssh)
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-demo}
[ $# -gt 0 ] && shift
PYTHON=${PYTHON:-python3}

install_python() {  # $1: which lock, app or test (requirements/$1.lock)
  # Exactly the locked wheels, each checked against its hash, then xunjian itself with the locked
  # setuptools (no build isolation: nothing unpinned is fetched). Refresh the locks with
  # scripts/lock.sh; tests/test_install.py checks they still satisfy pyproject.toml.
  [ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
  local pip=(.venv/bin/python -m pip install -q --disable-pip-version-check)
  "${pip[@]}" --require-hashes --no-deps -r "requirements/$1.lock"
  "${pip[@]}" --no-deps --no-build-isolation -e .
  .venv/bin/python -m pip check -q >/dev/null || { .venv/bin/python -m pip check >&2; exit 1; }
}

# The real peers the tests start on 127.0.0.1 come from Debian's packages (dovecot-imapd: the
# mail intake's IMAP server). PDF reports need pango, harfbuzz-subset (15x faster CJK font
# subsetting in WeasyPrint) and CJK fonts; the tests read PDFs back with poppler's tools.
DEBS=(openssh-server snmpd snmp influxdb victoria-metrics libpango-1.0-0 libpangoft2-1.0-0
      libharfbuzz-subset0 fonts-noto-cjk poppler-utils postgresql dovecot-imapd)

install_debs() {
  # The InfluxDB sink's C loop (setup.py) needs gcc and this interpreter's headers; the tests
  # check that it was built. (Without them an install still works, on the Python path.)
  command -v gcc >/dev/null || DEBS+=(gcc)
  "$PYTHON" -c 'import os, sys, sysconfig
sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' ||
    DEBS+=(python3-dev)
  local missing=()
  for p in "${DEBS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: need root to install ${missing[*]} (apt-get); run as root or install them" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -q >/dev/null
  # apt must not start the distribution's own daemons: the tests start their own.
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}" >/dev/null
  rm -f /usr/sbin/policy-rc.d
}

install_fonts() {
  # Chinese reports need a Chinese font (a PDF without one is refused, not printed as boxes)
  # and pango for PDFs. Installed when root; otherwise said, and the demo goes on.
  local need=()
  for p in libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-cjk; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
  done
  [ ${#need[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    echo "setup: PDF reports in Chinese need: apt-get install ${need[*]} (as root)" >&2
    return 0
  fi
  DEBS=("${need[@]}")
  install_debs
}

case "$mode" in
  demo)
    install_fonts
    install_python app
    .venv/bin/xunjian inventory check
    rc=0
    .venv/bin/xunjian inspect || rc=$?   # Nagios exit code: 0 OK, 1 WARN, 2 CRIT, 3 UNKNOWN
    .venv/bin/xunjian cases list
    exit "$rc"
    ;;
  test)
    install_debs
    install_python test
    .venv/bin/ruff check .
    rc=0
    .venv/bin/python -m pytest "$@" || rc=$?
    if [ "$rc" -eq 5 ]; then
      echo "setup: pytest collected no tests: that is a failure" >&2
      exit 1
    fi
    exit "$rc"
    ;;
  *)
    echo "usage: bash scripts/setup.sh demo|test [pytest args]" >&2
    exit 2
    ;;
esac
