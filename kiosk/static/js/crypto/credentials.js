// Deputy credentials: codes, key derivation, check-in signatures, card QR payloads
// (SPEC §4.2, §11), mirroring keys/credentials.py, including its (Chinese) error messages.
//
// * Code: 20 characters of the RFC 4648 base32 alphabet A–Z 2–7, printed XXXXX-XXXXX-XXXXX-XXXXX.
//   normalizeCode accepts lower case, spaces, hyphens and full-width input (NFKC), and refuses the
//   digits 0, 1, 8, 9 with a hint instead of mapping them.
// * seed = HKDF-SHA256(ikm = code as ASCII, salt = meeting_id as UTF-8, info = "piaojue/1/credential",
//   L = 32); the seed is the Ed25519 private seed.
// * Check-in: Ed25519-Sign(seed, "piaojue/1/checkin" ‖ Q ‖ seat as UTF-8).
// * Card QR payload: "PJ1:<meeting_id>:<code>", split at the last colon.

import { ed25519 } from "@noble/curves/ed25519.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";

import { ascii, asBytes, concat, toHex, utf8 } from "./bytes.js";
import { CredentialError, EncodingError } from "./errors.js";
import { pyTypeName, reprString, sortCodePoints } from "./pyrepr.js";

export const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
export const CODE_LENGTH = 20;
export const GROUP_SIZE = 5;
export const CREDENTIAL_INFO = ascii("piaojue/1/credential");
export const CHECKIN_PREFIX = ascii("piaojue/1/checkin");
export const QR_PREFIX = "PJ1:";
export const MAX_MEETING_ID_LENGTH = 128;

const SEPARATORS = new Set(" \t\r\n-\u00a0\u3000\u2010\u2011\u2012\u2013\u2014\u2212\ufe63\uff0d_");
const NOT_IN_ALPHABET = "0189";
const DIGIT_HINTS = { 0: "0 可能是字母 O", 1: "1 可能是字母 I 或 L", 8: "8 可能是字母 B" };
// Python's str.isspace(): Unicode White_Space characters (bidi WS/B/S or category Zs).
const PY_SPACE = new Set("\t\n\u000b\u000c\r\u001c\u001d\u001e\u001f \u0085\u00a0\u1680\u2000\u2001\u2002\u2003"
  + "\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000");
const BAD_MEETING_CHAR = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}]/u;

function asciiUpper(ch) {
  return ch >= "a" && ch <= "z" ? ch.toUpperCase() : ch;
}

/**
 * The 20 uppercase characters of a code typed or printed in any accepted form. Throws
 * CredentialError (same messages as keys.credentials.normalize_code).
 */
export function normalizeCode(text) {
  if (typeof text !== "string") throw new CredentialError(`代码必须是文本，而不是 ${pyTypeName(text)}`);
  const chars = [...text.normalize("NFKC")].map(asciiUpper).filter((ch) => !SEPARATORS.has(ch));
  const digits = [...new Set(chars.filter((ch) => NOT_IN_ALPHABET.includes(ch)))].sort();
  if (digits.length) {
    const hints = digits.filter((d) => d in DIGIT_HINTS).map((d) => `；${DIGIT_HINTS[d]}`).join("");
    throw new CredentialError(`代码中不会出现数字 ${digits.join("、")}（代码只含字母 A–Z 和数字 2–7${hints}）`);
  }
  const bad = sortCodePoints(new Set(chars.filter((ch) => !ALPHABET.includes(ch))));
  if (bad.length) {
    const shown = bad.slice(0, 5).map(reprString).join("、");
    throw new CredentialError(`代码中有无效字符 ${shown}（代码只含字母 A–Z 和数字 2–7）`);
  }
  if (chars.length !== CODE_LENGTH) throw new CredentialError(`代码应为 ${CODE_LENGTH} 个字符，实际为 ${chars.length} 个`);
  return chars.join("");
}

/** The printed form XXXXX-XXXXX-XXXXX-XXXXX (normalising first). */
export function formatCode(code) {
  return normalizeCode(code).match(/.{5}/g).join("-");
}

