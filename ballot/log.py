"""The meeting log as a Merkle tree, and signed tree heads (SPEC §7; RFC 9162 §2.1).

Pure Python, no web imports. Everything an auditor recomputes about the log is here:

* hashing: :func:`leaf_hash` and :func:`node_hash` (RFC 9162 §2.1.1);
* the tree head :func:`merkle_root` (MTH, RFC 9162 §2.1.1);
* inclusion proofs: :func:`inclusion_proof` (RFC 9162 §2.1.3.1) and :func:`verify_inclusion`
  (RFC 9162 §2.1.3.2);
* consistency proofs: :func:`consistency_proof` (RFC 9162 §2.1.4.1) and :func:`verify_consistency`
  (RFC 9162 §2.1.4.2);
* :class:`MerkleTree`, the incremental tree a server keeps per meeting;
* signed tree heads (SPEC §7): :func:`sth_message`, :func:`sign_sth`, :func:`parse_sth`,
  :func:`verify_sth`;
* :func:`parse_hash_list` for the JSON hash lists of §8 receipts and §11 proof responses.

Every verifier returns ``None`` on success and raises :class:`~ballot.errors.LogError` naming the
check that failed; it never returns a boolean.

Where SPEC and RFC 9162 are silent (decisions documented here):

* A consistency proof from the empty tree (``first == 0``) is the empty list; it verifies iff
  ``first_root`` is the empty-tree hash ``SHA-256("")``. For ``first == second`` the proof is empty
  and the two roots must be equal. RFC 9162 only defines ``0 < first < second``.
* ``tree_size`` and ``timestamp`` in an STH are JSON integers in ``[0, 2^53)`` (SPEC §1 documents
  only hold integers with ``|n| < 2^53``), so they also fit ``u64be``.

Long: RFC 9162's tree, its two proofs and the tree heads are one family, read beside the RFC.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ballot.errors import LogError
from ballot.hashing import MAX_SAFE_INTEGER

HASH_BYTES = 32
"""Size of every tree hash (SHA-256)."""

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""MTH of the empty tree: SHA-256 of the empty string (RFC 9162 §2.1.1)."""

STH_PREFIX = b"piaojue/1/sth"
"""Domain prefix of the signed tree head message (SPEC §7)."""

STH_KEYS = frozenset({"tree_size", "root", "timestamp", "signature"})

_HEX64 = re.compile(r"[0-9a-f]{64}")
_HEX128 = re.compile(r"[0-9a-f]{128}")


# --------------------------------------------------------------------------------------------
# Hashing (SPEC §7, RFC 9162 §2.1.1)


def leaf_hash(data: bytes) -> bytes:
    """``SHA-256(0x00 ‖ d)``: the hash of leaf data ``d`` (SPEC §7, RFC 9162 §2.1.1).

    For the meeting log, ``d`` is the canonical JSON of the entry (SPEC §1, §7).
    """
    if not isinstance(data, (bytes, bytearray)):
        raise LogError(f"leaf data must be bytes, got {type(data).__name__}")
    return hashlib.sha256(b"\x00" + bytes(data)).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 ‖ left ‖ right)``: an interior node (SPEC §7, RFC 9162 §2.1.1)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _largest_power_of_two_below(n: int) -> int:
    """The largest power of two ``k`` with ``k < n`` (``n ≥ 2``), the split point of RFC 9162 §2.1.1."""
    return 1 << ((n - 1).bit_length() - 1)


def _check_hash(value: object, what: str) -> bytes:
    if not isinstance(value, (bytes, bytearray)) or len(value) != HASH_BYTES:
        raise LogError(f"{what} must be {HASH_BYTES} bytes")
    return bytes(value)


