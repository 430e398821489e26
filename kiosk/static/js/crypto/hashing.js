// Hashes and canonical JSON (SPEC §1), mirroring ballot/hashing.py.
//
// Hash inputs (SPEC §1): a Uint8Array is taken as is (a scalar must be passed as its 32-byte
// encoding, see group.scalarToBytes), a point as its 32-byte encoding, a string as UTF-8, and an
// integer (number or bigint) as 8 bytes big-endian.

import { sha256, sha512 } from "@noble/hashes/sha2.js";

import { ascii, bytesToBigintLE, concat, isWellFormed, u32be, u64be, utf8 } from "./bytes.js";
import { EncodingError } from "./errors.js";
import { ORDER, RistrettoPoint, pointToBytes } from "./group.js";

export const MAX_SAFE_INTEGER = 2 ** 53;

/** `len(x)` as 4 bytes big-endian, then `x` (SPEC §1). */
export function frame(data) {
  return concat(u32be(data.length), data);
}

/** A hash input as SPEC §1 lists it. */
export function encodeInput(x) {
  if (x instanceof Uint8Array) return x;
  if (x instanceof RistrettoPoint) return pointToBytes(x);
  if (typeof x === "string") return utf8(x);
  if (typeof x === "number" || typeof x === "bigint") return u64be(x);
  throw new EncodingError(`cannot hash a ${x === null ? "null" : typeof x}`);
}

function framed(tag, inputs) {
  return concat(frame(ascii(tag)), ...inputs.map((x) => frame(encodeInput(x))));
}

/** `H256(tag, x1, …, xn) = SHA-256(frame(tag) ‖ frame(x1) ‖ … ‖ frame(xn))` (SPEC §1): 32 bytes. */
export function h256(tag, ...inputs) {
  return sha256(framed(tag, inputs));
}

/** `Hq`: SHA-512 of the framed inputs, read little-endian and reduced mod ℓ (SPEC §1): a bigint scalar. */
export function hq(tag, ...inputs) {
  return bytesToBigintLE(sha512(framed(tag, inputs))) % ORDER;
}

// ----------------------------------------------------------------------------- canonical JSON
//
// Exactly Python's json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False):
// * keys sorted by Unicode code point (not UTF-16 code units, which order astral characters
//   before U+E000–U+FFFF);
// * strings escaped as Python does with ensure_ascii=False: \" \\ \b \f \n \r \t, other
//   characters below U+0020 as \u00XX (lowercase hex), everything else (U+007F, U+2028, U+2029,
//   CJK, emoji) written as is;
// * only objects, arrays, strings, booleans, null and integers with |n| < 2^53 (SPEC §1);
//   floats, NaN, undefined, functions... are rejected, as are strings with lone surrogates
//   (Python cannot encode those as UTF-8 either).

const SHORT_ESCAPES = { '"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t" };
// eslint-disable-next-line no-control-regex
const NEEDS_ESCAPE = /[\u0000-\u001f"\\]/g;

function escapeString(s) {
  return '"' + s.replace(NEEDS_ESCAPE, (ch) => SHORT_ESCAPES[ch]
    ?? "\\u" + ch.charCodeAt(0).toString(16).padStart(4, "0")) + '"';
}

/** Compare two strings by Unicode code point, as Python's sorted() does. */
export function compareCodePoints(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (U+D800–U+DFFF) stand for code points ≥ U+10000, above every BMP character.
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys) return xs ? 1 : -1;
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

function serialize(obj, where, out) {
  if (obj === null) {
    out.push("null");
  } else if (obj === true || obj === false) {
    out.push(obj ? "true" : "false");
  } else if (typeof obj === "string") {
    if (!isWellFormed(obj)) throw new EncodingError("string contains a lone surrogate", { where });
    out.push(escapeString(obj));
  } else if (typeof obj === "number") {
    if (!Number.isInteger(obj)) throw new EncodingError(`floats are not allowed in documents (${obj})`, { where });
    if (!(Math.abs(obj) < MAX_SAFE_INTEGER)) {
      throw new EncodingError(`integer ${obj} is outside |n| < 2^53`, { where });
    }
    out.push(String(obj === 0 ? 0 : obj));
  } else if (typeof obj === "bigint") {
    if (!(obj > -(2n ** 53n) && obj < 2n ** 53n)) {
      throw new EncodingError(`integer ${obj} is outside |n| < 2^53`, { where });
    }
    out.push(obj.toString());
  } else if (Array.isArray(obj)) {
    out.push("[");
    obj.forEach((item, i) => {
      if (i) out.push(",");
      serialize(item, `${where}[${i}]`, out);
    });
    out.push("]");
  } else if (typeof obj === "object" && isPlainObject(obj)) {
    const keys = Object.keys(obj).sort(compareCodePoints);
    out.push("{");
    keys.forEach((key, i) => {
      if (!isWellFormed(key)) throw new EncodingError("object key contains a lone surrogate", { where });
      if (i) out.push(",");
      out.push(escapeString(key), ":");
      serialize(obj[key], `${where}.${key}`, out);
    });
    out.push("}");
  } else {
    const kind = obj === undefined ? "undefined" : typeof obj === "object" ? obj.constructor?.name ?? "object" : typeof obj;
    throw new EncodingError(`a ${kind} is not a JSON value`, { where });
  }
}

function isPlainObject(obj) {
  const proto = Object.getPrototypeOf(obj);
  return proto === Object.prototype || proto === null;
}

/** Canonical JSON text (SPEC §1). Throws EncodingError for anything that is not a §1 document. */
export function canonicalJsonText(obj) {
  const out = [];
  serialize(obj, "$", out);
  return out.join("");
}

/** Canonical JSON as UTF-8 bytes (SPEC §1): what every document hash is taken over. */
export function canonicalJson(obj) {
  return utf8(canonicalJsonText(obj));
}
