"""Deputy credentials: codes, key derivation, check-in signatures, card QR payloads (SPEC §4.2, §11).

**Code.**  Each deputy gets one credential per meeting, printed on a card as a 20-character
code over the RFC 4648 base32 alphabet ``A–Z 2–7`` (100 bits from :mod:`secrets`), shown as
``XXXXX-XXXXX-XXXXX-XXXXX``.  Typed input is forgiving in form but strict in content:
:func:`normalize_code` accepts lower case, spaces, hyphens and full-width characters (IME
input), and rejects anything outside the alphabet.  In particular the digits 0, 1, 8 and 9 are
*not* in the alphabet and are refused with a hint (0 is probably the letter O, 1 the letter I
or L, 8 the letter B) rather than silently mapped, so a mistyped code is never accepted as a
different key.

**Key.**  ``seed = HKDF-SHA256(ikm = code as ASCII uppercase, salt = meeting_id as UTF-8,
info = b"piaojue/1/credential", L = 32)``, and the seed is the Ed25519 private seed (SPEC
§4.2).  The public key, as 64 lowercase hex characters, is what the tally service registers in
a ``credentials`` log entry (SPEC §7); it carries no name or seat.

**Check-in.**  ``Ed25519-Sign(credential key, b"piaojue/1/checkin" ‖ Q ‖ seat as UTF-8)`` where
``Q`` is the 32-byte meeting hash (SPEC §6.3, §11).

**Card QR payload** (implementation-defined, SPEC §10).  The QR code on a deputy's card is
the text::

    PJ1:<meeting_id>:<code>

with ``PJ1`` a literal version tag, ``meeting_id`` exactly as in the meeting entry, and
``code`` the 20 uppercase characters without hyphens, e.g.
``PJ1:2027-rd-3:ABCDE23456FGHIJ7KLMN``.  The seat tablet (kiosk) scans it, checks that the
meeting id is the meeting it serves, derives the key locally and signs the check-in; the code
never leaves the tablet.  Parse with :func:`parse_card_qr`; since the code contains no colon,
the payload splits at its *last* colon, so a meeting id may itself contain colons.

**Meeting ids** (SPEC is silent on their form).  Here a meeting id must be 1–128 characters
with no whitespace or control characters, so it survives a QR code, a URL path and a command
line unchanged.
"""

from __future__ import annotations

import secrets
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ballot.group import ed25519_key_has_prime_order
from ballot.vote import IDENTIFIER
from keys.errors import CredentialError

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"  # RFC 4648 base32
CODE_LENGTH = 20
GROUP_SIZE = 5
CREDENTIAL_INFO = b"piaojue/1/credential"
CHECKIN_PREFIX = b"piaojue/1/checkin"
QR_PREFIX = "PJ1:"
MAX_MEETING_ID_LENGTH = 128

_SEPARATORS = frozenset(" \t\r\n-\u00a0\u3000\u2010\u2011\u2012\u2013\u2014\u2212\ufe63\uff0d_")
_ALPHABET_SET = frozenset(ALPHABET)
_NOT_IN_ALPHABET = "0189"
_DIGIT_HINTS = {"0": "0 可能是字母 O", "1": "1 可能是字母 I 或 L", "8": "8 可能是字母 B"}
_ASCII_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")


@dataclass(frozen=True)
class IssuedCredential:
    """One deputy's freshly issued credential.  ``code`` is secret: it is printed on the card
    only, and is kept out of ``repr`` so it does not leak into logs or tracebacks."""

    seat: str
    name: str
    group: str | None
    code: str = field(repr=False)
    public_key: str


# ---------------------------------------------------------------------------------------------
# Codes


