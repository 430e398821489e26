// Randomness: crypto.getRandomValues only (the browser's CSPRNG; node >= 19 has it as globalThis.crypto).

import { PiaojueError } from "./errors.js";

/** `n` cryptographically random bytes. */
export function randomBytes(n) {
  const c = globalThis.crypto;
  if (!c || typeof c.getRandomValues !== "function") {
    throw new PiaojueError("no crypto.getRandomValues: a secure random source is required");
  }
  const out = new Uint8Array(n);
  for (let o = 0; o < n; o += 65536) c.getRandomValues(out.subarray(o, Math.min(n, o + 65536)));
  return out;
}
