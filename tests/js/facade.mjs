// The facade's exports, and that its functions throw typed errors (never return null/false) on
// bad input. Prints {"exports": [...], "results": [{name, ok, error_name, error_message}]}.

import * as pj from "../../kiosk/static/js/crypto/index.js";
import { attempt, writeOutput } from "./_io.mjs";

const Q = "ab".repeat(32);
const K = "e2f2ae0a6abc4e71a884a961c500515f58e30b6aa582dd8db6a65945e08d2d76";
const vote = {
  type: "vote", vote_id: "v1", kind: "resolution", title: "t",
  contests: [{ id: "motion", title: "t", min: 1, max: 1, options: [{ id: "yes" }, { id: "no" }] }],
  constraints: [], rule: { name: "majority", yes: "yes", threshold: "half", base: "members" }, recast: false,
};
const { seed } = pj.deriveCredential("ABCDE23456FGHIJ7KLMN", "m1");

const cases = {
  "deriveCredential bad code": () => pj.deriveCredential("ABCDE23456FGHIJ7KLM0", "m1"),
  "deriveCredential bad meeting": () => pj.deriveCredential("ABCDE23456FGHIJ7KLMN", "m 1"),
  "signCheckin empty seat": () => pj.signCheckin(seed, Q, ""),
  "signCheckin bad meeting hash": () => pj.signCheckin(seed, "ab", "A001"),
  "signCheckin bad seed": () => pj.signCheckin(new Uint8Array(31), Q, "A001"),
  "encryptBallot bad key": () => pj.encryptBallot(vote, Q, "01" + "00".repeat(31), seed, { motion: ["yes"] }),
  "encryptBallot uppercase key": () => pj.encryptBallot(vote, Q, K.toUpperCase(), seed, { motion: ["yes"] }),
  "encryptBallot bad meeting hash": () => pj.encryptBallot(vote, "zz", K, seed, { motion: ["yes"] }),
  "encryptBallot bad vote": () => pj.encryptBallot({ ...vote, contests: [] }, Q, K, seed, { motion: ["yes"] }),
  "encryptBallot choices not a list": () => pj.encryptBallot(vote, Q, K, seed, { motion: "yes" }),
  "encryptBallot choices null": () => pj.encryptBallot(vote, Q, K, seed, null),
  "spoiledBody without openings": () => pj.spoiledBody({ entry: {} }),
  "verifyReceipt null": () => pj.verifyReceipt(null, {}, K),
  "verifySth null": () => pj.verifySth(null, K),
  "verifySth bad key": () => pj.verifySth({ tree_size: 1, root: Q, timestamp: 1, signature: "00".repeat(64) }, "k"),
  "verifyInclusion bad hash": () => pj.verifyInclusion("zz", 0, 1, [], Q),
  "verifyInclusion wrong root": () => pj.verifyInclusion(Q, 0, 1, [], K),
  "trackerOf bad hex": () => pj.trackerOf("ab"),
  "normalizeCode number": () => pj.normalizeCode(12),
  "parseCardQr wrong prefix": () => pj.parseCardQr("XX1:m:ABCDE23456FGHIJ7KLMN"),
  "canonicalJson float": () => pj.canonicalJson({ a: 1.5 }),
};
const results = Object.entries(cases).map(([name, fn]) => {
  let typed = false;
  const { value, ...outcome } = attempt(() => {
    try {
      return fn();
    } catch (exc) {
      typed = exc instanceof pj.PiaojueError;
      throw exc;
    }
  });
  return { name, ...outcome, typed, returned: outcome.ok ? String(value) : undefined };
});

// The happy path of the facade, for the record.
const encrypted = pj.encryptBallot(vote, Q, K, seed, { motion: ["no"] });
const body = pj.checkinBody(seed, Q, "A001");
const happy = {
  tracker: encrypted.tracker,
  tracker_of: pj.trackerOf(encrypted.ballotHashHex),
  ballot_hash: encrypted.ballotHashHex,
  ballot_hash_again: pj.ballotHashHex(encrypted.entry),
  openings: encrypted.openings.length,
  spoiled_keys: Object.keys(pj.spoiledBody(encrypted)).sort(),
  checkin: body,
  checkin_signature: pj.signCheckin(seed, Q, "A001"),
  normalized: pj.normalizeCode("abcde-23456-fghij-7klmn"),
  card: pj.parseCardQr("PJ1:m1:ABCDE23456FGHIJ7KLMN"),
  vote_hash: pj.voteHashHex(vote),
};
writeOutput({ exports: Object.keys(pj).sort(), results, happy });
