// Time ballot encryption (and JS verification) of the 13- and 23-project selection ballots.
//
//   node --import ./tests/js/importmap.mjs tests/js/timing.mjs [runs]   builds the two votes itself (contest max 10 and 20)
//   … timing.mjs [runs] < in.json   {"votes": [vote entries], "meeting_hash", "public_key"}
//
// Prints {"node": version, "runs", "results": [{"vote_id", "options", "max", "encrypt_ms": {min, median, max},
// "first_ms", "verify_ms", "precompute_ms"}]}. Not an assertion: tests/test_js_crypto.py reports it.

import { readFileSync } from "node:fs";

import { toHex } from "../../kiosk/static/js/crypto/bytes.js";
import { baseMul, pointToHex, randomScalar } from "../../kiosk/static/js/crypto/group.js";
import * as pj from "../../kiosk/static/js/crypto/index.js";

const runs = Number(process.argv[2] ?? 5);
let input = {};
if (!process.stdin.isTTY) {
  const text = readFileSync(0, "utf8");
  if (text.trim()) input = JSON.parse(text);
}

function selectionVote(voteId, count, seats) {
  const options = Array.from({ length: count }, (_, i) => ({ id: `p${String(i + 1).padStart(2, "0")}`, label: `项目 ${i + 1}`, budget_cny: 1000000 * (i + 1) }));
  return {
    type: "vote", vote_id: voteId, kind: "selection", title: "民生实事项目票决",
    contests: [{ id: "projects", title: "民生实事项目票决", min: 0, max: seats, options }],
    constraints: [],
    rule: { name: "select", seats, candidates: options.map((o) => ["projects", o.id]), threshold: "half", base: "members" },
    recast: false,
  };
}

const votes = input.votes ?? [selectionVote("t13", 13, 10), selectionVote("t23", 23, 20)];
const meetingHash = input.meeting_hash ?? toHex(crypto.getRandomValues(new Uint8Array(32)));
const publicKey = input.public_key ?? pointToHex(baseMul(randomScalar()));

let started = performance.now();
pj.prepareJointKey(publicKey);
const precomputeMs = performance.now() - started;

const { seed } = pj.deriveCredential("ABCDE23456FGHIJ7KLMN", "timing");
const results = votes.map((vote) => {
  const contest = vote.contests[0];
  const choices = { [contest.id]: contest.options.slice(0, contest.max).map((o) => o.id) };
  const times = [];
  let encrypted;
  started = performance.now();
  encrypted = pj.encryptBallot(vote, meetingHash, publicKey, seed, choices);
  const firstMs = performance.now() - started;
  for (let i = 0; i < runs; i++) {
    started = performance.now();
    encrypted = pj.encryptBallot(vote, meetingHash, publicKey, seed, choices);
    times.push(performance.now() - started);
  }
  started = performance.now();
  pj.verifyBallot(encrypted.entry, vote, meetingHash, publicKey);
  const verifyMs = performance.now() - started;
  times.sort((a, b) => a - b);
  const round = (x) => Math.round(x * 10) / 10;
  return {
    vote_id: vote.vote_id,
    options: vote.contests.reduce((n, c) => n + c.options.length, 0),
    max: contest.max,
    encrypt_ms: { min: round(times[0]), median: round(times[Math.floor(times.length / 2)]), max: round(times[times.length - 1]) },
    first_ms: round(firstMs),
    verify_ms: round(verifyMs),
    entry: input.votes ? encrypted.entry : undefined,
  };
});
process.stdout.write(JSON.stringify({ node: process.version, runs, precompute_ms: Math.round(precomputeMs * 10) / 10, results }) + "\n");
