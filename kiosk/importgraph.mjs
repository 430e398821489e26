// The import graph of the browser JS, resolved through the one import map
// (kiosk/templates/kiosk/importmap.html) exactly as a browser resolves it. Not served (outside
// kiosk/static/). Used by kiosk/vendor.sh (which vendored files the imports reach), by
// tests/test_vendor.py (every vendored file is reached, every import resolves) and by the node
// resolver of the JS test drivers (tests/js/importmap-hooks.mjs).
//
//   node --experimental-vm-modules --no-warnings kiosk/importgraph.mjs [--from PKG=DIR ...]
//
// prints {"vendor": {pkg: [file, …]}, "modules": [url, …], "problems": [text, …]} and exits 1 if
// there are problems. --from reads package PKG's files from DIR (an unpacked npm tarball) instead
// of kiosk/static/vendor/PKG/: that is how vendor.sh finds what to copy.
//
// Static imports are read by V8's own parser (vm.SourceTextModule, hence the flag); dynamic
// imports by a pattern: a string literal is followed like a static import, and in our own code any
// other import(…) is a problem (the graph could not see what it loads).

import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative, resolve as resolvePath, sep } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolvePath(dirname(fileURLToPath(import.meta.url)), "..");
export const IMPORT_MAP_TEMPLATE = join(ROOT, "kiosk", "templates", "kiosk", "importmap.html");
export const VENDOR_URL = "/kiosk/static/vendor/";
export const VENDOR_DIR = join(ROOT, "kiosk", "static", "vendor");

/** URL prefix → directory: how the service serves our own static files. */
const URL_ROOTS = [
  ["/kiosk/static/", join(ROOT, "kiosk", "static")],
  ["/static/", join(ROOT, "tally", "static")],
];

/** The "imports" of the import map, parsed from the Jinja partial (plain JSON inside the tag). */
export function readImportMap(file = IMPORT_MAP_TEMPLATE) {
  const text = readFileSync(file, "utf8");
  const match = /<script type="importmap">([\s\S]*?)<\/script>/.exec(text);
  if (!match) throw new Error(`${file}: no <script type="importmap">`);
  return JSON.parse(match[1]).imports;
}

/** "@noble/curves/abstract/x.js" → ["@noble/curves", "abstract/x.js"]; "jsqr/dist/a.js" → ["jsqr", "dist/a.js"]. */
export function splitPackage(path) {
  const parts = path.split("/");
  const n = parts[0].startsWith("@") ? 2 : 1;
  return [parts.slice(0, n).join("/"), parts.slice(n).join("/")];
}

const isBare = (spec) => !/^(\/|\.\.?\/|[a-z][a-z0-9+.-]*:)/i.test(spec);

/** Resolve a specifier imported by the module at URL path `parent` (browser rules), or null. */
export function resolveSpecifier(spec, parent, imports) {
  if (isBare(spec)) {
    if (Object.hasOwn(imports, spec)) return imports[spec];
    const prefix = Object.keys(imports)
      .filter((key) => key.endsWith("/") && spec.startsWith(key))
      .sort((a, b) => b.length - a.length)[0];
    return prefix === undefined ? null : imports[prefix] + spec.slice(prefix.length);
  }
  const url = new URL(spec, `http://host${parent}`);
  return url.origin === "http://host" ? url.pathname : null;
}

/** URL path → file on disk (vendored packages from `from[pkg]` when given), or null. */
export function urlToFile(url, from = {}) {
  if (url.startsWith(VENDOR_URL)) {
    const [pkg, rest] = splitPackage(url.slice(VENDOR_URL.length));
    return join(from[pkg] ?? join(VENDOR_DIR, pkg), ...rest.split("/"));
  }
  for (const [prefix, dir] of URL_ROOTS) if (url.startsWith(prefix)) return join(dir, ...url.slice(prefix.length).split("/"));
  return null;
}

