// Byte helpers: hex (SPEC §1 "In JSON": lowercase), UTF-8, big-endian integers, concatenation.

import { EncodingError } from "./errors.js";

const HEX = "0123456789abcdef";
const HEX_RE = /^[0-9a-f]*$/;
const encoder = new TextEncoder();

/** Lowercase hex of a Uint8Array. */
export function toHex(bytes) {
  let out = "";
  for (const b of bytes) out += HEX[b >> 4] + HEX[b & 15];
  return out;
}

/**
 * Decode lowercase hex of exactly `size` bytes (any even length when `size` is null), like
 * ballot.hashing.hex_bytes. Uppercase hex is rejected: SPEC §1 JSON hex is lowercase.
 */
export function fromHex(text, size = null, { where = null } = {}) {
  if (typeof text !== "string" || text.length % 2 !== 0 || !HEX_RE.test(text)
      || (size !== null && text.length !== 2 * size)) {
    const what = size === null ? "an even number of" : `${2 * size}`;
    throw new EncodingError(`expected ${what} lowercase hex characters`, { where });
  }
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** `bytesOrHex` as bytes of exactly `size` (Uint8Array copied, or lowercase hex decoded). */
export function asBytes(value, size, what) {
  if (value instanceof Uint8Array) {
    if (value.length !== size) throw new EncodingError(`${what} must be ${size} bytes, got ${value.length}`);
    return Uint8Array.from(value);
  }
  if (typeof value === "string") return fromHex(value, size, { where: what });
  throw new EncodingError(`${what} must be ${size} bytes or ${2 * size} lowercase hex characters`);
}

/** UTF-8 of a string; lone surrogates are rejected (Python's .encode("utf-8") raises on them). */
export function utf8(text) {
  if (typeof text !== "string") throw new EncodingError(`expected text, got ${typeof text}`);
  if (!isWellFormed(text)) throw new EncodingError("text contains a lone surrogate (not encodable as UTF-8)");
  return encoder.encode(text);
}

/** True iff `text` has no lone UTF-16 surrogates. */
export function isWellFormed(text) {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = text.charCodeAt(i + 1);
      if (!(d >= 0xdc00 && d <= 0xdfff)) return false;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      return false;
    }
  }
  return true;
}

/** ASCII bytes of a string that must be ASCII (tags, prefixes). */
export function ascii(text) {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0x7f) throw new EncodingError(`not ASCII: ${JSON.stringify(text)}`);
    out[i] = c;
  }
  return out;
}

export function concat(...parts) {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function equalBytes(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

/** `n` as 4 bytes big-endian (frame lengths). */
export function u32be(n) {
  if (!Number.isSafeInteger(n) || n < 0 || n > 0xffffffff) throw new EncodingError(`length ${n} does not fit 4 bytes`);
  return new Uint8Array([(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
}

/** An integer in hash inputs: 8 bytes big-endian unsigned (SPEC §1). Accepts a number or bigint. */
export function u64be(n) {
  let v;
  if (typeof n === "bigint") v = n;
  else if (typeof n === "number" && Number.isSafeInteger(n)) v = BigInt(n);
  else throw new EncodingError(`integer expected, got ${typeof n === "number" ? n : typeof n}`);
  if (v < 0n || v >= 1n << 64n) throw new EncodingError(`integer ${v} does not fit 8 bytes unsigned`);
  const out = new Uint8Array(8);
  for (let i = 7; i >= 0; i--) {
    out[i] = Number(v & 255n);
    v >>= 8n;
  }
  return out;
}

/** Little-endian bytes to a bigint. */
export function bytesToBigintLE(bytes) {
  let x = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) x = (x << 8n) | BigInt(bytes[i]);
  return x;
}

/** A non-negative bigint to `size` little-endian bytes. */
export function bigintToBytesLE(value, size) {
  const out = new Uint8Array(size);
  let v = value;
  for (let i = 0; i < size; i++) {
    out[i] = Number(v & 255n);
    v >>= 8n;
  }
  if (v !== 0n) throw new EncodingError(`integer does not fit ${size} bytes`);
  return out;
}

const B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** RFC 4648 base32 (uppercase, with "=" padding when the length is not a multiple of 5). */
export function base32(bytes) {
  let out = "";
  let bits = 0;
  let acc = 0;
  for (const b of bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += B32[(acc >>> (bits - 5)) & 31];
      bits -= 5;
    }
    acc &= (1 << bits) - 1;
  }
  if (bits > 0) out += B32[(acc << (5 - bits)) & 31];
  while (out.length % 8 !== 0) out += "=";
  return out;
}
