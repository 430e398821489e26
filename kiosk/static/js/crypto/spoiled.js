// Spoiled ballots: the Benaloh challenge (SPEC §4.4), mirroring ballot/spoiled.py.

import { verifyBallot } from "./ballot.js";
import { openingMatches } from "./elgamal.js";
import { BallotError, EncodingError } from "./errors.js";
import { scalarFromHex } from "./group.js";
import { reprList } from "./pyrepr.js";
import { optionRefs } from "./vote.js";

const SPOILED_KEYS = ["ballot", "openings", "type", "vote_id"];

/**
 * Check a §4.4 spoiled entry (with "type": "spoiled"): the ballot is well-formed for `vote` and
 * every opening, in ballot order, satisfies (α, β) = (r·G, m·G + r·K) with m ∈ {0, 1}.
 * Throws BallotError ("malformed" or "invalid_proof"); returns verifyBallot's result.
 */
export function verifySpoiled(entry, vote, meetingHash, publicKey) {
  if (entry === null || typeof entry !== "object" || Array.isArray(entry)
      || Object.keys(entry).sort().join() !== SPOILED_KEYS.join() || entry.type !== "spoiled") {
    throw new BallotError("malformed", `a spoiled entry has exactly the fields ${reprList(SPOILED_KEYS)}`);
  }
  if (entry.vote_id !== vote.voteId) throw new BallotError("malformed", "spoiled entry's vote_id does not match", { where: "vote_id" });
  const verified = verifyBallot(entry.ballot, vote, meetingHash, publicKey);
  const refs = optionRefs(vote);
  const openings = entry.openings;
  if (!Array.isArray(openings) || openings.length !== refs.length) {
    throw new BallotError("malformed", `expected ${refs.length} openings, one per selection`, { where: "openings" });
  }
  openings.forEach((opening, i) => {
    const at = `openings[${i}]`;
    if (!Array.isArray(opening) || opening.length !== 4) throw new BallotError("malformed", "an opening is [contest_id, option_id, m, r]", { where: at });
    const [contest, option, m, rHex] = opening;
    if (contest !== refs[i][0] || option !== refs[i][1]) {
      throw new BallotError("malformed", `expected the opening of ${reprList(refs[i])}`, { where: at });
    }
    if (m !== 0 && m !== 1) throw new BallotError("malformed", "m must be 0 or 1", { where: `${at}[2]` });
    let r;
    try {
      r = scalarFromHex(rHex, { where: `${at}[3]` });
    } catch (exc) {
      if (exc instanceof EncodingError) throw new BallotError("malformed", exc.detail, { where: exc.where });
      throw exc;
    }
    if (!openingMatches(verified.ciphertexts[i], m, r, publicKey)) {
      throw new BallotError("invalid_proof", "(α, β) ≠ (r·G, m·G + r·K)", { where: at, check: "opening" });
    }
  });
  return verified;
}
