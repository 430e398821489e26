// Verify Python-made receipts, STHs, proofs, ballots and spoiled entries with the kiosk's JS
// code, for tests/test_js_crypto.py. Each case reports ok or the error (name, where, code).
//
// stdin:  {"cases": [{"name", "op", "args": {...}}]}
//   op "receipt":     {receipt, ballot, log_key}
//   op "sth":         {sth, log_key}
//   op "inclusion":   {leaf_hash, leaf_index, tree_size, inclusion, root}
//   op "consistency": {first, second, first_root, second_root, consistency}
//   op "range":       {alpha, beta, proof, lo, hi, public_key, ctx}
//   op "ballot":      {ballot, vote, meeting_hash, public_key}
//   op "spoiled":     {entry, vote, meeting_hash, public_key}
// stdout: {"results": [{"name", "ok", "error_name", "error_message", "where", "code"}]}

import { fromHex } from "../../kiosk/static/js/crypto/bytes.js";
import { ciphertext } from "../../kiosk/static/js/crypto/elgamal.js";
import { pointFromHex } from "../../kiosk/static/js/crypto/group.js";
import * as pj from "../../kiosk/static/js/crypto/index.js";
import { parsePairs, verifyRange } from "../../kiosk/static/js/crypto/proofs.js";
import { attempt, readInput, writeOutput } from "./_io.mjs";

const ops = {
  receipt: (a) => pj.verifyReceipt(a.receipt, a.ballot, a.log_key),
  sth: (a) => pj.verifySth(a.sth, a.log_key),
  inclusion: (a) => pj.verifyInclusion(a.leaf_hash, a.leaf_index, a.tree_size, a.inclusion, a.root),
  consistency: (a) => pj.verifyConsistency(a.first, a.second, a.first_root, a.second_root, a.consistency),
  range: (a) => {
    const ct = ciphertext(pointFromHex(a.alpha, { where: "alpha" }), pointFromHex(a.beta, { where: "beta" }));
    verifyRange(ct, parsePairs(a.proof, { where: "proof" }), a.lo, a.hi, pointFromHex(a.public_key), fromHex(a.ctx, 32));
  },
  ballot: (a) => pj.verifyBallot(a.ballot, a.vote, a.meeting_hash, a.public_key),
  spoiled: (a) => pj.verifySpoiled(a.entry, a.vote, a.meeting_hash, a.public_key),
};

const { cases = [] } = readInput();
const results = cases.map((c) => {
  const op = ops[c.op];
  if (!op) return { name: c.name, ok: false, error_name: "UnknownOp", error_message: c.op };
  const { value, ...outcome } = attempt(() => op(c.args));
  return { name: c.name, ...outcome };
});
writeOutput({ results });
