#!/usr/bin/env bash
# One command to set up a fresh machine: a virtual environment in .venv with every pinned dependency.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null || PYTHON=python3

# System packages: libsodium (the group arithmetic), and for the test suite nginx (the
# multi-instance tests), Debian's chromium (the browser tests; Playwright drives it, never a
# browser download of its own), a Chinese font, and node (the JS crypto tests).
need=()
ldconfig -p 2>/dev/null | grep -q 'libsodium\.so\.2[3-9]' || need+=(libsodium23)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx)
command -v chromium >/dev/null || need+=(chromium)
command -v node >/dev/null || need+=(nodejs)
fc-list 2>/dev/null | grep -qiE 'wqy|noto sans cjk' || need+=(fonts-wqy-microhei)  # Chinese text in screenshots
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "Installing from Debian's packages: ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
    # nginx is run by the tests with their own configuration, never as a system service.
    if command -v service >/dev/null; then service nginx stop >/dev/null 2>&1 || true; fi
  else
    echo "warning: missing system packages (${need[*]}); install them with apt-get" >&2
    ldconfig -p 2>/dev/null | grep -q 'libsodium\.so\.2[3-9]' || { echo "error: libsodium is required" >&2; exit 1; }
  fi
fi

"$PYTHON" -m venv .venv
# The checkout as an editable install with every extra (pyproject.toml: the verifier, the trustees'
# and clerk's tools, the service, the tests), at the versions pinned in requirements.txt; so
# `flask --app tally`, `python -m ballot.verify`, `python -m keys`, `piaojue-verify` work from any
# directory.
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt -e '.[all]'
.venv/bin/python -c "import pysodium, cryptography, reportlab, ballot, keys, tally"
# The kiosk's pinned npm packages (kiosk/package-lock.json), so that tests/test_vendor.py compares
# every vendored byte with the lockfile's tarballs instead of skipping. No install scripts run.
if command -v npm >/dev/null; then
  (cd kiosk && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
else
  echo "warning: npm is missing; tests/test_vendor.py cannot compare the vendored bytes" >&2
fi
echo "Set up: .venv is ready."