/** The URL a file of ours is served at (the test drivers import modules by file path). */
export function fileToUrl(file) {
  for (const [prefix, dir] of URL_ROOTS) {
    const rel = relative(dir, file);
    if (!rel.startsWith("..") && !rel.startsWith(sep)) return prefix + rel.split(sep).join("/");
  }
  return null;
}

let SourceTextModule;

/** The specifiers a module imports: [{spec, dynamic}], and problems (non-literal import(…) in our code). */
export async function moduleImports(source, { own }) {
  SourceTextModule ??= (await import("node:vm")).SourceTextModule;
  if (!SourceTextModule) throw new Error("run node with --experimental-vm-modules (vm.SourceTextModule)");
  const found = new SourceTextModule(source).dependencySpecifiers.map((spec) => ({ spec, dynamic: false }));
  const problems = [];
  for (const m of source.matchAll(/(?<![\w$.])import\s*\(\s*(?:(["'])([^"'\\]+)\1\s*\)|([^)]{0,40}))/g)) {
    if (m[2] !== undefined) found.push({ spec: m[2], dynamic: true });
    else if (own) problems.push(`import(${m[3].trim()}…) is not a string literal`);
  }
  return { found, problems };
}

function* walk(dir) {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* walk(path);
    else yield path;
  }
}

/** Our own modules: every *.js the service serves outside the vendor folder. */
export function entryFiles() {
  return URL_ROOTS.flatMap(([, dir]) => [...walk(dir)])
    .filter((file) => file.endsWith(".js") && !file.startsWith(VENDOR_DIR + sep) && !file.split(sep).includes("node_modules"));
}

/**
 * Follow every import from our own modules. Returns {modules: Map url → file, vendor: {pkg: [path
 * inside the package]}, problems: [text]}.
 */
export async function importGraph({ from = {}, imports = readImportMap() } = {}) {
  const modules = new Map();
  const problems = [];
  const queue = entryFiles().map((file) => fileToUrl(file));
  while (queue.length) {
    const url = queue.shift();
    if (modules.has(url)) continue;
    const file = urlToFile(url, from);
    modules.set(url, file);
    const own = !url.startsWith(VENDOR_URL);
    let result;
    try {
      result = await moduleImports(readFileSync(file, "utf8"), { own });
    } catch (exc) {
      problems.push(`${url}: ${exc.message}`);
      continue;
    }
    problems.push(...result.problems.map((p) => `${url}: ${p}`));
    for (const { spec } of result.found) {
      const target = resolveSpecifier(spec, url, imports);
      const targetFile = target && urlToFile(target, from);
      if (!targetFile || !existsSync(targetFile)) problems.push(`${url}: "${spec}" does not resolve (${target ?? "not in the import map"})`);
      else queue.push(target);
    }
  }
  for (const value of Object.values(imports)) {
    if (!value.startsWith(VENDOR_URL)) problems.push(`import map: ${value} is outside ${VENDOR_URL}`);
  }
  const vendor = {};
  for (const url of [...modules.keys()].sort()) {
    if (!url.startsWith(VENDOR_URL)) continue;
    const [pkg, rest] = splitPackage(url.slice(VENDOR_URL.length));
    (vendor[pkg] ??= []).push(rest);
  }
  return { modules, vendor, problems };
}

if (process.argv[1] && resolvePath(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const from = {};
  const args = process.argv.slice(2);
  for (let i = 0; i < args.length; i += 1) {
    if (args[i] !== "--from") throw new Error(`unknown argument ${args[i]}`);
    const [pkg, dir] = args[(i += 1)].split("=");
    from[pkg] = resolvePath(dir);
  }
  const { modules, vendor, problems } = await importGraph({ from });
  process.stdout.write(`${JSON.stringify({ vendor, modules: [...modules.keys()].sort(), problems }, null, 1)}\n`);
  process.exit(problems.length ? 1 : 0);
}
