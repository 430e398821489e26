// Receipts (SPEC §8), mirroring ballot/receipt.py's verify_receipt.
//
// A receipt is {meeting_id, vote_id, ballot_hash, tracker, leaf_index, sth, inclusion}; its
// `tracker` is the dashed display form XXXX-XXXX-XXXX-XXXX. verifyReceipt checks the log's
// evidence (hash, tracker, STH signature, inclusion) against the ballot entry as logged; it does
// not check the ballot's own proofs or signature (that is ballot.verifyBallot).

import { equalBytes, fromHex } from "./bytes.js";
import { ballotHash, displayTracker } from "./ballot.js";
import { EncodingError, LogError, ReceiptError } from "./errors.js";
import { MAX_SAFE_INTEGER, canonicalJson } from "./hashing.js";
import { reprList, sortCodePoints } from "./pyrepr.js";
import { leafHash, parseHashList, parseSth, verifyInclusion, verifySth } from "./log.js";

export const RECEIPT_KEYS = ["meeting_id", "vote_id", "ballot_hash", "tracker", "leaf_index", "sth", "inclusion"];

const HEX64 = /^[0-9a-f]{64}$/;
const TRACKER_DISPLAY = /^[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}$/;

function checkId(value, field) {
  if (typeof value !== "string" || !value) throw new ReceiptError("must be a non-empty string", { where: field });
  return value;
}

function checkIndex(value, field = "leaf_index") {
  if (typeof value !== "number" || !Number.isInteger(value)) throw new ReceiptError("must be an integer", { where: field });
  if (!(value >= 0 && value < MAX_SAFE_INTEGER)) throw new ReceiptError(`must be in [0, 2^53), got ${value}`, { where: field });
  return value;
}

function relog(fn, fallbackWhere = null) {
  try {
    return fn();
  } catch (exc) {
    if (exc instanceof LogError) throw new ReceiptError(exc.detail, { where: exc.where ?? fallbackWhere });
    throw exc;
  }
}

function checkReceiptShape(receipt) {
  if (receipt === null || typeof receipt !== "object" || Array.isArray(receipt)) {
    throw new ReceiptError("a receipt must be a JSON object", { where: "receipt" });
  }
  for (const key of RECEIPT_KEYS) if (!(key in receipt)) throw new ReceiptError("missing", { where: key });
  const extra = sortCodePoints(Object.keys(receipt).filter((k) => !RECEIPT_KEYS.includes(k)));
  if (extra.length) throw new ReceiptError(`unexpected keys ${reprList(extra)}`, { where: "receipt" });
  checkId(receipt.meeting_id, "meeting_id");
  checkId(receipt.vote_id, "vote_id");
  if (typeof receipt.ballot_hash !== "string" || !HEX64.test(receipt.ballot_hash)) {
    throw new ReceiptError("must be 64 lowercase hex characters", { where: "ballot_hash" });
  }
  if (typeof receipt.tracker !== "string" || !TRACKER_DISPLAY.test(receipt.tracker)) {
    throw new ReceiptError("must be the display form XXXX-XXXX-XXXX-XXXX (uppercase base32)", { where: "tracker" });
  }
  const index = checkIndex(receipt.leaf_index);
  const sth = relog(() => parseSth(receipt.sth));
  const path = relog(() => parseHashList(receipt.inclusion, "inclusion"));
  if (index >= sth.treeSize) throw new ReceiptError(`leaf ${index} is not in a tree of size ${sth.treeSize}`, { where: "leaf_index" });
  return { claimedHash: fromHex(receipt.ballot_hash, 32), index, path, sth };
}

/**
 * Verify a §8 receipt against the logged ballot entry (with "type" and "signature") and the
 * meeting's log key (32 bytes or 64 hex characters). In order: the receipt's shape; the entry is
 * a ballot for the receipt's vote; ballot_hash is the entry's §4.3 hash; tracker is its dashed
 * tracker; the STH signature (§7); the entry's leaf is at leaf_index under sth.root (RFC 9162).
 * Returns undefined; throws ReceiptError naming the field.
 */
export function verifyReceipt(receipt, ballotEntry, logPublicKey) {
  const { claimedHash, index, path, sth } = checkReceiptShape(receipt);
  if (ballotEntry === null || typeof ballotEntry !== "object" || Array.isArray(ballotEntry)) {
    throw new ReceiptError("the ballot entry must be a JSON object", { where: "ballot" });
  }
  if (ballotEntry.type !== "ballot") throw new ReceiptError('the entry is not of type "ballot"', { where: "ballot.type" });
  if (ballotEntry.vote_id !== receipt.vote_id) throw new ReceiptError("the ballot entry is for another vote", { where: "vote_id" });
  let actualHash;
  let data;
  try {
    actualHash = ballotHash(ballotEntry);
    data = canonicalJson(ballotEntry);
  } catch (exc) {
    if (exc instanceof EncodingError) {
      throw new ReceiptError(`the ballot entry is not a valid document: ${exc.detail}`, { where: "ballot" });
    }
    throw exc;
  }
  if (!equalBytes(actualHash, claimedHash)) throw new ReceiptError("does not match the ballot entry", { where: "ballot_hash" });
  if (receipt.tracker !== displayTracker(claimedHash)) throw new ReceiptError("is not the tracker of ballot_hash", { where: "tracker" });
  relog(() => verifySth(receipt.sth, logPublicKey), "sth");
  relog(() => verifyInclusion(leafHash(data), index, sth.treeSize, path, sth.root), "inclusion");
}
