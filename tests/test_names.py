"""Write-in names (protocol §12.3, ballot/names.py): normalisation, validity, and the encoding as two
points — Hypothesis properties of the round trip and of the rejection of non-encodings."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from ballot.errors import ChoiceError, EncodingError
from ballot.group import IDENTITY, Point, Scalar
from ballot.names import (
    CHUNK_BYTES,
    MAX_NAME_BYTES,
    check_name,
    chunk_to_point,
    decode_name,
    encode_name,
    is_valid_name,
    normalise,
    payload,
)

# Any Unicode scalar value (no lone surrogates), short enough for the 59-byte payload.
texts = st.text(st.characters(exclude_categories=("Cs",)), max_size=59).filter(
    lambda s: len(s.encode("utf-8")) <= MAX_NAME_BYTES
)
chinese = st.text(st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF), min_size=1, max_size=19)


@given(texts)
def test_round_trip(text: str) -> None:
    points = encode_name(text)
    assert decode_name(points) == text
    # each point is a canonical encoding whose middle 30 bytes are the payload's chunk
    data = payload(text)
    for j, point in enumerate(points):
        assert Point.from_bytes(point.to_bytes()) == point
        assert point.to_bytes()[1:31] == data[CHUNK_BYTES * j : CHUNK_BYTES * (j + 1)]


@given(chinese)
def test_up_to_19_chinese_characters_fit(name: str) -> None:
    assert is_valid_name(name)
    assert decode_name(encode_name(name)) == name


def test_long_names() -> None:
    assert decode_name(encode_name("买买提江·阿不都热合曼")) == "买买提江·阿不都热合曼"
    nineteen = "中" * 19
    assert len(nineteen.encode()) == 57 and is_valid_name(nineteen)
    with pytest.raises(EncodingError):
        encode_name("中" * 20)
    with pytest.raises(ChoiceError):
        check_name("中" * 20)


def test_blank_is_the_identity_twice() -> None:
    assert encode_name("") == (IDENTITY, IDENTITY)
    assert decode_name((IDENTITY, IDENTITY)) == ""


def _points_for(data: bytes) -> tuple[Point, Point]:
    """Two points carrying exactly these 60 payload bytes (valid or not)."""
    return chunk_to_point(data[:CHUNK_BYTES]), chunk_to_point(data[CHUNK_BYTES:])


@given(st.integers(MAX_NAME_BYTES + 1, 255), st.binary(min_size=59, max_size=59))
def test_a_length_byte_over_59_is_rejected(length: int, rest: bytes) -> None:
    with pytest.raises(EncodingError):
        decode_name(_points_for(bytes([length]) + rest))


@given(texts, st.integers(0, 58), st.integers(1, 255))
def test_non_zero_padding_is_rejected(text: str, position: int, byte: int) -> None:
    data = bytearray(payload(text))
    length = data[0]
    assume(1 + length + position < len(data))
    data[1 + length + position] = byte
    with pytest.raises(EncodingError):
        decode_name(_points_for(bytes(data)))


@pytest.mark.parametrize(
    "body",
    [b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xe4\xb8", b"\xf4\x90\x80\x80", b"a\x80b"],
    ids=["ff", "overlong", "surrogate", "truncated", "above-10ffff", "continuation"],
)
def test_ill_formed_utf8_is_rejected(body: bytes) -> None:
    data = bytes([len(body)]) + body + bytes(MAX_NAME_BYTES - len(body))
    with pytest.raises(EncodingError):
        decode_name(_points_for(data))


@given(st.integers(1, 2**252))
def test_arbitrary_points_decode_only_as_encodings(k: int) -> None:
    """Any pair of group elements either is rejected with EncodingError, or decodes to a string
    whose payload is exactly what the points carry (so re-encoding it gives the same bytes)."""
    point = Point.base_mul(Scalar.reduce(k))
    for pair in ((point, IDENTITY), (IDENTITY, point), (point, point)):
        try:
            text = decode_name(pair)
        except EncodingError:
            continue
        data = payload(text)
        assert pair[0].to_bytes()[1:31] + pair[1].to_bytes()[1:31] == data
        assert pair[0].to_bytes()[31] <= 1 and pair[1].to_bytes()[31] <= 1


def test_a_random_point_is_almost_never_a_name() -> None:
    rejected = 0
    for k in range(1, 41):
        try:
            decode_name((Point.base_mul(Scalar.reduce(k)), IDENTITY))
        except EncodingError:
            rejected += 1
    assert rejected >= 35  # the last byte is 0 or 1 for about 1 point in 64


# ---------------------------------------------------------------- normalisation and validity


@given(st.text(st.characters(exclude_categories=("Cs",)), max_size=30))
def test_normalise_is_idempotent(text: str) -> None:
    once = normalise(text)
    assert normalise(once) == once


@pytest.mark.parametrize(
    "typed, name",
    [
        ("  王小明 ", "王小明"),
        ("\u3000王小明\u3000", "王小明"),
        ("Li   Ming", "Li Ming"),
        ("阿依古丽\u00a0·  买买提", "阿依古丽 · 买买提"),
        ("e\u0301", "\u00e9"),
    ],
)
def test_norm(typed: str, name: str) -> None:
    assert normalise(typed) == name
    assert check_name(typed) == name


@pytest.mark.parametrize("typed", ["", "   ", "\u3000", "王\u0000明", "王\x85明x\u0007"])
def test_check_name_refuses(typed: str) -> None:
    with pytest.raises(ChoiceError):
        check_name(typed)


def test_validity() -> None:
    assert is_valid_name("王小明")
    assert not is_valid_name(" 王小明")
    assert not is_valid_name("e\u0301")  # not NFC
    assert not is_valid_name("")
    assert not is_valid_name("a\u0085b")
