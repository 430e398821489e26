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

// Chinese text on an English page: names, titles and other data that have no English version.
const CJK = "\\u2e80-\\u2fff\\u3000-\\u303f\\u3040-\\u30ff\\u3400-\\u4dbf\\u4e00-\\u9fff\\uf900-\\ufaff\\uff00-\\uffef";
const CJK_RUN = new RegExp(`[${CJK}](?:[${CJK}\\s\\d.,·:/-]*[${CJK}])?`, "g");

function markRuns(textNode) {
  const text = textNode.nodeValue;
  CJK_RUN.lastIndex = 0;
  if (!CJK_RUN.test(text)) return;
  const parent = textNode.parentElement;
  if (!parent || parent.closest("[lang]")?.lang.startsWith("zh") || ["SCRIPT", "STYLE"].includes(parent.tagName)) return;
  const parts = [];
  let last = 0;
  CJK_RUN.lastIndex = 0;
  for (const match of text.matchAll(CJK_RUN)) {
    if (match.index > last) parts.push(document.createTextNode(text.slice(last, match.index)));
    const span = document.createElement("span");
    span.lang = "zh-CN";
    span.textContent = match[0];
    parts.push(span);
    last = match.index + match[0].length;
  }
  if (last < text.length) parts.push(document.createTextNode(text.slice(last)));
  textNode.replaceWith(...parts);
}

function markTree(node) {
  if (node.nodeType === Node.TEXT_NODE) {
    markRuns(node);
    return;
  }
  if (node.nodeType !== Node.ELEMENT_NODE) return;
  const walker = document.createTreeWalker(node, NodeFilter.SHOW_TEXT);
  const texts = [];
  while (walker.nextNode()) texts.push(walker.currentNode);
  texts.forEach(markRuns);
}

/**
 * While `isEnglish()`, give every run of Chinese text in `root` (now and as it changes) a
 * `<span lang="zh-CN">`, so a screen reader reads names and titles with a Chinese voice.
 */
export function watchChinese(root, isEnglish) {
  const observer = new MutationObserver((records) => {
    if (!isEnglish()) return;
    for (const record of records) {
      if (record.type === "characterData") markTree(record.target);
      else record.addedNodes.forEach(markTree);
    }
  });
  observer.observe(root, { childList: true, subtree: true, characterData: true });
  if (isEnglish()) markTree(root);
  return observer;
}
