// Typed errors, mirroring ballot/errors.py and keys/errors.py.
//
// Every parser and verifier in this directory throws one of these (never returns null/false).
// `where` is a JSON-path-like location such as "contests[0].selections[3].alpha"; the message
// is "<where>: <message>" like Python's PiaojueError.

export class PiaojueError extends Error {
  constructor(message, { where = null } = {}) {
    super(where ? `${where}: ${message}` : message);
    this.name = new.target.name;
    this.detail = message;
    this.where = where;
  }
}

/** Bytes, hex or JSON that do not decode as SPEC §1 requires. */
export class EncodingError extends PiaojueError {}
/** Not a canonical ristretto255 encoding (SPEC §1). */
export class InvalidPoint extends EncodingError {}
/** Not 32 little-endian bytes with value < ℓ (SPEC §1). */
export class InvalidScalar extends EncodingError {}
/** A §4.1 vote definition that is inconsistent or malformed. */
export class VoteDefinitionError extends PiaojueError {}
/** A zero-knowledge proof that does not verify (SPEC §3). */
export class ProofError extends PiaojueError {}
/** A Merkle log, inclusion or consistency proof, or STH that does not check (SPEC §7). */
export class LogError extends PiaojueError {}
/** A §8 receipt that is malformed or does not verify. */
export class ReceiptError extends PiaojueError {}
/** A deputy's choices that the vote does not allow (too many, unknown options...). */
export class ChoiceError extends PiaojueError {}
/** A credential code, meeting id, check-in or card QR payload that is not valid (keys/credentials.py). */
export class CredentialError extends PiaojueError {}

/**
 * A ballot that is not well-formed (SPEC §4.3). `code` is the SPEC §11 rejection code
 * ("malformed", "bad_signature", "invalid_proof"); `check` names the failed check.
 */
export class BallotError extends PiaojueError {
  constructor(code, message, { where = null, check = null } = {}) {
    super(message, { where });
    this.code = code;
    this.check = check || code;
  }
}
