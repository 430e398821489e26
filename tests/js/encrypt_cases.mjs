// Encrypt ballots with the kiosk's JS code for tests/test_js_crypto.py.
//
// stdin:  {"cases": [{"name", "vote", "meeting_hash", "public_key", "code", "meeting_id", "choices"}]}
// stdout: {"results": [{"name", "ok", "entry", "ballot_hash", "tracker", "spoiled_body",
//                       "credential", "canonical", "ms"} | {"name", "ok": false, "error_name", "error_message", …}]}
// The seed is derived from (code, meeting_id) as on the kiosk (SPEC §4.2).

import * as pj from "../../kiosk/static/js/crypto/index.js";
import { attempt, readInput, writeOutput } from "./_io.mjs";

const { cases = [] } = readInput();
const results = cases.map((c) => {
  const started = performance.now();
  const outcome = attempt(() => {
    const { seed, publicKeyHex } = pj.deriveCredential(c.code, c.meeting_id);
    const encrypted = pj.encryptBallot(c.vote, c.meeting_hash, c.public_key, seed, c.choices);
    return {
      entry: encrypted.entry,
      ballot_hash: encrypted.ballotHashHex,
      tracker: encrypted.tracker,
      tracker_of: pj.trackerOf(encrypted.ballotHashHex),
      spoiled_body: pj.spoiledBody(encrypted),
      credential: publicKeyHex,
      canonical: pj.canonicalJson(encrypted.entry),
      js_verify: attempt(() => pj.verifyBallot(encrypted.entry, c.vote, c.meeting_hash, c.public_key)).ok,
    };
  });
  const ms = performance.now() - started;
  if (!outcome.ok) return { name: c.name, ...outcome, ms };
  return { name: c.name, ok: true, ...outcome.value, ms };
});
writeOutput({ results });
