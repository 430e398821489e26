"""The bad-input classes of the endpoint fuzzing (issue #6 "Bad input"): for each, a Hypothesis
strategy of requests (:class:`~tests.stress._fuzz_world.Req`) against a
:class:`~tests.stress._fuzz_world.World`, each with the SPEC §11 codes it may get.

Most classes are semantic: they start from a valid document (a ballot that would count, a real
trustee share, a signed check-in) and break exactly one property, re-signing the ballot where the
signature would otherwise be the first thing to fail, so that the check under test is the one that
answers. ``openapi_schema`` is the schema-driven complement: schemathesis generates requests
(valid and invalid) for every operation of tally/api/openapi.json.

:data:`CLASSES` maps each class to its strategy and a one-line description (the report's table).
"""

from __future__ import annotations

import copy
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from ballot.ballot import ballot_context, ballot_hash, signature_message
from ballot.elgamal import Ciphertext, encrypt
from ballot.encrypt import check_choices
from ballot.errors import ChoiceError
from ballot.group import ORDER, Point, Scalar
from ballot.proofs import pairs_to_json, prove_range
from ballot.vote import VoteDefinition
from tests.stress._fuzz_world import V6, V7, Deputy, MeetingView, Req, World

P = 2**255 - 19
"""The field prime of ristretto255's encoding (RFC 9496)."""
IDENTITY_HEX = "00" * 32
ED25519_IDENTITY = "01" + "00" * 31
"""The Ed25519 identity point (small order): with ``R`` the identity and ``S = 0``, OpenSSL accepts
the signature for every message, so only registration can keep such a credential out."""
UNIVERSAL_SIGNATURE = "01" + "00" * 63

BALLOTS = "/api/meetings/{}/votes/{}/ballots"
SPOILED = "/api/meetings/{}/votes/{}/spoiled"
SHARES = "/api/meetings/{}/votes/{}/shares"
CHECKIN = "/api/meetings/{}/checkin"

MALFORMED = frozenset({"malformed"})
INVALID_PROOF = frozenset({"invalid_proof"})
BAD_SIGNATURE = frozenset({"bad_signature"})
INVALID_SHARE = frozenset({"invalid_share"})


def codes(*names: str) -> frozenset[str]:
    return frozenset(names)


# ------------------------------------------------------------------ building blocks


def _fits(definition: VoteDefinition, choices: dict[str, list[str]]) -> bool:
    try:
        check_choices(definition, choices)
        return True
    except ChoiceError:
        return False


def choices_for(definition: VoteDefinition) -> SearchStrategy[dict[str, list[str]]]:
    """Valid choices for ``definition``: per contest, between ``min`` and ``max`` distinct options."""
    contests = {
        c.id: st.lists(st.sampled_from(c.options), unique=True, min_size=c.min, max_size=c.max)
        for c in definition.contests
    }
    return st.fixed_dictionaries(contests).filter(lambda choices: _fits(definition, choices))


@dataclass
class Base:
    """A valid ballot for ``meeting``/``vote_id`` signed by ``deputy`` (it would count, or be
    refused only for the vote's state), to be broken in exactly one way."""

    meeting: MeetingView
    vote_id: str
    deputy: Deputy
    entry: dict[str, Any]


class Pool:
    """Valid ballots from the deputies of m1 who may still vote in v3, made once per world."""

    SLOTS = 3

    def __init__(self, world: World) -> None:
        self.world = world
        self.cache: dict[tuple[str, int, int], dict[str, Any]] = {}

    def get(self, vote_id: str, who: int, slot: int) -> Base:
        deputy = self.world.eligible[who]
        key = (vote_id, who, slot)
        if key not in self.cache:
            definition = self.world.definition(self.world.m1, vote_id)
            choices = _example_choices(definition, slot)
            self.cache[key] = self.world.ballot(self.world.m1, vote_id, deputy.key, choices).entry
        return Base(self.world.m1, vote_id, deputy, copy.deepcopy(self.cache[key]))


def _example_choices(definition: VoteDefinition, slot: int) -> dict[str, list[str]]:
    out = {}
    for i, contest in enumerate(definition.contests):
        n = (contest.min + slot + i) % (contest.max - contest.min + 1) + contest.min
        out[contest.id] = list(contest.options[(slot + i) % len(contest.options) :][:n])
        while len(out[contest.id]) < n:
            out[contest.id].append(next(o for o in contest.options if o not in out[contest.id]))
    if not _fits(definition, out):  # v7: at most 2 "yes" across its three questions
        out = {c.id: [c.options[-1]] if c.min else [] for c in definition.contests}
    return out


_pools: dict[int, Pool] = {}


def pool(world: World) -> Pool:
    found = _pools.get(id(world))
    if found is None or found.world is not world:
        found = _pools[id(world)] = Pool(world)
    return found


def bases(world: World, votes: tuple[str, ...] = ("v3", V7)) -> SearchStrategy[Base]:
    """A valid ballot from the pool: v3 (open) or v7 (pending, with a constraint)."""
    return st.builds(
        lambda vote_id, who, slot: pool(world).get(vote_id, who, slot),
        st.sampled_from(votes),
        st.integers(0, len(world.eligible) - 1),
        st.integers(0, Pool.SLOTS - 1),
    )


