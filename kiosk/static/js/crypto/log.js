// The meeting log's Merkle proofs and signed tree heads (SPEC §7; RFC 9162 §2.1), mirroring the
// verification half of ballot/log.py. Every verifier returns undefined and throws LogError.

import { ed25519 } from "@noble/curves/ed25519.js";
import { sha256 } from "@noble/hashes/sha2.js";

import { ascii, concat, equalBytes, fromHex, u64be } from "./bytes.js";
import { LogError } from "./errors.js";
import { MAX_SAFE_INTEGER } from "./hashing.js";
import { pyTypeName, reprList, sortCodePoints } from "./pyrepr.js";

export const HASH_BYTES = 32;
/** MTH of the empty tree: SHA-256 of the empty string (RFC 9162 §2.1.1). */
export const EMPTY_ROOT = sha256(new Uint8Array(0));
/** Domain prefix of the signed tree head message (SPEC §7). */
export const STH_PREFIX = ascii("piaojue/1/sth");
export const STH_KEYS = ["tree_size", "root", "timestamp", "signature"];

const HEX64 = /^[0-9a-f]{64}$/;
const HEX128 = /^[0-9a-f]{128}$/;

/** SHA-256(0x00 ‖ d): the hash of leaf data d, the canonical JSON of an entry (SPEC §7). */
export function leafHash(data) {
  if (!(data instanceof Uint8Array)) throw new LogError("leaf data must be bytes");
  return sha256(concat(new Uint8Array([0]), data));
}

/** SHA-256(0x01 ‖ left ‖ right): an interior node (SPEC §7). */
export function nodeHash(left, right) {
  return sha256(concat(new Uint8Array([1]), left, right));
}

function checkHash(value, what) {
  if (!(value instanceof Uint8Array) || value.length !== HASH_BYTES) throw new LogError(`${what} must be ${HASH_BYTES} bytes`);
  return value;
}

function checkSize(value, what) {
  if (!Number.isSafeInteger(value) || value < 0) throw new LogError(`${what} must be a non-negative integer, got ${value}`);
  return value;
}

// Sizes are < 2^53, beyond 32-bit bitwise operators: shift and test with arithmetic.
const odd = (n) => n % 2 === 1;
const half = (n) => Math.floor(n / 2);

/**
 * The root an inclusion proof implies, by RFC 9162 §2.1.3.2 steps 1–4 and the sn = 0 check of
 * step 5. Throws LogError if the proof has the wrong shape.
 */
