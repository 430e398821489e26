// The kiosk's crypto facade: hex and JSON in, hex and JSON out. Everything here mirrors the
// Python core (ballot/, keys/) byte for byte; see docs/kiosk-crypto.md. Every function throws a
// PiaojueError subclass with a message naming the problem; none returns null/false on failure.
//
// "@noble/curves/…" and "@noble/hashes/…" resolve through the import map
// (kiosk/templates/kiosk/importmap.html) to kiosk/static/vendor/; under node, through the same map
// with tests/js/importmap-hooks.mjs.

import * as ballot from "./ballot.js";
import { asBytes, fromHex, toHex } from "./bytes.js";
import * as credentials from "./credentials.js";
import * as encrypt from "./encrypt.js";
import { EncodingError, LogError } from "./errors.js";
import { pointFromHex, precomputedPoint } from "./group.js";
import { canonicalJson as canonicalJsonBytes, canonicalJsonText } from "./hashing.js";
import * as log from "./log.js";
import * as receipt from "./receipt.js";
import * as spoiled from "./spoiled.js";
import { parseVote, voteHash } from "./vote.js";

export {
  BallotError, ChoiceError, CredentialError, EncodingError, InvalidPoint, InvalidScalar, LogError, PiaojueError,
  ProofError, ReceiptError, VoteDefinitionError,
} from "./errors.js";

function meetingHashBytes(meetingHashHex) {
  return asBytes(meetingHashHex, 32, "meeting_hash");
}

function jointKey(jointKeyHex) {
  return precomputedPoint(jointKeyHex, { where: "public_key" });
}

// ------------------------------------------------------------------------------ credentials

/** Normalise a typed or scanned credential code to its 20 characters (throws CredentialError with a hint). */
export const normalizeCode = credentials.normalizeCode;
/** The printed form XXXXX-XXXXX-XXXXX-XXXXX of a code. */
export const formatCode = credentials.formatCode;
/** {meetingId, code} from a card QR payload "PJ1:<meeting_id>:<code>". */
export const parseCardQr = credentials.parseCardQr;
/** "PJ1:<meeting_id>:<code>". */
export const cardQrPayload = credentials.cardQrPayload;

/** {seed: Uint8Array(32), publicKeyHex} of a deputy's credential (SPEC §4.2). Keep the seed on the tablet. */
export function deriveCredential(code, meetingId) {
  return credentials.deriveCredential(code, meetingId);
}

/** The check-in signature (128 hex characters) for `seat` (SPEC §11). `seed`: 32 bytes or hex. */
export function signCheckin(seed, meetingHashHex, seat) {
  return credentials.signCheckin(seed, meetingHashHex, seat);
}

/** The body of POST /api/meetings/<mid>/checkin: {credential, seat, signature} (SPEC §11). */
export function checkinBody(seed, meetingHashHex, seat) {
  return {
    credential: credentials.publicKeyHex(seed),
    seat,
    signature: credentials.signCheckin(seed, meetingHashHex, seat),
  };
}

// ------------------------------------------------------------------------------------ ballots

/**
 * Decode the joint key K and build its precomputed table now (~40 ms once per page), so the
 * first encryptBallot does not pay for it. Optional.
 */
export function prepareJointKey(jointKeyHex) {
  jointKey(jointKeyHex);
}

/** Check choices ({contestId: [optionIds]}) against a §4.1 vote entry; throws ChoiceError. */
export function checkChoices(voteEntry, choices) {
  encrypt.checkChoices(parseVote(voteEntry), choices);
}

/**
 * Encrypt, prove and sign a ballot (SPEC §4.3).
 *
 * voteEntry: the §4.1 vote entry exactly as served; meetingHashHex: Q; jointKeyHex: K (the
 * meeting's public_key); seed: the credential seed (32 bytes or hex); choices: {contestId:
 * [optionIds]} (missing contests = nothing chosen), checked like ballot.encrypt.check_choices.
 *
 * Returns {entry, ballotHashHex, tracker, openings}: `entry` is the §4.3 ballot (POST it to
 * …/ballots), `tracker` the dashed display form, `openings` the §4.4 openings — secret until
 * the deputy challenges the ballot (spoiledBody); discard the whole object once it is cast.
 */
export function encryptBallot(voteEntry, meetingHashHex, jointKeyHex, seed, choices) {
  const vote = parseVote(voteEntry);
  const result = encrypt.encryptBallot(vote, meetingHashBytes(meetingHashHex), jointKey(jointKeyHex), asBytes(seed, 32, "seed"), choices);
  return { entry: result.entry, ballotHashHex: result.ballotHashHex, tracker: result.tracker, openings: result.openings };
}

