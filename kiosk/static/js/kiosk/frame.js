// The page frame: switching screens (focus, ballot secrecy on leaving a ballot), the top bar
// with the connection state and the countdown, and the display settings panel. The screens
// themselves live in screens/*.js and are registered here by kiosk.js (defineScreens).

import { h, replace, silence } from "../dom.js";
import { getLang, setLang, t } from "../i18n.js";
import * as display from "../settings.js";
import { app, isHeld, openVoteId, root, topbar } from "./state.js";

/** name → (screen params) → element; and name → redraw-in-place, for the screens that have one. */
const screens = {};
const inPlace = {};

export function defineScreens(table, inPlaceUpdates = {}) {
  Object.assign(screens, table);
  Object.assign(inPlace, inPlaceUpdates);
}

/** Update the current screen in place (what the deputy has typed stays), if it can be. */
export function updateInPlace() {
  inPlace[app.screen.name]?.();
}

/** Stop the camera, if the check-in screen's scanner is running. */
export function stopScanner() {
  app.scanner?.stop();
  app.scanner = null;
  const panel = document.getElementById("scan-panel");
  if (panel) panel.hidden = true;
}

export function render({ focus = true } = {}) {
  const activeId = document.activeElement?.id;
  const onHeading = document.activeElement !== null && document.activeElement === root.querySelector("h1");
  renderTopbar();
  const screen = app.screen;
  const view = (screens[screen.name] ?? screens.loading)(screen);
  root.replaceChildren(view);
  document.body.dataset.screen = screen.name;
  if (screen.vid) document.body.dataset.vote = screen.vid;
  else delete document.body.dataset.vote;
  const restore = !focus && activeId ? document.getElementById(activeId) : null;
  if (restore) {
    restore.focus({ preventScroll: true });
  } else if (focus || onHeading) { // a redraw keeps focus on the heading too
    const heading = root.querySelector("h1");
    if (heading) {
      heading.tabIndex = -1;
      heading.focus({ preventScroll: true });
    }
    if (focus) window.scrollTo(0, 0);
  }
}

// The screens of filling in one ballot: the choices live in memory while one of these shows.
const CHOOSING = new Set(["ballot", "review", "challenge", "encrypting"]);

/**
 * Switch to a new screen (focus moves to its heading). Ballot secrecy at the seat: every screen
 * change empties the screen-reader status region, and leaving the screens of filling in a ballot
 * drops the choices, so nothing the next screen draws can tell what was chosen.
 */
export function show(name, params = {}) {
  stopScanner();
  clearTimeout(app.resultTimer);
  silence();
  if (!CHOOSING.has(name)) app.choices = {};
  app.screen = { name, ...params };
  render();
}

/** Redraw the current screen in place (language switch, new data), keeping focus. */
export function refresh() {
  render({ focus: false });
}

// ------------------------------------------------------------------------------ top bar

export function renderTopbar() {
  const p = app.pairing;
  replace(topbar,
    h("div", { class: "brand" }, t("app_name")),
    h("div", { class: "topbar-meeting" }, p ? p.title : ""),
    p ? h("div", { class: "topbar-seat" }, t("seat", { seat: p.seat })) : null,
    h("div", { class: "countdown", id: "countdown", hidden: true }),
    app.socket ? h("div", { class: `conn conn-${app.connection}`, id: "conn", role: "status" },
      h("span", { class: "conn-dot", "aria-hidden": "true" }), t(`conn_${app.connection}`)) : null,
    h("button", {
      type: "button", id: "btn-settings", class: "btn lang", "aria-expanded": app.settingsOpen ? "true" : "false",
      "aria-controls": "settings", onclick: () => { app.settingsOpen = !app.settingsOpen; renderSettings(); renderTopbar(); },
    }, t("settings_button")),
    h("button", {
      type: "button", id: "lang-btn", class: "btn lang", lang: getLang() === "en" ? "zh-CN" : "en",
      "aria-label": t("lang_switch_label"), onclick: () => switchLang(getLang() === "en" ? "zh" : "en"),
    }, t("lang_switch")));
  renderSettings();
  updateCountdown();
}

export function switchLang(value) {
  setLang(value);
  display.touch(app.cred?.credential);
  silence();
  refresh();
}

/** The display settings panel (text size, contrast, language) under the top bar. */
export function renderSettings() {
  const panel = document.getElementById("settings");
  if (!panel) return;
  panel.hidden = !app.settingsOpen;
  panel.setAttribute("aria-label", t("settings_button"));
  if (!app.settingsOpen) {
    panel.replaceChildren();
    return;
  }
  const current = display.settings();
  const choice = (id, label, pressed, onclick, attrs = {}) => h("button", {
    type: "button", id, class: "btn setting", "aria-pressed": pressed ? "true" : "false", onclick, ...attrs,
  }, label);
  const set = (name, value) => () => {
    display.setSetting(name, value, app.cred?.credential);
    const focused = document.activeElement?.id;
    renderSettings();
    if (focused) document.getElementById(focused)?.focus();
  };
  replace(panel,
    h("div", { class: "setting-group", role: "group", "aria-labelledby": "set-size-label" },
      h("span", { class: "setting-label", id: "set-size-label" }, t("settings_size")),
      display.TEXT_SIZES.map((size) => choice(`set-size-${size}`, t(`settings_size_${size}`), current.size === size, set("size", size)))),
    h("div", { class: "setting-group", role: "group", "aria-labelledby": "set-contrast-label" },
      h("span", { class: "setting-label", id: "set-contrast-label" }, t("settings_contrast")),
      display.CONTRASTS.map((c) => choice(`set-contrast-${c}`, t(`settings_contrast_${c}`), current.contrast === c, set("contrast", c)))),
    h("div", { class: "setting-group", role: "group", "aria-labelledby": "set-lang-label" },
      h("span", { class: "setting-label", id: "set-lang-label" }, t("settings_lang")),
      choice("set-lang-zh", "中文", getLang() === "zh", () => { switchLang("zh"); document.getElementById("set-lang-zh")?.focus(); }, { lang: "zh-CN" }),
      choice("set-lang-en", "English", getLang() === "en", () => { switchLang("en"); document.getElementById("set-lang-en")?.focus(); }, { lang: "en" })),
    h("button", {
      type: "button", id: "btn-settings-close", class: "btn", onclick: () => {
        app.settingsOpen = false;
        renderTopbar();
        document.getElementById("btn-settings")?.focus();
      },
    }, t("settings_close")));
}

export function setConnection(state) {
  app.connection = state;
  const el = document.getElementById("conn");
  if (el) {
    el.className = `conn conn-${state}`;
    el.replaceChildren(h("span", { class: "conn-dot", "aria-hidden": "true" }), t(`conn_${state}`));
  }
}

export function updateCountdown() {
  const el = document.getElementById("countdown");
  if (!el) return;
  const vid = openVoteId();
  const closesAt = vid ? app.voteStates.get(vid)?.closes_at : null;
  if (vid && isHeld(vid)) {
    el.hidden = false;
    el.classList.remove("urgent");
    el.textContent = t("held_short");
    return;
  }
  if (!closesAt) {
    el.hidden = true;
    return;
  }
  const left = Math.max(0, Math.round((Date.parse(closesAt) - Date.now()) / 1000));
  const mm = String(Math.floor(left / 60)).padStart(2, "0");
  const ss = String(left % 60).padStart(2, "0");
  el.hidden = false;
  el.classList.toggle("urgent", left <= 60);
  el.textContent = left > 0 ? t("countdown", { time: `${mm}:${ss}` }) : t("countdown_over");
}

setInterval(updateCountdown, 1000);
