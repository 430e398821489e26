// Check the shared vectors tests/vectors/js_*.json, ristretto255.json and rfc9162_merkle.json
// with the kiosk's JS modules. Prints {"checks": n, "failures": [...]} as JSON on stdout;
// tests/test_js_crypto.py asserts that there are no failures.
//
//   node check_vectors.mjs [<vectors dir>]      (default: ../../../../tests/vectors)

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { fromHex, toHex } from "../../kiosk/static/js/crypto/bytes.js";
import { displayTracker, parseTracker, trackerCode } from "../../kiosk/static/js/crypto/ballot.js";
import { cardQrPayload, checkMeetingId, deriveCredential, deriveSeed, normalizeCode, parseCardQr, signCheckin, verifyCheckin } from "../../kiosk/static/js/crypto/credentials.js";
import { encrypt } from "../../kiosk/static/js/crypto/elgamal.js";
import { CredentialError, EncodingError } from "../../kiosk/static/js/crypto/errors.js";
import {
  GENERATOR, GENERATOR_HEX, IDENTITY, baseMul, baseMulPublic, pointFromHex, pointToHex, scalarFromHex, smallMultiple,
} from "../../kiosk/static/js/crypto/group.js";
import { canonicalJsonText, h256, hq } from "../../kiosk/static/js/crypto/hashing.js";
import { EMPTY_ROOT, leafHash, nodeHash, verifyConsistency, verifyInclusion } from "../../kiosk/static/js/crypto/log.js";
import { scalarToHex } from "../../kiosk/static/js/crypto/group.js";

const dir = process.argv[2] ?? join(fileURLToPath(new URL(".", import.meta.url)), "../vectors");
const load = (name) => JSON.parse(readFileSync(join(dir, name), "utf8"));

let checks = 0;
const failures = [];

function check(name, fn) {
  checks += 1;
  try {
    const problem = fn();
    if (problem) failures.push(`${name}: ${problem}`);
  } catch (exc) {
    failures.push(`${name}: threw ${exc?.name}: ${exc?.message}`);
  }
}

function eq(got, want) {
  return got === want ? null : `got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`;
}

function throws(fn, cls, message = null) {
  try {
    fn();
  } catch (exc) {
    if (!(exc instanceof cls)) return `threw ${exc?.name} (${exc?.message}), want ${cls.name}`;
    if (message !== null && exc.message !== message) return `message ${JSON.stringify(exc.message)}, want ${JSON.stringify(message)}`;
    return null;
  }
  return `did not throw (want ${cls.name})`;
}

// ------------------------------------------------------------------------------ canonical JSON
{
  const v = load("js_canonical_json.json");
  for (const doc of v.documents) {
    check(`canonical ${doc.name}`, () => eq(canonicalJsonText(doc.document), doc.canonical));
    check(`canonical h256 ${doc.name}`, () => eq(toHex(h256("piaojue/1/test", new TextEncoder().encode(canonicalJsonText(doc.document)))), doc.h256));
  }
  for (const bad of v.rejected) {
    check(`canonical rejects ${bad.name}`, () => throws(() => canonicalJsonText(JSON.parse(bad.json)), EncodingError));
  }
  check("canonical rejects undefined", () => throws(() => canonicalJsonText({ a: undefined }), EncodingError));
  check("canonical rejects NaN", () => throws(() => canonicalJsonText([NaN]), EncodingError));
  check("canonical rejects a Date", () => throws(() => canonicalJsonText([new Date(0)]), EncodingError));
}