def _check_size(value: object, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise LogError(f"{what} must be a non-negative integer, got {value!r}")
    return value


def _check_leaf_hashes(leaf_hashes: Sequence[bytes]) -> None:
    for i, h in enumerate(leaf_hashes):
        _check_hash(h, f"leaf hash {i}")


# --------------------------------------------------------------------------------------------
# Reference (from-scratch) algorithms over a list of leaf hashes


def _mth(leaf_hashes: Sequence[bytes], start: int, end: int) -> bytes:
    """MTH of ``D[start:end]`` (RFC 9162 §2.1.1), recursively; O(end − start) hashes."""
    n = end - start
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaf_hashes[start]
    k = _largest_power_of_two_below(n)
    return node_hash(_mth(leaf_hashes, start, start + k), _mth(leaf_hashes, start + k, end))


def merkle_root(leaf_hashes: Sequence[bytes]) -> bytes:
    """The Merkle Tree Hash of a list of leaf hashes (SPEC §7, RFC 9162 §2.1.1).

    The empty tree's root is ``SHA-256("")``. Leaves are given as their leaf hashes
    (:func:`leaf_hash`), so the one-leaf tree's root is that leaf hash.
    """
    _check_leaf_hashes(leaf_hashes)
    return _mth(leaf_hashes, 0, len(leaf_hashes))


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int, tree_size: int) -> list[bytes]:
    """The audit path ``PATH(m, D[n])`` for leaf ``m = index`` in the tree of the first
    ``n = tree_size`` leaves (SPEC §7, RFC 9162 §2.1.3.1). Ordered from the leaf up.

    This is the from-scratch reference algorithm, O(n) hashes; a server uses
    :meth:`MerkleTree.inclusion_proof`.
    """
    _check_size(index, "leaf index")
    _check_size(tree_size, "tree size")
    if tree_size > len(leaf_hashes):
        raise LogError(f"tree size {tree_size} exceeds the {len(leaf_hashes)} leaves given")
    if index >= tree_size:
        raise LogError(f"leaf index {index} is not below tree size {tree_size}")
    _check_leaf_hashes(leaf_hashes[:tree_size])
    path: list[bytes] = []
    start, end, m = 0, tree_size, index
    while end - start > 1:
        k = _largest_power_of_two_below(end - start)
        if m < k:
            path.append(_mth(leaf_hashes, start + k, end))
            end = start + k
        else:
            path.append(_mth(leaf_hashes, start, start + k))
            start, m = start + k, m - k
    path.reverse()  # PATH appends the sibling after the deeper sub-path
    return path


def consistency_proof(leaf_hashes: Sequence[bytes], first: int, second: int) -> list[bytes]:
    """``PROOF(m, D[n])`` between tree sizes ``m = first`` and ``n = second`` (SPEC §7,
    RFC 9162 §2.1.4.1). Empty when ``first`` is 0 or equals ``second``.

    This is the from-scratch reference algorithm; a server uses
    :meth:`MerkleTree.consistency_proof`.
    """
    _check_size(first, "first tree size")
    _check_size(second, "second tree size")
    if second > len(leaf_hashes):
        raise LogError(f"tree size {second} exceeds the {len(leaf_hashes)} leaves given")
    if first > second:
        raise LogError(f"first tree size {first} exceeds second tree size {second}")
    _check_leaf_hashes(leaf_hashes[:second])
    if first == 0 or first == second:
        return []
    return _subproof(lambda a, b: _mth(leaf_hashes, a, b), first, second)


def _subproof(range_hash: Callable[[int, int], bytes], first: int, second: int) -> list[bytes]:
    """``SUBPROOF(m, D[n], true)`` of RFC 9162 §2.1.4.1, iteratively, for ``0 < m < n``.

    ``range_hash(a, b)`` is the MTH of ``D[a:b]``.
    """
    proof: list[bytes] = []
    start, end, m, whole = 0, second, first, True
    while True:
        size = end - start
        if m == size:
            if not whole:
                proof.append(range_hash(start, end))
            break
        k = _largest_power_of_two_below(size)
        if m <= k:
            proof.append(range_hash(start + k, end))
            end = start + k
        else:
            proof.append(range_hash(start, start + k))
            start, m, whole = start + k, m - k, False
    proof.reverse()
    return proof


# --------------------------------------------------------------------------------------------
# Verification (RFC 9162 §2.1.3.2 and §2.1.4.2)


