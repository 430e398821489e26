// The deputy's seat tablet (SPEC §11, client side): pairing, check-in, the live session, ballots
// of the five kinds, review, Benaloh challenge, offline-resilient submission and the receipt.
//
// Secrets stay here: the credential seed lives in sessionStorage only and is never sent; the
// plaintext choices and the encryption nonces live in memory only until the ballot is cast (or
// challenged, when the nonces are published on purpose, SPEC §4.4). See docs/guide/代表使用说明.md.

import { io } from "socket.io-client";
import * as crypto from "./crypto/index.js";
import { ApiError, NetworkError, getJson, paths, postJson } from "./api.js";
import { choicesFromOpenings, choicesList, kindLabel, renderBallot, resultSummary, validate } from "./ballots.js";
import { afterPaint, announce, bytesToHex, h, replace, silence, watchChinese } from "./dom.js";
import { applyDocumentLang, field, getLang, setLang, t } from "./i18n.js";
import { cameraAvailable, startScanner } from "./scanner.js";
import * as store from "./storage.js";
import * as display from "./settings.js";
import { POST_TIMEOUT_MS, retryNow, submitQueued } from "./submit.js";

const root = document.getElementById("app");
const topbar = document.getElementById("topbar");
const RESULT_SCREEN_MS = 60_000;

const app = {
  pairing: null, // {meeting_id, seat, title}
  cred: null, // {meeting_id, seat, seed, credential}: sessionStorage only
  meeting: null, // {meeting, meeting_hash}
  voteList: [], // [{vote_id, state}] from GET /api/meetings/<mid>
  votes: new Map(), // vote_id → {vote, vote_hash}
  voteStates: new Map(), // vote_id → {state, closes_at}
  holds: new Map(), // vote_id → {held, remaining}: the presidium has put the open vote on hold
  presence: null,
  connection: "connecting",
  socket: null,
  screen: { name: "loading" },
  choices: {}, // the ballot being filled in: {contestId: [optionId]}
  scanner: null,
  settingsOpen: false, // the display settings panel under the top bar
  submitting: new Set(),
  resultTimer: null,
};

// Timings for the browser tests and benchmarks (Date.now() milliseconds; nothing secret).
const metrics = { opened: {}, painted: {}, encryptMs: [] };
window.__piaojue = metrics;

const mid = () => app.pairing?.meeting_id;

/** Where phones reach the service (PIAOJUE_PUBLIC_URL), for receipt links; else this page's origin. */
const publicBase = () => root.dataset.publicUrl || window.location.origin;

// =============================================================================== rendering

