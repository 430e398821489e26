// Encrypted ballots (SPEC §4.3): context, hash, tracker, signature, and the well-formedness
// check, mirroring ballot/ballot.py.
//
// verifyBallot throws BallotError whose `code` is the SPEC §11 rejection code: "malformed",
// "bad_signature" or "invalid_proof". The signature is checked before the proofs. The
// credential's registration is not checked here (it depends on the log position).

import { ed25519 } from "@noble/curves/ed25519.js";

import { ascii, base32, concat, fromHex } from "./bytes.js";
import { sumCiphertexts } from "./elgamal.js";
import { BallotError, EncodingError, ProofError } from "./errors.js";
import { pointFromHex } from "./group.js";
import { canonicalJson, h256 } from "./hashing.js";
import { parsePairs, verifyRange } from "./proofs.js";
import { pyRepr, reprList, sortCodePoints } from "./pyrepr.js";

export const CONTEXT_TAG = "piaojue/1/context";
export const BALLOT_TAG = "piaojue/1/ballot";
export const SIGNATURE_PREFIX = ascii("piaojue/1/ballot-signature");
export const TRACKER_BYTES = 10;
export const TRACKER_CHARS = 16;
const TRACKER_CODE = /^[A-Z2-7]{16}$/;

/** ctx = H256("piaojue/1/context", Q, Hv, credential) (SPEC §4.3); all three are 32 bytes. */
export function ballotContext(meetingHash, voteHash, credential) {
  return h256(CONTEXT_TAG, meetingHash, voteHash, credential);
}

/** The bytes a ballot's credential signs: "piaojue/1/ballot-signature" ‖ ballot_hash. */
export function signatureMessage(digest) {
  return concat(SIGNATURE_PREFIX, digest);
}

function isPlainObject(x) {
  return x !== null && typeof x === "object" && !Array.isArray(x);
}

/**
 * H256("piaojue/1/ballot", canonical JSON of the ballot without "signature") (SPEC §4.3).
 * Works before or after signing. Throws EncodingError if the ballot is not a §1 document.
 */
export function ballotHash(ballot) {
  if (!isPlainObject(ballot)) throw new EncodingError("a ballot must be a JSON object", { where: "ballot" });
  const unsigned = {};
  for (const [k, v] of Object.entries(ballot)) if (k !== "signature") unsigned[k] = v;
  return h256(BALLOT_TAG, canonicalJson(unsigned));
}

/** RFC 4648 base32 of the first 10 bytes of the ballot hash: 16 uppercase characters (SPEC §4.3). */
export function trackerCode(digest) {
  if (!(digest instanceof Uint8Array) || digest.length !== 32) {
    throw new EncodingError("a ballot hash is 32 bytes", { where: "ballot_hash" });
  }
  return base32(digest.subarray(0, TRACKER_BYTES));
}

/** The display form XXXX-XXXX-XXXX-XXXX of a 16-character tracker code (SPEC §4.3). */
export function formatTracker(code) {
  if (typeof code !== "string" || !TRACKER_CODE.test(code)) {
    throw new EncodingError("a tracker code is 16 uppercase base32 characters", { where: "tracker" });
  }
  return code.match(/.{4}/g).join("-");
}

/** Normalise a tracker as typed (dashed or not, any case, spaces) to the 16-character code. */
export function parseTracker(text) {
  if (typeof text !== "string") throw new EncodingError("a tracker must be text", { where: "tracker" });
  const code = text.replace(/[\s-]/gu, "").toUpperCase();
  if (!TRACKER_CODE.test(code)) throw new EncodingError("not a tracker code (16 base32 characters)", { where: "tracker" });
  return code;
}

/** The tracker of a ballot hash (bytes) in the receipt's dashed display form. */
export function displayTracker(digest) {
  return formatTracker(trackerCode(digest));
}

// ------------------------------------------------------------------------------ verification

const BALLOT_KEYS = ["type", "vote_id", "credential", "contests", "constraints", "signature"];
const CONTEST_KEYS = ["id", "selections", "proof"];
const SELECTION_KEYS = ["option", "alpha", "beta", "proof"];
const CONSTRAINT_KEYS = ["id", "proof"];

function malformed(message, where) {
  return new BallotError("malformed", message, { where, check: "structure" });
}

function keys(obj, expected, where) {
  if (!isPlainObject(obj)) throw malformed("expected a JSON object", where);
  const have = Object.keys(obj);
  const missing = sortCodePoints(expected.filter((k) => !have.includes(k)));
  const extra = sortCodePoints(have.filter((k) => !expected.includes(k)));
  if (missing.length || extra.length) {
    const parts = [];
    if (missing.length) parts.push(`missing ${reprList(missing)}`);
    if (extra.length) parts.push(`unexpected ${reprList(extra)}`);
    throw malformed(`wrong fields: ${parts.join("; ")}`, where);
  }
  return obj;
}

function list(value, length, what, where) {
  if (!Array.isArray(value)) throw malformed(`expected a list of ${what}`, where);
  if (value.length !== length) throw malformed(`expected ${length} ${what}, got ${value.length}`, where);
  return value;
}

