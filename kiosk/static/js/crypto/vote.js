// Vote definitions (SPEC §4.1), mirroring ballot/vote.py.
//
// parseVote checks what a kiosk relies on (contests, options, bounds, constraints) as strictly
// as the Python does; the §9 `rule` is the tally's business and is not checked here.

import { EncodingError, VoteDefinitionError } from "./errors.js";
import { canonicalJson, h256 } from "./hashing.js";
import { reprList, reprString } from "./pyrepr.js";

export const VOTE_TAG = "piaojue/1/vote";
export const KINDS = ["resolution", "appointment", "selection", "election", "evaluation"];
export const IDENTIFIER = /^[A-Za-z0-9_-]{1,64}$/;
/** Total options across a vote's contests (ballot/vote.py MAX_OPTIONS). */
export const MAX_OPTIONS = 500;
/** Largest max − min + 1 of any contest or constraint range proof (ballot/vote.py MAX_RANGE). */
export const MAX_RANGE = 500;

/** Hv = H256("piaojue/1/vote", canonical JSON of the entry) (SPEC §4.1). */
export function voteHash(entry) {
  return h256(VOTE_TAG, canonicalJson(entry));
}

function isPlainObject(x) {
  return x !== null && typeof x === "object" && !Array.isArray(x);
}

function typeOk(value, kind) {
  switch (kind) {
    case "int": return typeof value === "number" && Number.isInteger(value);
    case "str": return typeof value === "string";
    case "bool": return typeof value === "boolean";
    case "list": return Array.isArray(value);
    case "dict": return isPlainObject(value);
    default: return false;
  }
}

function field(obj, key, kind, where) {
  if (!(key in obj)) throw new VoteDefinitionError(`missing field ${reprString(key)}`, { where });
  const value = obj[key];
  if (!typeOk(value, kind)) throw new VoteDefinitionError(`${reprString(key)} has the wrong type`, { where: `${where}.${key}` });
  return value;
}

function textId(value, where) {
  if (typeof value !== "string" || !value || [...value].length > 128) {
    throw new VoteDefinitionError("an id is a non-empty string of at most 128 characters", { where });
  }
  return value;
}

function bounds(obj, size, where) {
  const low = field(obj, "min", "int", where);
  const high = field(obj, "max", "int", where);
  if (!(0 <= low && low <= high && high <= size)) {
    throw new VoteDefinitionError(`needs 0 ≤ min ≤ max ≤ ${size}, got min=${low}, max=${high}`, { where });
  }
  if (high - low + 1 > MAX_RANGE) throw new VoteDefinitionError(`range [${low}, ${high}] is larger than ${MAX_RANGE}`, { where });
  return [low, high];
}

function parseContest(raw, where) {
  if (!isPlainObject(raw)) throw new VoteDefinitionError("a contest is an object", { where });
  const id = textId(raw.id, `${where}.id`);
  const optionsRaw = field(raw, "options", "list", where);
  if (!optionsRaw.length) throw new VoteDefinitionError("a contest needs at least one option", { where: `${where}.options` });
  const options = [];
  optionsRaw.forEach((option, i) => {
    if (!isPlainObject(option)) throw new VoteDefinitionError("an option is an object", { where: `${where}.options[${i}]` });
    const optionId = textId(option.id, `${where}.options[${i}].id`);
    if (options.includes(optionId)) {
      throw new VoteDefinitionError(`duplicate option id ${reprString(optionId)}`, { where: `${where}.options[${i}].id` });
    }
    options.push(optionId);
  });
  const [min, max] = bounds(raw, options.length, where);
  return { id, min, max, options };
}

const refKey = (contestId, optionId) => JSON.stringify([contestId, optionId]);

