// node module-resolution hooks: bare specifiers resolve through the kiosk's one import map
// (kiosk/templates/kiosk/importmap.html), to the files the browser would load from
// kiosk/static/vendor/. Registered by tests/js/importmap.mjs.

import { pathToFileURL } from "node:url";

import { readImportMap, resolveSpecifier, urlToFile } from "../../kiosk/importgraph.mjs";

const imports = readImportMap();

export async function resolve(specifier, context, nextResolve) {
  if (/^(\/|\.\.?\/|[a-z][a-z0-9+.-]*:)/i.test(specifier)) return nextResolve(specifier, context);
  const target = resolveSpecifier(specifier, "/", imports);
  if (target === null) return nextResolve(specifier, context); // node: builtins, etc.
  return { url: pathToFileURL(urlToFile(target)).href, format: "module", shortCircuit: true };
}