def root_from_inclusion_proof(leaf_hash: bytes, index: int, tree_size: int, proof: Sequence[bytes]) -> bytes:
    """The root that an inclusion proof implies, by RFC 9162 §2.1.3.2 steps 1–4 and the ``sn = 0``
    check of step 5. Raises :class:`LogError` if the proof has the wrong shape."""
    leaf = _check_hash(leaf_hash, "leaf hash")
    _check_size(index, "leaf index")
    _check_size(tree_size, "tree size")
    if not isinstance(proof, (list, tuple)):
        raise LogError("inclusion proof must be a list of hashes")
    path = [_check_hash(p, f"inclusion proof[{i}]") for i, p in enumerate(proof)]
    # Step 1.
    if index >= tree_size:
        raise LogError(f"leaf index {index} is not below tree size {tree_size}")
    # Steps 2–3.
    fn, sn, r = index, tree_size - 1, leaf
    # Step 4.
    for p in path:
        if sn == 0:
            raise LogError("inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    # Step 5 (first half).
    if sn != 0:
        raise LogError("inclusion proof is shorter than the tree is deep")
    return r


def verify_inclusion(
    leaf_hash: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf_hash`` is leaf ``index`` of the tree of size ``tree_size`` with root
    ``root`` (SPEC §7, RFC 9162 §2.1.3.2). Returns ``None``; raises :class:`LogError`."""
    expected = _check_hash(root, "root")
    got = root_from_inclusion_proof(leaf_hash, index, tree_size, proof)
    if got != expected:
        raise LogError(f"inclusion proof for leaf {index} does not lead to the root of tree size {tree_size}")


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the tree of size ``first`` with root ``first_root`` is a prefix of the tree of
    size ``second`` with root ``second_root`` (SPEC §7, RFC 9162 §2.1.4.2).

    RFC 9162 covers ``0 < first < second``; for ``first == second`` the proof must be empty and
    the roots equal, and for ``first == 0`` the proof must be empty and ``first_root`` must be the
    empty-tree hash. Returns ``None``; raises :class:`LogError`.
    """
    _check_size(first, "first tree size")
    _check_size(second, "second tree size")
    root1 = _check_hash(first_root, "first root")
    root2 = _check_hash(second_root, "second root")
    if not isinstance(proof, (list, tuple)):
        raise LogError("consistency proof must be a list of hashes")
    path = [_check_hash(p, f"consistency proof[{i}]") for i, p in enumerate(proof)]
    if first > second:
        raise LogError(f"first tree size {first} exceeds second tree size {second}")
    if first == second:
        if path:
            raise LogError("consistency proof between equal tree sizes must be empty")
        if root1 != root2:
            raise LogError(f"roots differ for the same tree size {first}")
        return
    if first == 0:
        if path:
            raise LogError("consistency proof from the empty tree must be empty")
        if root1 != EMPTY_ROOT:
            raise LogError("first root is not the empty-tree hash for tree size 0")
        return
    # Step 1.
    if not path:
        raise LogError(f"consistency proof from {first} to {second} is empty")
    # Step 2.
    if first & (first - 1) == 0:
        path = [root1, *path]
    # Step 3.
    fn, sn = first - 1, second - 1
    # Step 4.
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # Step 5.
    fr = sr = path[0]
    # Step 6.
    for c in path[1:]:
        if sn == 0:
            raise LogError("consistency proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    # Step 7.
    if sn != 0:
        raise LogError("consistency proof is shorter than the tree is deep")
    if fr != root1:
        raise LogError(f"consistency proof does not lead to the root of tree size {first}")
    if sr != root2:
        raise LogError(f"consistency proof does not lead to the root of tree size {second}")


# --------------------------------------------------------------------------------------------
# The incremental tree


class MerkleTree:
    """An append-only RFC 9162 Merkle tree that answers roots and proofs for any past size
    (SPEC §7). A server keeps one per meeting.

    It stores, for each level ``h``, the hashes of all *complete* subtrees of ``2^h`` leaves:
    ``levels[h][i]`` is the MTH of leaves ``[i·2^h, (i+1)·2^h)``. ``levels[0]`` are the leaf
    hashes. These never change once written, because the log is append-only. So:

    * :meth:`append` adds one hash per completed level: O(1) amortised, O(log n) worst case;
    * the MTH of any range that RFC 9162's recursion visits is at most ``log n`` cached
      complete subtrees combined, so :meth:`root` is O(log n) and each proof O(log² n) in the
      worst case;
    * memory is about ``2n`` hashes (64 bytes per entry).

    Not thread-safe: the owner serialises appends (the log is one writer anyway).
    """

    __slots__ = ("_levels",)

    def __init__(self) -> None:
        self._levels: list[list[bytes]] = [[]]

    @classmethod
    def from_leaf_hashes(cls, leaf_hashes: Iterable[bytes]) -> MerkleTree:
        """A tree holding the given leaf hashes, in order."""
        tree = cls()
        tree.extend(leaf_hashes)
        return tree

    # -- building

    def append(self, leaf_hash: bytes) -> int:
        """Append one leaf hash; return its index."""
        h = _check_hash(leaf_hash, "leaf hash")
        levels = self._levels
        index = len(levels[0])
        levels[0].append(h)
        level = 0
        # A new complete subtree at level+1 closes whenever this level's length becomes even.
        while len(levels[level]) % 2 == 0:
            row = levels[level]
            parent = node_hash(row[-2], row[-1])
            level += 1
            if level == len(levels):
                levels.append([])
            levels[level].append(parent)
        return index

    def append_data(self, data: bytes) -> int:
        """Append leaf data ``d`` (the canonical JSON of a log entry); return its index."""
        return self.append(leaf_hash(data))

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        """Append several leaf hashes, in order."""
        for h in leaf_hashes:
            self.append(h)

    # -- reading

    @property
    def size(self) -> int:
        """The number of leaves."""
        return len(self._levels[0])

    def __len__(self) -> int:
        return len(self._levels[0])

    def leaf_hash(self, index: int) -> bytes:
        """The leaf hash at ``index``."""
        _check_size(index, "leaf index")
        if index >= self.size:
            raise LogError(f"leaf index {index} is not below tree size {self.size}")
        return self._levels[0][index]

    def leaf_hashes(self, start: int = 0, end: int | None = None) -> list[bytes]:
        """A copy of the leaf hashes ``[start, end)``."""
        return self._levels[0][start:end]

    def _size_arg(self, size: int | None, what: str = "tree size") -> int:
        if size is None:
            return self.size
        _check_size(size, what)
        if size > self.size:
            raise LogError(f"{what} {size} exceeds the current tree size {self.size}")
        return size

    def _range_hash(self, start: int, end: int) -> bytes:
        """MTH of ``D[start:end]`` from the cache.

        Valid for the ranges RFC 9162's recursion produces: ``start`` is a multiple of a power
        of two at least ``end − start``. Then the range is a complete subtree, or splits into a
        complete left subtree (cached) and a smaller range of the same kind.
        """
        n = end - start
        if n == 0:
            return EMPTY_ROOT
        # Collect the complete subtrees left to right, then fold from the right.
        parts: list[bytes] = []
        while n & (n - 1):  # not a power of two
            k = _largest_power_of_two_below(n)
            level = k.bit_length() - 1
            parts.append(self._levels[level][start >> level])
            start += k
            n -= k
        level = n.bit_length() - 1
        acc = self._levels[level][start >> level]
        for left in reversed(parts):
            acc = node_hash(left, acc)
        return acc

    def root(self, size: int | None = None) -> bytes:
        """The MTH of the first ``size`` leaves (default: all), O(log n) (RFC 9162 §2.1.1)."""
        n = self._size_arg(size)
        return self._range_hash(0, n)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """``PATH(index, D[size])`` (RFC 9162 §2.1.3.1), default size: the current tree."""
        n = self._size_arg(size)
        _check_size(index, "leaf index")
        if index >= n:
            raise LogError(f"leaf index {index} is not below tree size {n}")
        path: list[bytes] = []
        start, end, m = 0, n, index
        while end - start > 1:
            k = _largest_power_of_two_below(end - start)
            if m < k:
                path.append(self._range_hash(start + k, end))
                end = start + k
            else:
                path.append(self._range_hash(start, start + k))
                start, m = start + k, m - k
        path.reverse()
        return path

    def consistency_proof(self, first: int, second: int | None = None) -> list[bytes]:
        """``PROOF(first, D[second])`` (RFC 9162 §2.1.4.1), default second: the current tree.
        Empty when ``first`` is 0 or equals ``second``."""
        n = self._size_arg(second, "second tree size")
        _check_size(first, "first tree size")
        if first > n:
            raise LogError(f"first tree size {first} exceeds second tree size {n}")
        if first == 0 or first == n:
            return []
        return _subproof(self._range_hash, first, n)


def tree_from_leaf_hashes(leaf_hashes: Iterable[bytes]) -> MerkleTree:
    """Build a :class:`MerkleTree` from leaf hashes (e.g. when a server reloads a log)."""
    return MerkleTree.from_leaf_hashes(leaf_hashes)


# --------------------------------------------------------------------------------------------
# Signed tree heads (SPEC §7)


@dataclass(frozen=True)
class SignedTreeHead:
    """A parsed STH (SPEC §7): sizes as ints, root and signature as bytes."""

    tree_size: int
    root: bytes
    timestamp: int
    signature: bytes

    def to_json(self) -> dict[str, Any]:
        return {
            "tree_size": self.tree_size,
            "root": self.root.hex(),
            "timestamp": self.timestamp,
            "signature": self.signature.hex(),
        }

    def message(self) -> bytes:
        return sth_message(self.tree_size, self.timestamp, self.root)


def _check_json_uint(value: object, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise LogError(f"must be an integer, got {type(value).__name__}", where=what)
    if not 0 <= value < MAX_SAFE_INTEGER:
        raise LogError(f"must be in [0, 2^53), got {value}", where=what)
    return value


def sth_message(tree_size: int, timestamp_ms: int, root: bytes) -> bytes:
    """The signed bytes ``"piaojue/1/sth" ‖ u64be(tree_size) ‖ u64be(timestamp) ‖ root``
    (SPEC §7)."""
    _check_json_uint(tree_size, "tree_size")
    _check_json_uint(timestamp_ms, "timestamp")
    r = _check_hash(root, "root")
    return STH_PREFIX + tree_size.to_bytes(8, "big") + timestamp_ms.to_bytes(8, "big") + r


def sign_sth(
    private_key: Ed25519PrivateKey, tree_size: int, root: bytes, timestamp_ms: int
) -> dict[str, Any]:
    """Sign a tree head with the log key (SPEC §7). Returns the JSON STH
    ``{"tree_size", "root", "timestamp", "signature"}`` with hex root and signature."""
    if not isinstance(private_key, Ed25519PrivateKey):
        raise LogError("the log key must be an Ed25519 private key")
    message = sth_message(tree_size, timestamp_ms, root)
    signature = private_key.sign(message)
    return SignedTreeHead(tree_size, bytes(root), timestamp_ms, signature).to_json()


def parse_sth(sth: object, *, where: str = "sth") -> SignedTreeHead:
    """Check the shape of a JSON STH strictly (SPEC §7) and parse it; the signature is not checked.

    Exactly the keys ``tree_size``, ``root``, ``timestamp``, ``signature``; integers in
    ``[0, 2^53)``; root 64 and signature 128 lowercase hex characters.
    """
    if not isinstance(sth, dict):
        raise LogError("a signed tree head must be a JSON object", where=where)
    keys = set(sth)
    if keys != STH_KEYS:
        missing = sorted(STH_KEYS - keys)
        extra = sorted(str(k) for k in keys - STH_KEYS)
        raise LogError(f"wrong keys (missing {missing}, unexpected {extra})", where=where)
    tree_size = _check_json_uint(sth["tree_size"], f"{where}.tree_size")
    timestamp = _check_json_uint(sth["timestamp"], f"{where}.timestamp")
    root = sth["root"]
    if not isinstance(root, str) or _HEX64.fullmatch(root) is None:
        raise LogError("must be 64 lowercase hex characters", where=f"{where}.root")
    signature = sth["signature"]
    if not isinstance(signature, str) or _HEX128.fullmatch(signature) is None:
        raise LogError("must be 128 lowercase hex characters", where=f"{where}.signature")
    return SignedTreeHead(tree_size, bytes.fromhex(root), timestamp, bytes.fromhex(signature))


def load_log_public_key(log_public_key: object, *, where: str = "log_key") -> Ed25519PublicKey:
    """An Ed25519 public key from its 32 raw bytes (SPEC §6.3 ``log_key``); raises :class:`LogError`."""
    if not isinstance(log_public_key, (bytes, bytearray)) or len(log_public_key) != 32:
        raise LogError("the log public key must be 32 bytes", where=where)
    try:
        return Ed25519PublicKey.from_public_bytes(bytes(log_public_key))
    except ValueError as exc:  # pragma: no cover - cryptography accepts any 32 bytes here
        raise LogError(f"not an Ed25519 public key: {exc}", where=where) from None


def verify_sth(sth: dict[str, Any], log_public_key: bytes) -> None:
    """Check a JSON STH's shape (:func:`parse_sth`) and its Ed25519 signature under the log key
    over :func:`sth_message` (SPEC §7). Returns ``None``; raises :class:`LogError`."""
    parsed = parse_sth(sth)
    key = load_log_public_key(log_public_key)
    try:
        key.verify(parsed.signature, parsed.message())
    except InvalidSignature:
        raise LogError("signature does not verify under the log key", where="sth.signature") from None


# --------------------------------------------------------------------------------------------
# JSON hash lists (SPEC §8 receipts, §11 proof responses)


def parse_hash_list(value: object, where: str) -> list[bytes]:
    """Read a JSON list of 64-character lowercase hex hashes into bytes (SPEC §1, §8, §11).
    Raises :class:`LogError` naming the bad element."""
    if not isinstance(value, list):
        raise LogError("must be a list of hashes", where=where)
    out: list[bytes] = []
    for i, item in enumerate(value):
        if not isinstance(item, str) or _HEX64.fullmatch(item) is None:
            raise LogError("must be 64 lowercase hex characters", where=f"{where}[{i}]")
        out.append(bytes.fromhex(item))
    return out


def hash_list_to_json(hashes: Sequence[bytes]) -> list[str]:
    """The JSON form of a list of hashes: lowercase hex strings (SPEC §1)."""
    return [_check_hash(h, f"hash {i}").hex() for i, h in enumerate(hashes)]
