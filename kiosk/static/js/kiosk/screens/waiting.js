// The screens between votes: loading, checked in and waiting (presence, quorum, an open vote to
// go back to), a vote closed while filling it in, and a vote's results.

import { kindLabel, resultSummary } from "../../ballots.js";
import { h } from "../../dom.js";
import { field, t } from "../../i18n.js";
import * as store from "../../storage.js";
import { show } from "../frame.js";
import { openVote } from "../live.js";
import { app, mid, openVoteId } from "../state.js";
import { button } from "./common.js";

export const screens = {
  loading() {
    return h("section", { class: "screen center" }, h("h1", {}, t("loading")));
  },

  waiting() {
    const p = app.presence;
    const openVid = openVoteId();
    const canVote = openVid && app.votes.has(openVid) && !store.getReceipt(mid(), openVid, app.cred?.credential);
    return h("section", { class: "screen center" },
      h("div", { class: "big-check", "aria-hidden": "true" }, "✓"),
      h("h1", {}, t("checked_in")),
      h("p", { class: "seat-big" }, t("waiting_seat", { seat: app.pairing.seat })),
      h("p", { class: "lead" }, app.pairing.title),
      h("p", {}, t("waiting_text")),
      p ? h("p", { class: `presence ${p.quorum_met ? "ok" : "bad"}` },
        t("presence", { present: p.present, members: p.members }), " · ",
        h("strong", {}, p.quorum_met ? t("quorum_met") : t("quorum_not_met"))) : null,
      canVote ? button("btn-open-vote", t("open_vote_button", { title: field(app.votes.get(openVid).vote, "title") }),
        () => openVote(openVid), "btn primary big") : null);
  },

  closed({ vid }) {
    return h("section", { class: "screen center" },
      h("div", { class: "big-cross", "aria-hidden": "true" }, "■"),
      h("h1", {}, t("closed_title")),
      h("p", { class: "lead" }, field(app.votes.get(vid)?.vote, "title")),
      h("p", {}, t("closed_text")),
      button("btn-back-waiting", t("back"), () => show("waiting"), "btn primary big"));
  },

  results({ vid, result }) {
    const vote = app.votes.get(vid)?.vote;
    return h("section", { class: "screen results" },
      h("div", { class: "vote-head" },
        vote ? h("div", { class: "kind-tag" }, kindLabel(vote.kind)) : null,
        h("h1", {}, t("results_title")),
        h("p", { class: "lead" }, vote ? field(vote, "title") : vid)),
      resultSummary(vote, result),
      h("div", { class: "actions" }, button("btn-back-waiting", t("back"), () => show("waiting"), "btn primary big")));
  },
};
