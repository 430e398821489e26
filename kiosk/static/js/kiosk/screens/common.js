// What several screens draw or say the same way.

import { ApiError } from "../../api.js";
import { kindLabel } from "../../ballots.js";
import { h } from "../../dom.js";
import { field, t } from "../../i18n.js";
import { app, isHeld } from "../state.js";

export const button = (id, text, onclick, cls = "btn") => h("button", { type: "button", id, class: cls, onclick }, text);

export function voteHead(vid) {
  const { vote } = app.votes.get(vid);
  return h("div", { class: "vote-head" },
    h("div", { class: "kind-tag" }, kindLabel(vote.kind)),
    h("h1", {}, field(vote, "title")));
}

/** The banner shown on the ballot and review screens while the vote is on hold (or null). */
export function heldNotice(vid) {
  return isHeld(vid) ? h("p", { class: "notice held", id: "held-notice", role: "status" }, t("held_hint")) : null;
}

/** The message for a 429 `rate_limited` answer (with its Retry-After), or null for anything else. */
export function rateLimitText(exc) {
  if (!(exc instanceof ApiError) || exc.status !== 429) return null;
  return t("err_rate_limited", { seconds: exc.retryAfter ?? 60 });
}
