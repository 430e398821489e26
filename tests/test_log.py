"""The SPEC §7 Merkle log (RFC 9162 §2.1) and signed tree heads."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ballot.errors import LogError, PiaojueError
from ballot.log import (
    EMPTY_ROOT,
    MerkleTree,
    consistency_proof,
    hash_list_to_json,
    inclusion_proof,
    leaf_hash,
    merkle_root,
    node_hash,
    parse_hash_list,
    parse_sth,
    sign_sth,
    sth_message,
    tree_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
    verify_sth,
)

VECTORS = json.loads((Path(__file__).parent / "vectors" / "rfc9162_merkle.json").read_text())
LEAVES = [bytes.fromhex(x) for x in VECTORS["leaves"]]
LEAF_HASHES = [leaf_hash(d) for d in LEAVES]
ROOTS = [bytes.fromhex(x) for x in VECTORS["roots"]["by_size"]]
SOME_HASH = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")


def hx(items: list[str]) -> list[bytes]:
    return [bytes.fromhex(x) for x in items]


def leaves_for(n: int) -> list[bytes]:
    """Distinct leaf hashes (distinct data), so no two leaves collide."""
    return [leaf_hash(b"entry %d" % i) for i in range(n)]


def public_bytes(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def flip(data: bytes, bit: int) -> bytes:
    b = bytearray(data)
    b[bit // 8] ^= 1 << (bit % 8)
    return bytes(b)


# Vectors ------------------------------------------------------------------------------------------


def test_vectors_cite_source() -> None:
    assert "transparency-dev/merkle" in VECTORS["source"]
    assert len(ROOTS) == 9


def test_hashing_primitives() -> None:
    assert leaf_hash(b"") == hashlib.sha256(b"\x00").digest()
    assert node_hash(b"a" * 32, b"b" * 32) == hashlib.sha256(b"\x01" + b"a" * 32 + b"b" * 32).digest()
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_vector_leaf_and_node_hashes() -> None:
    assert [h.hex() for h in LEAF_HASHES] == VECTORS["leaf_hashes"]
    tree = MerkleTree.from_leaf_hashes(LEAF_HASHES)
    for level, row in enumerate(VECTORS["node_hashes"]["levels"]):
        width = 1 << level
        for i, expected in enumerate(row):
            assert merkle_root(LEAF_HASHES[i * width : (i + 1) * width]).hex() == expected
            assert tree._range_hash(i * width, (i + 1) * width).hex() == expected


@pytest.mark.parametrize("n", range(9))
def test_vector_roots(n: int) -> None:
    assert merkle_root(LEAF_HASHES[:n]) == ROOTS[n]
    tree = MerkleTree.from_leaf_hashes(LEAF_HASHES)
    assert tree.root(n) == ROOTS[n]
    assert MerkleTree.from_leaf_hashes(LEAF_HASHES[:n]).root() == ROOTS[n]


def test_vector_roots_incremental() -> None:
    tree = MerkleTree()
    assert tree.root() == EMPTY_ROOT
    for i, h in enumerate(LEAF_HASHES):
        assert tree.append(h) == i
        assert tree.root() == ROOTS[i + 1]
        for j in range(i + 2):
            assert tree.root(j) == ROOTS[j]


@pytest.mark.parametrize("v", VECTORS["inclusion"], ids=lambda v: f"{v['leaf_index']}-{v['tree_size']}")
def test_vector_inclusion(v: dict[str, Any]) -> None:
    index, size, path = v["leaf_index"], v["tree_size"], hx(v["path"])
    assert inclusion_proof(LEAF_HASHES, index, size) == path
    assert MerkleTree.from_leaf_hashes(LEAF_HASHES).inclusion_proof(index, size) == path
    verify_inclusion(LEAF_HASHES[index], index, size, path, ROOTS[size])
    _inclusion_probes_fail(index, size, path, ROOTS[size], LEAF_HASHES[index])


@pytest.mark.parametrize("v", VECTORS["consistency"], ids=lambda v: f"{v['first']}-{v['second']}")
def test_vector_consistency(v: dict[str, Any]) -> None:
    m, n, proof = v["first"], v["second"], hx(v["proof"])
    assert consistency_proof(LEAF_HASHES, m, n) == proof
    assert MerkleTree.from_leaf_hashes(LEAF_HASHES).consistency_proof(m, n) == proof
    verify_consistency(m, n, ROOTS[m], ROOTS[n], proof)
    if proof:
        _consistency_probes_fail(m, n, ROOTS[m], ROOTS[n], proof)


def _inclusion_probes_fail(index: int, size: int, proof: list[bytes], root: bytes, leaf: bytes) -> None:
    """The corruption probes of transparency-dev/merkle proof/verify_test.go."""
    probes: list[tuple[int, int, bytes, bytes, list[bytes]]] = [
        (index + 1, size, root, leaf, proof),
        (index ^ 2, size, root, leaf, proof),
        (index, size * 2, root, leaf, proof),
        (index, size, root, leaf_hash(b"WrongLeaf"), proof),
        (index, size, EMPTY_ROOT, leaf, proof),
        (index, size, SOME_HASH, leaf, proof),
        (index, size, root, leaf, [*proof, root]),
        (index, size, root, leaf, [root, *proof]),
    ]
    if index > 0:
        probes.append((index - 1, size, root, leaf, proof))
    if size > 1:
        probes.append((index, size // 2, root, leaf, proof))
    if proof:
        probes.append((index, size, root, leaf, proof[:-1]))
    if len(proof) > 1:
        probes.append((index, size, root, leaf, [proof[0], SOME_HASH, *proof[1:]]))
    for i in range(len(proof)):
        wrong = list(proof)
        wrong[i] = flip(wrong[i], 3)
        probes.append((index, size, root, leaf, wrong))
    for p_index, p_size, p_root, p_leaf, p_proof in probes:
        with pytest.raises(LogError):
            verify_inclusion(p_leaf, p_index, p_size, p_proof, p_root)


def _consistency_probes_fail(m: int, n: int, root1: bytes, root2: bytes, proof: list[bytes]) -> None:
    probes: list[tuple[int, int, bytes, bytes, list[bytes]]] = [
        (m - 1, n, root1, root2, proof),
        (m + 1, n, root1, root2, proof),
        (m ^ 2, n, root1, root2, proof),
        (m, n * 2, root1, root2, proof),
        (m, n // 2, root1, root2, proof),
        (m, n, SOME_HASH, root2, proof),
        (m, n, root1, SOME_HASH, proof),
        (m, n, root2, root1, proof),
        (m, n, root1, root2, []),
        (m, n, root1, root2, [*proof, root1]),
        (m, n, root1, root2, [*proof, root2]),
        (m, n, root1, root2, [root1, *proof]),
        (m, n, root1, root2, [root2, *proof]),
        (m, n, root1, root2, [proof[0], *proof]),
        (m, n, root1, root2, proof[:-1]),
    ]
    for i in range(len(proof)):
        wrong = list(proof)
        wrong[i] = flip(wrong[i], 4)
        probes.append((m, n, root1, root2, wrong))
    for p_m, p_n, p_r1, p_r2, p_proof in probes:
        if p_m == m and p_n == n and p_r1 == root1 and p_r2 == root2 and p_proof == proof:
            continue
        with pytest.raises(LogError):
            verify_consistency(p_m, p_n, p_r1, p_r2, p_proof)


# Edge cases ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("index", "size"), [(0, 0), (1, 0), (1, 1), (2, 1)])
def test_inclusion_index_out_of_range(index: int, size: int) -> None:
    for root in (EMPTY_ROOT, SOME_HASH):
        with pytest.raises(LogError):
            verify_inclusion(SOME_HASH, index, size, [], root)


def test_inclusion_single_leaf() -> None:
    h = leaf_hash(b"data")
    verify_inclusion(h, 0, 1, [], h)
    with pytest.raises(LogError):
        verify_inclusion(h, 0, 1, [], SOME_HASH)
    with pytest.raises(LogError):
        verify_inclusion(b"", 0, 1, [], h)
    with pytest.raises(LogError):
        verify_inclusion(h, 0, 1, [], b"")


@pytest.mark.parametrize(
    "bad",
    [
        {"leaf_hash": b"short"},
        {"root": b"x" * 33},
        {"proof": [b"x" * 31]},
        {"proof": "not a list"},
        {"index": -1},
        {"index": True},
        {"tree_size": -1},
        {"tree_size": 1.0},
    ],
)
def test_inclusion_rejects_malformed_arguments(bad: dict[str, Any]) -> None:
    path = hx(VECTORS["inclusion"][1]["path"])
    args: dict[str, Any] = {"leaf_hash": LEAF_HASHES[0], "index": 0, "tree_size": 8, "proof": path, "root": ROOTS[8]}
    verify_inclusion(**args)
    args.update(bad)
    with pytest.raises(LogError):
        verify_inclusion(**args)


def test_consistency_trivial_cases() -> None:
    verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    verify_consistency(0, 5, EMPTY_ROOT, ROOTS[5], [])
    verify_consistency(1, 1, ROOTS[1], ROOTS[1], [])
    verify_consistency(8, 8, ROOTS[8], ROOTS[8], [])
    with pytest.raises(LogError):  # roots differ at the same size
        verify_consistency(1, 1, ROOTS[1], ROOTS[2], [])
    with pytest.raises(LogError):  # same size, non-empty proof
        verify_consistency(1, 1, ROOTS[1], ROOTS[1], [EMPTY_ROOT])
    with pytest.raises(LogError):  # from 0, non-empty proof
        verify_consistency(0, 1, EMPTY_ROOT, ROOTS[1], [EMPTY_ROOT])
    with pytest.raises(LogError):  # from 0, first root is not the empty tree's
        verify_consistency(0, 1, SOME_HASH, ROOTS[1], [])
    with pytest.raises(LogError):  # time travel
        verify_consistency(2, 1, ROOTS[2], ROOTS[1], [])
    with pytest.raises(LogError):  # empty proof for a real extension
        verify_consistency(1, 2, ROOTS[1], ROOTS[2], [])
    with pytest.raises(LogError):
        verify_consistency(1, 2, b"short", ROOTS[2], [LEAF_HASHES[1]])
    verify_consistency(1, 2, ROOTS[1], ROOTS[2], [LEAF_HASHES[1]])


def test_proof_generators_reject_bad_sizes() -> None:
    tree = MerkleTree.from_leaf_hashes(LEAF_HASHES)
    with pytest.raises(LogError):
        inclusion_proof(LEAF_HASHES, 8, 8)
    with pytest.raises(LogError):
        inclusion_proof(LEAF_HASHES, 0, 9)
    with pytest.raises(LogError):
        tree.inclusion_proof(3, 3)
    with pytest.raises(LogError):
        tree.inclusion_proof(0, 9)
    with pytest.raises(LogError):
        consistency_proof(LEAF_HASHES, 5, 4)
    with pytest.raises(LogError):
        tree.consistency_proof(5, 4)
    with pytest.raises(LogError):
        tree.consistency_proof(1, 9)
    with pytest.raises(LogError):
        tree.root(9)
    with pytest.raises(LogError):
        tree.root(-1)
    with pytest.raises(LogError):
        tree.append(b"short")
    with pytest.raises(LogError):
        tree.leaf_hash(8)
    with pytest.raises(LogError):
        merkle_root([b"short"])
    assert tree.leaf_hash(7) == LEAF_HASHES[7]
    assert tree.consistency_proof(0, 8) == []
    assert tree.consistency_proof(8) == []
    assert consistency_proof(LEAF_HASHES, 0, 8) == []


def test_append_data_and_builder() -> None:
    tree = MerkleTree()
    for d in LEAVES:
        tree.append_data(d)
    assert tree.root() == ROOTS[8]
    assert len(tree) == tree.size == 8
    assert tree_from_leaf_hashes(LEAF_HASHES).root() == ROOTS[8]
    assert tree.leaf_hashes() == LEAF_HASHES


# Properties ---------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=1, max_value=200), st.data())
def test_inclusion_property(n: int, data: st.DataObject) -> None:
    hashes = leaves_for(n)
    tree = MerkleTree.from_leaf_hashes(hashes)
    size = data.draw(st.integers(min_value=1, max_value=n), label="size")
    index = data.draw(st.integers(min_value=0, max_value=size - 1), label="index")
    root = tree.root(size)
    assert root == merkle_root(hashes[:size])
    proof = tree.inclusion_proof(index, size)
    assert proof == inclusion_proof(hashes, index, size)
    verify_inclusion(hashes[index], index, size, proof, root)

    # Any single-bit flip in the proof, the root, the leaf or the index fails.
    if proof:
        i = data.draw(st.integers(min_value=0, max_value=len(proof) - 1), label="element")
        bit = data.draw(st.integers(min_value=0, max_value=255), label="bit")
        wrong = list(proof)
        wrong[i] = flip(wrong[i], bit)
        with pytest.raises(LogError):
            verify_inclusion(hashes[index], index, size, wrong, root)
    bit = data.draw(st.integers(min_value=0, max_value=255), label="root bit")
    with pytest.raises(LogError):
        verify_inclusion(hashes[index], index, size, proof, flip(root, bit))
    with pytest.raises(LogError):
        verify_inclusion(flip(hashes[index], bit), index, size, proof, root)
    ibit = data.draw(st.integers(min_value=0, max_value=63), label="index bit")
    with pytest.raises(LogError):
        verify_inclusion(hashes[index], index ^ (1 << ibit), size, proof, root)


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=1, max_value=200), st.data())
def test_consistency_property(n: int, data: st.DataObject) -> None:
    hashes = leaves_for(n)
    tree = MerkleTree.from_leaf_hashes(hashes)
    second = data.draw(st.integers(min_value=1, max_value=n), label="second")
    first = data.draw(st.integers(min_value=1, max_value=second), label="first")
    proof = tree.consistency_proof(first, second)
    assert proof == consistency_proof(hashes, first, second)
    root1, root2 = tree.root(first), tree.root(second)
    verify_consistency(first, second, root1, root2, proof)

    bit = data.draw(st.integers(min_value=0, max_value=255), label="bit")
    if first < second:
        i = data.draw(st.integers(min_value=0, max_value=len(proof) - 1), label="element")
        wrong = list(proof)
        wrong[i] = flip(wrong[i], bit)
        with pytest.raises(LogError):
            verify_consistency(first, second, root1, root2, wrong)
    with pytest.raises(LogError):
        verify_consistency(first, second, flip(root1, bit), root2, proof)
    with pytest.raises(LogError):
        verify_consistency(first, second, root1, flip(root2, bit), proof)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.binary(max_size=40), max_size=150))
def test_incremental_equals_from_scratch(datas: list[bytes]) -> None:
    hashes = [leaf_hash(d) for d in datas]
    tree = MerkleTree()
    for i, h in enumerate(hashes):
        tree.append(h)
        if i % 7 == 0:
            assert tree.root() == merkle_root(hashes[: i + 1])
    assert tree.root() == merkle_root(hashes)
    for size in range(len(hashes) + 1):
        assert tree.root(size) == merkle_root(hashes[:size])


@settings(max_examples=20, deadline=None)
@given(st.integers(min_value=2, max_value=120), st.data())
def test_every_past_size_consistent_with_every_later(n: int, data: st.DataObject) -> None:
    hashes = leaves_for(n)
    tree = MerkleTree.from_leaf_hashes(hashes)
    second = data.draw(st.integers(min_value=1, max_value=n))
    for first in range(second + 1):
        proof = tree.consistency_proof(first, second)
        verify_consistency(first, second, tree.root(first), tree.root(second), proof)


def test_every_proof_up_to_64() -> None:
    hashes = leaves_for(64)
    tree = MerkleTree.from_leaf_hashes(hashes)
    for size in range(1, 65):
        root = tree.root(size)
        for index in range(size):
            verify_inclusion(hashes[index], index, size, tree.inclusion_proof(index, size), root)
        for first in range(1, size + 1):
            verify_consistency(first, size, tree.root(first), root, tree.consistency_proof(first, size))


def test_large_tree_is_fast() -> None:
    hashes = leaves_for(100_000)
    start = time.perf_counter()
    tree = MerkleTree.from_leaf_hashes(hashes)
    built = time.perf_counter() - start
    start = time.perf_counter()
    for size in (1, 2, 3, 65_537, 99_999, 100_000):
        root = tree.root(size)
        for index in (0, size // 2, size - 1):
            verify_inclusion(hashes[index], index, size, tree.inclusion_proof(index, size), root)
        first = size // 3 or 1
        verify_consistency(first, size, tree.root(first), root, tree.consistency_proof(first, size))
    queried = time.perf_counter() - start
    assert tree.root(77_777) == merkle_root(hashes[:77_777])
    assert built < 5.0
    assert queried < 1.0


# Signed tree heads -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def log_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(bytes(range(32)))


def test_sth_message_layout() -> None:
    msg = sth_message(8, 1_700_000_000_123, ROOTS[8])
    ts = (1_700_000_000_123).to_bytes(8, "big")
    assert msg == b"piaojue/1/sth" + (8).to_bytes(8, "big") + ts + ROOTS[8]
    with pytest.raises(LogError):
        sth_message(-1, 0, ROOTS[8])
    with pytest.raises(LogError):
        sth_message(1, 0, b"short")


def test_sign_and_verify_sth(log_key: Ed25519PrivateKey) -> None:
    sth = sign_sth(log_key, 8, ROOTS[8], 1_700_000_000_123)
    assert set(sth) == {"tree_size", "root", "timestamp", "signature"}
    assert sth["root"] == ROOTS[8].hex()
    assert sth["tree_size"] == 8 and sth["timestamp"] == 1_700_000_000_123
    verify_sth(sth, public_bytes(log_key))
    public = log_key.public_key()
    public.verify(bytes.fromhex(sth["signature"]), sth_message(8, 1_700_000_000_123, ROOTS[8]))
    parsed = parse_sth(sth)
    assert parsed.root == ROOTS[8] and parsed.to_json() == sth


@pytest.mark.parametrize(
    "tamper",
    [
        lambda s: s.update(tree_size=s["tree_size"] + 1),
        lambda s: s.update(timestamp=s["timestamp"] + 1),
        lambda s: s.update(root=ROOTS[7].hex()),
        lambda s: s.update(signature=("0" if s["signature"][0] != "0" else "1") + s["signature"][1:]),
        lambda s: s.update(signature="00" * 64),
    ],
)
def test_sth_tamper_fails(log_key: Ed25519PrivateKey, tamper: Any) -> None:
    sth = sign_sth(log_key, 8, ROOTS[8], 1_700_000_000_123)
    tamper(sth)
    with pytest.raises(LogError):
        verify_sth(sth, public_bytes(log_key))


def test_sth_wrong_key(log_key: Ed25519PrivateKey) -> None:
    sth = sign_sth(log_key, 8, ROOTS[8], 1)
    other = Ed25519PrivateKey.from_private_bytes(bytes(32))
    with pytest.raises(LogError) as info:
        verify_sth(sth, public_bytes(other))
    assert info.value.where == "sth.signature"
    for bad_key in (b"", b"x" * 31, "00" * 32):
        with pytest.raises(LogError):
            verify_sth(sth, bad_key)  # type: ignore[arg-type]  # a wrong type on purpose (it must be refused)


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda s: s.pop("timestamp"), "sth"),
        (lambda s: s.update(extra=1), "sth"),
        (lambda s: s.update(tree_size="8"), "sth.tree_size"),
        (lambda s: s.update(tree_size=True), "sth.tree_size"),
        (lambda s: s.update(tree_size=-1), "sth.tree_size"),
        (lambda s: s.update(tree_size=2**53), "sth.tree_size"),
        (lambda s: s.update(tree_size=8.0), "sth.tree_size"),
        (lambda s: s.update(timestamp=None), "sth.timestamp"),
        (lambda s: s.update(root=s["root"].upper()), "sth.root"),
        (lambda s: s.update(root=s["root"][:-2]), "sth.root"),
        (lambda s: s.update(root=bytes.fromhex(s["root"])), "sth.root"),
        (lambda s: s.update(signature=s["signature"].upper()), "sth.signature"),
        (lambda s: s.update(signature=s["signature"] + "00"), "sth.signature"),
    ],
)
def test_sth_shape_strict(log_key: Ed25519PrivateKey, change: Any, where: str) -> None:
    sth = sign_sth(log_key, 8, ROOTS[8], 1_700_000_000_123)
    change(sth)
    with pytest.raises(LogError) as info:
        verify_sth(sth, public_bytes(log_key))
    assert info.value.where == where


def test_sth_not_a_dict(log_key: Ed25519PrivateKey) -> None:
    with pytest.raises(LogError):
        verify_sth([], public_bytes(log_key))  # type: ignore[arg-type]  # a wrong type on purpose (it must be refused)


def test_sign_sth_rejects_bad_input(log_key: Ed25519PrivateKey) -> None:
    with pytest.raises(LogError):
        sign_sth(log_key, 2**53, ROOTS[8], 0)
    with pytest.raises(LogError):
        sign_sth(log_key, 1, b"short", 0)
    with pytest.raises(LogError):
        sign_sth("not a key", 1, ROOTS[1], 0)  # type: ignore[arg-type]  # a wrong type on purpose (it must be refused)


@settings(max_examples=30, deadline=None)
@given(
    st.integers(0, 2**53 - 1),
    st.integers(0, 2**53 - 1),
    st.binary(min_size=32, max_size=32),
    st.integers(0, 8 * (13 + 16 + 32) - 1),
)
def test_sth_any_bit_flip_in_message_fails(size: int, ts: int, root: bytes, bit: int) -> None:
    key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    sth = sign_sth(key, size, root, ts)
    verify_sth(sth, public_bytes(key))
    msg = flip(sth_message(size, ts, root), bit)
    assume(msg[:13] == b"piaojue/1/sth")
    t_size = int.from_bytes(msg[13:21], "big")
    t_ts = int.from_bytes(msg[21:29], "big")
    assume(t_size < 2**53 and t_ts < 2**53)
    forged = dict(sth, tree_size=t_size, timestamp=t_ts, root=msg[29:].hex())
    with pytest.raises(LogError):
        verify_sth(forged, public_bytes(key))


# Hash lists ----------------------------------------------------------------------------------------


def test_parse_hash_list() -> None:
    hexes = hash_list_to_json(LEAF_HASHES)
    assert parse_hash_list(hexes, "inclusion") == LEAF_HASHES
    assert parse_hash_list([], "inclusion") == []
    for bad, where in [
        ("abc", "inclusion"),
        (None, "inclusion"),
        ([hexes[0].upper()], "inclusion[0]"),
        ([hexes[0], hexes[1][:-1]], "inclusion[1]"),
        ([hexes[0], 5], "inclusion[1]"),
        ([hexes[0] + "00"], "inclusion[0]"),
    ]:
        with pytest.raises(LogError) as info:
            parse_hash_list(bad, "inclusion")
        assert info.value.where == where
        assert isinstance(info.value, PiaojueError)
