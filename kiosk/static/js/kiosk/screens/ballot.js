// Filling in a ballot: the ballot itself, the review before casting, encrypting, and the Benaloh
// challenge's decoded contents. The choices live in app.choices only while one of these shows.

import { choicesList, kindLabel, renderBallot, validate } from "../../ballots.js";
import { h } from "../../dom.js";
import { field, t } from "../../i18n.js";
import { cast, challenge } from "../casting.js";
import { show } from "../frame.js";
import { app, isHeld } from "../state.js";
import { button, heldNotice, voteHead } from "./common.js";

export const screens = {
  ballot({ vid }) {
    const { vote } = app.votes.get(vid);
    const { element, footer } = renderBallot(vote, app.choices, { onNext: () => show("review", { vid }) });
    return h("section", { class: "screen ballot-screen" }, voteHead(vid), heldNotice(vid), element, footer);
  },

  review({ vid, notice, error }) {
    const { vote } = app.votes.get(vid);
    const verdict = validate(vote, app.choices);
    const held = isHeld(vid);
    return h("section", { class: "screen review" },
      h("div", { class: "vote-head" },
        h("div", { class: "kind-tag" }, kindLabel(vote.kind)),
        h("h1", {}, t("review_title")),
        h("p", { class: "lead" }, field(vote, "title"))),
      heldNotice(vid),
      notice ? h("p", { class: "notice ok", id: "spoiled-notice" }, notice) : null,
      error ? h("p", { class: "notice bad", role: "alert" }, error) : null,
      choicesList(vote, app.choices),
      h("div", { class: "actions" },
        h("button", {
          type: "button", id: "btn-cast", class: "btn primary huge", disabled: !verdict.ok || held,
          "aria-describedby": "cast-hint", onclick: () => cast(vid),
        }, t("cast")),
        h("p", { id: "cast-hint", class: "hint" }, held ? t("held_hint") : verdict.ok ? t("cast_hint") : verdict.reason),
        h("div", { class: "secondary-actions" },
          h("button", {
            type: "button", id: "btn-challenge", class: "btn", disabled: !verdict.ok || held,
            "aria-describedby": "challenge-hint", onclick: () => challenge(vid),
          }, t("challenge")),
          button("btn-back", t("back_to_edit"), () => show("ballot", { vid }))),
        h("p", { id: "challenge-hint", class: "hint" }, t("challenge_hint"))));
  },

  encrypting({ vid }) {
    return h("section", { class: "screen center" },
      h("div", { class: "spinner", "aria-hidden": "true" }),
      h("h1", {}, t("encrypting")),
      h("p", { class: "lead" }, field(app.votes.get(vid)?.vote, "title")));
  },

  challenge({ vid, decoded, tracker, posted, detail }) {
    const { vote } = app.votes.get(vid);
    const status = posted === "pending" ? h("p", { class: "notice" }, t("challenge_posting"))
      : posted === "ok" ? h("p", { class: "notice ok", id: "spoiled-status" }, t("spoiled_notice"))
        : h("p", { class: "notice bad", id: "spoiled-status" }, t("challenge_post_failed", { detail }));
    return h("section", { class: "screen review" },
      h("div", { class: "vote-head" },
        h("div", { class: "kind-tag" }, kindLabel(vote.kind)),
        h("h1", {}, t("challenge_title")),
        h("p", { class: "lead" }, field(vote, "title"))),
      h("p", { class: "strong" }, t("challenge_contents")),
      choicesList(vote, decoded),
      h("p", { class: "tracker-label" }, t("challenge_tracker")),
      h("p", { class: "tracker small", translate: "no" }, tracker),
      status,
      h("p", { class: "hint" }, t("challenge_mismatch")),
      h("div", { class: "actions" },
        h("button", {
          type: "button", id: "btn-back-review", class: "btn primary big", disabled: posted === "pending",
          onclick: () => show("review", { vid, notice: posted === "ok" ? t("spoiled_notice") : null }),
        }, t("back_to_review"))));
  },
};
