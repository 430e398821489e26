// The tablet's state: the one object every kiosk module reads and changes, and what follows from
// it. Nothing here draws. The credential seed lives in sessionStorage (storage.js) and here only;
// the plaintext choices live in `app.choices` only while a ballot is being filled in (frame.js).

export const root = document.getElementById("app");
export const topbar = document.getElementById("topbar");

export const app = {
  pairing: null, // {meeting_id, seat, title}
  cred: null, // {meeting_id, seat, seed, credential}: sessionStorage only
  meeting: null, // {meeting, meeting_hash}
  voteList: [], // [{vote_id, state}] from GET /api/meetings/<mid>
  votes: new Map(), // vote_id → {vote, vote_hash}
  voteStates: new Map(), // vote_id → {state, closes_at}
  holds: new Map(), // vote_id → {held, remaining}: the presidium has put the open vote on hold
  presence: null,
  connection: "connecting",
  socket: null,
  screen: { name: "loading" },
  choices: {}, // the ballot being filled in: {contestId: [optionId]}
  scanner: null,
  settingsOpen: false, // the display settings panel under the top bar
  submitting: new Set(),
  resultTimer: null,
};

// Timings for the browser tests and benchmarks (Date.now() milliseconds; nothing secret).
export const metrics = { opened: {}, painted: {}, encryptMs: [] };
window.__piaojue = metrics;

export const mid = () => app.pairing?.meeting_id;

/** Where phones reach the service (PIAOJUE_PUBLIC_URL), for receipt links; else this page's origin. */
export const publicBase = () => root.dataset.publicUrl || window.location.origin;

export const isHeld = (vid) => Boolean(app.holds.get(vid)?.held);

export function screenIs(name, vid) {
  return app.screen.name === name && (vid === undefined || app.screen.vid === vid);
}

export function openVoteId() {
  const current = app.screen.vid;
  if (current && app.voteStates.get(current)?.state === "open") return current;
  for (const [vid, s] of app.voteStates) if (s.state === "open") return vid;
  return null;
}
