// Exponential ElGamal over ristretto255 (SPEC §2), mirroring ballot/elgamal.py.
//
// A ciphertext is {alpha, beta} (noble points): (α, β) = (r·G, m·G + r·K). Ciphertexts add
// component-wise.

import { IDENTITY, baseMul, mul, pointToHex, randomScalar, smallMultiple } from "./group.js";

/** An ElGamal ciphertext (α, β) (SPEC §2). */
export function ciphertext(alpha, beta) {
  return { alpha, beta };
}

/** The neutral element: an encryption of 0 with nonce 0. */
export function zeroCiphertext() {
  return { alpha: IDENTITY, beta: IDENTITY };
}

export function addCiphertexts(a, b) {
  return { alpha: a.alpha.add(b.alpha), beta: a.beta.add(b.beta) };
}

/** Component-wise sum: an encryption of the sum of the plaintexts (SPEC §2). */
export function sumCiphertexts(list) {
  let total = zeroCiphertext();
  for (const ct of list) total = addCiphertexts(total, ct);
  return total;
}

/**
 * Encrypt the small integer `m` under `K` with a fresh nonce r ∈ [1, ℓ) (SPEC §2).
 * Returns {ct, r}: the nonce is needed for the proofs and for a §4.4 opening.
 * `publicKey` should be a precomputed point (group.precomputedPoint) when it is reused.
 */
export function encrypt(m, publicKey, nonce = null) {
  const r = nonce ?? randomScalar();
  return { ct: { alpha: baseMul(r), beta: smallMultiple(m).add(mul(publicKey, r)) }, r };
}

/** Whether (α, β) = (r·G, m·G + r·K): the check a §4.4 opening must pass. */
export function openingMatches(ct, m, r, publicKey) {
  return ct.alpha.equals(baseMul(r)) && ct.beta.equals(smallMultiple(m).add(mul(publicKey, r)));
}

export function ciphertextToJson(ct) {
  return { alpha: pointToHex(ct.alpha), beta: pointToHex(ct.beta) };
}
