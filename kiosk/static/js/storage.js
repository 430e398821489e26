// What the tablet remembers.
//
// localStorage (survives restarts): the seat pairing, the display settings, whether a deputy
// checked in on this tablet (not who: tells a restart apart), immutable public documents
// (the meeting and vote entries), the queue of encrypted ballots not yet accepted, and the
// receipts of accepted ballots. The queue holds only the signed §4.3 ballot entry (ciphertexts,
// proofs, signature): never the plaintext choices or the nonces.
//
// sessionStorage (this tab only, gone when it closes): the deputy's credential seed after
// check-in. It is never sent anywhere.

const PAIRING = "piaojue.pairing";
const QUEUE = "piaojue.queue";
const RECEIPTS = "piaojue.receipts";
const CREDENTIAL = "piaojue.credential";
const CHECKED_IN = "piaojue.checkedin";
const DOC_PREFIX = "piaojue.doc.";

function read(store, key, fallback) {
  try {
    const text = store.getItem(key);
    return text === null ? fallback : JSON.parse(text);
  } catch {
    return fallback;
  }
}

function write(store, key, value) {
  try {
    if (value === null || value === undefined) store.removeItem(key);
    else store.setItem(key, JSON.stringify(value));
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------- pairing {meeting_id, seat, title}

export const getPairing = () => read(localStorage, PAIRING, null);
export const setPairing = (pairing) => write(localStorage, PAIRING, pairing);

// ---------------------------------------------------------------- credential (session only)

/** {meeting_id, seat, seed (hex), credential (public key hex)} or null. */
export function getCredential(meetingId, seat) {
  const cred = read(sessionStorage, CREDENTIAL, null);
  return cred && cred.meeting_id === meetingId && cred.seat === seat ? cred : null;
}

export const setCredential = (cred) => write(sessionStorage, CREDENTIAL, cred);

// ---------------------------------------------------------------- "a deputy checked in here"

/**
 * {meeting_id, seat} of the tablet's last check-in, in localStorage (nothing secret): a tablet
 * that has it but no credential in sessionStorage was restarted (or its tab closed) since, and
 * says so on the check-in screen.
 */
export const getCheckedIn = () => read(localStorage, CHECKED_IN, null);
export const setCheckedIn = (value) => write(localStorage, CHECKED_IN, value);

// ---------------------------------------------------------------- public documents (immutable)

export const getDoc = (name) => read(localStorage, DOC_PREFIX + name, null);
export const setDoc = (name, value) => write(localStorage, DOC_PREFIX + name, value);

// ---------------------------------------------------------------- the ballot queue

/** [{meeting_id, vote_id, ballot_hash, tracker, entry, queued_at}] */
export const getQueue = () => read(localStorage, QUEUE, []);

/** Add an encrypted ballot before it is posted. Returns false if it could not be stored. */
export function enqueue(item) {
  const queue = getQueue().filter((q) => q.ballot_hash !== item.ballot_hash);
  queue.push(item);
  return write(localStorage, QUEUE, queue);
}

export function dequeue(ballotHash) {
  write(localStorage, QUEUE, getQueue().filter((q) => q.ballot_hash !== ballotHash));
}

// ---------------------------------------------------------------- receipts of accepted ballots

const receiptKey = (mid, vid, credential) => `${mid}/${vid}/${credential}`;

/** {ballot_hash, tracker, leaf_index, verified, error} of the last accepted ballot, or null. */
export function getReceipt(mid, vid, credential) {
  return read(localStorage, RECEIPTS, {})[receiptKey(mid, vid, credential)] ?? null;
}

export function setReceipt(mid, vid, credential, value) {
  const all = read(localStorage, RECEIPTS, {});
  all[receiptKey(mid, vid, credential)] = value;
  write(localStorage, RECEIPTS, all);
}
