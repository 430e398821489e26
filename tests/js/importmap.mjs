// Run the JS test drivers under node with the browser's import map:
//
//   node --import ./tests/js/importmap.mjs tests/js/check_vectors.mjs
//
// registers tests/js/importmap-hooks.mjs, which resolves bare specifiers ("@noble/curves/…",
// "@noble/hashes/…") through kiosk/templates/kiosk/importmap.html to kiosk/static/vendor/, as
// the pages do. Without it node finds no "node_modules" and the crypto modules do not load.

import { register } from "node:module";

register("./importmap-hooks.mjs", import.meta.url);
