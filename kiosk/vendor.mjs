// Refresh the vendored browser JS from the npm tarballs pinned in kiosk/package-lock.json
// (run through kiosk/vendor.sh; docs/kiosk-crypto.md, "Vendoring"; docs/dependencies.md).
//
// For every package of kiosk/package.json:
//  1. `npm pack NAME@VERSION` fetches the registry tarball (or takes it from npm's cache); its
//     SHA-512, computed here, must equal the lockfile's "integrity", else nothing is written;
//  2. the tarball is unpacked into a temporary directory;
// then the import graph (kiosk/importgraph.mjs) is followed from our own modules through the one
// import map, reading the packages from those unpacked tarballs, and only what it reaches is copied,
// unchanged, into kiosk/static/vendor/PKG/ with the package's licence files. A dependency nothing
// imports is an error. The dev dependency axe-core (tests/browser/axe.py injects it; never served)
// goes to tests/browser/vendor/axe-core/ (axe.min.js, its licences, package.json).
//
// Each vendor folder gets packages.json ({pkg: {version, integrity, files}}: the tarball each file
// was copied from) and SHA256SUMS (`sha256sum -c` format, every other file of the folder), which
// tests/test_vendor.py checks against the files, the lockfile and, where npm's cache or
// kiosk/node_modules has them, the tarballs' own bytes.

import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";

import { ROOT, VENDOR_DIR, importGraph } from "./importgraph.mjs";

const KIOSK = join(ROOT, "kiosk");
const TEST_VENDOR_DIR = join(ROOT, "tests", "browser", "vendor");
/** Dev dependencies: package → files copied as they are (not reached by imports). */
const DEV_FILES = { "axe-core": ["axe.min.js", "LICENSE", "LICENSE-3RD-PARTY.txt", "package.json"] };
const LICENCE = /^(LICEN[CS]E|COPYING)([.-].*)?$/i;

const sha = (algorithm, data) => createHash(algorithm).update(data).digest();

function packTarball(name, version, expected, workdir) {
  const [info] = JSON.parse(execFileSync("npm", ["pack", `${name}@${version}`, "--json", "--pack-destination", workdir],
    { cwd: workdir, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }));
  const tarball = join(workdir, info.filename);
  const integrity = `sha512-${sha("sha512", readFileSync(tarball)).toString("base64")}`;
  if (integrity !== expected) {
    throw new Error(`${name}@${version}: the tarball's ${integrity} is not the lockfile's ${expected}`);
  }
  const unpacked = join(workdir, "unpacked", name);
  mkdirSync(unpacked, { recursive: true });
  execFileSync("tar", ["-xzf", tarball, "-C", unpacked, "--strip-components=1"]);
  return { integrity, unpacked };
}

function writeFolder(dir, packages) {
  rmSync(dir, { recursive: true, force: true });
  const record = {};
  for (const [name, { version, integrity, unpacked, files }] of Object.entries(packages)) {
    for (const file of files) {
      mkdirSync(dirname(join(dir, name, file)), { recursive: true });
      copyFileSync(join(unpacked, file), join(dir, name, file));
    }
    record[name] = { version, integrity, files };
  }
  writeFileSync(join(dir, "packages.json"), `${JSON.stringify(record, null, 2)}\n`);
  const all = [];
  const walk = (d) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (path !== join(dir, "SHA256SUMS")) all.push(relative(dir, path).split("\\").join("/"));
    }
  };
  walk(dir);
  all.sort();
  const sums = all.map((rel) => `${sha("sha256", readFileSync(join(dir, rel))).toString("hex")}  ${rel}\n`).join("");
  writeFileSync(join(dir, "SHA256SUMS"), sums);
  return all.length;
}

const pkgJson = JSON.parse(readFileSync(join(KIOSK, "package.json"), "utf8"));
const lock = JSON.parse(readFileSync(join(KIOSK, "package-lock.json"), "utf8"));
const workdir = mkdtempSync(join(tmpdir(), "piaojue-vendor-"));
try {
  const fetched = {};
  for (const [name, version] of Object.entries({ ...pkgJson.dependencies, ...pkgJson.devDependencies })) {
    const locked = lock.packages[`node_modules/${name}`];
    if (!locked || locked.version !== version) throw new Error(`${name}: package.json pins ${version}, the lockfile has ${locked?.version}`);
    fetched[name] = { version, ...packTarball(name, version, locked.integrity, workdir) };
  }

  const runtime = Object.keys(pkgJson.dependencies);
  const from = Object.fromEntries(runtime.map((name) => [name, fetched[name].unpacked]));
  const { vendor, problems } = await importGraph({ from });
  for (const name of runtime) if (!vendor[name]) problems.push(`${name} is a dependency that no import reaches`);
  for (const name of Object.keys(vendor)) if (!from[name]) problems.push(`${name} is imported but not a dependency in kiosk/package.json`);
  if (problems.length) throw new Error(`import graph:\n  ${problems.join("\n  ")}`);

  const licences = (name) => readdirSync(fetched[name].unpacked).filter((f) => LICENCE.test(f)).sort();
  const served = Object.fromEntries(runtime.map((name) => [name, { ...fetched[name], files: [...licences(name), ...vendor[name]] }]));
  const dev = Object.fromEntries(Object.entries(DEV_FILES).map(([name, files]) => [name, { ...fetched[name], files }]));
  for (const [name, entry] of Object.entries(served)) {
    if (entry.files.length === vendor[name].length) throw new Error(`${name}: no licence file in the tarball`);
  }
  const n = writeFolder(VENDOR_DIR, served);
  const m = writeFolder(TEST_VENDOR_DIR, dev);
  for (const [name, { files }] of Object.entries(served)) console.log(`${name}@${served[name].version}: ${files.length} files`);
  console.log(`vendored ${n} files into ${relative(ROOT, VENDOR_DIR)}/ and ${m} into ${relative(ROOT, TEST_VENDOR_DIR)}/`);
} finally {
  rmSync(workdir, { recursive: true, force: true });
}
