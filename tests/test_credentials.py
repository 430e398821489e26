"""Credentials (SPEC §4.2), check-in signatures (SPEC §11), card QR payloads, the card PDF, and
the ``python -m keys credentials`` command end to end."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import os
import re
import stat
import zlib
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from hypothesis import given, settings
from hypothesis import strategies as st

from keys.cards import CARDS_PER_PAGE, render_cards_pdf, write_cards_pdf
from keys.cli import cli
from keys.credentials import (
    ALPHABET,
    IssuedCredential,
    card_qr_payload,
    check_meeting_id,
    check_public_key,
    checkin_message,
    derive_private_key,
    derive_seed,
    format_code,
    issue_credentials,
    new_code,
    normalize_code,
    parse_card_qr,
    public_key_hex,
    sign_checkin,
    verify_checkin,
)
from keys.errors import CardError, CredentialError
from keys.roster import RosterEntry, read_roster

FIXTURES = Path(__file__).parent / "fixtures"
CODE = "ABCDEFGHIJKLMNOPQRST"
MEETING = "2027-rd-3"
Q = hashlib.sha256(b"a meeting entry").digest()


def manual_hkdf_sha256(ikm: bytes, salt: bytes, info: bytes, length: int) -> bytes:
    """RFC 5869 written out with hmac, independent of cryptography's HKDF."""
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        out += block
        counter += 1
    return out[:length]


def raw_seed(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())


# --- codes ---------------------------------------------------------------------------------------


def test_new_code_shape_and_randomness() -> None:
    codes = {new_code() for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        assert len(code) == 20 and set(code) <= set(ALPHABET)
    assert set("".join(codes)) == set(ALPHABET)  # 4000 draws cover all 32 symbols


@pytest.mark.parametrize(
    "text",
    [
        "ABCDEFGHIJKLMNOPQRST",
        "abcdefghijklmnopqrst",
        "ABCDE-FGHIJ-KLMNO-PQRST",
        "abcde-fghij-klmno-pqrst",
        " ABCDE FGHIJ KLMNO PQRST ",
        "AB-CD EFGHIJKLMNO--PQ RST\n",
        "ＡＢＣＤＥ－ＦＧＨＩＪ\u3000ＫＬＭＮＯ－ＰＱＲＳＴ",  # full-width IME input
    ],
)
def test_normalize_code_accepts_variants(text: str) -> None:
    assert normalize_code(text) == CODE


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("ABCD0-FGHIJ-KLMNO-PQRST", "0"),
        ("ABCDE-FGH1J-KLMNO-PQRST", "1"),
        ("ABCDE-FGHIJ-KLMN8-PQRST", "8"),
        ("ABCDE-FGHIJ-KLMNO-PQRS9", "9"),
        ("ABCDE-FGHIJ-KLMNO-PQRS", "20"),
        ("ABCDE-FGHIJ-KLMNO-PQRSTU", "20"),
        ("", "20"),
        ("ABCDE-FGHIJ-KLMNO-PQRS!", "无效字符"),
        ("ABCDE.FGHIJ.KLMNO.PQRST", "无效字符"),
        ("ABCDEFGHIJKLMNOPQRSß", "无效字符"),
        ("ABCDEFGHIJKLMNOPQRSı", "无效字符"),
    ],
)
def test_normalize_code_rejects(text: str, fragment: str) -> None:
    with pytest.raises(CredentialError) as info:
        normalize_code(text)
    assert fragment in str(info.value)


def test_normalize_code_digit_hint() -> None:
    with pytest.raises(CredentialError) as info:
        normalize_code("0BCDE-FGHIJ-KLMNO-PQRS1")
    message = str(info.value)
    assert "不会出现数字 0、1" in message and "字母 O" in message and "2–7" in message


def test_normalize_code_rejects_non_text() -> None:
    with pytest.raises(CredentialError):
        normalize_code(b"ABCDEFGHIJKLMNOPQRST")  # type: ignore[arg-type]  # a wrong type on purpose (it must be refused)


def test_format_code() -> None:
    assert format_code(CODE) == "ABCDE-FGHIJ-KLMNO-PQRST"
    assert format_code("abcde fghij klmno pqrst") == "ABCDE-FGHIJ-KLMNO-PQRST"
    assert re.fullmatch(r"[A-Z2-7]{5}(-[A-Z2-7]{5}){3}", format_code(new_code()))


