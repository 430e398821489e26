#!/usr/bin/env bash
# Refresh the kiosk's vendored browser dependencies (docs/kiosk-crypto.md, "Vendoring").
#
#   kiosk/vendor.sh
#
# 1. `npm ci` in kiosk/ installs exactly the versions pinned in package.json / package-lock.json
#    into kiosk/node_modules/ (git-ignored, only needed while vendoring).
# 2. The files needed at run time are copied into kiosk/static/node_modules/<pkg>/, which is
#    committed and served as static files, so the Python-only setup needs no node or npm:
#      - @noble/curves, @noble/hashes: package.json, LICENSE and the compiled ESM *.js files
#        (top level and abstract/); no *.d.ts, *.map, README or src/ TypeScript.
#      - jsqr: package.json, LICENSE and dist/jsQR.js (the scanner's fallback decoder).
#    The dev dependency axe-core (the accessibility checker of the browser tests, never served)
#    goes to tests/browser/vendor/axe-core/: axe.min.js, its licences and package.json.
#      - socket.io-client: package.json, LICENSE and dist/socket.io.esm.min.js only. Its upstream
#        "exports" map points at build/ files that are not vendored, so the copied package.json is
#        rewritten to export just the vendored ESM bundle (and "type": "module" so node can load it).
# 3. Every "exports" target of every vendored package.json is checked to exist.
#
# Node resolves the bare specifiers "@noble/curves/ed25519.js" etc. from kiosk/static/js/** by
# walking up to kiosk/static/node_modules/, exactly as the browser resolves them through the
# kiosk page's import map ("@noble/curves/" -> "/kiosk/static/node_modules/@noble/curves/").
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
src="$here/node_modules"
dest="$here/static/node_modules"

command -v npm >/dev/null || { echo "vendor.sh: npm is required to refresh the vendored files" >&2; exit 1; }

(cd "$here" && npm ci --no-audit --no-fund --ignore-scripts)

rm -rf "$dest"
mkdir -p "$dest"

copy_noble() {
    local pkg="$1"
    local from="$src/$pkg" to="$dest/$pkg"
    [ -f "$from/package.json" ] || { echo "vendor.sh: $pkg is not installed" >&2; exit 1; }
    mkdir -p "$to"
    cp "$from/package.json" "$from/LICENSE" "$to/"
    # The compiled ESM modules: *.js at the top level and in abstract/ (curves only).
    (cd "$from" && find . -path ./src -prune -o -path ./node_modules -prune -o -type f -name '*.js' -print) |
        while read -r file; do
            mkdir -p "$to/$(dirname "$file")"
            cp "$from/$file" "$to/$file"
        done
}

copy_noble "@noble/hashes"
copy_noble "@noble/curves"

sio_from="$src/socket.io-client" sio_to="$dest/socket.io-client"
mkdir -p "$sio_to/dist"
cp "$sio_from/package.json" "$sio_from/LICENSE" "$sio_to/"
cp "$sio_from/dist/socket.io.esm.min.js" "$sio_to/dist/"
node - "$sio_to/package.json" <<'EOF'
const fs = require("fs");
const file = process.argv[2];
const pkg = JSON.parse(fs.readFileSync(file, "utf8"));
const bundle = "./dist/socket.io.esm.min.js";
pkg.type = "module";
pkg.main = bundle;
pkg.module = bundle;
delete pkg.types;
delete pkg.browser;
pkg.exports = { ".": bundle, [bundle]: bundle, "./package.json": "./package.json" };
pkg.piaojueVendored = "pruned by kiosk/vendor.sh: only dist/socket.io.esm.min.js is vendored";
fs.writeFileSync(file, JSON.stringify(pkg, null, 2) + "\n");
EOF

# jsQR (Apache-2.0): the QR decoder the scanner falls back on where BarcodeDetector is missing.
mkdir -p "$dest/jsqr/dist"
cp "$src/jsqr/package.json" "$src/jsqr/LICENSE" "$dest/jsqr/"
cp "$src/jsqr/dist/jsQR.js" "$dest/jsqr/dist/"

# axe-core (MPL-2.0): injected into pages by tests/browser/axe.py; not part of the kiosk.
axe_to="$here/../tests/browser/vendor/axe-core"
rm -rf "$axe_to"
mkdir -p "$axe_to"
cp "$src/axe-core/axe.min.js" "$src/axe-core/LICENSE" "$src/axe-core/LICENSE-3RD-PARTY.txt" "$src/axe-core/package.json" "$axe_to/"

# Every export target must exist after pruning.
node - "$dest" <<'EOF'
const fs = require("fs");
const path = require("path");
const dest = process.argv[2];
let bad = 0;
function targets(value) {
  if (typeof value === "string") return [value];
  if (value && typeof value === "object") return Object.values(value).flatMap(targets);
  return [];
}
for (const pkg of ["@noble/curves", "@noble/hashes", "socket.io-client"]) {
  const dir = path.join(dest, pkg);
  const json = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
  for (const target of targets(json.exports)) {
    if (!fs.existsSync(path.join(dir, target))) {
      console.error(`vendor.sh: ${pkg} exports ${target}, which was not vendored`);
      bad += 1;
    }
  }
}
if (bad) process.exit(1);
EOF

echo "vendored into $dest:"
du -sh "$dest"