// ----------------------------------------------------------------------------------- hashes
{
  const v = load("js_hashes.json");
  const decodeInput = (x) => {
    if ("point" in x) return pointFromHex(x.point);
    if ("scalar" in x) return fromHex(x.scalar, 32);
    if ("bytes" in x) return fromHex(x.bytes);
    if ("text" in x) return x.text;
    if ("int" in x) return BigInt(x.int);
    throw new Error(`unknown input ${JSON.stringify(x)}`);
  };
  v.hashes.forEach((c, i) => {
    const inputs = c.inputs.map(decodeInput);
    check(`h256 #${i} ${c.tag}`, () => eq(toHex(h256(c.tag, ...inputs)), c.h256));
    check(`hq #${i} ${c.tag}`, () => eq(scalarToHex(hq(c.tag, ...inputs)), c.hq));
  });
  for (const s of v.scalars) {
    check(`scalar ${s.hex}`, () => (s.valid ? eq(scalarToHex(scalarFromHex(s.hex)), s.hex) : throws(() => scalarFromHex(s.hex), EncodingError)));
  }
  for (const b of v.base_mul) {
    check(`base_mul ${b.scalar}`, () => eq(pointToHex(baseMul(scalarFromHex(b.scalar))), b.point));
    check(`base_mul public ${b.scalar}`, () => eq(pointToHex(baseMulPublic(scalarFromHex(b.scalar))), b.point));
  }
  for (const a of v.add) {
    check(`add ${a.p}+${a.q}`, () => eq(pointToHex(pointFromHex(a.p).add(pointFromHex(a.q))), a.sum));
    check(`subtract ${a.p}-${a.q}`, () => eq(pointToHex(pointFromHex(a.p).subtract(pointFromHex(a.q))), a.difference));
  }
  for (const e of v.elgamal) {
    check(`elgamal m=${e.m}`, () => {
      const { ct } = encrypt(e.m, pointFromHex(e.public_key), scalarFromHex(e.r));
      return eq(`${pointToHex(ct.alpha)} ${pointToHex(ct.beta)}`, `${e.alpha} ${e.beta}`);
    });
  }
}

// ------------------------------------------------------------------------------- ristretto255
{
  const v = load("ristretto255.json");
  v.multiples_of_generator.encodings.forEach((hex, k) => {
    check(`ristretto decode ${k}·G`, () => eq(pointToHex(pointFromHex(hex)), hex));
    check(`ristretto ${k}·G`, () => eq(pointToHex(smallMultiple(k)), hex));
    check(`ristretto ${k}·G by multiplication`, () => eq(pointToHex(baseMul(BigInt(k))), hex));
  });
  check("generator", () => eq(pointToHex(GENERATOR), GENERATOR_HEX));
  check("identity", () => eq(pointToHex(IDENTITY), "00".repeat(32)));
  for (const [group, list] of Object.entries(v.invalid_encodings)) {
    if (!Array.isArray(list)) continue;
    for (const hex of list) check(`ristretto rejects ${group} ${hex}`, () => throws(() => pointFromHex(hex), EncodingError));
  }
  check("ristretto rejects uppercase hex", () => throws(() => pointFromHex(GENERATOR_HEX.toUpperCase()), EncodingError));
  check("ristretto rejects 31 bytes", () => throws(() => pointFromHex(GENERATOR_HEX.slice(2)), EncodingError));
}