function decode(fn) {
  try {
    return fn();
  } catch (exc) {
    if (exc instanceof EncodingError) throw new BallotError("malformed", exc.detail, { where: exc.where, check: "encoding" });
    throw exc;
  }
}

function checkRange(ct, proof, lo, hi, publicKey, ctx, where) {
  try {
    verifyRange(ct, proof, lo, hi, publicKey, ctx);
  } catch (exc) {
    if (exc instanceof ProofError) throw new BallotError("invalid_proof", exc.detail, { where, check: "range_proof" });
    throw exc;
  }
}

/**
 * Check that `ballot` is a well-formed §4.3 ballot for `vote` (a parseVote result): structure,
 * signature, then every proof. `meetingHash` is 32 bytes, `publicKey` the joint key K (a point).
 * Returns {voteId, credential, hash, ciphertexts (vote order)}; throws BallotError.
 */
export function verifyBallot(ballot, vote, meetingHash, publicKey) {
  keys(ballot, BALLOT_KEYS, "ballot");
  if (ballot.type !== "ballot") throw malformed('"type" must be "ballot"', "type");
  if (ballot.vote_id !== vote.voteId) throw malformed(`ballot is for vote ${pyRepr(ballot.vote_id)}, not ${pyRepr(vote.voteId)}`, "vote_id");
  const credential = decode(() => fromHex(ballot.credential, 32, { where: "credential" }));
  const signature = decode(() => fromHex(ballot.signature, 64, { where: "signature" }));
  const contests = list(ballot.contests, vote.contests.length, "contests", "contests").map((raw, ci) => {
    const contest = vote.contests[ci];
    const at = `contests[${ci}]`;
    keys(raw, CONTEST_KEYS, at);
    if (raw.id !== contest.id) throw malformed(`expected contest ${pyRepr(contest.id)}, got ${pyRepr(raw.id)}`, `${at}.id`);
    const selections = list(raw.selections, contest.options.length, "selections", `${at}.selections`);
    const ciphertexts = [];
    const proofs = [];
    selections.forEach((selection, si) => {
      const sat = `${at}.selections[${si}]`;
      keys(selection, SELECTION_KEYS, sat);
      if (selection.option !== contest.options[si]) {
        throw malformed(`expected option ${pyRepr(contest.options[si])}, got ${pyRepr(selection.option)}`, `${sat}.option`);
      }
      const alpha = decode(() => pointFromHex(selection.alpha, { where: `${sat}.alpha` }));
      const beta = decode(() => pointFromHex(selection.beta, { where: `${sat}.beta` }));
      ciphertexts.push({ alpha, beta });
      proofs.push(decode(() => parsePairs(selection.proof, { where: `${sat}.proof`, length: 2 })));
    });
    const width = contest.max - contest.min + 1;
    const proof = decode(() => parsePairs(raw.proof, { where: `${at}.proof`, length: width }));
    return { ciphertexts, proofs, proof };
  });
  const constraintProofs = list(ballot.constraints, vote.constraints.length, "constraints", "constraints").map((raw, ki) => {
    const constraint = vote.constraints[ki];
    const at = `constraints[${ki}]`;
    keys(raw, CONSTRAINT_KEYS, at);
    if (raw.id !== constraint.id) throw malformed(`expected constraint ${pyRepr(constraint.id)}, got ${pyRepr(raw.id)}`, `${at}.id`);
    return decode(() => parsePairs(raw.proof, { where: `${at}.proof`, length: constraint.max - constraint.min + 1 }));
  });

  let digest;
  try {
    digest = ballotHash(ballot);
  } catch (exc) {
    if (exc instanceof EncodingError) throw new BallotError("malformed", exc.detail, { where: exc.where, check: "encoding" });
    throw exc;
  }
  let ok = false;
  try {
    ok = ed25519.verify(signature, signatureMessage(digest), credential, { zip215: false });
  } catch {
    ok = false;
  }
  if (!ok) throw new BallotError("bad_signature", "the ballot signature does not verify", { where: "signature", check: "signature" });

  const ctx = ballotContext(meetingHash, vote.hash, credential);
  const byRef = new Map();
  const ordered = [];
  contests.forEach((parsed, ci) => {
    const contest = vote.contests[ci];
    parsed.ciphertexts.forEach((ct, si) => {
      checkRange(ct, parsed.proofs[si], 0, 1, publicKey, ctx, `contests[${ci}].selections[${si}].proof`);
      byRef.set(JSON.stringify([contest.id, contest.options[si]]), ct);
      ordered.push(ct);
    });
    checkRange(sumCiphertexts(parsed.ciphertexts), parsed.proof, contest.min, contest.max, publicKey, ctx, `contests[${ci}].proof`);
  });
  constraintProofs.forEach((proof, ki) => {
    const constraint = vote.constraints[ki];
    const total = sumCiphertexts(constraint.members.map((ref) => byRef.get(JSON.stringify(ref))));
    checkRange(total, proof, constraint.min, constraint.max, publicKey, ctx, `constraints[${ki}].proof`);
  });
  return { voteId: vote.voteId, credential, hash: digest, ciphertexts: ordered };
}
