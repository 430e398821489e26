"""docs/protocol.md against the code: the page cannot drift from the reference silently.

* Every ``piaojue/1/…`` tag or prefix used in ``ballot/``, ``keys/`` and the kiosk's JS crypto
  appears in docs/protocol.md, and every one the page names is used by the code.
* The page has the section headings §1–§13 that the code cites, and every ``SPEC §n`` citation
  in the code names one of them.
* Every worked vector (a fenced JSON block after ``<!-- vector: NAME -->``) recomputes with the
  reference code.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ballot.ballot import format_tracker, parse_tracker, tracker_code
from ballot.elgamal import Ciphertext
from ballot.errors import EncodingError, LogError, ProofError
from ballot.group import GENERATOR, IDENTITY, ORDER, Point, Scalar
from ballot.hashing import canonical_json, encode_input, frame, h256, hq, parse_json, u64be
from ballot.log import (
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    merkle_root,
    sth_message,
    verify_consistency,
    verify_inclusion,
    verify_sth,
)
from ballot.proofs import verify_knowledge, verify_partial, verify_range
from ballot.rules import compute_outcome
from ballot.threshold import lagrange_coefficient
from ballot.vote import parse_vote, vote_hash
from ballot.witness import (
    cosignature_message,
    parse_cosignature,
    public_key_bytes,
    registration_message,
    sign_cosignature,
    sign_registration,
    verify_cosignature,
)
from keys.credentials import checkin_message, derive_private_key, derive_seed, public_key_hex, sign_checkin

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "protocol.md"
TAG = re.compile(r"piaojue/1/[A-Za-z0-9_-]+")
VECTOR = re.compile(r"<!-- vector: (\w+) -->\n```json\n(.*?)\n```", re.DOTALL)
EXPECTED_VECTORS = {
    "encodings", "frame", "h256", "hq", "canonical_json", "vote_hash", "credential", "tracker",
    "range_proof", "pok", "partial", "lagrange", "merkle", "sth", "outcome", "cosignature",
}


@pytest.fixture(scope="module")
def doc() -> str:
    return DOC.read_text(encoding="utf-8")


def _code_files() -> list[Path]:
    files = [*ROOT.glob("ballot/**/*.py"), *ROOT.glob("keys/**/*.py")]
    files += ROOT.glob("kiosk/static/js/crypto/*.js")
    return sorted(files)


def _vectors(doc: str) -> list[tuple[str, dict[str, Any]]]:
    return [(name, parse_json(body.encode("utf-8"))) for name, body in VECTOR.findall(doc)]


# ---------------------------------------------------------------- tags and sections


def test_every_tag_of_the_code_is_in_the_document_and_back(doc: str) -> None:
    in_code: dict[str, set[str]] = {}
    for path in _code_files():
        for tag in TAG.findall(path.read_text(encoding="utf-8")):
            in_code.setdefault(tag, set()).add(str(path.relative_to(ROOT)))
    in_doc = set(TAG.findall(doc))
    missing = {tag: sorted(paths) for tag, paths in in_code.items() if tag not in in_doc}
    assert not missing, f"tags used in the code but not specified in docs/protocol.md: {missing}"
    unused = sorted(in_doc - set(in_code))
    assert not unused, f"tags named in docs/protocol.md that no code uses: {unused}"


def test_section_headings(doc: str) -> None:
    top = re.findall(r"^## §(\d+) ", doc, re.MULTILINE)
    assert top == [str(n) for n in range(1, 14)], top
    subs = re.findall(r"^### §(\d+\.\d+) ", doc, re.MULTILINE)
    assert subs == ["4.1", "4.2", "4.3", "4.4", "6.1", "6.2", "6.3", "8.1", *(f"12.{n}" for n in range(1, 11))], subs
    heading = re.search(r"^## §12 .*$", doc, re.MULTILINE)
    assert heading is not None and "(to be specified)" not in heading.group(0)
    heading = re.search(r"^## §13 .*$", doc, re.MULTILINE)
    assert heading is not None and "(to be specified)" not in heading.group(0)
    assert re.search(r"^## Conformance$", doc, re.MULTILINE)
    assert re.search(r"^## How to read this document$", doc, re.MULTILINE)
    assert re.search(r"^## Differences from SPEC\.md$", doc, re.MULTILINE)


def test_every_section_the_code_cites_exists(doc: str) -> None:
    sections = set(re.findall(r"^#{2,3} §(\d+(?:\.\d+)?) ", doc, re.MULTILINE))
    cited: dict[str, set[str]] = {}
    pattern = re.compile(r"(?:SPEC|protocol)(?:\.md)? ?§ ?(\d+(?:\.\d+)*)")
    for folder in ("ballot", "keys", "tally", "kiosk"):
        for path in ROOT.glob(f"{folder}/**/*"):
            if path.suffix not in (".py", ".js", ".html") or "node_modules" in path.parts:
                continue
            for number in pattern.findall(path.read_text(encoding="utf-8", errors="replace")):
                cited.setdefault(number, set()).add(str(path.relative_to(ROOT)))
    unknown = {number: sorted(paths)[:3] for number, paths in cited.items() if number not in sections}
    assert not unknown, f"sections cited in the code that docs/protocol.md does not have: {unknown}"


def test_verifier_checks_are_numbered_without_gaps(doc: str) -> None:
    numbers = [int(n) for n in re.findall(r"^- \*\*V(\d+)\*\*", doc, re.MULTILINE)]
    assert numbers == list(range(1, len(numbers) + 1)), numbers
    for cited in re.findall(r"\bV(\d+)\b", doc):
        assert int(cited) <= len(numbers), f"V{cited} is cited but not defined"


# ---------------------------------------------------------------- vectors


def test_every_vector_is_present(doc: str) -> None:
    names = {name for name, _ in _vectors(doc)}
    assert names == EXPECTED_VECTORS, (names ^ EXPECTED_VECTORS)
    # a block marked as a vector that the regex failed to pair would be silently skipped
    assert len(re.findall(r"^<!-- vector:", doc, re.MULTILINE)) == len(_vectors(doc))


def _inputs(items: list[dict[str, Any]]) -> list[Any]:
    out: list[Any] = []
    for item in items:
        ((kind, value),) = item.items()
        out.append(bytes.fromhex(value) if kind == "hex" else value)
        assert kind in ("hex", "text", "int")
    return out


def check_encodings(v: dict[str, Any]) -> None:
    assert Point.from_hex(v["G"]) == GENERATOR
    assert Point.from_hex(v["identity"]) == IDENTITY
    assert (GENERATOR + GENERATOR).hex() == v["two_G"]
    assert Scalar(ORDER - 1).hex() == v["scalar_l_minus_1"]
    assert Scalar(7).hex() == v["scalar_7"]
    assert u64be(7).hex() == v["u64be_7"]
    for text in v["invalid_points"]:
        with pytest.raises(EncodingError):
            Point.from_hex(text)
    for text in v["invalid_scalars"]:
        with pytest.raises(EncodingError):
            Scalar.from_hex(text)


def check_frame(v: dict[str, Any]) -> None:
    assert frame(v["input_text"].encode("utf-8")).hex() == v["output_hex"]


def _preimage(tag: str, inputs: list[Any]) -> bytes:
    return frame(tag.encode("ascii")) + b"".join(frame(encode_input(x)) for x in inputs)


def check_h256(v: dict[str, Any]) -> None:
    inputs = _inputs(v["inputs"])
    assert _preimage(v["tag"], inputs).hex() == v["preimage_hex"]
    assert hashlib.sha256(bytes.fromhex(v["preimage_hex"])).hexdigest() == v["output_hex"]
    assert h256(v["tag"], *inputs).hex() == v["output_hex"]


def check_hq(v: dict[str, Any]) -> None:
    inputs = _inputs(v["inputs"])
    assert _preimage(v["tag"], inputs).hex() == v["preimage_hex"]
    digest = hashlib.sha512(bytes.fromhex(v["preimage_hex"])).digest()
    assert digest.hex() == v["sha512_hex"]
    assert (int.from_bytes(digest, "little") % ORDER).to_bytes(32, "little").hex() == v["output_hex"]
    assert hq(v["tag"], *inputs).hex() == v["output_hex"]


def check_canonical_json(v: dict[str, Any]) -> None:
    data = canonical_json(v["value"])
    assert data.hex() == v["canonical_hex"]
    assert canonical_json(parse_json(data)) == data


def check_vote_hash(v: dict[str, Any]) -> None:
    assert canonical_json(v["entry"]).hex() == v["canonical_hex"]
    assert vote_hash(v["entry"]).hex() == v["hash_hex"]
    assert parse_vote(v["entry"]).hash.hex() == v["hash_hex"]


def check_tracker(v: dict[str, Any]) -> None:
    digest = bytes.fromhex(v["ballot_hash_hex"])
    assert tracker_code(digest) == v["tracker_code"]
    assert format_tracker(v["tracker_code"]) == v["display"]
    assert parse_tracker(v["display"].lower()) == v["tracker_code"]


def check_credential(v: dict[str, Any]) -> None:
    assert derive_seed(v["code"], v["meeting_id"]).hex() == v["seed_hex"]
    assert derive_seed(v["printed"], v["meeting_id"]).hex() == v["seed_hex"]
    key = derive_private_key(v["code"], v["meeting_id"])
    assert public_key_hex(key) == v["public_key_hex"]
    checkin = v["checkin"]
    q = bytes.fromhex(checkin["meeting_hash_hex"])
    message = checkin_message(q, checkin["seat"])
    assert message == b"piaojue/1/checkin" + q + checkin["seat"].encode("utf-8")
    assert message.hex() == checkin["message_hex"]
    assert sign_checkin(key, q, checkin["seat"]) == checkin["signature_hex"]  # Ed25519 is deterministic


def _pairs(proof: list[list[str]]) -> list[tuple[Scalar, Scalar]]:
    return [(Scalar.from_hex(c), Scalar.from_hex(v)) for c, v in proof]


def check_range_proof(v: dict[str, Any]) -> None:
    ct = Ciphertext(Point.from_hex(v["alpha"]), Point.from_hex(v["beta"]))
    key, ctx, proof = Point.from_hex(v["public_key"]), bytes.fromhex(v["ctx_hex"]), _pairs(v["proof"])
    assert key == Point.base_mul(Scalar(7))
    verify_range(ct, proof, v["lo"], v["hi"], key, ctx)
    with pytest.raises(ProofError):
        verify_range(ct, proof, v["lo"], v["hi"], key, bytes(32))  # bound to its context


def check_pok(v: dict[str, Any]) -> None:
    verify_knowledge(Point.from_hex(v["commitment"]), _pairs([v["proof"]])[0], v["meeting_id"], v["i"], v["j"])
    with pytest.raises(ProofError):
        verify_knowledge(Point.from_hex(v["commitment"]), _pairs([v["proof"]])[0], v["meeting_id"], v["i"], v["j"] + 1)


def check_partial(v: dict[str, Any]) -> None:
    verify_partial(
        Point.from_hex(v["M"]),
        _pairs([v["proof"]])[0],
        Point.from_hex(v["K_l"]),
        Point.from_hex(v["A"]),
        bytes.fromhex(v["meeting_hash_hex"]),
        bytes.fromhex(v["vote_hash_hex"]),
        v["trustee"],
    )


def check_lagrange(v: dict[str, Any]) -> None:
    indices = v["indices"]
    got = [lagrange_coefficient(i, indices).hex() for i in indices]
    assert got == v["coefficients_hex"]
    # they interpolate a polynomial at 0: Σ λ_l·f(l) = f(0) for f(x) = 5 + 3x + 2x²
    f = [5, 3, 2]
    total = sum(int.from_bytes(bytes.fromhex(h), "little") * sum(c * i**j for j, c in enumerate(f)) for h, i in zip(got, indices))
    assert total % ORDER == 5


def check_merkle(v: dict[str, Any]) -> None:
    leaves = [leaf_hash(d.encode("utf-8")) for d in v["leaf_data"]]
    for data in v["leaf_data"]:
        assert canonical_json(parse_json(data.encode("utf-8"))) == data.encode("utf-8")
    assert [h.hex() for h in leaves] == v["leaf_hashes_hex"]
    assert [merkle_root(leaves[:n]).hex() for n in range(len(leaves) + 1)] == v["roots_hex"]
    for item in v["inclusion"]:
        index, size = item["leaf_index"], item["tree_size"]
        assert [h.hex() for h in inclusion_proof(leaves, index, size)] == item["path_hex"]
        path = [bytes.fromhex(h) for h in item["path_hex"]]
        verify_inclusion(leaves[index], index, size, path, bytes.fromhex(v["roots_hex"][size]))
    for item in v["consistency"]:
        first, second = item["first"], item["second"]
        assert [h.hex() for h in consistency_proof(leaves, first, second)] == item["proof_hex"]
        proof = [bytes.fromhex(h) for h in item["proof_hex"]]
        roots = [bytes.fromhex(h) for h in v["roots_hex"]]
        verify_consistency(first, second, roots[first], roots[second], proof)
        with pytest.raises(LogError):
            verify_consistency(first, second, roots[first - 1], roots[second], proof)


def check_sth(v: dict[str, Any]) -> None:
    key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(v["log_seed_hex"]))
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    assert public.hex() == v["log_key_hex"]
    root = bytes.fromhex(v["root_hex"])
    message = sth_message(v["tree_size"], v["timestamp"], root)
    assert len(message) == 61
    assert message == b"piaojue/1/sth" + v["tree_size"].to_bytes(8, "big") + v["timestamp"].to_bytes(8, "big") + root
    assert message.hex() == v["message_hex"]
    assert key.sign(message).hex() == v["signature_hex"]
    sth = {"tree_size": v["tree_size"], "root": v["root_hex"], "timestamp": v["timestamp"], "signature": v["signature_hex"]}
    verify_sth(sth, public)


def check_cosignature(v: dict[str, Any]) -> None:
    key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(v["witness_seed_hex"]))
    assert public_key_bytes(key).hex() == v["witness_key_hex"]
    q, root = bytes.fromhex(v["meeting_hash_hex"]), bytes.fromhex(v["root_hex"])
    message = cosignature_message(q, v["tree_size"], root, v["cosigned_at"])
    assert len(message) == 101
    assert message == (
        b"piaojue/1/cosignature" + q + v["tree_size"].to_bytes(8, "big") + root + v["cosigned_at"].to_bytes(8, "big")
    )
    assert message.hex() == v["message_hex"]
    cosignature = sign_cosignature(key, q, v["tree_size"], root, v["cosigned_at"])
    assert cosignature["signature"] == v["signature_hex"]
    verify_cosignature(parse_cosignature(cosignature), q)
    entry = sign_registration(key, q, v["witness_name"])
    assert entry["signature"] == v["registration_signature_hex"]
    assert registration_message(q, v["witness_name"]) == b"piaojue/1/witness" + q + v["witness_name"].encode()


def check_outcome(v: dict[str, Any]) -> None:
    vote = v["vote"]
    parse_vote(vote)
    counts = {(contest, option): n for contest, option, n in v["counts"]}
    outcome = compute_outcome(
        vote["rule"], vote, counts, members=v["members"], present=v["present"], counted=v["counted"], quorum=v["quorum"]
    )
    assert canonical_json(outcome) == canonical_json(v["outcome"]), v["name"]


CHECKERS = {name: globals()[f"check_{name}"] for name in EXPECTED_VECTORS}


def _vector_params() -> list[Any]:
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
    params = []
    for i, (name, vector) in enumerate(_vectors(text)):
        label = vector.get("name", "") if isinstance(vector, dict) else ""
        params.append(pytest.param(name, vector, id=f"{i:02d}-{name}" + (f"-{label}" if label else "")))
    return params


@pytest.mark.parametrize("name, vector", _vector_params())
def test_vector_recomputes(name: str, vector: dict[str, Any]) -> None:
    CHECKERS[name](vector)


def test_the_sample_canonical_text_is_the_vector(doc: str) -> None:
    """The human-readable canonical text shown below the canonical-JSON vector is that vector."""
    ((_, vector),) = [(n, v) for n, v in _vectors(doc) if n == "canonical_json"]
    shown = re.search(r"```text\n(\{\"Z\".*?)\n```", doc, re.DOTALL)
    assert shown is not None
    text = shown.group(1).replace("⟨U+2028⟩", "\u2028").replace("⟨U+007F⟩", "\x7f")
    assert text.encode("utf-8").hex() == vector["canonical_hex"]
    assert json.loads(text) == vector["value"]
