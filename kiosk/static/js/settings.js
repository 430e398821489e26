// The deputy's display settings on this tablet: text size (4 steps, the largest twice the
// default), contrast (standard or high) and, through i18n.js, the language.
//
// They are kept in localStorage with the credential of the deputy who set them (`owner`; null
// when set before anyone checked in, on the check-in screen). When a different deputy checks in
// on this tablet, claim() puts them back to the defaults: one deputy's large text or English is
// not the next deputy's. The same deputy checking in again (after a restart) keeps them.

import { setLang } from "./i18n.js";

const KEY = "piaojue.settings";
export const TEXT_SIZES = [1, 2, 3, 4]; // 100 %, 125 %, 150 %, 200 % (kiosk.css)
export const CONTRASTS = ["standard", "high"];
const DEFAULTS = { size: 1, contrast: "standard", owner: null };

function load() {
  try {
    const stored = JSON.parse(localStorage.getItem(KEY) ?? "null");
    if (stored && TEXT_SIZES.includes(stored.size) && CONTRASTS.includes(stored.contrast)) return { ...DEFAULTS, ...stored };
  } catch {
    // unreadable: defaults
  }
  return { ...DEFAULTS };
}

let current = load();

function save() {
  try {
    localStorage.setItem(KEY, JSON.stringify(current));
  } catch {
    // not remembered; still applied to this page
  }
}

export const settings = () => ({ ...current });

/** Put the settings on <html> (data-text-size, data-contrast), where kiosk.css reads them. */
export function applySettings() {
  document.documentElement.dataset.textSize = String(current.size);
  document.documentElement.dataset.contrast = current.contrast;
}

/** Change one setting (`size`, `contrast`) on behalf of `owner` (the checked-in credential or null). */
export function setSetting(name, value, owner) {
  current = { ...current, [name]: value, owner: owner ?? null };
  save();
  applySettings();
}

/** The language was switched by `owner`: the settings (language included) are now theirs. */
export function touch(owner) {
  current = { ...current, owner: owner ?? null };
  save();
}

/** A deputy checked in with `credential`: another deputy's settings go back to the defaults. */
export function claim(credential) {
  const reset = current.owner !== null && current.owner !== credential;
  if (reset) {
    current = { ...DEFAULTS };
    setLang("zh");
  }
  current = { ...current, owner: credential };
  save();
  applySettings();
  return reset;
}
