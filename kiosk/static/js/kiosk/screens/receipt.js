// After casting: the ballot being submitted (retries), its receipt (tracker, QR code and link to
// the receipt page), or why the service rejected it.

import { paths } from "../../api.js";
import { h } from "../../dom.js";
import { field, t } from "../../i18n.js";
import { retryNow } from "../../submit.js";
import { show } from "../frame.js";
import { app, mid, publicBase } from "../state.js";
import { button } from "./common.js";

export const screens = {
  submitting({ vid, tracker }) {
    return h("section", { class: "screen center" },
      h("div", { class: "spinner", "aria-hidden": "true" }),
      h("h1", {}, t("submitting_title")),
      h("p", { class: "lead" }, field(app.votes.get(vid)?.vote, "title")),
      h("p", {}, t("submitting_text")),
      h("p", { class: "notice warn", id: "submit-retry", role: "status" }),
      h("p", { class: "tracker-label" }, t("tracker_label")),
      h("p", { class: "tracker small", translate: "no" }, tracker),
      h("div", { class: "actions" },
        h("button", { type: "button", id: "btn-retry", class: "btn big", hidden: true, onclick: () => retryNow() }, t("retry_now"))));
  },

  receipt({ vid, rec }) {
    const vote = app.votes.get(vid)?.vote;
    const open = app.voteStates.get(vid)?.state === "open";
    const url = `${publicBase()}${paths.receiptPage(mid(), rec.ballot_hash)}`;
    const shortUrl = `${publicBase()}${paths.receiptPage(mid(), rec.ballot_hash.slice(0, 16))}`;
    const canRecast = vote?.recast && open && app.cred;
    return h("section", { class: "screen receipt" },
      h("div", { class: "receipt-main" },
        h("div", { class: "big-check", "aria-hidden": "true" }, "✓"),
        h("h1", {}, t("receipt_title")),
        h("p", { class: "lead" }, field(vote, "title")),
        h("p", {}, t("receipt_text", { index: rec.leaf_index + 1 })),
        h("p", { class: `notice ${rec.verified ? "ok" : "bad"}`, id: "receipt-check" },
          rec.verified ? t("receipt_verified") : t("receipt_verify_failed", { detail: rec.error })),
        h("p", { class: "tracker-label", id: "tracker-label" }, t("tracker_label")),
        h("p", { class: "tracker", id: "tracker", translate: "no" }, rec.tracker),
        !open && vote?.recast ? h("p", { class: "muted" }, t("closed_after_vote")) : null,
        h("div", { class: "actions row" },
          canRecast ? button("btn-recast", t("recast"), () => {
            app.choices = {};
            show("ballot", { vid });
          }, "btn big") : null,
          button("btn-done", t("done"), () => show(app.cred ? "waiting" : "checkin"), "btn big")),
        canRecast ? h("p", { class: "hint" }, t("recast_hint")) : null),
      h("figure", { class: "receipt-qr" },
        h("img", { src: paths.qr(url), alt: t("receipt_qr_alt"), width: "260", height: "260" }),
        h("figcaption", { class: "hint" }, t("receipt_qr_hint")),
        h("p", { class: "receipt-link-label" }, t("receipt_link_label")),
        h("p", { class: "receipt-link mono", id: "receipt-link", translate: "no" }, shortUrl),
        h("p", { class: "receipt-link-label" }, t("rp_ballot_hash")),
        h("p", { class: "receipt-hash mono", id: "receipt-hash", translate: "no" },
          rec.ballot_hash.match(/.{1,8}/g).join(" "))));
  },

  rejected({ vid, code, message, detail }) {
    const key = code ? `err_${code}` : null;
    const known = key && t(key) !== key;
    const open = app.voteStates.get(vid)?.state === "open";
    const canRetry = open && app.cred && !["already_voted", "not_checked_in", "unknown_credential", "revoked_credential"].includes(code);
    return h("section", { class: "screen center" },
      h("div", { class: "big-cross", "aria-hidden": "true" }, "!"),
      h("h1", {}, t("rejected_title")),
      h("p", { class: "lead strong", role: "alert" }, known ? t(key) : t("err_generic", { detail: message ?? detail ?? code })),
      known && message ? h("p", { class: "muted" }, t("server_said", { message })) : null,
      h("div", { class: "actions row" },
        canRetry ? button("btn-again", t("back_to_edit"), () => {
          app.choices = {};
          show("ballot", { vid });
        }, "btn big") : null,
        button("btn-back-waiting", t("back"), () => show(app.cred ? "waiting" : "checkin"), "btn primary big")));
  },
};
