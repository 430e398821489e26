// Ballot encryption (SPEC §4.3) and spoiled-ballot openings (SPEC §4.4): the kiosk's side,
// mirroring ballot/encrypt.py.
//
// encryptBallot turns a deputy's choices into a signed §4.3 ballot. The nonces are kept in the
// result's `openings` only so that the ballot can be challenged (§4.4); once a ballot is cast,
// drop the result object (and with it the nonces).

import { ed25519 } from "@noble/curves/ed25519.js";

import { toHex } from "./bytes.js";
import { addCiphertexts, ciphertextToJson, encrypt, zeroCiphertext } from "./elgamal.js";
import { ChoiceError, EncodingError } from "./errors.js";
import { mod, scalarToHex } from "./group.js";
import { ballotContext, ballotHash, displayTracker, signatureMessage } from "./ballot.js";
import { pairsToJson, proveRange } from "./proofs.js";
import { reprList, sortCodePoints } from "./pyrepr.js";

const refKey = (contestId, optionId) => JSON.stringify([contestId, optionId]);

function choiceEntries(choices) {
  if (choices instanceof Map) return [...choices.entries()];
  if (choices !== null && typeof choices === "object" && !Array.isArray(choices)) return Object.entries(choices);
  throw new ChoiceError("choices must be an object {contest_id: [option_id, …]}");
}

/**
 * The selected [contest, option] pairs (as a Set of JSON keys), after checking `choices`
 * ({contestId: [optionIds]}) against the vote's bounds, like ballot.encrypt.check_choices.
 * Throws ChoiceError with the same messages; `where` is the contest or constraint id.
 */
export function checkChoices(vote, choices) {
  const entries = choiceEntries(choices);
  const byContest = new Map();
  for (const [contestId, chosen] of entries) {
    if (!(Array.isArray(chosen) || chosen instanceof Set) || [...chosen].some((o) => typeof o !== "string")) {
      throw new ChoiceError("the choices of a contest are a list of option ids", { where: contestId });
    }
    byContest.set(contestId, new Set(chosen));
  }
  const unknown = [...byContest.keys()].filter((id) => !vote.contests.some((c) => c.id === id));
  if (unknown.length) throw new ChoiceError(`no such contest: ${reprList(sortCodePoints(unknown))}`);
  const selected = new Set();
  for (const contest of vote.contests) {
    const chosen = byContest.get(contest.id) ?? new Set();
    const bad = [...chosen].filter((o) => !contest.options.includes(o));
    if (bad.length) throw new ChoiceError(`no such option: ${reprList(sortCodePoints(bad))}`, { where: contest.id });
    if (!(contest.min <= chosen.size && chosen.size <= contest.max)) {
      throw new ChoiceError(`choose between ${contest.min} and ${contest.max} options, not ${chosen.size}`, { where: contest.id });
    }
    for (const option of chosen) selected.add(refKey(contest.id, option));
  }
  for (const constraint of vote.constraints) {
    const count = constraint.members.filter(([c, o]) => selected.has(refKey(c, o))).length;
    if (!(constraint.min <= count && count <= constraint.max)) {
      throw new ChoiceError(`constraint allows ${constraint.min} to ${constraint.max} selections, not ${count}`, { where: constraint.id });
    }
  }
  return selected;
}

/**
 * Encrypt, prove and sign a ballot for `choices` (SPEC §4.3).
 *
 * vote: a parseVote result; meetingHash: 32 bytes (Q); publicKey: the joint key K as a point
 * (preferably group.precomputedPoint); seed: the credential's 32-byte Ed25519 seed.
 * Returns {entry, hash, ballotHashHex, tracker, openings, ciphertexts}: `entry` is the signed
 * §4.3 ballot, `tracker` its dashed display form, `openings` the §4.4 [[contest, option, m,
 * "<r hex>"], …] in ballot order, `ciphertexts` the selection ciphertexts in vote order.
 */
export function encryptBallot(vote, meetingHash, publicKey, seed, choices) {
  if (!(seed instanceof Uint8Array) || seed.length !== 32) throw new EncodingError("the credential seed must be 32 bytes");
  const selected = checkChoices(vote, choices);
  const credential = ed25519.getPublicKey(seed);
  const ctx = ballotContext(meetingHash, vote.hash, credential);
  const byRef = new Map();
  const contestsJson = [];
  const openings = [];
  const ordered = [];
  for (const contest of vote.contests) {
    const selectionsJson = [];
    let totalCt = zeroCiphertext();
    let totalM = 0;
    let totalR = 0n;
    for (const option of contest.options) {
      const m = selected.has(refKey(contest.id, option)) ? 1 : 0;
      const { ct, r } = encrypt(m, publicKey);
      const proof = proveRange(ct, m, r, 0, 1, publicKey, ctx);
      byRef.set(refKey(contest.id, option), { ct, m, r });
      ordered.push(ct);
      openings.push([contest.id, option, m, scalarToHex(r)]);
      selectionsJson.push({ option, ...ciphertextToJson(ct), proof: pairsToJson(proof) });
      totalCt = addCiphertexts(totalCt, ct);
      totalM += m;
      totalR = mod(totalR + r);
    }
    const proof = proveRange(totalCt, totalM, totalR, contest.min, contest.max, publicKey, ctx);
    contestsJson.push({ id: contest.id, selections: selectionsJson, proof: pairsToJson(proof) });
  }
  const constraintsJson = [];
  for (const constraint of vote.constraints) {
    let totalCt = zeroCiphertext();
    let totalM = 0;
    let totalR = 0n;
    for (const [c, o] of constraint.members) {
      const { ct, m, r } = byRef.get(refKey(c, o));
      totalCt = addCiphertexts(totalCt, ct);
      totalM += m;
      totalR = mod(totalR + r);
    }
    const proof = proveRange(totalCt, totalM, totalR, constraint.min, constraint.max, publicKey, ctx);
    constraintsJson.push({ id: constraint.id, proof: pairsToJson(proof) });
  }
  const entry = {
    type: "ballot",
    vote_id: vote.voteId,
    credential: toHex(credential),
    contests: contestsJson,
    constraints: constraintsJson,
  };
  const hash = ballotHash(entry);
  entry.signature = toHex(ed25519.sign(signatureMessage(hash), seed));
  return { entry, hash, ballotHashHex: toHex(hash), tracker: displayTracker(hash), openings, ciphertexts: ordered };
}

/** The §4.4 "spoiled" log entry that reveals an encrypted ballot's plaintexts and nonces. */
export function spoiledEntry(encrypted) {
  return { type: "spoiled", ...spoiledBody(encrypted) };
}

/** The §4.4 entry without "type": the body of POST /api/meetings/<mid>/votes/<vid>/spoiled (SPEC §11). */
export function spoiledBody(encrypted) {
  if (!encrypted || typeof encrypted !== "object" || !encrypted.entry || !Array.isArray(encrypted.openings)) {
    throw new EncodingError("spoiledBody needs the result of encryptBallot (with its openings)");
  }
  return {
    vote_id: encrypted.entry.vote_id,
    ballot: encrypted.entry,
    openings: encrypted.openings.map((opening) => [...opening]),
  };
}