export function rootFromInclusionProof(leaf, index, treeSize, proof) {
  checkHash(leaf, "leaf hash");
  checkSize(index, "leaf index");
  checkSize(treeSize, "tree size");
  if (!Array.isArray(proof)) throw new LogError("inclusion proof must be a list of hashes");
  const path = proof.map((p, i) => checkHash(p, `inclusion proof[${i}]`));
  if (index >= treeSize) throw new LogError(`leaf index ${index} is not below tree size ${treeSize}`);
  let fn = index;
  let sn = treeSize - 1;
  let r = leaf;
  for (const p of path) {
    if (sn === 0) throw new LogError("inclusion proof is longer than the tree is deep");
    if (odd(fn) || fn === sn) {
      r = nodeHash(p, r);
      if (!odd(fn)) {
        while (fn && !odd(fn)) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) throw new LogError("inclusion proof is shorter than the tree is deep");
  return r;
}

/**
 * Check that `leaf` (a leaf hash) is leaf `index` of the tree of size `treeSize` with root `root`
 * (SPEC §7, RFC 9162 §2.1.3.2). Hashes are Uint8Arrays.
 */
export function verifyInclusion(leaf, index, treeSize, proof, root) {
  checkHash(root, "root");
  const got = rootFromInclusionProof(leaf, index, treeSize, proof);
  if (!equalBytes(got, root)) {
    throw new LogError(`inclusion proof for leaf ${index} does not lead to the root of tree size ${treeSize}`);
  }
}

/**
 * Check that the tree of size `first` with root `firstRoot` is a prefix of the tree of size
 * `second` with root `secondRoot` (SPEC §7, RFC 9162 §2.1.4.2), with ballot/log.py's rules for
 * first == second and first == 0.
 */
export function verifyConsistency(first, second, firstRoot, secondRoot, proof) {
  checkSize(first, "first tree size");
  checkSize(second, "second tree size");
  checkHash(firstRoot, "first root");
  checkHash(secondRoot, "second root");
  if (!Array.isArray(proof)) throw new LogError("consistency proof must be a list of hashes");
  let path = proof.map((p, i) => checkHash(p, `consistency proof[${i}]`));
  if (first > second) throw new LogError(`first tree size ${first} exceeds second tree size ${second}`);
  if (first === second) {
    if (path.length) throw new LogError("consistency proof between equal tree sizes must be empty");
    if (!equalBytes(firstRoot, secondRoot)) throw new LogError(`roots differ for the same tree size ${first}`);
    return;
  }
  if (first === 0) {
    if (path.length) throw new LogError("consistency proof from the empty tree must be empty");
    if (!equalBytes(firstRoot, EMPTY_ROOT)) throw new LogError("first root is not the empty-tree hash for tree size 0");
    return;
  }
  if (!path.length) throw new LogError(`consistency proof from ${first} to ${second} is empty`);
  let x = first;
  while (x % 2 === 0) x /= 2;
  if (x === 1) path = [firstRoot, ...path];
  let fn = first - 1;
  let sn = second - 1;
  while (odd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr = path[0];
  let sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0) throw new LogError("consistency proof is longer than the tree is deep");
    if (odd(fn) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (!odd(fn)) {
        while (fn && !odd(fn)) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) throw new LogError("consistency proof is shorter than the tree is deep");
  if (!equalBytes(fr, firstRoot)) throw new LogError(`consistency proof does not lead to the root of tree size ${first}`);
  if (!equalBytes(sr, secondRoot)) throw new LogError(`consistency proof does not lead to the root of tree size ${second}`);
}

// ------------------------------------------------------------------------- signed tree heads

function checkJsonUint(value, what) {
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new LogError(`must be an integer, got ${pyTypeName(value)}`, { where: what });
  }
  if (!(value >= 0 && value < MAX_SAFE_INTEGER)) throw new LogError(`must be in [0, 2^53), got ${value}`, { where: what });
  return value;
}

/** "piaojue/1/sth" ‖ u64be(tree_size) ‖ u64be(timestamp) ‖ root (SPEC §7). */
export function sthMessage(treeSize, timestampMs, root) {
  checkJsonUint(treeSize, "tree_size");
  checkJsonUint(timestampMs, "timestamp");
  checkHash(root, "root");
  return concat(STH_PREFIX, u64be(treeSize), u64be(timestampMs), root);
}

/**
 * Check a JSON STH's shape strictly (SPEC §7) and parse it; the signature is not checked.
 * Returns {treeSize, root, timestamp, signature} with bytes for root and signature.
 */
export function parseSth(sth, { where = "sth" } = {}) {
  if (sth === null || typeof sth !== "object" || Array.isArray(sth)) {
    throw new LogError("a signed tree head must be a JSON object", { where });
  }
  const have = Object.keys(sth);
  const missing = sortCodePoints(STH_KEYS.filter((k) => !have.includes(k)));
  const extra = sortCodePoints(have.filter((k) => !STH_KEYS.includes(k)));
  if (missing.length || extra.length) {
    throw new LogError(`wrong keys (missing ${reprList(missing)}, unexpected ${reprList(extra)})`, { where });
  }
  const treeSize = checkJsonUint(sth.tree_size, `${where}.tree_size`);
  const timestamp = checkJsonUint(sth.timestamp, `${where}.timestamp`);
  if (typeof sth.root !== "string" || !HEX64.test(sth.root)) {
    throw new LogError("must be 64 lowercase hex characters", { where: `${where}.root` });
  }
  if (typeof sth.signature !== "string" || !HEX128.test(sth.signature)) {
    throw new LogError("must be 128 lowercase hex characters", { where: `${where}.signature` });
  }
  return { treeSize, root: fromHex(sth.root, 32), timestamp, signature: fromHex(sth.signature, 64) };
}

/** The log key (SPEC §6.3 log_key) as 32 bytes, from bytes or 64 lowercase hex characters. */
export function parseLogKey(logKey, { where = "log_key" } = {}) {
  if (logKey instanceof Uint8Array && logKey.length === 32) return logKey;
  if (typeof logKey === "string" && HEX64.test(logKey)) return fromHex(logKey, 32);
  throw new LogError("the log public key must be 32 bytes (64 lowercase hex characters)", { where });
}

/**
 * Check a JSON STH's shape and its Ed25519 signature under the log key over sthMessage
 * (SPEC §7). Strict RFC 8032 verification (no ZIP-215 leniency), as the Python side.
 * Returns the parsed STH.
 */
export function verifySth(sth, logPublicKey) {
  const parsed = parseSth(sth);
  const key = parseLogKey(logPublicKey);
  let ok = false;
  try {
    ok = ed25519.verify(parsed.signature, sthMessage(parsed.treeSize, parsed.timestamp, parsed.root), key, { zip215: false });
  } catch {
    ok = false;
  }
  if (!ok) throw new LogError("signature does not verify under the log key", { where: "sth.signature" });
  return parsed;
}

/** A JSON list of 64-character lowercase hex hashes as bytes (SPEC §8, §11). */
export function parseHashList(value, where) {
  if (!Array.isArray(value)) throw new LogError("must be a list of hashes", { where });
  return value.map((item, i) => {
    if (typeof item !== "string" || !HEX64.test(item)) {
      throw new LogError("must be 64 lowercase hex characters", { where: `${where}[${i}]` });
    }
    return fromHex(item, 32);
  });
}