function parseConstraint(raw, refs, where) {
  if (!isPlainObject(raw)) throw new VoteDefinitionError("a constraint is an object", { where });
  const id = textId(raw.id, `${where}.id`);
  const membersRaw = field(raw, "members", "list", where);
  const members = [];
  const seen = new Set();
  membersRaw.forEach((member, i) => {
    const at = `${where}.members[${i}]`;
    if (!(Array.isArray(member) && member.length === 2 && member.every((x) => typeof x === "string"))) {
      throw new VoteDefinitionError("a member is a [contest_id, option_id] pair", { where: at });
    }
    const key = refKey(member[0], member[1]);
    if (!refs.has(key)) throw new VoteDefinitionError(`member ${reprList(member)} is not an option of this vote`, { where: at });
    if (seen.has(key)) throw new VoteDefinitionError(`duplicate member ${reprList(member)}`, { where: at });
    seen.add(key);
    members.push([member[0], member[1]]);
  });
  if (!members.length) throw new VoteDefinitionError("a constraint needs at least one member", { where: `${where}.members` });
  const [min, max] = bounds(raw, members.length, where);
  return { id, members, min, max };
}

/**
 * Parse and check a §4.1 vote entry. Returns
 * {voteId, kind, title, contests: [{id, min, max, options: [ids]}], constraints: [{id, members, min, max}],
 *  recast, entry, hash (Uint8Array Hv)}; throws VoteDefinitionError naming the field.
 */
export function parseVote(entry, { where = "vote" } = {}) {
  if (!isPlainObject(entry)) throw new VoteDefinitionError("a vote definition is a JSON object", { where });
  if (entry.type !== "vote") throw new VoteDefinitionError('"type" must be "vote"', { where: `${where}.type` });
  const voteId = field(entry, "vote_id", "str", where);
  if (!IDENTIFIER.test(voteId)) throw new VoteDefinitionError("vote_id must match [A-Za-z0-9_-]{1,64}", { where: `${where}.vote_id` });
  const kind = field(entry, "kind", "str", where);
  if (!KINDS.includes(kind)) throw new VoteDefinitionError(`kind must be one of ${KINDS.join(", ")}`, { where: `${where}.kind` });
  const title = field(entry, "title", "str", where);
  const contestsRaw = field(entry, "contests", "list", where);
  if (!contestsRaw.length) throw new VoteDefinitionError("a vote needs at least one contest", { where: `${where}.contests` });
  const contests = [];
  contestsRaw.forEach((raw, i) => {
    const contest = parseContest(raw, `${where}.contests[${i}]`);
    if (contests.some((c) => c.id === contest.id)) {
      throw new VoteDefinitionError(`duplicate contest id ${reprString(contest.id)}`, { where: `${where}.contests[${i}].id` });
    }
    contests.push(contest);
  });
  const total = contests.reduce((n, c) => n + c.options.length, 0);
  if (total > MAX_OPTIONS) throw new VoteDefinitionError(`${total} options in all; at most ${MAX_OPTIONS}`, { where });
  const refs = new Set(contests.flatMap((c) => c.options.map((o) => refKey(c.id, o))));
  const constraints = [];
  field(entry, "constraints", "list", where).forEach((raw, i) => {
    const constraint = parseConstraint(raw, refs, `${where}.constraints[${i}]`);
    if (constraints.some((c) => c.id === constraint.id)) {
      throw new VoteDefinitionError(`duplicate constraint id ${reprString(constraint.id)}`, { where: `${where}.constraints[${i}].id` });
    }
    constraints.push(constraint);
  });
  field(entry, "rule", "dict", where);
  const recast = field(entry, "recast", "bool", where);
  let hash;
  try {
    hash = voteHash(entry);
  } catch (exc) {
    if (exc instanceof EncodingError) throw new VoteDefinitionError(`not hashable as canonical JSON: ${exc.message}`, { where });
    throw exc;
  }
  return { voteId, kind, title, contests, constraints, recast, entry, hash };
}

/** Every [contestId, optionId] in ballot order. */
export function optionRefs(vote) {
  return vote.contests.flatMap((c) => c.options.map((o) => [c.id, o]));
}