@settings(max_examples=50)
@given(st.text(alphabet=ALPHABET, min_size=20, max_size=20))
def test_format_normalize_round_trip(code: str) -> None:
    assert normalize_code(format_code(code)) == code
    assert normalize_code(format_code(code).lower()) == code


# --- derivation (SPEC §4.2) ----------------------------------------------------------------------


def test_derivation_matches_manual_hkdf() -> None:
    expected = manual_hkdf_sha256(CODE.encode("ascii"), MEETING.encode("utf-8"), b"piaojue/1/credential", 32)
    assert derive_seed(CODE, MEETING) == expected
    assert raw_seed(derive_private_key(CODE, MEETING)) == expected


def test_derivation_salt_is_meeting_id_utf8() -> None:
    salt = "人大-第三次会议".encode()
    expected = manual_hkdf_sha256(CODE.encode("ascii"), salt, b"piaojue/1/credential", 32)
    assert raw_seed(derive_private_key(CODE, "人大-第三次会议")) == expected


def test_derivation_known_answer() -> None:
    """Pinned, so that the kiosk's JavaScript derivation can be cross-checked against it."""
    assert public_key_hex(derive_private_key(CODE, MEETING)) == (
        "b27c02b9bab9b46a92bec163200cd2b2da9eb86fff752abfbbeaa9546be5b5d6"
    )


def test_derivation_deterministic_and_form_independent() -> None:
    a = public_key_hex(derive_private_key(CODE, MEETING))
    assert public_key_hex(derive_private_key(CODE, MEETING)) == a
    assert public_key_hex(derive_private_key("abcde-fghij-klmno-pqrst", MEETING)) == a


def test_derivation_separates_meetings_and_codes() -> None:
    a = public_key_hex(derive_private_key(CODE, MEETING))
    assert public_key_hex(derive_private_key(CODE, MEETING + "x")) != a
    assert public_key_hex(derive_private_key("ABCDEFGHIJKLMNOPQRSS", MEETING)) != a


def test_derivation_rejects_bad_inputs() -> None:
    with pytest.raises(CredentialError):
        derive_private_key("ABCDEFGHIJKLMNOPQRS0", MEETING)
    for bad in ("", "a b", "tab\there", "x" * 129):
        with pytest.raises(CredentialError):
            derive_private_key(CODE, bad)


def test_public_key_hex() -> None:
    key = derive_private_key(CODE, MEETING)
    h = public_key_hex(key)
    assert re.fullmatch(r"[0-9a-f]{64}", h)
    assert public_key_hex(key.public_key()) == h
    with pytest.raises(CredentialError):
        public_key_hex("not a key")  # type: ignore[arg-type]  # a wrong type on purpose (it must be refused)


# --- check-in (SPEC §11) -------------------------------------------------------------------------


def test_checkin_message_layout() -> None:
    assert checkin_message(Q, "12") == b"piaojue/1/checkin" + Q + b"12"
    assert checkin_message(Q, "主席台-3") == b"piaojue/1/checkin" + Q + "主席台-3".encode()


def test_checkin_signature_verifies_with_cryptography() -> None:
    key = derive_private_key(CODE, MEETING)
    sig = sign_checkin(key, Q, "12")
    assert re.fullmatch(r"[0-9a-f]{128}", sig)
    pub = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key_hex(key)))
    pub.verify(bytes.fromhex(sig), b"piaojue/1/checkin" + Q + b"12")
    with pytest.raises(InvalidSignature):
        pub.verify(bytes.fromhex(sig), b"piaojue/1/checkin" + Q + b"13")


def test_verify_checkin() -> None:
    key = derive_private_key(CODE, MEETING)
    pub = public_key_hex(key)
    sig = sign_checkin(key, Q, "12")
    assert verify_checkin(pub, Q, "12", sig)
    assert not verify_checkin(pub, Q, "13", sig)
    assert not verify_checkin(pub, hashlib.sha256(b"other").digest(), "12", sig)
    assert not verify_checkin(public_key_hex(derive_private_key(new_code(), MEETING)), Q, "12", sig)
    assert not verify_checkin(pub, Q, "12", "zz")
    assert not verify_checkin(pub, Q, "12", sig[:-2])