def new_code() -> str:
    """A fresh random code: 20 characters of the base32 alphabet (100 bits), from :mod:`secrets`."""
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(text: str) -> str:
    """The 20 uppercase characters of a code typed or printed in any accepted form.

    Accepts lower case, spaces, hyphens (including the printed ``XXXXX-XXXXX-XXXXX-XXXXX``
    grouping) and full-width characters.  Raises :class:`CredentialError` for anything else.
    """
    if not isinstance(text, str):
        raise CredentialError(f"代码必须是文本，而不是 {type(text).__name__}")
    # NFKC folds full-width input (ＡＢ２) to ASCII; only ASCII letters are upper-cased, so
    # e.g. "ß" is rejected instead of becoming "SS".
    folded = unicodedata.normalize("NFKC", text).translate(_ASCII_UPPER)
    chars = [ch for ch in folded if ch not in _SEPARATORS]
    digits = sorted({ch for ch in chars if ch in _NOT_IN_ALPHABET})
    if digits:
        hints = "".join(f"；{_DIGIT_HINTS[d]}" for d in digits if d in _DIGIT_HINTS)
        raise CredentialError(f"代码中不会出现数字 {'、'.join(digits)}（代码只含字母 A–Z 和数字 2–7{hints}）")
    bad = sorted({ch for ch in chars if ch not in _ALPHABET_SET})
    if bad:
        shown = "、".join(repr(ch) for ch in bad[:5])
        raise CredentialError(f"代码中有无效字符 {shown}（代码只含字母 A–Z 和数字 2–7）")
    if len(chars) != CODE_LENGTH:
        raise CredentialError(f"代码应为 {CODE_LENGTH} 个字符，实际为 {len(chars)} 个")
    return "".join(chars)


def format_code(code: str) -> str:
    """The printed form ``XXXXX-XXXXX-XXXXX-XXXXX`` (normalising first)."""
    c = normalize_code(code)
    return "-".join(c[i : i + GROUP_SIZE] for i in range(0, CODE_LENGTH, GROUP_SIZE))


# ---------------------------------------------------------------------------------------------
# Keys


def check_meeting_id(meeting_id: str) -> str:
    """Return ``meeting_id`` if it is usable in cards and QR payloads, else raise CredentialError."""
    if not isinstance(meeting_id, str) or not meeting_id:
        raise CredentialError("会议编号（meeting_id）不能为空")
    if len(meeting_id) > MAX_MEETING_ID_LENGTH:
        raise CredentialError(f"会议编号过长（{len(meeting_id)} 个字符，上限 {MAX_MEETING_ID_LENGTH}）")
    for ch in meeting_id:
        if ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn"):
            raise CredentialError(f"会议编号中不能有空白或控制字符：{meeting_id!r}")
    return meeting_id


def check_service_meeting_id(meeting_id: str) -> str:
    """Return ``meeting_id`` if the tally service accepts it, else raise CredentialError.

    SPEC §4.2's derivation takes any meeting id (:func:`check_meeting_id`), but the service's ids
    appear in URLs and are ``[A-Za-z0-9_-]{1,64}`` (``ballot.vote.IDENTIFIER``), so the card tool
    refuses any other id rather than print cards for a meeting that cannot exist.
    """
    check_meeting_id(meeting_id)
    if IDENTIFIER.fullmatch(meeting_id) is None:
        raise CredentialError(
            f"会议编号只能由英文字母、数字、连字符和下划线组成（1–64 个字符），与计票服务一致：{meeting_id!r}"
        )
    return meeting_id


def derive_seed(code: str, meeting_id: str) -> bytes:
    """The 32-byte Ed25519 seed of SPEC §4.2."""
    ikm = normalize_code(code).encode("ascii")
    salt = check_meeting_id(meeting_id).encode("utf-8")
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=CREDENTIAL_INFO).derive(ikm)


def derive_private_key(code: str, meeting_id: str) -> Ed25519PrivateKey:
    """The credential key for ``code`` in meeting ``meeting_id`` (SPEC §4.2)."""
    return Ed25519PrivateKey.from_private_bytes(derive_seed(code, meeting_id))


