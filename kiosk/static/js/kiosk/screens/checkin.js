// The check-in screen: the deputy types the credential code or scans the card's QR code; the
// credential is derived and the check-in signed here (SPEC §4.2, §11), only the public key and
// the signature are sent.

import * as crypto from "../../crypto/index.js";
import { ApiError, NetworkError, paths, postJson } from "../../api.js";
import { announce, bytesToHex, h } from "../../dom.js";
import { field, t } from "../../i18n.js";
import { cameraAvailable, startScanner } from "../../scanner.js";
import * as display from "../../settings.js";
import * as store from "../../storage.js";
import { getVote, loadMeeting } from "../data.js";
import { show, stopScanner } from "../frame.js";
import { openVote, startSession } from "../live.js";
import { app, mid, openVoteId, screenIs } from "../state.js";
import { button, rateLimitText } from "./common.js";
import { unpair } from "./pairing.js";

export const screens = {
  checkin() {
    const onsubmit = (event) => {
      event.preventDefault();
      checkIn(document.getElementById("code-input").value);
    };
    const camera = cameraAvailable();
    return h("section", { class: "screen narrow" },
      h("h1", {}, t("checkin_title")),
      h("div", { id: "checkin-notices", role: "status" }, checkinNotices()),
      h("p", { class: "lead strong" }, t("checkin_prompt")),
      h("p", { class: "muted" }, t("checkin_meeting", { title: app.pairing.title, seat: app.pairing.seat })),
      camera ? h("div", { class: "scan" },
        button("btn-scan", t("scan_button"), startScan, "btn big scan-btn"),
        h("div", { id: "scan-panel", class: "scan-panel", hidden: true },
          h("video", { id: "scan-video", class: "scan-video", muted: true, playsinline: true, "aria-hidden": "true" }),
          h("p", {}, t("scan_hint")),
          button("btn-scan-cancel", t("scan_cancel"), stopScanner)),
        h("p", { class: "or", "aria-hidden": "true" }, t("or"))) : null,
      h("form", { class: "form", onsubmit, novalidate: true },
        h("label", { for: "code-input", class: "field-label" }, t("code_label")),
        h("input", {
          id: "code-input", class: "text-input code", autocomplete: "off", autocapitalize: "characters",
          autocorrect: "off", spellcheck: "false", "aria-describedby": "code-hint checkin-error",
        }),
        h("p", { id: "code-hint", class: "hint" }, t("code_hint")),
        h("p", { id: "checkin-error", class: "field-error", role: "alert" }),
        h("button", { type: "submit", id: "btn-checkin", class: "btn primary big" }, t("checkin_submit"))),
      button("btn-repair", t("repair"), unpair, "btn link"));
  },
};

export const inPlace = { checkin: () => updateCheckinNotices() };

function setCheckinError(message) {
  const el = document.getElementById("checkin-error");
  const input = document.getElementById("code-input");
  if (el) el.textContent = message;
  if (input) {
    if (message) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
  }
}

function setCheckinBusy(busy) {
  const button = document.getElementById("btn-checkin");
  if (button) {
    button.disabled = busy;
    button.textContent = busy ? t("checkin_busy") : t("checkin_submit");
  }
}

async function checkIn(text) {
  setCheckinError("");
  let code;
  try {
    code = crypto.normalizeCode(text);
  } catch (exc) {
    setCheckinError(t("checkin_code_error", { detail: exc.detail ?? exc.message }));
    document.getElementById("code-input")?.focus();
    return;
  }
  setCheckinBusy(true);
  try {
    const meeting = await loadMeeting({ fresh: true });
    const { seed, publicKeyHex } = crypto.deriveCredential(code, mid());
    const seat = app.pairing.seat;
    const signature = crypto.signCheckin(seed, meeting.meeting_hash, seat);
    await postJson(paths.checkin(mid()), { credential: publicKeyHex, seat, signature });
    app.cred = { meeting_id: mid(), seat, seed: bytesToHex(seed), credential: publicKeyHex };
    store.setCredential(app.cred);
    store.setCheckedIn({ meeting_id: mid(), seat });
    app.restarted = false;
    if (display.claim(publicKeyHex)) app.settingsOpen = false; // another deputy's settings: defaults
    show("waiting");
    announce(t("checked_in"));
    startSession();
    const open = openVoteId(); // a vote that opened before the check-in: its ballot at once
    if (open) openVote(open);
  } catch (exc) {
    setCheckinBusy(false);
    const messages = {
      unknown_credential: "checkin_unknown_credential",
      revoked_credential: "checkin_revoked",
      unknown_seat: "checkin_unknown_seat",
      not_sealed: "checkin_not_sealed",
      checkin_closed: "err_checkin_closed",
    };
    if (rateLimitText(exc)) setCheckinError(rateLimitText(exc));
    else if (exc instanceof ApiError && messages[exc.code]) setCheckinError(t(messages[exc.code]));
    else if (exc instanceof NetworkError) setCheckinError(t("err_network"));
    else setCheckinError(t("err_generic", { detail: exc.serverMessage ?? exc.message }));
    document.getElementById("code-input")?.focus();
  }
}

/**
 * What the check-in screen says before its form: that the tablet restarted (its check-in was lost
 * with the browser session) and that a vote is open, each with what to do.
 */
function checkinNotices() {
  const notices = [];
  if (app.restarted) notices.push(h("p", { class: "notice warn", id: "restarted-notice" }, t("checkin_restarted")));
  const vid = openVoteId();
  if (vid) {
    const title = field(app.votes.get(vid)?.vote, "title");
    notices.push(h("p", { class: "notice held", id: "vote-open-notice" },
      title ? t("checkin_vote_open", { title }) : t("checkin_vote_open_untitled")));
    if (!title) getVote(vid).then(() => screenIs("checkin") && updateCheckinNotices(), () => {});
  }
  return notices;
}

/** Redraw the check-in notices in place (what the deputy has typed stays). */
function updateCheckinNotices() {
  document.getElementById("checkin-notices")?.replaceChildren(...checkinNotices());
}

async function startScan() {
  const video = document.getElementById("scan-video");
  const panel = document.getElementById("scan-panel");
  if (!video || !panel) return;
  setCheckinError("");
  panel.hidden = false;
  try {
    app.scanner = await startScanner(video, (text) => {
      app.scanner = null;
      panel.hidden = true;
      let parsed;
      try {
        parsed = crypto.parseCardQr(text);
      } catch (exc) {
        setCheckinError(t("checkin_code_error", { detail: exc.detail ?? exc.message }));
        return;
      }
      if (parsed.meetingId !== mid()) {
        setCheckinError(t("scan_other_meeting", { meeting: parsed.meetingId }));
        return;
      }
      checkIn(parsed.code);
    });
    document.getElementById("btn-scan-cancel")?.focus();
  } catch (exc) {
    panel.hidden = true;
    setCheckinError(t("scan_failed", { reason: exc.message || exc.name }));
  }
}