/** `meetingId` if it is usable in cards and QR payloads, else CredentialError (keys.credentials.check_meeting_id). */
export function checkMeetingId(meetingId) {
  if (typeof meetingId !== "string" || !meetingId) throw new CredentialError("会议编号（meeting_id）不能为空");
  const length = [...meetingId].length;
  if (length > MAX_MEETING_ID_LENGTH) {
    throw new CredentialError(`会议编号过长（${length} 个字符，上限 ${MAX_MEETING_ID_LENGTH}）`);
  }
  for (const ch of meetingId) {
    if (PY_SPACE.has(ch) || BAD_MEETING_CHAR.test(ch)) {
      throw new CredentialError(`会议编号中不能有空白或控制字符：${reprString(meetingId)}`);
    }
  }
  return meetingId;
}

/** The 32-byte Ed25519 seed of SPEC §4.2. */
export function deriveSeed(code, meetingId) {
  const ikm = ascii(normalizeCode(code));
  const salt = utf8(checkMeetingId(meetingId));
  return hkdf(sha256, ikm, salt, CREDENTIAL_INFO, 32);
}

/** {seed, publicKeyHex} for `code` in meeting `meetingId` (SPEC §4.2). */
export function deriveCredential(code, meetingId) {
  const seed = deriveSeed(code, meetingId);
  return { seed, publicKeyHex: toHex(ed25519.getPublicKey(seed)) };
}

/** The credential's public key (64 hex characters) from its seed. */
export function publicKeyHex(seed) {
  return toHex(ed25519.getPublicKey(asSeed(seed)));
}

function asSeed(seed) {
  try {
    return asBytes(seed, 32, "seed");
  } catch (exc) {
    if (exc instanceof EncodingError) throw new CredentialError("凭证种子必须是 32 字节", { where: "seed" });
    throw exc;
  }
}

/** "piaojue/1/checkin" ‖ Q ‖ seat as UTF-8 (SPEC §11). */
export function checkinMessage(meetingHash, seat) {
  let q;
  try {
    q = asBytes(meetingHash, 32, "meeting_hash");
  } catch (exc) {
    if (exc instanceof EncodingError) throw new CredentialError("会议哈希 Q 必须是 32 字节", { where: "meeting_hash" });
    throw exc;
  }
  if (typeof seat !== "string" || !seat) throw new CredentialError("座位号不能为空", { where: "seat" });
  return concat(CHECKIN_PREFIX, q, utf8(seat));
}

/** The check-in signature, as 128 lowercase hex characters (SPEC §11). `meetingHash`: 32 bytes or hex. */
export function signCheckin(seed, meetingHash, seat) {
  return toHex(ed25519.sign(checkinMessage(meetingHash, seat), asSeed(seed)));
}

/** True iff `signature` (hex) is `publicKey`'s (hex) check-in signature for `seat`. */
export function verifyCheckin(publicKey, meetingHash, seat, signature) {
  try {
    return ed25519.verify(asBytes(signature, 64, "signature"), checkinMessage(meetingHash, seat),
      asBytes(publicKey, 32, "credential"), { zip215: false });
  } catch {
    return false;
  }
}

/** "PJ1:<meeting_id>:<code>", the text in a card's QR code. */
export function cardQrPayload(meetingId, code) {
  return `${QR_PREFIX}${checkMeetingId(meetingId)}:${normalizeCode(code)}`;
}

function pyStrip(text) {
  const chars = [...text];
  let start = 0;
  let end = chars.length;
  while (start < end && PY_SPACE.has(chars[start])) start++;
  while (end > start && PY_SPACE.has(chars[end - 1])) end--;
  return chars.slice(start, end).join("");
}

/** {meetingId, code} from a scanned card QR payload; throws CredentialError (keys.credentials.parse_card_qr). */
export function parseCardQr(text) {
  if (typeof text !== "string") throw new CredentialError("二维码内容必须是文本");
  const t = pyStrip(text);
  if (!t.startsWith(QR_PREFIX)) throw new CredentialError("这不是本系统的代表凭证二维码（应以 PJ1: 开头）");
  const rest = t.slice(QR_PREFIX.length);
  const colon = rest.lastIndexOf(":");
  const meetingId = colon < 0 ? "" : rest.slice(0, colon);
  if (colon < 0 || !meetingId) throw new CredentialError("凭证二维码格式错误：应为 PJ1:<会议编号>:<代码>");
  return { meetingId: checkMeetingId(meetingId), code: normalizeCode(rest.slice(colon + 1)) };
}
