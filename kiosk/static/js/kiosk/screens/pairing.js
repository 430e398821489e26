// The pairing screen: the tablet is bound to its seat with an 8-digit code from the setup pages
// (typed, or in the pairing link); and undoing it (重新配对 on the check-in screen).

import { NetworkError, paths, postJson } from "../../api.js";
import { announce, h } from "../../dom.js";
import { t } from "../../i18n.js";
import * as store from "../../storage.js";
import { show } from "../frame.js";
import { startSession } from "../live.js";
import { app } from "../state.js";
import { rateLimitText } from "./common.js";

export const screens = {
  pair(screen) {
    const onsubmit = (event) => {
      event.preventDefault();
      pair(document.getElementById("pair-input").value.trim());
    };
    return h("section", { class: "screen narrow" },
      h("h1", {}, t("pair_title")),
      h("p", { class: "lead" }, screen.auto ? t("pair_auto") : t("pair_intro")),
      h("form", { class: "form", onsubmit, novalidate: true },
        h("label", { for: "pair-input", class: "field-label" }, t("pair_code_label")),
        h("input", {
          id: "pair-input", class: "text-input code", inputmode: "numeric", autocomplete: "off", maxlength: "8",
          pattern: "[0-9]{8}", "aria-invalid": screen.error ? "true" : null, "aria-describedby": "pair-error",
        }),
        h("p", { id: "pair-error", class: "field-error", role: "alert" }, screen.error ?? ""),
        h("button", { type: "submit", id: "btn-pair", class: "btn primary big", disabled: screen.busy }, screen.busy ? t("pair_busy") : t("pair_submit"))));
  },
};

export async function pair(code) {
  if (!/^\d{8}$/.test(code)) {
    show("pair", { error: t("pair_bad_format") });
    return;
  }
  show("pair", { busy: true });
  try {
    const { data } = await postJson(paths.pair(), { code });
    app.pairing = { meeting_id: data.meeting_id, seat: data.seat, title: data.title };
    store.setPairing(app.pairing);
    store.setCredential(null);
    store.setCheckedIn(null);
    app.cred = null;
    app.restarted = false;
    show("checkin");
    startSession();
    announce(t("pair_done", { title: data.title, seat: data.seat }));
  } catch (exc) {
    const error = exc instanceof NetworkError ? t("err_network") : (rateLimitText(exc) ?? t("pair_failed"));
    show("pair", { error });
  }
}

export function unpair() {
  // eslint-disable-next-line no-alert
  if (!window.confirm(t("repair_confirm", { seat: app.pairing.seat }))) return;
  store.setPairing(null);
  store.setCredential(null);
  store.setCheckedIn(null);
  app.pairing = null;
  app.cred = null;
  app.socket?.disconnect();
  app.socket = null;
  show("pair");
}