/** The §4.4 spoiled entry without "type": the body of POST …/votes/<vid>/spoiled (SPEC §11). */
export function spoiledBody(encrypted) {
  return encrypt.spoiledBody(encrypted);
}

/** Verify a §4.3 ballot's structure, signature and proofs; returns {ballotHashHex, tracker}; throws BallotError. */
export function verifyBallot(ballotEntry, voteEntry, meetingHashHex, jointKeyHex) {
  const verified = ballot.verifyBallot(ballotEntry, parseVote(voteEntry), meetingHashBytes(meetingHashHex), pointFromHex(jointKeyHex, { where: "public_key" }));
  return { ballotHashHex: toHex(verified.hash), tracker: ballot.displayTracker(verified.hash) };
}

/** Verify a §4.4 spoiled entry (with or without "type"); throws BallotError. */
export function verifySpoiled(spoiledEntry, voteEntry, meetingHashHex, jointKeyHex) {
  const entry = spoiledEntry && !("type" in spoiledEntry) ? { type: "spoiled", ...spoiledEntry } : spoiledEntry;
  spoiled.verifySpoiled(entry, parseVote(voteEntry), meetingHashBytes(meetingHashHex), pointFromHex(jointKeyHex, { where: "public_key" }));
}

/** The §4.3 ballot hash (hex) of a ballot entry, with or without its signature. */
export function ballotHashHex(ballotEntry) {
  return toHex(ballot.ballotHash(ballotEntry));
}

/** Hv (hex) of a §4.1 vote entry. */
export function voteHashHex(voteEntry) {
  return toHex(voteHash(voteEntry));
}

/** The dashed tracker XXXX-XXXX-XXXX-XXXX of a ballot hash (64 hex characters). */
export function trackerOf(ballotHashHex) {
  return ballot.displayTracker(fromHex(ballotHashHex, 32, { where: "ballot_hash" }));
}

/** The 16-character tracker code from what a person typed (dashes, spaces, any case). */
export const parseTracker = ballot.parseTracker;

// ------------------------------------------------------------------------- log and receipts

/** Verify a §8 receipt against the logged ballot entry and the meeting's log_key (hex); throws ReceiptError. */
export function verifyReceipt(receiptJson, ballotEntry, logKeyHex) {
  receipt.verifyReceipt(receiptJson, ballotEntry, logKeyHex);
}

/** Verify a §7 STH's shape and signature; returns {treeSize, rootHex, timestamp}; throws LogError. */
export function verifySth(sth, logKeyHex) {
  const parsed = log.verifySth(sth, logKeyHex);
  return { treeSize: parsed.treeSize, rootHex: toHex(parsed.root), timestamp: parsed.timestamp };
}

/** The RFC 9162 leaf hash (hex) of a log entry: SHA-256(0x00 ‖ canonical JSON) (SPEC §7). */
export function entryLeafHashHex(entry) {
  return toHex(log.leafHash(canonicalJsonBytes(entry)));
}

function hashArg(value, what) {
  try {
    return asBytes(value, 32, what);
  } catch (exc) {
    if (exc instanceof EncodingError) throw new LogError(`${what} must be 32 bytes (64 lowercase hex characters)`, { where: what });
    throw exc;
  }
}

/**
 * RFC 9162 §2.1.3.2 inclusion check: `leafHashHex` is leaf `index` of the tree of size
 * `treeSize` whose root is `rootHex`; `inclusion` is the §11 list of hex hashes. Throws LogError.
 */
export function verifyInclusion(leafHashHex, index, treeSize, inclusion, rootHex) {
  log.verifyInclusion(hashArg(leafHashHex, "leaf_hash"), index, treeSize, log.parseHashList(inclusion, "inclusion"), hashArg(rootHex, "root"));
}

/** RFC 9162 §2.1.4.2 consistency check between two tree heads (hex roots, §11 hex proof); throws LogError. */
export function verifyConsistency(first, second, firstRootHex, secondRootHex, consistency) {
  log.verifyConsistency(first, second, hashArg(firstRootHex, "first_root"), hashArg(secondRootHex, "second_root"),
    log.parseHashList(consistency, "consistency"));
}

// --------------------------------------------------------------------------------------- misc

/** Canonical JSON text of a document (SPEC §1), exactly Python's json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False). */
export function canonicalJson(obj) {
  return canonicalJsonText(obj);
}