def test_checkin_rejects_bad_inputs() -> None:
    key = derive_private_key(CODE, MEETING)
    with pytest.raises(CredentialError):
        sign_checkin(key, Q[:31], "12")
    with pytest.raises(CredentialError):
        sign_checkin(key, Q.hex(), "12")  # type: ignore[arg-type]  # a wrong type on purpose (it must be refused)
    with pytest.raises(CredentialError):
        sign_checkin(key, Q, "")


# --- issuing -------------------------------------------------------------------------------------


def test_issue_credentials() -> None:
    roster = read_roster(FIXTURES / "roster_ok.csv")
    issued = issue_credentials(roster, MEETING)
    assert [(c.seat, c.name, c.group) for c in issued] == [(e.seat, e.name, e.group) for e in roster]
    assert len({c.code for c in issued}) == len({c.public_key for c in issued}) == len(roster)
    for c in issued:
        assert normalize_code(c.code) == c.code
        assert public_key_hex(derive_private_key(c.code, MEETING)) == c.public_key
        assert c.code not in repr(c)
    with pytest.raises(dataclasses.FrozenInstanceError):
        issued[0].code = CODE  # type: ignore[misc]  # on purpose: a frozen dataclass must refuse it


def test_issue_credentials_rejects() -> None:
    with pytest.raises(CredentialError):
        issue_credentials([], MEETING)
    with pytest.raises(CredentialError, match="重复"):
        issue_credentials([RosterEntry("1", "甲", None, 2), RosterEntry("1", "乙", None, 3)], MEETING)
    with pytest.raises(CredentialError):
        issue_credentials([RosterEntry("", "甲", None, 2)], MEETING)
    with pytest.raises(CredentialError):
        issue_credentials([RosterEntry("1", "甲", None, 2)], "")


# --- card QR payload -----------------------------------------------------------------------------


def test_card_qr_round_trip() -> None:
    payload = card_qr_payload(MEETING, "abcde-fghij-klmno-pqrst")
    assert payload == f"PJ1:{MEETING}:{CODE}"
    assert parse_card_qr(payload) == (MEETING, CODE)
    assert parse_card_qr(f"  PJ1:a:b:c:{CODE.lower()}\n") == ("a:b:c", CODE)
    assert parse_card_qr(card_qr_payload("人大会议", CODE)) == ("人大会议", CODE)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "PJ1:",
        f"PJ1:{CODE}",
        f"PJ1::{CODE}",
        f"PJ2:{MEETING}:{CODE}",
        f"{MEETING}:{CODE}",
        f"PJ1:{MEETING}:ABC",
        f"PJ1:a b:{CODE}",
        f"PJ1:{MEETING}:{CODE[:-1]}0",
    ],
)
def test_parse_card_qr_rejects(text: str) -> None:
    with pytest.raises(CredentialError):
        parse_card_qr(text)


def test_check_meeting_id() -> None:
    assert check_meeting_id("2027-rd-3") == "2027-rd-3"
    for bad in ("", " x", "x\n", "a\u200bb", None):
        with pytest.raises(CredentialError):
            check_meeting_id(bad)  # type: ignore[arg-type]  # a wrong type on purpose (it must be refused)


# --- card PDF ------------------------------------------------------------------------------------


def pdf_streams(pdf: bytes) -> list[bytes]:
    """Decoded content streams (reportlab writes ASCII85 + Flate)."""
    out = []
    for m in re.finditer(rb"<<(.*?)>>\s*stream\r?\n(.*?)endstream", pdf, re.DOTALL):
        head, data = m.group(1), m.group(2).strip()
        if b"/ASCII85Decode" in head:
            data = base64.a85decode(data.removesuffix(b"~>"))
        if b"/FlateDecode" in head:
            data = zlib.decompress(data)
        out.append(data)
    return out


def pdf_codes(pdf: bytes) -> list[str]:
    text = b"\n".join(pdf_streams(pdf))
    return [m.decode() for m in re.findall(rb"\(([A-Z2-7]{5}(?:-[A-Z2-7]{5}){3})\) Tj", text)]


