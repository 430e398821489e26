#!/usr/bin/env bash
# Refresh the kiosk's vendored browser dependencies (docs/kiosk-crypto.md, "Vendoring").
#
#   kiosk/vendor.sh
#
# Fetches each package pinned in kiosk/package.json / package-lock.json as its npm tarball,
# checks the tarball's SHA-512 against the lockfile's "integrity", and copies into
# kiosk/static/vendor/ only the files that the import graph of our own modules reaches through
# the one import map (kiosk/templates/kiosk/importmap.html), plus each package's licence; then
# writes kiosk/static/vendor/packages.json (version and tarball integrity of each package, the
# files taken from it) and kiosk/static/vendor/SHA256SUMS. axe-core (test-only) goes to
# tests/browser/vendor/ the same way. The details are in kiosk/vendor.mjs; the checks in
# tests/test_vendor.py. Needs node >= 20 and npm (the Python-only setup does not: the result is
# committed).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
command -v npm >/dev/null || { echo "vendor.sh: npm is required to refresh the vendored files" >&2; exit 1; }
exec node --experimental-vm-modules --no-warnings "$here/vendor.mjs"