def public_key_hex(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The raw 32-byte public key as 64 lowercase hex characters (SPEC §1)."""
    if isinstance(key, Ed25519PrivateKey):
        key = key.public_key()
    if not isinstance(key, Ed25519PublicKey):
        raise CredentialError(f"不是 Ed25519 密钥：{type(key).__name__}")
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


# ---------------------------------------------------------------------------------------------
# Check-in (SPEC §11)


def check_public_key(public_key: bytes) -> bytes:
    """Return ``public_key`` if it may be a credential (or a log key): SPEC §8.1 (revision 2),
    the canonical encoding of an Ed25519 point ``P`` of prime order, ``ℓ·P`` the identity and
    ``P`` not. Else raise CredentialError. Every key derived by :func:`derive_private_key`
    passes. Under a small-order key (the identity or an 8-torsion point) signatures verify for
    many messages without any private key. The rule is the record verifier's own
    (:func:`ballot.group.ed25519_key_has_prime_order`), so what registration accepts is exactly
    what the verifier accepts."""
    if not isinstance(public_key, bytes) or len(public_key) != 32:
        raise CredentialError("Ed25519 公钥必须是 32 字节", where="public_key")
    if not ed25519_key_has_prime_order(public_key):
        raise CredentialError(
            "不是有效的 Ed25519 公钥（小阶点或非规范编码：ℓ·P 必须是单位元且 P 不是）", where="public_key"
        )
    return public_key


def checkin_message(meeting_hash: bytes, seat: str) -> bytes:
    """``b"piaojue/1/checkin" ‖ Q ‖ seat as UTF-8`` (SPEC §11)."""
    if not isinstance(meeting_hash, (bytes, bytearray)) or len(meeting_hash) != 32:
        raise CredentialError("会议哈希 Q 必须是 32 字节", where="meeting_hash")
    if not isinstance(seat, str) or not seat:
        raise CredentialError("座位号不能为空", where="seat")
    return CHECKIN_PREFIX + bytes(meeting_hash) + seat.encode("utf-8")


def sign_checkin(private_key: Ed25519PrivateKey, meeting_hash: bytes, seat: str) -> str:
    """The check-in signature, as 128 lowercase hex characters (SPEC §11)."""
    return private_key.sign(checkin_message(meeting_hash, seat)).hex()


def verify_checkin(public_key: str, meeting_hash: bytes, seat: str, signature: str) -> bool:
    """True iff ``signature`` (hex) is ``public_key``'s (hex) check-in signature for ``seat``."""
    try:
        pub = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key))
        sig = bytes.fromhex(signature)
    except (ValueError, TypeError):
        return False
    if len(sig) != 64:
        return False
    try:
        pub.verify(sig, checkin_message(meeting_hash, seat))
    except InvalidSignature:
        return False
    return True


# ---------------------------------------------------------------------------------------------
# Issuing


def issue_credentials(roster: Iterable[object], meeting_id: str) -> list[IssuedCredential]:
    """One fresh credential per roster entry, in roster order.

    ``roster`` is a sequence of :class:`keys.roster.RosterEntry` (anything with ``seat``,
    ``name`` and ``group``).  Seats must be unique and non-empty; codes and public keys are
    guaranteed distinct.
    """
    check_meeting_id(meeting_id)
    entries = list(roster)
    if not entries:
        raise CredentialError("名册为空，没有可发放凭证的代表")
    seats: set[str] = set()
    codes: set[str] = set()
    keys: set[str] = set()
    issued: list[IssuedCredential] = []
    for entry in entries:
        seat = getattr(entry, "seat", None)
        name = getattr(entry, "name", None)
        if not isinstance(seat, str) or not seat:
            raise CredentialError(f"座位号无效：{seat!r}")
        if not isinstance(name, str) or not name:
            raise CredentialError(f"座位 {seat} 的姓名无效")
        if seat in seats:
            raise CredentialError(f"座位号 {seat} 重复")
        seats.add(seat)
        while True:  # a collision in 100 bits will not happen, but never issue one code twice
            code = new_code()
            pub = public_key_hex(derive_private_key(code, meeting_id))
            if code not in codes and pub not in keys:
                break
        codes.add(code)
        keys.add(pub)
        group = getattr(entry, "group", None)
        issued.append(IssuedCredential(seat=seat, name=name, group=group, code=code, public_key=pub))
    return issued


def public_credentials(meeting_id: str, credentials: Iterable[IssuedCredential]) -> dict[str, object]:
    """The names-free public file: ``{"meeting_id": M, "credentials": [sorted hex keys]}``."""
    return {
        "meeting_id": check_meeting_id(meeting_id),
        "credentials": sorted(c.public_key for c in credentials),
    }


# ---------------------------------------------------------------------------------------------
# Card QR payload


def card_qr_payload(meeting_id: str, code: str) -> str:
    """``PJ1:<meeting_id>:<code>``, the text in a card's QR code (see the module docstring)."""
    return f"{QR_PREFIX}{check_meeting_id(meeting_id)}:{normalize_code(code)}"


def parse_card_qr(text: str) -> tuple[str, str]:
    """``(meeting_id, code)`` from a scanned card QR payload; raises CredentialError."""
    if not isinstance(text, str):
        raise CredentialError("二维码内容必须是文本")
    t = text.strip()
    if not t.startswith(QR_PREFIX):
        raise CredentialError("这不是本系统的代表凭证二维码（应以 PJ1: 开头）")
    meeting_id, sep, code = t[len(QR_PREFIX) :].rpartition(":")
    if not sep or not meeting_id:
        raise CredentialError("凭证二维码格式错误：应为 PJ1:<会议编号>:<代码>")
    return check_meeting_id(meeting_id), normalize_code(code)