def resign(entry: dict[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
    return World.resign(entry, key)


def ballot_req(
    base: Base,
    entry: dict[str, Any],
    expect: frozenset[str],
    variant: str,
    *,
    vote_id: str | None = None,
    meeting: MeetingView | None = None,
) -> Req:
    meeting = meeting or base.meeting
    return Req(
        "POST",
        BALLOTS.format(meeting.meeting_id, vote_id or base.vote_id),
        body=entry,
        expect=expect,
        variant=variant,
    )


def selection_fields(entry: dict[str, Any]) -> list[tuple[int, int]]:
    return [
        (ci, si) for ci, contest in enumerate(entry["contests"]) for si in range(len(contest["selections"]))
    ]


def proof_locations(entry: dict[str, Any]) -> list[tuple[str, ...]]:
    """Paths of every range proof in a ballot: selections', contests' and constraints'."""
    out: list[tuple[Any, ...]] = []
    for ci, contest in enumerate(entry["contests"]):
        out.extend(("contests", ci, "selections", si, "proof") for si in range(len(contest["selections"])))
        out.append(("contests", ci, "proof"))
    out.extend(("constraints", ki, "proof") for ki in range(len(entry["constraints"])))
    return out


def get_path(doc: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        doc = doc[step]
    return doc


def set_path(doc: Any, path: tuple[Any, ...], value: Any) -> None:
    get_path(doc, path[:-1])[path[-1]] = value


def all_paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(doc, dict):
        for key, value in doc.items():
            out.extend(all_paths(value, prefix + (key,)))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            out.extend(all_paths(value, prefix + (i,)))
    return out


def _le(n: int) -> str:
    return n.to_bytes(32, "little").hex()


def share_req(
    world: World, share: dict[str, Any], expect: frozenset[str], variant: str, vote_id: str = "v2"
) -> Req:
    return Req("POST", SHARES.format("m1", vote_id), body=share, expect=expect, variant=variant)


def spoiled_base(world: World) -> tuple[dict[str, Any], Deputy]:
    """The logged spoiled entry of m1/v3 (d0's challenged ballot) and d0, to break and re-sign."""
    return copy.deepcopy(world.spoiled), world.m1.deputies[0]


def _resign_spoiled(spoiled: dict[str, Any], deputy: Deputy) -> dict[str, Any]:
    spoiled["ballot"] = resign(spoiled["ballot"], deputy.key)
    return spoiled


# ------------------------------------------------------------------ JSON values by type

_SCALAR_TYPES: dict[str, SearchStrategy[Any]] = {
    "null": st.none(),
    "bool": st.booleans(),
    "int": st.integers(-(2**53) + 1, 2**53 - 1),
    "str": st.text(max_size=12) | st.sampled_from(["00" * 32, "ff" * 32, "ab" * 64, "v3", "ballot", ""]),
}


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, str):
        return "str"
    if isinstance(value, list):
        return "list"
    return "dict"


def other_type(value: Any) -> SearchStrategy[Any]:
    """A JSON value of another type than ``value``'s."""
    small = st.one_of(*_SCALAR_TYPES.values())
    kinds = dict(_SCALAR_TYPES)
    kinds["list"] = st.lists(small, max_size=3)
    kinds["dict"] = st.dictionaries(st.text(max_size=6), small, max_size=3)
    kinds.pop(_json_type(value))
    return st.one_of(*kinds.values())


@st.composite
def type_mutation(draw: Any, document: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """``document`` with one structural change: a value of another type, a key deleted, added or renamed."""
    doc = copy.deepcopy(document)
    paths = [p for p in all_paths(doc) if p]
    path = draw(st.sampled_from(paths))
    parent = get_path(doc, path[:-1])
    action = draw(st.sampled_from(["retype", "retype", "delete", "add", "rename"]))
    if action in ("delete", "rename") and isinstance(parent, dict):
        value = parent.pop(path[-1])
        if action == "rename":
            parent[path[-1] + draw(st.sampled_from(["_", "s", "X", " "]))] = value
        return doc, action
    if action == "add":
        container = get_path(doc, path) if isinstance(get_path(doc, path), dict) else parent
        if isinstance(container, dict):
            name = draw(st.text(min_size=1, max_size=8).filter(lambda k: k not in container))
            container[name] = draw(st.one_of(*_SCALAR_TYPES.values()))
            return doc, "add_key"
    parent[path[-1]] = draw(other_type(get_path(doc, path)))
    return doc, "retype"


# ------------------------------------------------------------------ the classes


def malformed_json(world: World) -> SearchStrategy[Req]:
    """Bodies that are not a strict JSON document, on the four POST endpoints."""
    stranger = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    doomed_ballot = resign(pool(world).get("v3", 0, 0).entry, stranger)  # would be bad_signature if read
    targets = [
        (BALLOTS.format("m1", "v3"), doomed_ballot, MALFORMED),
        (SPOILED.format("m1", "v3"), {"vote_id": "v3", "ballot": doomed_ballot, "openings": []}, MALFORMED),
        (CHECKIN.format("m1"), {"credential": "00" * 32, "seat": "A001", "signature": "00" * 64}, MALFORMED),
        (SHARES.format("m1", "v2"), {**world.share_v2, "trustee": 9}, codes("malformed", "invalid_share")),
    ]

    @st.composite
    def strategy(draw: Any) -> Req:
        path, document, expect = draw(st.sampled_from(targets))
        text = json.dumps(document, ensure_ascii=False)
        kind = draw(
            st.sampled_from(
                [
                    "truncated",
                    "garbage",
                    "text",
                    "float",
                    "nan",
                    "duplicate_key",
                    "big_int",
                    "deep",
                    "invalid_utf8",
                    "trailing",
                    "not_object",
                    "empty",
                    "lone_surrogate",
                ]
            )
        )
        if kind == "truncated":
            raw = text.encode()[: draw(st.integers(0, len(text.encode()) - 1))]
        elif kind == "garbage":
            raw = draw(st.binary(min_size=1, max_size=300))
        elif kind == "text":
            raw = draw(st.text(min_size=1, max_size=200)).encode("utf-8", "surrogatepass")
        elif kind == "float":
            number = draw(st.sampled_from(["1.5", "0.0", "-2e3", "1E400", "3.141592653589793"]))
            raw = ('{"x": ' + number + ", " + text[1:]).encode()
        elif kind == "nan":
            raw = (
                '{"x": ' + draw(st.sampled_from(["NaN", "Infinity", "-Infinity"])) + ", " + text[1:]
            ).encode()
        elif kind == "duplicate_key":
            key = draw(st.sampled_from(sorted(document)))
            raw = ("{" + json.dumps(key) + ": " + json.dumps(document[key]) + ", " + text[1:]).encode()
        elif kind == "big_int":
            n = draw(st.integers(2**53, 2**80) | st.integers(-(2**80), -(2**53)))
            raw = ('{"x": ' + str(n) + ", " + text[1:]).encode()
        elif kind == "deep":
            depth = draw(st.integers(33, 20000))
            opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}")]))
            raw = (opener * depth + "1" + closer * depth).encode()
        elif kind == "invalid_utf8":
            at = draw(st.integers(1, len(text) - 2))
            raw = (
                text.encode()[:at]
                + draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x80\x80"]))
                + text.encode()[at:]
            )
        elif kind == "trailing":
            raw = (text + draw(st.sampled_from(["}", "]", ",", " x", "{}", "\x00"]))).encode()
        elif kind == "not_object":
            raw = json.dumps(
                draw(
                    st.one_of(
                        st.lists(st.integers(0, 9), max_size=3),
                        st.integers(-5, 5),
                        st.text(max_size=5),
                        st.none(),
                        st.booleans(),
                    )
                )
            ).encode()
            if path.endswith("/shares"):
                expect = INVALID_SHARE
        elif kind == "lone_surrogate":
            # JSON text whose strings are not Unicode text (SPEC §1: text is UTF-8): an escaped lone
            # surrogate in place of a string value, or as a key.
            key = draw(st.sampled_from(sorted(k for k, v in document.items() if isinstance(v, str))))
            escape = draw(st.sampled_from(["\\ud800", "\\udfff", "\\udbff", "\\ud83dx"]))
            raw = (
                text.replace(
                    json.dumps(key) + ": " + json.dumps(document[key], ensure_ascii=False),
                    json.dumps(key) + ': "' + escape + '"',
                    1,
                )
                if draw(st.booleans())
                else '{"' + escape + '": 1, ' + text[1:]
            ).encode()
        else:
            raw = b""
        return Req("POST", path, raw=raw, expect=expect, variant=kind)

    return strategy()


def wrong_types(world: World) -> SearchStrategy[Req]:
    """Valid documents with one value of the wrong JSON type, or a key deleted, added or renamed."""
    checkin = world.checkin_body(world.m1, world.eligible[0])  # a valid check-in (repeating it is harmless)

    @st.composite
    def strategy(draw: Any) -> Req:
        target = draw(st.sampled_from(["ballot", "ballot", "spoiled", "checkin", "share"]))
        if target == "ballot":
            base = draw(bases(world))
            doc, action = draw(type_mutation(base.entry))
            return ballot_req(base, doc, MALFORMED, f"ballot/{action}")
        if target == "spoiled":
            doc, action = draw(type_mutation(world.spoiled))
            return Req(
                "POST", SPOILED.format("m1", "v3"), body=doc, expect=MALFORMED, variant=f"spoiled/{action}"
            )
        if target == "checkin":
            doc, action = draw(type_mutation(checkin))
            return Req("POST", CHECKIN.format("m1"), body=doc, expect=MALFORMED, variant=f"checkin/{action}")
        doc, action = draw(type_mutation(world.share_v2))
        return share_req(world, doc, INVALID_SHARE, f"share/{action}")

    return strategy()


def oversized(world: World) -> SearchStrategy[Req]:
    """Bodies over the configured maximum (``MAX_CONTENT_LENGTH``): 413 ``too_large``, read or not."""
    limit = world.max_body
    too_large = codes("too_large")

    @st.composite
    def strategy(draw: Any) -> Req:
        size = draw(st.integers(limit + 1, 2 * limit))
        path = draw(
            st.sampled_from(
                [
                    BALLOTS.format("m1", "v3"),
                    SPOILED.format("m1", "v3"),
                    CHECKIN.format("m1"),
                    SHARES.format("m1", "v2"),
                    BALLOTS.format("m2", "v3"),
                ]
            )
        )
        kind = draw(
            st.sampled_from(["ballot_then_spaces", "padded_ballot", "long_string", "long_array", "raw_bytes"])
        )
        if kind in ("ballot_then_spaces", "padded_ballot"):
            # A ballot that would count, padded with whitespace (after it, or inside it): still
            # JSON, and its first PIAOJUE_MAX_BODY bytes too if it ends in whitespace.
            text = json.dumps(pool(world).get("v3", draw(st.integers(0, 3)), 0).entry).encode()
            padding = b" " * max(0, size - len(text))
            raw = text + padding if kind == "ballot_then_spaces" else text[:-1] + padding + b"}"
        elif kind == "long_string":
            raw = b'{"seat": "' + b"A" * size + b'", "credential": "00", "signature": "00"}'
        elif kind == "long_array":
            raw = b'{"contests": [' + b"0," * (size // 2) + b"0]}"
        else:
            raw = secrets.token_bytes(64) * (size // 64 + 1)
        chunked = draw(st.booleans())
        return Req(
            "POST",
            path,
            raw=raw,
            expect=too_large,
            variant=f"{kind}{'/chunked' if chunked else ''}",
            chunked=chunked,
        )

    return strategy()


def non_canonical_point(world: World) -> SearchStrategy[Req]:
    """A valid ballot (or spoiled entry, or share) with one point re-encoded non-canonically: the
    same group element as ``s + p``, with the high bit set, negated (odd ``s``), or bytes that are
    no point at all, or the right bytes in upper-case or mis-sized hex. Re-signed."""

    @st.composite
    def encoding(draw: Any, point_hex: str) -> tuple[str, str]:
        data = bytes.fromhex(point_hex)
        s = int.from_bytes(data, "little")
        kind = draw(
            st.sampled_from(
                ["plus_p", "high_bit", "negative", "not_a_point", "upper_hex", "short_hex", "long_hex"]
            )
        )
        if kind == "plus_p":
            return _le(s + P), kind
        if kind == "high_bit":
            return (data[:31] + bytes([data[31] | 0x80])).hex(), kind
        if kind == "negative":
            return _le((P - s) % P if s else 1), kind
        if kind == "not_a_point":
            candidate = draw(st.binary(min_size=32, max_size=32))
            if _is_point(candidate):  # including the identity (32 zero bytes)
                candidate = bytes([candidate[0] | 1]) + candidate[1:]  # odd s: never canonical
            return candidate.hex(), kind
        if kind == "upper_hex":
            return point_hex.upper() if point_hex.upper() != point_hex else "A" + point_hex[1:], kind
        if kind == "short_hex":
            return point_hex[:-2], kind
        return point_hex + "00", kind

    @st.composite
    def strategy(draw: Any) -> Req:
        target = draw(st.sampled_from(["ballot", "ballot", "ballot", "spoiled", "share"]))
        if target == "share":
            share = copy.deepcopy(world.share_v2)
            item = draw(st.sampled_from(share["shares"]))
            item["M"], kind = draw(encoding(item["M"]))
            return share_req(world, share, INVALID_SHARE, f"share.M/{kind}")
        if target == "spoiled":
            spoiled, deputy = spoiled_base(world)
            entry = spoiled["ballot"]
        else:
            base = draw(bases(world))
            entry, deputy = base.entry, base.deputy
        ci, si = draw(st.sampled_from(selection_fields(entry)))
        name = draw(st.sampled_from(["alpha", "beta"]))
        selection = entry["contests"][ci]["selections"][si]
        selection[name], kind = draw(encoding(selection[name]))
        if target == "spoiled":
            return Req(
                "POST",
                SPOILED.format("m1", "v3"),
                body=_resign_spoiled(spoiled, deputy),
                expect=MALFORMED,
                variant=f"spoiled.{name}/{kind}",
            )
        return ballot_req(base, resign(entry, deputy.key), MALFORMED, f"{name}/{kind}")

    return strategy()


def _is_point(data: bytes) -> bool:
    try:
        Point.from_bytes(data)
        return True
    except Exception:  # noqa: BLE001
        return False


def encrypt_custom(
    world: World,
    meeting: MeetingView,
    vote_id: str,
    credential: bytes,
    choices: dict[str, list[str]],
    zero: set[tuple[str, str]],
    encoding: Callable[[Ciphertext], Ciphertext] | None = None,
) -> dict[str, Any]:
    """An unsigned §4.3 ballot, with valid proofs, whose selections in ``zero`` use the nonce 0
    (``α`` is then the identity), for any ``credential`` bytes. ``encoding`` may re-encode each
    ciphertext before it is proven (the proofs then hash that encoding)."""
    vote = world.definition(meeting, vote_id)
    key = meeting.public_key
    ctx = ballot_context(meeting.hash, vote.hash, credential)
    check_choices(vote, choices)
    by_ref: dict[tuple[str, str], tuple[Ciphertext, int, Scalar]] = {}
    contests = []
    for contest in vote.contests:
        selections, total, total_m, total_r = [], Ciphertext.zero(), 0, Scalar.reduce(0)
        for option in contest.options:
            m = 1 if option in choices.get(contest.id, ()) else 0
            ct, r = encrypt(m, key, Scalar.reduce(0) if (contest.id, option) in zero else None)
            if encoding is not None:
                ct = encoding(ct)
            by_ref[(contest.id, option)] = (ct, m, r)
            selections.append(
                {
                    "option": option,
                    **ct.to_json(),
                    "proof": pairs_to_json(prove_range(ct, m, r, 0, 1, key, ctx)),
                }
            )
            total, total_m, total_r = total + ct, total_m + m, total_r + r
        contests.append(
            {
                "id": contest.id,
                "selections": selections,
                "proof": pairs_to_json(
                    prove_range(total, total_m, total_r, contest.min, contest.max, key, ctx)
                ),
            }
        )
    constraints = []
    for constraint in vote.constraints:
        total, total_m, total_r = Ciphertext.zero(), 0, Scalar.reduce(0)
        for ref in constraint.members:
            ct, m, r = by_ref[ref]
            total, total_m, total_r = total + ct, total_m + m, total_r + r
        constraints.append(
            {
                "id": constraint.id,
                "proof": pairs_to_json(
                    prove_range(total, total_m, total_r, constraint.min, constraint.max, key, ctx)
                ),
            }
        )
    return {
        "type": "ballot",
        "vote_id": vote_id,
        "credential": credential.hex(),
        "contests": contests,
        "constraints": constraints,
    }


def identity(world: World) -> SearchStrategy[Req]:
    """The identity where SPEC forbids it: selections honestly encrypted with the nonce 0 (α = the
    identity; every proof verifies), α or β replaced by the identity, the Ed25519 identity as a
    credential (with the signature OpenSSL accepts for any message), and M = the identity in a share."""

    @st.composite
    def strategy(draw: Any) -> Req:
        kind = draw(
            st.sampled_from(
                [
                    "zero_nonce",
                    "zero_nonce",
                    "alpha_identity",
                    "beta_identity",
                    "both_identity",
                    "ed25519_identity_ballot",
                    "ed25519_identity_checkin",
                    "share_identity",
                ]
            )
        )
        if kind == "zero_nonce":
            vote_id = draw(st.sampled_from(["v3", V7]))
            definition = world.definition(world.m1, vote_id)
            deputy = draw(st.sampled_from(world.eligible))
            choices = draw(choices_for(definition))
            refs = definition.option_refs()
            zero = set(draw(st.lists(st.sampled_from(refs), min_size=1, max_size=3, unique=True)))
            entry = encrypt_custom(world, world.m1, vote_id, bytes.fromhex(deputy.credential), choices, zero)
            entry["signature"] = deputy.key.sign(signature_message(ballot_hash(entry))).hex()
            return Req("POST", BALLOTS.format("m1", vote_id), body=entry, expect=MALFORMED, variant=kind)
        if kind in ("alpha_identity", "beta_identity", "both_identity"):
            base = draw(bases(world))
            ci, si = draw(st.sampled_from(selection_fields(base.entry)))
            selection = base.entry["contests"][ci]["selections"][si]
            for name in {
                "alpha_identity": ["alpha"],
                "beta_identity": ["beta"],
                "both_identity": ["alpha", "beta"],
            }[kind]:
                selection[name] = IDENTITY_HEX
            # SPEC §8.1: α = the identity is a zero nonce, malformed before any proof is checked.
            expect = INVALID_PROOF if kind == "beta_identity" else MALFORMED
            return ballot_req(base, resign(base.entry, base.deputy.key), expect, kind)
        if kind == "ed25519_identity_ballot":
            vote_id = draw(st.sampled_from(["v3", V7]))
            definition = world.definition(world.m1, vote_id)
            entry = encrypt_custom(
                world,
                world.m1,
                vote_id,
                bytes.fromhex(ED25519_IDENTITY),
                draw(choices_for(definition)),
                set(),
            )
            entry["signature"] = UNIVERSAL_SIGNATURE
            return Req(
                "POST",
                BALLOTS.format("m1", vote_id),
                body=entry,
                expect=codes("unknown_credential"),
                variant=kind,
            )
        if kind == "ed25519_identity_checkin":
            seat = draw(st.sampled_from([d.seat for d in world.m1.deputies]))
            body = {"credential": ED25519_IDENTITY, "seat": seat, "signature": UNIVERSAL_SIGNATURE}
            return Req(
                "POST", CHECKIN.format("m1"), body=body, expect=codes("unknown_credential"), variant=kind
            )
        share = copy.deepcopy(world.share_v2)
        draw(st.sampled_from(share["shares"]))["M"] = IDENTITY_HEX
        return share_req(world, share, INVALID_SHARE, kind)

    return strategy()


def scalar_out_of_range(world: World) -> SearchStrategy[Req]:
    """A proof scalar (or an opening's nonce, or a share proof's) replaced by a value ≥ ℓ: the same
    residue plus ℓ (which would verify if reduced), ℓ itself, 2^256 − 1, or random. Re-signed."""

    @st.composite
    def big(draw: Any, scalar_hex: str) -> tuple[str, str]:
        value = int.from_bytes(bytes.fromhex(scalar_hex), "little")
        kind = draw(st.sampled_from(["plus_l", "plus_l", "l", "max", "random"]))
        number = {"plus_l": value + ORDER, "l": ORDER, "max": 2**256 - 1}.get(kind)
        if number is None:
            number = draw(st.integers(ORDER, 2**256 - 1))
        return _le(number), kind

    @st.composite
    def strategy(draw: Any) -> Req:
        target = draw(st.sampled_from(["ballot", "ballot", "ballot", "opening", "share"]))
        if target == "share":
            share = copy.deepcopy(world.share_v2)
            item = draw(st.sampled_from(share["shares"]))
            j = draw(st.integers(0, 1))
            item["proof"][j], kind = draw(big(item["proof"][j]))
            return share_req(world, share, INVALID_SHARE, f"share.proof/{kind}")
        if target == "opening":
            spoiled, _ = spoiled_base(world)
            opening = draw(st.sampled_from(spoiled["openings"]))
            opening[3], kind = draw(big(opening[3]))
            return Req(
                "POST",
                SPOILED.format("m1", "v3"),
                body=spoiled,
                expect=MALFORMED,
                variant=f"opening.r/{kind}",
            )
        base = draw(bases(world))
        location = draw(st.sampled_from(proof_locations(base.entry)))
        proof = get_path(base.entry, location)
        pair = draw(st.sampled_from(proof))
        j = draw(st.integers(0, 1))
        pair[j], kind = draw(big(pair[j]))
        where = (
            "constraint"
            if location[0] == "constraints"
            else ("selection" if len(location) > 3 else "contest")
        )
        return ballot_req(base, resign(base.entry, base.deputy.key), MALFORMED, f"{where}.{'cv'[j]}/{kind}")

    return strategy()


def proof_length(world: World) -> SearchStrategy[Req]:
    """A range proof with too few or too many pairs, or a pair of the wrong arity. Re-signed."""
    scalar = st.integers(0, ORDER - 1).map(_le)

    @st.composite
    def strategy(draw: Any) -> Req:
        if draw(st.integers(0, 5)) == 0:
            share = copy.deepcopy(world.share_v2)
            item = draw(st.sampled_from(share["shares"]))
            item["proof"] = (
                item["proof"][: draw(st.sampled_from([0, 1]))]
                if draw(st.booleans())
                else item["proof"] + [draw(scalar)]
            )
            return share_req(world, share, INVALID_SHARE, "share.proof")
        base = draw(bases(world))
        location = draw(st.sampled_from(proof_locations(base.entry)))
        proof = get_path(base.entry, location)
        kind = draw(st.sampled_from(["truncate", "extend", "pair_arity"]))
        if kind == "truncate":
            del proof[draw(st.integers(0, len(proof) - 1)) :]
        elif kind == "extend":
            extra = draw(
                st.lists(
                    st.one_of(st.sampled_from(proof), st.lists(scalar, min_size=2, max_size=2)),
                    min_size=1,
                    max_size=4,
                )
            )
            proof.extend(copy.deepcopy(extra))
        else:
            pair = draw(st.sampled_from(proof))
            if draw(st.booleans()) or len(pair) < 2:
                pair.append(draw(scalar))
            else:
                pair.pop()
        where = (
            "constraint"
            if location[0] == "constraints"
            else ("selection" if len(location) > 3 else "contest")
        )
        return ballot_req(base, resign(base.entry, base.deputy.key), MALFORMED, f"{where}/{kind}")

    return strategy()


def copied_ciphertext(world: World) -> SearchStrategy[Req]:
    """Ciphertexts taken from another credential's valid ballot (cast, or a fresh one), put into a
    ballot of an eligible deputy and re-signed by that deputy: the proofs bind the credential
    (``ctx``), so they must fail."""

    @st.composite
    def strategy(draw: Any) -> Req:
        vote_id = draw(st.sampled_from(["v3", "v3", V7]))
        target = pool(world).get(
            vote_id, draw(st.integers(0, len(world.eligible) - 1)), draw(st.integers(0, 2))
        )
        donors = [
            b
            for b in (pool(world).get(vote_id, i, s) for i in range(len(world.eligible)) for s in (0,))
            if b.deputy is not target.deputy
        ]
        if vote_id == "v3":
            donors += [
                Base(world.m1, "v3", world.m1.deputies[i], copy.deepcopy(world.logged[f"m1/v3/d{i}"].entry))
                for i in range(3)
            ]
        donor = draw(st.sampled_from(donors))
        kind = draw(st.sampled_from(["whole_ballot", "selections", "ciphertexts_only", "contest"]))
        entry = target.entry
        if kind == "whole_ballot":
            entry = copy.deepcopy(donor.entry)
            entry["credential"] = target.deputy.credential
        elif kind == "contest":
            ci = draw(st.integers(0, len(entry["contests"]) - 1))
            entry["contests"][ci] = copy.deepcopy(donor.entry["contests"][ci])
        else:
            fields = selection_fields(entry)
            chosen = draw(st.lists(st.sampled_from(fields), min_size=1, max_size=len(fields), unique=True))
            for ci, si in chosen:
                mine, theirs = (
                    entry["contests"][ci]["selections"][si],
                    donor.entry["contests"][ci]["selections"][si],
                )
                if kind == "selections":
                    entry["contests"][ci]["selections"][si] = copy.deepcopy(theirs)
                else:
                    mine["alpha"], mine["beta"] = theirs["alpha"], theirs["beta"]
        return ballot_req(target, resign(entry, target.deputy.key), INVALID_PROOF, kind)

    return strategy()


def replay(world: World) -> SearchStrategy[Req]:
    """Valid ballots (cast or fresh) replayed into another vote or another meeting: as they are,
    with ``vote_id`` rewritten and re-signed, or re-signed by a deputy of the other meeting;
    spoiled entries and trustee shares likewise."""
    m1, m2 = world.m1, world.m2

    @st.composite
    def strategy(draw: Any) -> Req:
        kind = draw(
            st.sampled_from(
                [
                    "as_is_other_vote",
                    "relabelled_same_shape",
                    "relabelled_other_shape",
                    "other_meeting_as_is",
                    "other_meeting_resigned",
                    "m2_ballot_into_m1",
                    "spoiled_other_meeting",
                    "spoiled_relabelled",
                    "share_other_vote",
                ]
            )
        )
        logged = [(label, b) for label, b in world.logged.items() if label.startswith("m1/v3/")]
        if draw(st.booleans()):
            label, ballot = draw(st.sampled_from(logged))
            deputy = m1.deputies[int(label[-1])]
            entry = copy.deepcopy(ballot.entry)
        else:
            base = draw(bases(world, ("v3",)))
            entry, deputy = base.entry, base.deputy
        if kind == "as_is_other_vote":
            vote_id = draw(st.sampled_from(["v1", "v2", "v4", "v5", V6, V7]))
            return Req("POST", BALLOTS.format("m1", vote_id), body=entry, expect=MALFORMED, variant=kind)
        if kind == "relabelled_same_shape":
            entry["vote_id"] = V6
            return Req(
                "POST",
                BALLOTS.format("m1", V6),
                body=resign(entry, deputy.key),
                expect=INVALID_PROOF,
                variant=kind,
            )
        if kind == "relabelled_other_shape":
            vote_id = draw(st.sampled_from(["v1", "v2", "v4", "v5", V7]))
            entry["vote_id"] = vote_id
            return Req(
                "POST",
                BALLOTS.format("m1", vote_id),
                body=resign(entry, deputy.key),
                expect=MALFORMED,
                variant=kind,
            )
        if kind == "other_meeting_as_is":
            return Req("POST", BALLOTS.format("m2", "v3"), body=entry, expect=INVALID_PROOF, variant=kind)
        if kind == "other_meeting_resigned":
            other = draw(st.sampled_from(m2.deputies))
            entry["credential"] = other.credential
            return Req(
                "POST",
                BALLOTS.format("m2", "v3"),
                body=resign(entry, other.key),
                expect=INVALID_PROOF,
                variant=kind,
            )
        if kind == "m2_ballot_into_m1":
            entry = copy.deepcopy(world.logged["m2/v3/d0"].entry)
            if draw(st.booleans()):
                deputy = draw(st.sampled_from(world.eligible))
                entry["credential"] = deputy.credential
                entry = resign(entry, deputy.key)
            return Req("POST", BALLOTS.format("m1", "v3"), body=entry, expect=INVALID_PROOF, variant=kind)
        if kind == "spoiled_other_meeting":
            return Req(
                "POST",
                SPOILED.format("m2", "v3"),
                body=copy.deepcopy(world.spoiled),
                expect=INVALID_PROOF,
                variant=kind,
            )
        if kind == "spoiled_relabelled":
            spoiled, d0 = spoiled_base(world)
            spoiled["vote_id"] = spoiled["ballot"]["vote_id"] = V6
            return Req(
                "POST",
                SPOILED.format("m1", V6),
                body=_resign_spoiled(spoiled, d0),
                expect=INVALID_PROOF,
                variant=kind,
            )
        # A trustee's share for v1 (published) relabelled for v2, or v2's posted to v1.
        if draw(st.booleans()):
            share = {**copy.deepcopy(world.share_v1), "vote_id": "v2"}
            return share_req(world, share, INVALID_SHARE, kind)
        return share_req(world, copy.deepcopy(world.share_v2), codes("vote_not_closed"), kind, vote_id="v1")

    return strategy()


def bad_signature(world: World) -> SearchStrategy[Req]:
    """Valid ballots, spoiled entries and check-ins whose signature does not verify: a flipped bit,
    zeros, random bytes, another deputy's key, another ballot's signature, no prefix, S + ℓ (the
    malleable twin), the credential swapped, or a field changed after signing."""

    @st.composite
    def ballot_signature(draw: Any, entry: dict[str, Any], deputy: Deputy) -> tuple[dict[str, Any], str]:
        kind = draw(
            st.sampled_from(
                [
                    "bit_flip",
                    "zero",
                    "random",
                    "other_deputy",
                    "other_ballot",
                    "no_prefix",
                    "s_plus_l",
                    "credential_swapped",
                    "changed_after_signing",
                ]
            )
        )
        signature = bytes.fromhex(entry["signature"])
        digest = ballot_hash(entry)
        if kind == "bit_flip":
            bit = draw(st.integers(0, 511))
            signature = bytes(b ^ (1 << (bit % 8)) if i == bit // 8 else b for i, b in enumerate(signature))
        elif kind == "zero":
            signature = bytes(64)
        elif kind == "random":
            signature = draw(st.binary(min_size=64, max_size=64))
        elif kind == "other_deputy":
            other = draw(st.sampled_from([d for d in world.m1.deputies if d is not deputy]))
            signature = other.key.sign(signature_message(digest))
        elif kind == "other_ballot":
            signature = deputy.key.sign(signature_message(bytes(32)))
        elif kind == "no_prefix":
            signature = deputy.key.sign(digest)
        elif kind == "s_plus_l":
            s = int.from_bytes(signature[32:], "little") + ORDER
            signature = signature[:32] + s.to_bytes(32, "little")
        elif kind == "credential_swapped":
            other = draw(st.sampled_from([d for d in world.eligible if d is not deputy]))
            entry = {**entry, "credential": other.credential}
        else:
            entry = copy.deepcopy(entry)
            proof = get_path(entry, draw(st.sampled_from(proof_locations(entry))))
            pair = draw(st.sampled_from(proof))
            pair[0], pair[1] = pair[1], pair[0]
        return {**entry, "signature": signature.hex()}, kind

    @st.composite
    def strategy(draw: Any) -> Req:
        target = draw(st.sampled_from(["ballot", "ballot", "spoiled", "checkin"]))
        if target == "ballot":
            base = draw(bases(world))
            entry, kind = draw(ballot_signature(base.entry, base.deputy))
            return ballot_req(base, entry, BAD_SIGNATURE, kind)
        if target == "spoiled":
            spoiled, d0 = spoiled_base(world)
            spoiled["ballot"], kind = draw(ballot_signature(spoiled["ballot"], d0))
            return Req(
                "POST",
                SPOILED.format("m1", "v3"),
                body=spoiled,
                expect=BAD_SIGNATURE,
                variant=f"spoiled/{kind}",
            )
        deputy = draw(st.sampled_from(world.m1.deputies))
        body = world.checkin_body(world.m1, deputy)
        kind = draw(st.sampled_from(["other_seat", "other_meeting", "bit_flip", "zero", "other_deputy"]))
        if kind == "other_seat":
            body["seat"] = draw(st.sampled_from([d.seat for d in world.m1.deputies if d.seat != deputy.seat]))
        elif kind == "other_meeting":
            body = world.checkin_body(world.m2, deputy, deputy.seat)  # signed over m2's Q
        elif kind == "bit_flip":
            bit = draw(st.integers(0, 511))
            raw = bytes.fromhex(body["signature"])
            body["signature"] = bytes(
                b ^ (1 << (bit % 8)) if i == bit // 8 else b for i, b in enumerate(raw)
            ).hex()
        elif kind == "zero":
            body["signature"] = "00" * 64
        else:
            other = draw(st.sampled_from([d for d in world.m1.deputies if d is not deputy]))
            body["signature"] = world.checkin_body(world.m1, other, deputy.seat)["signature"]
        return Req("POST", CHECKIN.format("m1"), body=body, expect=BAD_SIGNATURE, variant=f"checkin/{kind}")

    return strategy()


def vote_not_open(world: World) -> SearchStrategy[Req]:
    """Fresh, valid ballots (and spoiled ballots) from deputies who may vote, into votes that are
    pending, closed or published."""
    m1, m2 = world.m1, world.m2

    @st.composite
    def strategy(draw: Any) -> Req:
        meeting, vote_id, deputy = draw(
            st.one_of(
                st.tuples(
                    st.just(m1), st.sampled_from(["v4", "v5", V6, V7]), st.sampled_from(m1.deputies[:8])
                ),
                st.tuples(st.just(m1), st.sampled_from(["v1", "v2"]), st.sampled_from(m1.deputies[:6])),
                st.tuples(st.just(m2), st.sampled_from(["v1", "v4", "v5"]), st.sampled_from(m2.deputies)),
            )
        )
        definition = world.definition(meeting, vote_id)
        ballot = world.ballot(meeting, vote_id, deputy.key, draw(choices_for(definition)))
        state = {"v1": "published", "v2": "closed"}.get(vote_id, "pending") if meeting is m1 else "pending"
        if draw(st.integers(0, 3)) == 0:
            body = {k: v for k, v in ballot.spoiled_entry().items() if k != "type"}
            return Req(
                "POST",
                SPOILED.format(meeting.meeting_id, vote_id),
                body=body,
                expect=codes("vote_not_open"),
                variant=f"spoiled/{state}",
            )
        return Req(
            "POST",
            BALLOTS.format(meeting.meeting_id, vote_id),
            body=ballot.entry,
            expect=codes("vote_not_open"),
            variant=state,
        )

    return strategy()


def not_checked_in(world: World) -> SearchStrategy[Req]:
    """Fresh, valid ballots from deputies who did not check in before the vote opened: one who
    arrived after v3 opened, one who never came (into the open v3, and into a pending vote)."""

    @st.composite
    def strategy(draw: Any) -> Req:
        deputy, vote_id, variant = draw(
            st.sampled_from(
                [
                    (world.late, "v3", "arrived_after_open"),
                    (world.absent, "v3", "never_checked_in"),
                    (
                        world.absent,
                        draw(st.sampled_from(["v4", "v5", V6, V7])),
                        "never_checked_in/pending_vote",
                    ),
                ]
            )
        )
        definition = world.definition(world.m1, vote_id)
        ballot = world.ballot(world.m1, vote_id, deputy.key, draw(choices_for(definition)))
        return Req(
            "POST",
            BALLOTS.format("m1", vote_id),
            body=ballot.entry,
            expect=codes("not_checked_in"),
            variant=variant,
        )

    return strategy()


def ineligible_credential(world: World) -> SearchStrategy[Req]:
    """Fresh, valid ballots, spoiled ballots and check-ins from credentials that are not (or no
    longer) registered in the meeting: strangers, another meeting's deputies, a revoked card."""

    @st.composite
    def strategy(draw: Any) -> Req:
        who = draw(st.sampled_from(["stranger", "other_meeting", "revoked"]))
        if who == "stranger":
            key = Ed25519PrivateKey.from_private_bytes(draw(st.binary(min_size=32, max_size=32)))
            expect = codes("unknown_credential")
        elif who == "other_meeting":
            key = draw(st.sampled_from(world.m2.deputies)).key
            expect = codes("unknown_credential")
        else:
            key = world.revoked.key
            expect = codes("revoked_credential")
        what = draw(st.sampled_from(["ballot", "ballot", "spoiled", "checkin"]))
        if what == "checkin":
            seat = draw(st.sampled_from([d.seat for d in world.m1.deputies]))
            deputy = Deputy(seat, key)
            return Req(
                "POST",
                CHECKIN.format("m1"),
                body=world.checkin_body(world.m1, deputy),
                expect=expect,
                variant=f"checkin/{who}",
            )
        vote_id = draw(st.sampled_from(["v3", "v3", V7]))
        ballot = world.ballot(world.m1, vote_id, key, draw(choices_for(world.definition(world.m1, vote_id))))
        if what == "spoiled":
            body = {k: v for k, v in ballot.spoiled_entry().items() if k != "type"}
            # A spoiled ballot needs an active credential: a revoked card gets revoked_credential,
            # as its ballots do (SPEC §8.1: the credential is active, fixed at the vote's open).
            return Req(
                "POST",
                SPOILED.format("m1", vote_id),
                body=body,
                expect=expect,
                variant=f"spoiled/{who}",
            )
        return Req(
            "POST", BALLOTS.format("m1", vote_id), body=ballot.entry, expect=expect, variant=f"ballot/{who}"
        )

    return strategy()


def already_voted(world: World) -> SearchStrategy[Req]:
    """Fresh, valid second ballots in v3 (no recasts) from deputies who have voted there."""

    @st.composite
    def strategy(draw: Any) -> Req:
        i = draw(st.integers(0, 2))
        definition = world.definition(world.m1, "v3")
        ballot = world.ballot(world.m1, "v3", world.m1.deputies[i].key, draw(choices_for(definition)))
        return Req(
            "POST",
            BALLOTS.format("m1", "v3"),
            body=ballot.entry,
            expect=codes("already_voted"),
            variant="second_ballot",
        )

    return strategy()


# ------------------------------------------------------------------ schemathesis: every operation


def openapi_schema(world: World) -> SearchStrategy[Req]:
    """Requests that schemathesis generates from tally/api/openapi.json for every operation, valid
    and invalid (negative mode), with path parameters generated or pinned to real meetings, votes
    and ballot hashes so that generated bodies and queries reach the checks behind them."""
    from schemathesis import GenerationMode

    meetings = ["m1", "m2"]
    votes = ["v1", "v2", "v3", "v4", "v5", V6, V7]
    hashes = [b.hash.hex() for b in world.logged.values()]
    real = {"meeting_id": meetings, "vote_id": votes, "ballot_hash": hashes}
    strategies = []
    for operation in world.schema.get_all_operations():
        op = operation.ok()
        names = sorted(p.name for p in op.path_parameters)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategies.append(op.as_strategy(generation_mode=mode).map(lambda case: (case, False)))
            if names:
                pinned = st.fixed_dictionaries({name: st.sampled_from(real[name]) for name in names})
                # Three times as likely: real ids are what lets a generated body or query reach
                # the checks behind the lookup of the meeting and the vote.
                strategies.extend(
                    [
                        pinned.flatmap(
                            lambda params, op=op, mode=mode: op.as_strategy(
                                generation_mode=mode, path_parameters=params
                            )
                        ).map(lambda case: (case, True))
                    ]
                    * 3
                )

    def to_request(item: tuple[Any, Any]) -> Req:
        case, pinned = item
        data = world.transport.serialize_case(case)
        raw = data.get("data")
        if "json" in data:
            raw = json.dumps(data["json"]).encode()
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogatepass")
        query = data.get("query_string")
        path = data["path"]
        if query:
            from urllib.parse import urlencode

            path += "?" + urlencode(query, doseq=True) if isinstance(query, dict) else "?" + str(query)
        mode = case.meta.generation.mode.value if case.meta is not None else "?"
        return Req(
            case.method.upper(),
            path,
            raw=raw,
            content_type=data["headers"].get("Content-Type", "application/json"),
            success_ok=case.method.upper() == "GET",
            variant=f"{case.method.upper()} {case.operation.path} {mode}{' pinned' if pinned else ''}",
        )

    return st.one_of(strategies).map(to_request)


@dataclass(frozen=True)
class FuzzClass:
    name: str
    strategy: Callable[[World], SearchStrategy[Req]]
    description: str


CLASSES: dict[str, FuzzClass] = {
    c.name: c
    for c in (
        FuzzClass(
            "malformed_json",
            malformed_json,
            "not strict JSON: truncated, garbage, floats, NaN, duplicate keys, "
            "big ints, 33–20000 levels deep, invalid UTF-8, lone surrogates, trailing bytes, not an object",
        ),
        FuzzClass(
            "wrong_types",
            wrong_types,
            "a value of another JSON type, or a key deleted, added or renamed, in "
            "ballots, spoiled entries, check-ins and shares",
        ),
        FuzzClass(
            "openapi_schema",
            openapi_schema,
            "schemathesis: every operation of tally/api/openapi.json, valid and "
            "invalid parameters and bodies, ids generated or real",
        ),
        FuzzClass("oversized", oversized, "bodies of 1–2× PIAOJUE_MAX_BODY, with and without Content-Length"),
        FuzzClass(
            "non_canonical_point",
            non_canonical_point,
            "a point re-encoded: s + p, high bit, negated, not a "
            "point, upper-case or mis-sized hex (ballots, spoiled entries, shares)",
        ),
        FuzzClass(
            "identity",
            identity,
            "nonce 0 (α = identity, proofs valid), α or β replaced by the identity, the "
            "Ed25519 identity as credential with a universal signature, M = identity",
        ),
        FuzzClass(
            "scalar_out_of_range",
            scalar_out_of_range,
            "a proof scalar, opening nonce or share scalar ≥ ℓ (x + ℓ, ℓ, 2^256 − 1, random)",
        ),
        FuzzClass(
            "proof_length", proof_length, "range proofs truncated or extended, pairs of the wrong arity"
        ),
        FuzzClass(
            "copied_ciphertext",
            copied_ciphertext,
            "another credential's ciphertexts, selections, contest or "
            "whole ballot, re-signed by an eligible deputy",
        ),
        FuzzClass(
            "replay",
            replay,
            "ballots, spoiled entries and shares replayed into another vote or meeting, as "
            "they are, relabelled or re-signed",
        ),
        FuzzClass(
            "bad_signature",
            bad_signature,
            "ballot, spoiled and check-in signatures: flipped, zero, random, "
            "another key or ballot, no prefix, S + ℓ, credential swapped, field changed after signing",
        ),
        FuzzClass(
            "vote_not_open",
            vote_not_open,
            "valid ballots and spoiled ballots into pending, closed and published votes",
        ),
        FuzzClass(
            "not_checked_in",
            not_checked_in,
            "valid ballots from a deputy who arrived after the open and one who never checked in",
        ),
        FuzzClass(
            "ineligible_credential",
            ineligible_credential,
            "valid ballots, spoiled ballots and check-ins from "
            "strangers, another meeting's deputies and a revoked card",
        ),
        FuzzClass("already_voted", already_voted, "valid second ballots where recasts are not allowed"),
    )
}
