#!/usr/bin/env bash
# One command to set up a fresh machine: a virtual environment in .venv with every pinned dependency.
# The group arithmetic uses the system libsodium (>= 1.0.18); if it is missing and we are root,
# it is installed from Debian's packages.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null || PYTHON=python3

if ! ldconfig -p 2>/dev/null | grep -q 'libsodium\.so\.2[3-9]'; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "Installing libsodium from Debian's packages…"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libsodium23 >/dev/null
  else
    echo "error: libsodium (>= 1.0.18) is required: apt-get install libsodium23" >&2
    exit 1
  fi
fi

"$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
# Put the checkout on the venv's path (what an editable install does), so `flask --app tally`,
# `python -m ballot.verify` and `python -m keys` work from any directory.
"$PWD/.venv/bin/python" -c 'import sysconfig, sys; open(sysconfig.get_paths()["purelib"] + "/piaojue.pth", "w").write(sys.argv[1] + "\n")' "$PWD"
.venv/bin/python -c "import pysodium, cryptography, reportlab, ballot, keys, tally"
echo "Set up: .venv is ready."