function render({ focus = true } = {}) {
  const activeId = document.activeElement?.id;
  const onHeading = document.activeElement !== null && document.activeElement === root.querySelector("h1");
  renderTopbar();
  const screen = app.screen;
  const view = (SCREENS[screen.name] ?? SCREENS.loading)(screen);
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
function show(name, params = {}) {
  stopScanner();
  clearTimeout(app.resultTimer);
  silence();
  if (!CHOOSING.has(name)) app.choices = {};
  app.screen = { name, ...params };
  render();
}

/** Redraw the current screen in place (language switch, new data), keeping focus. */
function refresh() {
  render({ focus: false });
}

function screenIs(name, vid) {
  return app.screen.name === name && (vid === undefined || app.screen.vid === vid);
}

// ------------------------------------------------------------------------------ top bar

function renderTopbar() {
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

function switchLang(value) {
  setLang(value);
  display.touch(app.cred?.credential);
  silence();
  refresh();
}

/** The display settings panel (text size, contrast, language) under the top bar. */
function renderSettings() {
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

function setConnection(state) {
  app.connection = state;
  const el = document.getElementById("conn");
  if (el) {
    el.className = `conn conn-${state}`;
    el.replaceChildren(h("span", { class: "conn-dot", "aria-hidden": "true" }), t(`conn_${state}`));
  }
}

function openVoteId() {
  const current = app.screen.vid;
  if (current && app.voteStates.get(current)?.state === "open") return current;
  for (const [vid, s] of app.voteStates) if (s.state === "open") return vid;
  return null;
}

function updateCountdown() {
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

// =============================================================================== data

async function loadMeeting({ fresh = false } = {}) {
  const cacheName = `meeting.${mid()}`;
  if (!fresh && app.meeting) return app.meeting;
  try {
    const data = await getJson(paths.meeting(mid()));
    app.meeting = { meeting: data.meeting, meeting_hash: data.meeting_hash };
    app.voteList = data.votes;
    store.setDoc(cacheName, app.meeting);
  } catch (exc) {
    const cached = store.getDoc(cacheName);
    if (!(exc instanceof NetworkError) || !cached) throw exc;
    app.meeting = cached;
  }
  return app.meeting;
}

async function getVote(vid) {
  const cacheName = `vote.${mid()}.${vid}`;
  let vote = app.votes.get(vid) ?? store.getDoc(cacheName);
  if (!vote) {
    const data = await getJson(paths.vote(mid(), vid));
    vote = { vote: data.vote, vote_hash: data.vote_hash };
    store.setDoc(cacheName, vote);
  }
  app.votes.set(vid, vote);
  return vote;
}

/** Fetch every vote definition ahead of time, so an opened vote paints at once. */
async function prefetch() {
  try {
    const meeting = await loadMeeting({ fresh: true });
    crypto.prepareJointKey(meeting.meeting.public_key);
    for (const { vote_id: vid } of app.voteList) await getVote(vid);
  } catch {
    // best effort: a vote is fetched when it opens
  }
}

// =============================================================================== pairing

async function pair(code) {
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

/** The message for a 429 `rate_limited` answer (with its Retry-After), or null for anything else. */
function rateLimitText(exc) {
  if (!(exc instanceof ApiError) || exc.status !== 429) return null;
  return t("err_rate_limited", { seconds: exc.retryAfter ?? 60 });
}

function unpair() {
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

// =============================================================================== check-in

function setCheckinError(message) {
  const el = document.getElementById("checkin-error");
  const input = document.getElementById("code-input");
  if (el) el.textContent = message;
  if (input) {
    if (message) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
  }
}

function setCheckinBusy(busy) {
  const button = document.getElementById("btn-checkin");
  if (button) {
    button.disabled = busy;
    button.textContent = busy ? t("checkin_busy") : t("checkin_submit");
  }
}

async function checkIn(text) {
  setCheckinError("");
  let code;
  try {
    code = crypto.normalizeCode(text);
  } catch (exc) {
    setCheckinError(t("checkin_code_error", { detail: exc.detail ?? exc.message }));
    document.getElementById("code-input")?.focus();
    return;
  }
  setCheckinBusy(true);
  try {
    const meeting = await loadMeeting({ fresh: true });
    const { seed, publicKeyHex } = crypto.deriveCredential(code, mid());
    const seat = app.pairing.seat;
    const signature = crypto.signCheckin(seed, meeting.meeting_hash, seat);
    await postJson(paths.checkin(mid()), { credential: publicKeyHex, seat, signature });
    app.cred = { meeting_id: mid(), seat, seed: bytesToHex(seed), credential: publicKeyHex };
    store.setCredential(app.cred);
    store.setCheckedIn({ meeting_id: mid(), seat });
    app.restarted = false;
    if (display.claim(publicKeyHex)) app.settingsOpen = false; // another deputy's settings: defaults
    show("waiting");
    announce(t("checked_in"));
    startSession();
    const open = openVoteId(); // a vote that opened before the check-in: its ballot at once
    if (open) openVote(open);
  } catch (exc) {
    setCheckinBusy(false);
    const messages = {
      unknown_credential: "checkin_unknown_credential",
      revoked_credential: "checkin_revoked",
      unknown_seat: "checkin_unknown_seat",
      not_sealed: "checkin_not_sealed",
      checkin_closed: "err_checkin_closed",
    };
    if (rateLimitText(exc)) setCheckinError(rateLimitText(exc));
    else if (exc instanceof ApiError && messages[exc.code]) setCheckinError(t(messages[exc.code]));
    else if (exc instanceof NetworkError) setCheckinError(t("err_network"));
    else setCheckinError(t("err_generic", { detail: exc.serverMessage ?? exc.message }));
    document.getElementById("code-input")?.focus();
  }
}

/**
 * What the check-in screen says before its form: that the tablet restarted (its check-in was lost
 * with the browser session) and that a vote is open, each with what to do.
 */
function checkinNotices() {
  const notices = [];
  if (app.restarted) notices.push(h("p", { class: "notice warn", id: "restarted-notice" }, t("checkin_restarted")));
  const vid = openVoteId();
  if (vid) {
    const title = field(app.votes.get(vid)?.vote, "title");
    notices.push(h("p", { class: "notice held", id: "vote-open-notice" },
      title ? t("checkin_vote_open", { title }) : t("checkin_vote_open_untitled")));
    if (!title) getVote(vid).then(() => screenIs("checkin") && updateCheckinNotices(), () => {});
  }
  return notices;
}

/** Redraw the check-in notices in place (what the deputy has typed stays). */
function updateCheckinNotices() {
  document.getElementById("checkin-notices")?.replaceChildren(...checkinNotices());
}

async function startScan() {
  const video = document.getElementById("scan-video");
  const panel = document.getElementById("scan-panel");
  if (!video || !panel) return;
  setCheckinError("");
  panel.hidden = false;
  try {
    app.scanner = await startScanner(video, (text) => {
      app.scanner = null;
      panel.hidden = true;
      let parsed;
      try {
        parsed = crypto.parseCardQr(text);
      } catch (exc) {
        setCheckinError(t("checkin_code_error", { detail: exc.detail ?? exc.message }));
        return;
      }
      if (parsed.meetingId !== mid()) {
        setCheckinError(t("scan_other_meeting", { meeting: parsed.meetingId }));
        return;
      }
      checkIn(parsed.code);
    });
    document.getElementById("btn-scan-cancel")?.focus();
  } catch (exc) {
    panel.hidden = true;
    setCheckinError(t("scan_failed", { reason: exc.message || exc.name }));
  }
}

function stopScanner() {
  app.scanner?.stop();
  app.scanner = null;
  const panel = document.getElementById("scan-panel");
  if (panel) panel.hidden = true;
}

// =============================================================================== live session

/** Join the meeting's live channel (from pairing on: the check-in screen says when a vote opens). */
function startSession() {
  prefetch();
  if (app.socket) return;
  const socket = io("/live", { transports: ["websocket", "polling"] });
  app.socket = socket;
  setConnection("connecting");
  socket.on("connect", () => {
    setConnection("connected");
    metrics.transport = socket.io.engine.transport.name;
    socket.emit("join", { meeting: mid() }, () => {});
    retryNow(); // a queued ballot need not wait out its backoff
  });
  socket.on("disconnect", () => setConnection("disconnected"));
  socket.on("connect_error", () => setConnection("disconnected"));
  socket.io.on("reconnect_attempt", () => setConnection("connecting"));
  socket.on("presence", onPresence);
  socket.on("vote_state", onVoteState);
  socket.on("turnout", () => {});
  socket.on("vote_hold", onHold);
  socket.on("result", onResult);
  renderTopbar();
}

function onPresence(presence) {
  app.presence = presence;
  if (screenIs("waiting")) refresh();
}

const isHeld = (vid) => Boolean(app.holds.get(vid)?.held);

function onHold(hold) {
  app.holds.set(hold.vote_id, { held: hold.held, remaining: hold.remaining });
  if (["ballot", "review"].includes(app.screen.name) && app.screen.vid === hold.vote_id) {
    render({ focus: false });
    announce(t(hold.held ? "held" : "resumed"));
  }
  updateCountdown();
}

function onVoteState(state) {
  const vid = state.vote_id;
  app.voteStates.set(vid, { state: state.state, closes_at: state.closes_at });
  if (state.state !== "open") app.holds.delete(vid);
  const name = app.screen.name;
  if (state.state === "open") {
    metrics.opened[vid] = Date.now();
    const idle = ["waiting", "results", "closed", "loading"].includes(name)
      || (["receipt", "rejected"].includes(name) && app.screen.vid !== vid);
    if (idle && app.cred) openVote(vid);
  } else if (app.screen.vid === vid) {
    if (["ballot", "review", "challenge"].includes(name)) {
      app.choices = {};
      show("closed", { vid });
    } else if (name === "receipt") {
      refresh(); // no more 重新投票
    }
  } else if (screenIs("waiting")) {
    refresh();
  }
  if (screenIs("checkin")) updateCheckinNotices();
  updateCountdown();
}

async function openVote(vid) {
  let vote;
  try {
    vote = await getVote(vid);
  } catch {
    return; // retried on the next vote_state (reconnect)
  }
  if (app.voteStates.get(vid)?.state !== "open" || !app.cred) return;
  const previous = store.getReceipt(mid(), vid, app.cred.credential);
  if (previous) {
    show("receipt", { vid, rec: previous });
    return;
  }
  app.choices = {};
  show("ballot", { vid });
  announce(t("vote_opened", { title: field(vote.vote, "title") }));
  await afterPaint();
  metrics.painted[vid] = Date.now();
}

async function onResult(result) {
  const vid = result.vote_id;
  const idle = ["waiting", "closed", "results"].includes(app.screen.name)
    || (["receipt", "rejected"].includes(app.screen.name) && app.voteStates.get(app.screen.vid)?.state !== "open");
  if (!idle) return;
  try {
    await getVote(vid);
  } catch {
    // summarised with ids only
  }
  show("results", { vid, result });
  app.resultTimer = setTimeout(() => {
    if (screenIs("results", vid)) show("waiting");
  }, RESULT_SCREEN_MS);
}

// =============================================================================== casting

function encryptNow(vid) {
  const { vote } = app.votes.get(vid);
  const started = performance.now();
  const encrypted = crypto.encryptBallot(vote, app.meeting.meeting_hash, app.meeting.meeting.public_key, app.cred.seed, app.choices);
  metrics.encryptMs.push({ vid, ms: Math.round(performance.now() - started) });
  return encrypted;
}

async function cast(vid) {
  show("encrypting", { vid });
  await afterPaint();
  let item;
  try {
    await loadMeeting();
    let encrypted = encryptNow(vid);
    item = {
      meeting_id: mid(), vote_id: vid, ballot_hash: encrypted.ballotHashHex, tracker: encrypted.tracker,
      entry: encrypted.entry, queued_at: new Date().toISOString(),
    };
    encrypted = null; // the nonces go with it
  } catch (exc) {
    show("rejected", { vid, detail: exc.serverMessage ?? exc.message });
    return;
  }
  app.choices = {};
  store.enqueue(item); // before the first post: a crash or an outage loses nothing
  await submitItem(item);
}

/** How long a ballot post may go unanswered before it is posted again (the page's data attribute). */
function postTimeoutMs() {
  const ms = Number.parseInt(root.dataset.postTimeoutMs ?? "", 10);
  return Number.isFinite(ms) && ms > 0 ? ms : POST_TIMEOUT_MS;
}

async function submitItem(item) {
  if (app.submitting.has(item.ballot_hash)) return;
  app.submitting.add(item.ballot_hash);
  show("submitting", { vid: item.vote_id, tracker: item.tracker, hash: item.ballot_hash });
  try {
    const { receipt } = await submitQueued(item, {
      timeoutMs: postTimeoutMs(),
      onRetry: ({ attempt, delay, offline, timedOut, rateLimited }) => {
        const el = document.getElementById("submit-retry");
        if (!el || !screenIs("submitting", item.vote_id)) return;
        const key = offline ? "submitting_retry" : timedOut ? "submitting_timeout" : "submitting_server_busy";
        const text = t(key, { seconds: Math.round(delay / 1000), attempt, timeout: Math.round(postTimeoutMs() / 1000) });
        el.textContent = text;
        // after a 429 the wait is the service's Retry-After: "retry now" would only be refused
        document.getElementById("btn-retry")?.toggleAttribute("hidden", rateLimited);
      },
    });
    let verified = true;
    let error = null;
    try {
      const meeting = await loadMeeting();
      crypto.verifyReceipt(receipt, item.entry, meeting.meeting.log_key);
    } catch (exc) {
      verified = false;
      error = exc.message;
    }
    const rec = {
      ballot_hash: receipt.ballot_hash, tracker: receipt.tracker, leaf_index: receipt.leaf_index,
      tree_size: receipt.sth?.tree_size, verified, error,
    };
    store.setReceipt(item.meeting_id, item.vote_id, item.entry.credential, rec);
    try {
      await getVote(item.vote_id); // after a reload the vote may not be loaded yet
    } catch {
      // the receipt shows without the vote's title
    }
    show("receipt", { vid: item.vote_id, rec });
  } catch (exc) {
    if (exc instanceof ApiError) show("rejected", { vid: item.vote_id, code: exc.code, message: exc.serverMessage });
    else show("rejected", { vid: item.vote_id, detail: exc.message });
  } finally {
    app.submitting.delete(item.ballot_hash);
  }
}

async function challenge(vid) {
  show("encrypting", { vid, purpose: "challenge" });
  await afterPaint();
  let encrypted;
  try {
    await loadMeeting();
    encrypted = encryptNow(vid);
  } catch (exc) {
    show("review", { vid, error: t("err_generic", { detail: exc.message }) });
    return;
  }
  const body = crypto.spoiledBody(encrypted);
  show("challenge", {
    vid, decoded: choicesFromOpenings(encrypted.openings), tracker: encrypted.tracker, posted: "pending",
  });
  encrypted = null;
  try {
    await postJson(paths.spoiled(mid(), vid), body);
    if (screenIs("challenge", vid)) app.screen.posted = "ok";
  } catch (exc) {
    if (screenIs("challenge", vid)) {
      app.screen.posted = "failed";
      app.screen.detail = exc instanceof NetworkError ? t("err_network") : (exc.serverMessage ?? exc.message);
    }
  }
  if (screenIs("challenge", vid)) {
    refresh();
    announce(app.screen.posted === "ok" ? t("spoiled_notice") : t("challenge_post_failed", { detail: app.screen.detail }));
  }
}

/** On page load: submit any ballot that was queued but not yet accepted. */
function resumeQueue() {
  const queued = store.getQueue().filter((q) => q.meeting_id === mid());
  if (!queued.length) return false;
  (async () => {
    for (const item of queued) await submitItem(item);
  })();
  return true;
}

// =============================================================================== screens

const button = (id, text, onclick, cls = "btn") => h("button", { type: "button", id, class: cls, onclick }, text);

function voteHead(vid) {
  const { vote } = app.votes.get(vid);
  return h("div", { class: "vote-head" },
    h("div", { class: "kind-tag" }, kindLabel(vote.kind)),
    h("h1", {}, field(vote, "title")));
}

/** The banner shown on the ballot and review screens while the vote is on hold (or null). */
function heldNotice(vid) {
  return isHeld(vid) ? h("p", { class: "notice held", id: "held-notice", role: "status" }, t("held_hint")) : null;
}

const SCREENS = {
  loading() {
    return h("section", { class: "screen center" }, h("h1", {}, t("loading")));
  },

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

  checkin() {
    const onsubmit = (event) => {
      event.preventDefault();
      checkIn(document.getElementById("code-input").value);
    };
    const camera = cameraAvailable();
    return h("section", { class: "screen narrow" },
      h("h1", {}, t("checkin_title")),
      h("div", { id: "checkin-notices", role: "status" }, checkinNotices()),
      h("p", { class: "lead strong" }, t("checkin_prompt")),
      h("p", { class: "muted" }, t("checkin_meeting", { title: app.pairing.title, seat: app.pairing.seat })),
      camera ? h("div", { class: "scan" },
        button("btn-scan", t("scan_button"), startScan, "btn big scan-btn"),
        h("div", { id: "scan-panel", class: "scan-panel", hidden: true },
          h("video", { id: "scan-video", class: "scan-video", muted: true, playsinline: true, "aria-hidden": "true" }),
          h("p", {}, t("scan_hint")),
          button("btn-scan-cancel", t("scan_cancel"), stopScanner)),
        h("p", { class: "or", "aria-hidden": "true" }, t("or"))) : null,
      h("form", { class: "form", onsubmit, novalidate: true },
        h("label", { for: "code-input", class: "field-label" }, t("code_label")),
        h("input", {
          id: "code-input", class: "text-input code", autocomplete: "off", autocapitalize: "characters",
          autocorrect: "off", spellcheck: "false", "aria-describedby": "code-hint checkin-error",
        }),
        h("p", { id: "code-hint", class: "hint" }, t("code_hint")),
        h("p", { id: "checkin-error", class: "field-error", role: "alert" }),
        h("button", { type: "submit", id: "btn-checkin", class: "btn primary big" }, t("checkin_submit"))),
      button("btn-repair", t("repair"), unpair, "btn link"));
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

// =============================================================================== start

function boot() {
  applyDocumentLang();
  display.applySettings();
  watchChinese(document.body, () => getLang() === "en");
  const code = root.dataset.pairingCode;
  if (code) {
    window.history.replaceState(null, "", "/kiosk/"); // a reload must not reuse the one-time code
    app.pairing = store.getPairing();
    show("pair", { auto: true, busy: true });
    pair(code);
    return;
  }
  app.pairing = store.getPairing();
  if (!app.pairing) {
    show("pair");
    return;
  }
  app.cred = store.getCredential(app.pairing.meeting_id, app.pairing.seat);
  const before = store.getCheckedIn();
  app.restarted = !app.cred && before?.meeting_id === app.pairing.meeting_id && before?.seat === app.pairing.seat;
  startSession();
  if (resumeQueue()) return;
  show(app.cred ? "waiting" : "checkin");
}

boot();