def page_count(pdf: bytes) -> int:
    return len(re.findall(rb"/Type /Page\b(?!s)", pdf))


def fixed_credentials(n: int) -> list[IssuedCredential]:
    out = []
    for i in range(n):
        code = "".join(ALPHABET[(i * 7 + j) % 32] for j in range(20))
        out.append(
            IssuedCredential(f"{i + 1}", f"代表{i + 1}", "第一代表团" if i % 2 else None, code,
                             public_key_hex(derive_private_key(code, MEETING)))
        )
    return out


@pytest.mark.parametrize(("n", "pages"), [(1, 1), (CARDS_PER_PAGE, 1), (CARDS_PER_PAGE + 1, 2), (17, 3)])
def test_cards_one_per_deputy(n: int, pages: int) -> None:
    creds = fixed_credentials(n)
    pdf = render_cards_pdf("某县第十八届人民代表大会第三次会议", MEETING, creds)
    assert pdf.startswith(b"%PDF")
    assert page_count(pdf) == pages
    assert pdf_codes(pdf) == [format_code(c.code) for c in creds]


def test_cards_deterministic() -> None:
    creds = fixed_credentials(9)
    assert render_cards_pdf("会议", MEETING, creds) == render_cards_pdf("会议", MEETING, creds)


def test_cards_use_builtin_cjk_font() -> None:
    pdf = render_cards_pdf("会议", MEETING, fixed_credentials(1))
    assert b"/STSong-Light" in pdf and b"/Courier-Bold" in pdf


def test_cards_reject_characters_the_font_cannot_print() -> None:
    cred = dataclasses.replace(fixed_credentials(1)[0], name="欧阳\U0002000b")
    with pytest.raises(CardError, match="座位 1"):
        render_cards_pdf("会议", MEETING, [cred])


def test_cards_need_credentials() -> None:
    with pytest.raises(CardError):
        render_cards_pdf("会议", MEETING, [])


def test_write_cards_pdf_is_private(tmp_path: Path) -> None:
    path = tmp_path / "cards.pdf"
    assert write_cards_pdf(path, "会议", MEETING, fixed_credentials(3)) == 1
    assert path.read_bytes().startswith(b"%PDF")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["cards.pdf"]  # no temporary left behind
    with pytest.raises(CardError):
        write_cards_pdf(tmp_path / "missing-dir" / "cards.pdf", "会议", MEETING, fixed_credentials(1))


# --- the CLI, end to end -------------------------------------------------------------------------


def run(args: list[str]):
    return CliRunner().invoke(cli, args, prog_name="python -m keys")


def test_cli_credentials_end_to_end(tmp_path: Path) -> None:
    out, public = tmp_path / "cards.pdf", tmp_path / "creds.json"
    roster = read_roster(FIXTURES / "roster_ok.csv")
    result = run(["credentials", "--meeting", MEETING, "--roster", str(FIXTURES / "roster_ok.csv"),
                  "--out", str(out), "--public", str(public), "--title", "某县第十八届人民代表大会第三次会议"])
    assert result.exit_code == 0, result.output
    assert "10 张凭证卡" in result.stdout and result.stderr == ""

    text = public.read_text(encoding="utf-8")
    doc = json.loads(text)
    assert set(doc) == {"meeting_id", "credentials"}
    assert doc["meeting_id"] == MEETING
    keys = doc["credentials"]
    assert keys == sorted(keys) and len(set(keys)) == 10
    assert all(re.fullmatch(r"[0-9a-f]{64}", k) for k in keys)
    for entry in roster:  # names-free and seat-free
        assert entry.name not in text
        assert f'"{entry.seat}"' not in text
    assert not re.search(r"[\u4e00-\u9fff]", text)

    pdf = out.read_bytes()
    assert pdf.startswith(b"%PDF")
    assert page_count(pdf) == 2
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    codes = pdf_codes(pdf)
    assert len(codes) == len(set(codes)) == 10
    for code in codes:
        assert code not in text and normalize_code(code) not in text
    assert sorted(public_key_hex(derive_private_key(c, MEETING)) for c in codes) == keys