// ------------------------------------------------------------------------------- credentials
{
  const v = load("js_credentials.json");
  for (const d of v.derivations) {
    check(`normalize ${d.input}`, () => eq(normalizeCode(d.input), d.code));
    check(`seed ${d.input}`, () => eq(toHex(deriveSeed(d.input, d.meeting_id)), d.seed));
    check(`public key ${d.input}`, () => eq(deriveCredential(d.input, d.meeting_id).publicKeyHex, d.public_key));
    check(`checkin ${d.input}`, () => eq(signCheckin(deriveSeed(d.input, d.meeting_id), d.meeting_hash, d.seat), d.checkin_signature));
    check(`checkin verifies ${d.input}`, () => (verifyCheckin(d.public_key, d.meeting_hash, d.seat, d.checkin_signature) ? null : "rejected"));
    check(`checkin other seat ${d.input}`, () => (verifyCheckin(d.public_key, d.meeting_hash, d.seat + "x", d.checkin_signature) ? "accepted" : null));
    check(`qr payload ${d.input}`, () => eq(cardQrPayload(d.meeting_id, d.input), d.qr_payload));
  }
  for (const c of v.normalize_ok) check(`normalize ${JSON.stringify(c.input)}`, () => eq(normalizeCode(c.input), c.code));
  for (const c of v.normalize_errors) {
    check(`normalize error ${JSON.stringify(c.input)}`, () => throws(() => normalizeCode(c.input), CredentialError, c.error));
  }
  for (const m of v.meeting_id_ok) check(`meeting id ${m}`, () => eq(checkMeetingId(m), m));
  for (const c of v.meeting_id_errors) {
    check(`meeting id error ${JSON.stringify(c.meeting_id)}`, () => throws(() => checkMeetingId(c.meeting_id), CredentialError, c.error));
  }
  for (const c of v.card_qr) {
    check(`card qr ${JSON.stringify(c.payload)}`, () => ("error" in c
      ? throws(() => parseCardQr(c.payload), CredentialError, c.error)
      : eq(JSON.stringify(parseCardQr(c.payload)), JSON.stringify({ meetingId: c.meeting_id, code: c.code }))));
  }
}

// ---------------------------------------------------------------------------------- trackers
{
  const v = load("js_trackers.json");
  for (const t of v.trackers) {
    check(`tracker ${t.ballot_hash}`, () => eq(trackerCode(fromHex(t.ballot_hash, 32)), t.code));
    check(`tracker display ${t.ballot_hash}`, () => eq(displayTracker(fromHex(t.ballot_hash, 32)), t.display));
  }
  for (const p of v.parse) {
    check(`parse tracker ${JSON.stringify(p.input)}`, () => ("error" in p
      ? throws(() => parseTracker(p.input), EncodingError, p.error)
      : eq(parseTracker(p.input), p.code)));
  }
}

// ------------------------------------------------------------------------------ RFC 9162 log
{
  const v = load("rfc9162_merkle.json");
  const leaves = v.leaves.map((hex) => leafHash(fromHex(hex)));
  leaves.forEach((h, i) => check(`leaf hash ${i}`, () => eq(toHex(h), v.leaf_hashes[i])));
  check("empty root", () => eq(toHex(EMPTY_ROOT), v.roots.by_size[0]));
  check("node hash", () => eq(toHex(nodeHash(leaves[0], leaves[1])), v.node_hashes.levels[1][0]));
  for (const c of v.inclusion) {
    const root = fromHex(v.roots.by_size[c.tree_size], 32);
    const path = c.path.map((h) => fromHex(h, 32));
    check(`inclusion ${c.leaf_index}/${c.tree_size}`, () => {
      verifyInclusion(leaves[c.leaf_index], c.leaf_index, c.tree_size, path, root);
    });
    if (path.length) {
      const bad = path.map((h, i) => (i === 0 ? Uint8Array.from(h, (b, j) => (j === 0 ? b ^ 1 : b)) : h));
      check(`inclusion tampered ${c.leaf_index}/${c.tree_size}`, () => throws(() => verifyInclusion(leaves[c.leaf_index], c.leaf_index, c.tree_size, bad, root), Error));
      check(`inclusion short ${c.leaf_index}/${c.tree_size}`, () => throws(() => verifyInclusion(leaves[c.leaf_index], c.leaf_index, c.tree_size, path.slice(1), root), Error));
    }
  }
  for (const c of v.consistency) {
    const first = fromHex(v.roots.by_size[c.first], 32);
    const second = fromHex(v.roots.by_size[c.second], 32);
    const proof = c.proof.map((h) => fromHex(h, 32));
    check(`consistency ${c.first}->${c.second}`, () => { verifyConsistency(c.first, c.second, first, second, proof); });
    if (c.first !== c.second) {
      check(`consistency wrong root ${c.first}->${c.second}`, () => throws(() => verifyConsistency(c.first, c.second, second, first, proof), Error));
    }
  }
}

process.stdout.write(JSON.stringify({ checks, failures }) + "\n");
