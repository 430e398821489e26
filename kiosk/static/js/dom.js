// Tiny DOM helpers for the kiosk pages (no framework).

/**
 * h("button", {class: "big", onclick: fn, "aria-pressed": "true"}, "赞成", child…)
 * Attributes: `class`, `text`, on<event> functions, `dataset` (object), booleans (true → present,
 * false/null/undefined → absent); everything else is set with setAttribute. Children may be
 * strings, nodes, null/false (skipped) or arrays of those.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace the children of `el`. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

let announceTimer = null;
const ANNOUNCE_KEEP_MS = 10_000;

/**
 * Say `message` through the page's polite live region (screen readers), without moving focus.
 * The region is emptied again after ANNOUNCE_KEEP_MS, and at once by silence(): what it said
 * ("已选择：满意") must not outlive the screen it was said on.
 */
export function announce(message) {
  const region = document.getElementById("live-status");
  if (!region) return;
  clearTimeout(announceTimer);
  region.textContent = "";
  // A fresh text node after a tick makes screen readers repeat an identical message.
  announceTimer = setTimeout(() => {
    region.textContent = message;
    announceTimer = setTimeout(() => { region.textContent = ""; }, ANNOUNCE_KEEP_MS);
  }, 30);
}

/** Empty the live region and drop any announcement still pending (every screen change). */
export function silence() {
  clearTimeout(announceTimer);
  announceTimer = null;
  const region = document.getElementById("live-status");
  if (region) region.textContent = "";
}

/** Resolves after the browser has painted the current DOM (two animation frames). */
export function afterPaint() {
  return new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => resolve())));
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Lowercase hex of a Uint8Array (display/storage encoding only; all crypto lives in crypto/). */
export function bytesToHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