def test_cli_xlsx_roster(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["座位号", "姓名", "代表团"])
    for i in range(1, 4):
        ws.append([i, f"代表{i}", "一团"])
    wb.save(tmp_path / "名册.xlsx")
    result = run(["credentials", "--meeting", "m1", "--roster", str(tmp_path / "名册.xlsx"),
                  "--out", str(tmp_path / "c.pdf"), "--public", str(tmp_path / "p.json")])
    assert result.exit_code == 0, result.output
    assert len(json.loads((tmp_path / "p.json").read_text())["credentials"]) == 3
    assert page_count((tmp_path / "c.pdf").read_bytes()) == 1


def test_cli_roster_error_is_one_line_exit_2(tmp_path: Path) -> None:
    result = run(["credentials", "--meeting", MEETING, "--roster", str(FIXTURES / "roster_errors.csv"),
                  "--out", str(tmp_path / "c.pdf"), "--public", str(tmp_path / "p.json")])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("错误：")
    assert "第 3 行" in result.stderr and "第 5 行" in result.stderr
    assert "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []  # nothing written


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--meeting", "a b"], "会议编号"),
        (["--meeting", "人大会议"], "与计票服务一致"),  # the derivation allows it; the service does not
        (["--meeting", "m:1"], "与计票服务一致"),
        (["--meeting", "m" * 65], "与计票服务一致"),
        (["--roster", "/nonexistent/roster.csv"], "找不到"),
    ],
)
def test_cli_input_errors(tmp_path: Path, args: list[str], fragment: str) -> None:
    base = {"--meeting": MEETING, "--roster": str(FIXTURES / "roster_ok.csv"),
            "--out": str(tmp_path / "c.pdf"), "--public": str(tmp_path / "p.json")}
    base.update(dict(zip(args[::2], args[1::2])))
    result = run(["credentials", *[x for kv in base.items() for x in kv]])
    assert result.exit_code == 2 and fragment in result.stderr and result.stderr.count("\n") == 1


def test_cli_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    args = ["credentials", "--meeting", MEETING, "--roster", str(FIXTURES / "roster_ok.csv"),
            "--out", str(tmp_path / "c.pdf"), "--public", str(tmp_path / "p.json")]
    assert run(args).exit_code == 0
    first = (tmp_path / "p.json").read_text()
    result = run(args)
    assert result.exit_code == 2 and "--force" in result.stderr
    assert (tmp_path / "p.json").read_text() == first
    result = run([*args, "--force"])
    assert result.exit_code == 0
    assert (tmp_path / "p.json").read_text() != first  # fresh codes


def test_cli_same_out_and_public(tmp_path: Path) -> None:
    result = run(["credentials", "--meeting", MEETING, "--roster", str(FIXTURES / "roster_ok.csv"),
                  "--out", str(tmp_path / "x"), "--public", str(tmp_path / "x")])
    assert result.exit_code == 2 and result.stderr.startswith("错误：")


def test_cli_help_lists_credentials() -> None:
    result = run(["--help"])
    assert result.exit_code == 0 and "credentials" in result.stdout


# The 8-torsion points of edwards25519 in their canonical encodings (the identity, the point of
# order 2, two of order 4 and four of order 8), as listed in libsodium's and Ed25519 papers'
# small-order blocklists; and non-canonical encodings (y ≥ p) of small-order points.
SMALL_ORDER = [
    "0100000000000000000000000000000000000000000000000000000000000000",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0000000000000000000000000000000000000000000000000000000000000080",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
]
NON_CANONICAL = [
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  # y = p + 1 (≡ 1, the identity)
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  # y = p (≡ 0)
]


def test_derived_keys_pass_the_public_key_check():
    for _ in range(20):
        key = bytes.fromhex(public_key_hex(derive_private_key(new_code(), "m1")))
        assert check_public_key(key) == key


@pytest.mark.parametrize("key", SMALL_ORDER + NON_CANONICAL)
def test_small_order_and_non_canonical_keys_are_refused(key):
    with pytest.raises(CredentialError, match="小阶点或非规范编码"):
        check_public_key(bytes.fromhex(key))


@pytest.mark.parametrize("key", [b"", b"\x01" * 31, b"\x01" * 33, "01" * 32])
def test_public_keys_of_the_wrong_length_or_type_are_refused(key):
    with pytest.raises(CredentialError, match="32 字节"):
        check_public_key(key)
