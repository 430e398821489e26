// The phone receipt page /r/<meeting>/<ballot_hash> (SPEC §8): fetch the receipt and the logged
// ballot entry, and verify in this browser that the log's signed tree head is valid and that the
// ballot is in it. Nothing here needs a credential or reveals a choice.

import * as crypto from "./crypto/index.js";
import { ApiError, NetworkError, getJson, paths } from "./api.js";
import { h, replace, watchChinese } from "./dom.js";
import { applyDocumentLang, field, getLang, setLang, t } from "./i18n.js";

const root = document.getElementById("receipt");
const topbar = document.getElementById("topbar");
const meetingId = root.dataset.meeting;
const ballotHash = root.dataset.ballotHash;

const state = { phase: "checking" }; // checking | ok | not_found | failed | network

function renderTopbar() {
  replace(topbar,
    h("div", { class: "brand" }, t("app_name")),
    h("div", { class: "topbar-meeting" }, state.meeting ? state.meeting.title : ""),
    h("button", {
      type: "button", id: "lang-btn", class: "btn lang", lang: getLang() === "en" ? "zh-CN" : "en",
      "aria-label": t("lang_switch_label"),
      onclick: () => { setLang(getLang() === "en" ? "zh" : "en"); render(false); },
    }, t("lang_switch")));
}

function detailRow(label, value, cls = "mono") {
  return [h("dt", {}, label), h("dd", { class: cls, translate: "no" }, String(value))];
}

/** A signed tree head's time, "2026-12-06 09:30:12 UTC" (one unbroken line). */
function formatTime(ms) {
  return `${new Date(ms).toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

function render(focus = true) {
  renderTopbar();
  const parts = [h("h1", {}, t("rp_title"))];
  if (state.phase === "checking") {
    parts.push(h("p", { class: "lead" }, t("rp_checking")));
  } else if (state.phase === "ok") {
    const r = state.receipt;
    parts.push(
      h("p", { class: "verdict ok", id: "verdict" }, t("rp_ok", { index: r.leaf_index + 1, size: r.sth.tree_size })),
      state.vote ? h("p", { class: "lead" }, t("rp_vote", { title: field(state.vote, "title") })) : null,
      h("p", { class: "tracker-label" }, t("tracker_label")),
      h("p", { class: "tracker", id: "tracker", translate: "no" }, r.tracker),
      h("p", { class: "hint" }, t("rp_note")),
      h("details", { class: "details" },
        h("summary", {}, t("rp_details")),
        h("dl", {},
          detailRow(t("rp_ballot_hash"), r.ballot_hash),
          detailRow(t("rp_leaf_index"), r.leaf_index),
          detailRow(t("rp_tree_size"), r.sth.tree_size),
          detailRow(t("rp_root"), r.sth.root),
          detailRow(t("rp_timestamp"), formatTime(r.sth.timestamp), "mono nowrap"))));
  } else {
    const message = state.phase === "not_found" ? t("rp_not_found", { hash: `${ballotHash.slice(0, 16)}…` })
      : state.phase === "network" ? t("rp_network", { detail: state.detail })
        : t("rp_failed", { detail: state.detail });
    parts.push(h("p", { class: "verdict bad", id: "verdict", role: "alert" }, message));
  }
  root.replaceChildren(h("section", { class: "screen receipt-page" }, parts));
  document.body.dataset.phase = state.phase;
  if (focus) {
    const heading = root.querySelector("#verdict") ?? root.querySelector("h1");
    heading.tabIndex = -1;
    heading.focus({ preventScroll: true });
  }
}

async function check() {
  try {
    const meeting = await getJson(paths.meeting(meetingId));
    state.meeting = meeting.meeting;
    let receipt;
    try {
      receipt = await getJson(paths.receipt(meetingId, ballotHash));
    } catch (exc) {
      if (exc instanceof ApiError && exc.status === 404) {
        state.phase = "not_found";
        return;
      }
      throw exc;
    }
    if (receipt.ballot_hash !== ballotHash || receipt.meeting_id !== meetingId) {
      throw new Error("the service answered with a receipt for another ballot");
    }
    const { entries } = await getJson(paths.entries(meetingId, receipt.leaf_index, receipt.leaf_index + 1));
    crypto.verifyReceipt(receipt, entries[0], meeting.meeting.log_key);
    state.receipt = receipt;
    try {
      state.vote = (await getJson(paths.vote(meetingId, receipt.vote_id))).vote;
    } catch {
      state.vote = null; // the title is a nicety
    }
    state.phase = "ok";
  } catch (exc) {
    state.phase = exc instanceof NetworkError ? "network" : "failed";
    state.detail = exc instanceof ApiError ? (exc.serverMessage ?? exc.code) : exc.message;
  }
}

applyDocumentLang();
watchChinese(document.body, () => getLang() === "en");
render(false);
check().then(() => render(true));
