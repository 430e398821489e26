"""Generate the shared JS/Python vectors ``tests/vectors/js_*.json`` (docs/kiosk-crypto.md).

Every value is computed by the Python core (``ballot/``, ``keys/``) from fixed inputs, with no
randomness, so the files are reproducible. ``tests/test_js_crypto.py`` checks them twice: Python
rebuilds them with :func:`build` and compares them with the files (so they never go stale), and
the node script ``tests/js/check_vectors.mjs`` recomputes every value with the
kiosk's JS modules.

    .venv/bin/python tests/vectors/make_js_vectors.py          # rewrite the files
    .venv/bin/python tests/vectors/make_js_vectors.py --check  # exit 1 if they are stale
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from ballot import templates
from ballot.ballot import format_tracker, parse_tracker, tracker_code
from ballot.elgamal import encrypt
from ballot.errors import EncodingError, PiaojueError
from ballot.group import GENERATOR, IDENTITY, ORDER, Point, Scalar
from ballot.hashing import canonical_json, h256, hq
from keys.credentials import (
    card_qr_payload,
    check_meeting_id,
    derive_private_key,
    derive_seed,
    normalize_code,
    parse_card_qr,
    public_key_hex,
    sign_checkin,
)
from piaojue_tools.demo_data import projects

VECTORS = Path(__file__).resolve().parent


def _scalar(label: str) -> Scalar:
    """A fixed scalar derived from a label (reproducible, uniform-looking)."""
    return Scalar.reduce(int.from_bytes(hashlib.sha512(label.encode()).digest(), "little"))


def _point(label: str) -> Point:
    return Point.base_mul(_scalar(label))


def _sha256(label: str) -> bytes:
    return hashlib.sha256(label.encode()).digest()


def _error(fn: Any, *args: Any) -> str:
    try:
        fn(*args)
    except PiaojueError as exc:
        return str(exc)
    raise AssertionError(f"{fn.__name__}{args!r} did not raise")


# ------------------------------------------------------------------------------ canonical JSON

ALL_CONTROLS = "".join(chr(i) for i in range(0x20))


def canonical_vectors() -> dict[str, Any]:
    vote = templates.selection("v3", "2027年民生实事项目票决", projects(4), 2)
    documents: list[tuple[str, Any]] = [
        ("scalars", [None, True, False, 0, -1, 1, 2**53 - 1, -(2**53 - 1), "", []]),
        ("empty containers", {"a": {}, "b": [], "c": [{}], "d": [[[]]]}),
        (
            "cjk and emoji",
            {"title": "2027年民生实事项目票决", "emoji": "👍🏽🇨🇳", "mixed": "背街小巷 back-street ①②③"},
        ),
        ("all control characters", {"s": ALL_CONTROLS}),
        ("short escapes", ['"', "\\", "\b", "\f", "\n", "\r", "\t", "/", "\\u0041", "'"]),
        ("delete and c1 controls", ["\x7f", "\x80", "\x85", "\x9f", "\xa0", "\xad"]),
        ("line and paragraph separators", {"ls": "a\u2028b", "ps": "a\u2029b", "\u2028": "key"}),
        ("bom, zero width, private use", ["\ufeff", "\u200b\u200d", "\ue000", "\uffff", "\U0010ffff"]),
        ("html-sensitive", "</script><!-- & \u003c -->"),
        ("no normalisation", ["é", "e\u0301", "Å", "Å", "ﬁ", "Ａ"]),
        (
            "key ordering by code point",
            {
                "b": 1,
                "a": 2,
                "B": 3,
                "A": 4,
                "aa": 5,
                "a\u0000": 6,
                "": 7,
                "é": 8,
                "e": 9,
                "z": 10,
                "\uff01": 11,
                "😀": 12,
                "\ue000": 13,
                "\U00020000": 14,
                "\ud7ff": 15,
                "\uffff": 16,
                "中": 17,
                "丁": 18,
                "10": 19,
                "9": 20,
                "_": 21,
                "~": 22,
            },
        ),
        (
            "non-ascii keys nested",
            {"选项": [{"标签": "赞成", "id": "yes"}, {"id": "no", "标签": "反对"}], "ß": {"ss": 1}},
        ),
        ("deep nesting", {"a": [{"b": [{"c": [{"d": ["e", {"f": None}]}]}]}]}),
        ("vote entry", vote),
    ]
    rejected: list[tuple[str, str]] = [
        ("float", '{"a": 1.5}'),
        ("float in list", "[0.1]"),
        ("exponent", "[1e300]"),
        ("2^53", "[9007199254740992]"),
        ("-2^53", "[-9007199254740992]"),
        ("huge integer", "[100000000000000000000]"),
        ("lone high surrogate", '["\\ud800"]'),
        ("lone low surrogate key", '{"\\udc00": 1}'),
    ]
    rejected_out = []
    for name, text in rejected:
        try:
            canonical_json(json.loads(text))
        except (EncodingError, UnicodeEncodeError):
            rejected_out.append({"name": name, "json": text})
        else:  # pragma: no cover - the generator itself checks its expectations
            raise AssertionError(f"canonical_json accepted {name}")
    return {
        "description": "canonical JSON (SPEC §1): canonical = json.dumps(document, sort_keys=True, "
        'separators=(",", ":"), ensure_ascii=False); h256 = H256("piaojue/1/test", canonical UTF-8). '
        "'rejected' documents (given as JSON text) must be refused.",
        "documents": [
            {
                "name": name,
                "document": doc,
                "canonical": canonical_json(doc).decode("utf-8"),
                "h256": h256("piaojue/1/test", canonical_json(doc)).hex(),
            }
            for name, doc in documents
        ],
        "rejected": rejected_out,
    }


# --------------------------------------------------------------------------- hashes and group


def _input_json(x: Any) -> dict[str, Any]:
    if isinstance(x, Point):
        return {"point": x.hex()}
    if isinstance(x, Scalar):
        return {"scalar": x.hex()}
    if isinstance(x, bytes):
        return {"bytes": x.hex()}
    if isinstance(x, str):
        return {"text": x}
    if isinstance(x, int):
        return {"int": str(x)}
    raise TypeError(type(x))


def hash_vectors() -> dict[str, Any]:
    cases: list[tuple[str, list[Any]]] = [
        ("piaojue/1/test", []),
        ("piaojue/1/test", [b""]),
        ("piaojue/1/test", [""]),
        ("piaojue/1/test", [0, 1, 2**53 - 1, 2**64 - 1]),
        ("piaojue/1/test", ["2027年民生实事项目票决", "👍", "a\u2028b"]),
        ("piaojue/1/test", [bytes(range(32)), bytes(range(256))]),
        (
            "piaojue/1/range",
            [_sha256("ctx"), _point("K"), _point("alpha"), _point("beta"), 0, 1, GENERATOR, IDENTITY],
        ),
        ("piaojue/1/pok", ["2027-rd-3", 1, 0, _point("A"), _point("h")]),
        ("piaojue/1/test", [Scalar(0), Scalar(ORDER - 1), _scalar("s")]),
        ("piaojue/1/context", [_sha256("Q"), _sha256("Hv"), _sha256("credential")]),
    ]
    scalars = [
        ("0" * 64, True),
        (Scalar(1).hex(), True),
        (Scalar(ORDER - 1).hex(), True),
        (ORDER.to_bytes(32, "little").hex(), False),
        ((ORDER + 1).to_bytes(32, "little").hex(), False),
        ("ff" * 32, False),
        (_scalar("upper").hex().upper(), False),
        ("00" * 31, False),
    ]
    base_mul = [(_scalar(f"k{i}"), None) for i in range(6)] + [(Scalar(ORDER - 1), None), (Scalar(1), None)]
    adds = [(_point("P"), _point("Q")), (_point("P"), IDENTITY), (_point("P"), -_point("P"))]
    elgamal = []
    for i, m in enumerate([0, 1, 7, 20]):
        key = _point("joint key")
        ct, r = encrypt(m, key, _scalar(f"nonce {i}"))
        elgamal.append(
            {"m": m, "r": r.hex(), "public_key": key.hex(), "alpha": ct.alpha.hex(), "beta": ct.beta.hex()}
        )
    return {
        "description": "H256/Hq (SPEC §1) of typed inputs (int as a decimal string, encoded as u64be); "
        "scalar decoding (valid iff 64 lowercase hex with value < ℓ); s·G; P + Q; ElGamal with fixed nonces (SPEC §2)",
        "hashes": [
            {
                "tag": tag,
                "inputs": [_input_json(x) for x in inputs],
                "h256": h256(tag, *inputs).hex(),
                "hq": hq(tag, *inputs).hex(),
            }
            for tag, inputs in cases
        ],
        "scalars": [{"hex": text, "valid": valid} for text, valid in scalars],
        "base_mul": [{"scalar": s.hex(), "point": Point.base_mul(s).hex()} for s, _ in base_mul],
        "add": [
            {"p": p.hex(), "q": q.hex(), "sum": (p + q).hex(), "difference": (p - q).hex()} for p, q in adds
        ],
        "elgamal": elgamal,
    }


# ------------------------------------------------------------------------------- credentials


def credential_vectors() -> dict[str, Any]:
    derivations = [
        ("ABCDEFGHIJKLMNOPQRST", "2027-rd-3", "A001"),
        ("abcde-fghij-klmno-pqrst", "2027-rd-3", "甲-12"),
        ("ＡＢＣＤＥ　２３４５６－ＦＧＨＩＪ　７ＫＬＭＮ", "m1", "B-07"),
        ("zzzzz 77777 aaaaa 22222", "市人大:2027:第3次", "主席台 1"),
        ("QRSTU-VWXYZ-23456-7ABCD", "m" * 128, "x"),
    ]
    derivation_out = []
    for i, (code, meeting_id, seat) in enumerate(derivations):
        key = derive_private_key(code, meeting_id)
        q = _sha256(f"meeting entry {i}")
        derivation_out.append(
            {
                "input": code,
                "meeting_id": meeting_id,
                "code": normalize_code(code),
                "seed": derive_seed(code, meeting_id).hex(),
                "public_key": public_key_hex(key),
                "meeting_hash": q.hex(),
                "seat": seat,
                "checkin_signature": sign_checkin(key, q, seat),
                "qr_payload": card_qr_payload(meeting_id, code),
            }
        )
    normalize_ok = [
        "abcdefghijklmnopqrst",
        "  ABCDE-FGHIJ-KLMNO-PQRST \n",
        "ABCDE\u00a0FGHIJ\u3000KLMNO\u2014PQRST",
        "ABCDE\u2010FGHIJ\u2011KLMNO\u2212PQRST",
        "ABCDE_FGHIJ\ufe63KLMNO\uff0dPQRST",
        "ａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔ",
        "\tABCDEFGHIJ\r\nKLMNOPQRST",
    ]
    normalize_errors = [
        "ABCDEFGHIJKLMNOPQRS0",
        "1BCDEFGHIJKLMNOPQRS8",
        "9BCDEFGHIJKLMNOPQRST",
        "0189ABCDEFGHIJKLMNOP",
        "ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳ０",
        "ABCDEFGHIJKLMNOPQRS!",
        "ABCDEFGHIJKLMNOPQRSß",
        "ABCDEFGHIJ'KLMNOPQRS\"\\é中\u200b\x00",
        "ABCDEFGHIJ'KLMNOPQRS",
        "ABCDEFGHIJKLMNOPQRS😀",
        "ABCDEFGHIJKLMNOPQRS",
        "ABCDEFGHIJKLMNOPQRSTU",
        "",
        "-- --",
    ]
    meeting_id_errors = ["", "a b", "a\tb", "a\u200bb", "a\u3000b", "m" * 129, "x\x00", "it's a", "\ufeffm"]
    qr_payloads = [
        "PJ1:2027-rd-3:ABCDE23456FGHIJ7KLMN",
        "  PJ1:2027-rd-3:abcde23456fghij7klmn\n",
        "\u3000PJ1:a:b:c:ABCDE23456FGHIJ7KLMN\u2029",
        "PJ1:市人大:ABCDE-23456-FGHIJ-7KLMN",
        "\ufeffPJ1:2027-rd-3:ABCDE23456FGHIJ7KLMN",
        "pj1:2027-rd-3:ABCDE23456FGHIJ7KLMN",
        "PJ1:ABCDE23456FGHIJ7KLMN",
        "PJ1::ABCDE23456FGHIJ7KLMN",
        "PJ1:m 1:ABCDE23456FGHIJ7KLMN",
        "PJ1:2027-rd-3:ABCDE23456FGHIJ7KLM0",
        "PJ1:2027-rd-3:",
    ]
    qr_out = []
    for payload in qr_payloads:
        try:
            meeting_id, code = parse_card_qr(payload)
        except PiaojueError as exc:
            qr_out.append({"payload": payload, "error": str(exc)})
        else:
            qr_out.append({"payload": payload, "meeting_id": meeting_id, "code": code})
    return {
        "description": "credential codes, HKDF seeds, public keys and check-in signatures (SPEC §4.2, §11); "
        "normalize_code / check_meeting_id / parse_card_qr results and exact error messages (keys/credentials.py)",
        "derivations": derivation_out,
        "normalize_ok": [{"input": text, "code": normalize_code(text)} for text in normalize_ok],
        "normalize_errors": [
            {"input": text, "error": _error(normalize_code, text)} for text in normalize_errors
        ],
        "meeting_id_ok": ["2027-rd-3", "市人大:2027", "m" * 128, "😀" * 128],
        "meeting_id_errors": [
            {"meeting_id": m, "error": _error(check_meeting_id, m)} for m in meeting_id_errors
        ],
        "card_qr": qr_out,
    }


# ---------------------------------------------------------------------------------- trackers


def tracker_vectors() -> dict[str, Any]:
    hashes = [bytes(32), b"\xff" * 32, bytes(range(32))] + [_sha256(f"ballot {i}") for i in range(5)]
    parse_inputs = [
        "abcd-efgh-ijkl-mnop",
        " ABCD EFGH IJKL MNOP ",
        "ABCDEFGHIJKLMNOP",
        "ABCD-EFGH-IJKL-MNO1",
        "ABCD",
        "",
    ]
    parse_out = []
    for text in parse_inputs:
        try:
            parse_out.append({"input": text, "code": parse_tracker(text)})
        except PiaojueError as exc:
            parse_out.append({"input": text, "error": str(exc)})
    return {
        "description": "tracker = RFC 4648 base32 of the first 10 bytes of ballot_hash, displayed XXXX-XXXX-XXXX-XXXX (SPEC §4.3)",
        "trackers": [
            {"ballot_hash": h.hex(), "code": tracker_code(h), "display": format_tracker(tracker_code(h))}
            for h in hashes
        ],
        "parse": parse_out,
    }


def build() -> dict[str, Any]:
    """Every vector file's content, by file name."""
    return {
        "js_canonical_json.json": canonical_vectors(),
        "js_hashes.json": hash_vectors(),
        "js_credentials.json": credential_vectors(),
        "js_trackers.json": tracker_vectors(),
    }


def dump(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=1) + "\n"


def main(argv: list[str]) -> int:
    stale = []
    for name, data in build().items():
        path = VECTORS / name
        text = dump(data)
        if "--check" in argv:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.write_text(text, encoding="utf-8")
    if stale:
        print(f"stale vectors: {', '.join(stale)} (run tests/vectors/make_js_vectors.py)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
