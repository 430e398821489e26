// The deputy's seat tablet (SPEC §11, client side): pairing, check-in, the live session, ballots
// of the five kinds, review, Benaloh challenge, offline-resilient submission and the receipt.
//
// Secrets stay here: the credential seed lives in sessionStorage only and is never sent; the
// plaintext choices and the encryption nonces live in memory only until the ballot is cast (or
// challenged, when the nonces are published on purpose, SPEC §4.4). See docs/guide/代表使用说明.md.
//
// This entry module registers the screens and starts; the parts are in kiosk/: state.js (the
// state), frame.js (switching screens, top bar, settings), data.js (meeting and votes), live.js
// (the live channel), casting.js (encrypt, queue, post, receipt; the challenge) and screens/*.js.

import { watchChinese } from "./dom.js";
import { applyDocumentLang, getLang } from "./i18n.js";
import * as display from "./settings.js";
import * as store from "./storage.js";
import { resumeQueue } from "./kiosk/casting.js";
import { defineScreens, show } from "./kiosk/frame.js";
import { startSession } from "./kiosk/live.js";
import * as ballot from "./kiosk/screens/ballot.js";
import * as checkin from "./kiosk/screens/checkin.js";
import * as pairing from "./kiosk/screens/pairing.js";
import * as receipt from "./kiosk/screens/receipt.js";
import * as waiting from "./kiosk/screens/waiting.js";
import { app, root } from "./kiosk/state.js";

for (const part of [waiting, pairing, checkin, ballot, receipt]) defineScreens(part.screens, part.inPlace);

function boot() {
  applyDocumentLang();
  display.applySettings();
  watchChinese(document.body, () => getLang() === "en");
  const code = root.dataset.pairingCode;
  if (code) {
    window.history.replaceState(null, "", "/kiosk/"); // a reload must not reuse the one-time code
    app.pairing = store.getPairing();
    show("pair", { auto: true, busy: true });
    pairing.pair(code);
    return;
  }
  app.pairing = store.getPairing();
  if (!app.pairing) {
    show("pair");
    return;
  }
  app.cred = store.getCredential(app.pairing.meeting_id, app.pairing.seat);
  const before = store.getCheckedIn();
  app.restarted = !app.cred && before?.meeting_id === app.pairing.meeting_id && before?.seat === app.pairing.seat;
  startSession();
  if (resumeQueue()) return;
  show(app.cred ? "waiting" : "checkin");
}

boot();
