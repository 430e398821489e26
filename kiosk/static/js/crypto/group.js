// ristretto255 scalars and points (SPEC §1), mirroring ballot/group.py.
//
// * A scalar is a bigint in [0, ℓ). It is encoded as 32 bytes little-endian; decoding rejects
//   values ≥ ℓ. Scalar arithmetic is plain bigint arithmetic mod ℓ (`mod`).
// * A point is a noble `ristretto255.Point`. Decoding accepts only canonical encodings (RFC 9496
//   §4.3.1, noble's strict decoder); the identity is 32 zero bytes.
// * Multiplication by secret scalars (nonces) uses noble's constant-time `multiply`; verification
//   uses the faster variable-time `multiplyUnsafe`, since everything it touches is public.

import { ristretto255 } from "@noble/curves/ed25519.js";

import { bigintToBytesLE, bytesToBigintLE, fromHex, toHex } from "./bytes.js";
import { InvalidPoint, InvalidScalar } from "./errors.js";
import { pyRepr } from "./pyrepr.js";
import { randomBytes } from "./random.js";

export const RistrettoPoint = ristretto255.Point;

/** ℓ, the order of the ristretto255 group (SPEC §1). */
export const ORDER = 2n ** 252n + 27742317777372353535851937790883648493n;
if (RistrettoPoint.Fn.ORDER !== ORDER) throw new Error("noble's ristretto255 group order is not ℓ");

export const POINT_BYTES = 32;
export const SCALAR_BYTES = 32;
export const IDENTITY = RistrettoPoint.ZERO;
/** The canonical generator G (RFC 9496 §4.4). */
export const GENERATOR = RistrettoPoint.BASE;
export const GENERATOR_HEX = "e2f2ae0a6abc4e71a884a961c500515f58e30b6aa582dd8db6a65945e08d2d76";

const HEX64 = /^[0-9a-f]{64}$/;

// Like ballot/group.py's _preview: repr(value), cut to 40 characters.
function preview(value) {
  const text = pyRepr(value);
  return text.length <= 40 ? text : text.slice(0, 37) + "...";
}

// ------------------------------------------------------------------------------------ scalars

/** `x mod ℓ` for any bigint, including negatives. */
export function mod(x) {
  const r = x % ORDER;
  return r < 0n ? r + ORDER : r;
}

/** Decode 32 bytes little-endian; reject values ≥ ℓ (SPEC §1). */
export function scalarFromBytes(bytes, { where = null } = {}) {
  if (!(bytes instanceof Uint8Array) || bytes.length !== SCALAR_BYTES) {
    throw new InvalidScalar(`a scalar is exactly ${SCALAR_BYTES} bytes`, { where });
  }
  const value = bytesToBigintLE(bytes);
  if (value >= ORDER) throw new InvalidScalar("scalar is not reduced (value ≥ ℓ)", { where });
  return value;
}

export function scalarFromHex(text, { where = null } = {}) {
  if (typeof text !== "string" || !HEX64.test(text)) {
    throw new InvalidScalar(`expected a scalar as 64 lowercase hex characters, got ${preview(text)}`, { where });
  }
  return scalarFromBytes(fromHex(text, 32), { where });
}

function checkScalar(s) {
  if (typeof s !== "bigint" || s < 0n || s >= ORDER) {
    throw new InvalidScalar(`scalar value must be a bigint in [0, ℓ), got ${preview(s)}`);
  }
  return s;
}

export function scalarToBytes(s) {
  return bigintToBytesLE(checkScalar(s), SCALAR_BYTES);
}

export function scalarToHex(s) {
  return toHex(scalarToBytes(s));
}

/** A uniformly random scalar in [1, ℓ): 64 random bytes read little-endian, reduced mod ℓ, 0 rejected. */
export function randomScalar() {
  for (;;) {
    const s = bytesToBigintLE(randomBytes(64)) % ORDER;
    if (s !== 0n) return s;
  }
}

// ------------------------------------------------------------------------------------- points

// Canonical encodings, memoised per point object (see pointToBytes).
const encodings = new WeakMap();

/** Decode a canonical encoding; reject non-canonical or invalid ones (SPEC §1). */
export function pointFromBytes(bytes, { where = null } = {}) {
  if (!(bytes instanceof Uint8Array) || bytes.length !== POINT_BYTES) {
    throw new InvalidPoint(`a point is exactly ${POINT_BYTES} bytes`, { where });
  }
  if (bytes.every((b) => b === 0)) return IDENTITY;
  try {
    const p = RistrettoPoint.fromBytes(bytes);
    encodings.set(p, Uint8Array.from(bytes));
    return p;
  } catch {
    throw new InvalidPoint("not a canonical ristretto255 encoding", { where });
  }
}

export function pointFromHex(text, { where = null } = {}) {
  if (typeof text !== "string" || !HEX64.test(text)) {
    throw new InvalidPoint(`expected a point as 64 lowercase hex characters, got ${preview(text)}`, { where });
  }
  return pointFromBytes(fromHex(text, 32), { where });
}

/**
 * The canonical 32-byte encoding of a point. Encoding costs a field inversion, so it is memoised
 * per point object (points are immutable); do not modify the returned bytes.
 */
export function pointToBytes(p) {
  let enc = encodings.get(p);
  if (enc === undefined) {
    enc = p.toBytes();
    encodings.set(p, enc);
  }
  return enc;
}

export function pointToHex(p) {
  return toHex(pointToBytes(p));
}

/** `s·G` for a secret scalar (constant time). */
export function baseMul(s) {
  checkScalar(s);
  return s === 0n ? IDENTITY : GENERATOR.multiply(s);
}

/** `s·P` for a secret scalar (constant time). */
export function mul(p, s) {
  checkScalar(s);
  return s === 0n ? IDENTITY : p.multiply(s);
}

/** `s·G` for a public scalar (variable time; verification only). */
export function baseMulPublic(s) {
  return GENERATOR.multiplyUnsafe(checkScalar(s));
}

/** `s·P` for a public scalar (variable time; verification only). */
export function mulPublic(p, s) {
  return p.multiplyUnsafe(checkScalar(s));
}

const multiples = [IDENTITY];

/** `j·G` for a small non-negative integer (a count or a range bound), cached. */
export function smallMultiple(j) {
  if (!Number.isSafeInteger(j) || j < 0) throw new InvalidScalar(`expected a non-negative integer, got ${j}`);
  while (multiples.length <= j) multiples.push(multiples[multiples.length - 1].add(GENERATOR));
  return multiples[j];
}

const precomputed = new Map();

/**
 * The point with this hex encoding, decoded once and given an 8-bit precomputed window table, for
 * a key that is multiplied many times (the joint key K: ~6 multiplications per selection). The
 * table (~40 ms to build) is cached per encoding for the life of the page.
 */
export function precomputedPoint(hex, { where = null } = {}) {
  let p = precomputed.get(hex);
  if (p === undefined) {
    p = pointFromHex(hex, { where });
    if (!p.equals(IDENTITY)) p.precompute(8, false);
    precomputed.set(hex, p);
  }
  return p;
}
