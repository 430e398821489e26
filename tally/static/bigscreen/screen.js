// The hall's big screen: public data only (the public API and the public /live events).
// Chinese by default; /screen/<mid>?lang=en shows it in English (vote texts use their *_en
// fields where the definition has them).
const data = JSON.parse(document.getElementById("screen-data").textContent);
const WORDS = {
  zh: {
    screen: "大屏", wait: "请代表们稍候", open: "正在表决", closed: "表决结束，正在计票", published: "表决结果",
    held: "表决暂停", met: "已达到", not_met: "未达到", live: "实时", disconnected: "已断开",
    invalid: "出席人数未达法定人数，表决无效", not_voted: "未按", verdict: "结果", pass: "通过", fail: "未通过",
    blank_note: (kind) => `＊未按：出席人数减去对该${kind === "evaluation" ? "测评对象" : "被任命人"}的各项票数之和，含未按表决器和对其未作选择的代表`,
    subject: "测评对象", grade: "测评等次", votes: (n) => `${n} 票`,
    item: (kind) => (kind === "appointment" ? "被任命人" : "表决事项"),
    unfilled: (n, selection) => `尚缺 ${n} ${selection ? "项" : "名"}，需另行表决`,
    selection: { elected: "入选", not_elected: "未入选", tied: "并列", below_threshold: "未过半数" },
    election: { elected: "当选", not_elected: "未当选", tied: "并列", below_threshold: "未过半数" },
    clock: "zh-CN",
  },
  en: {
    screen: "Hall screen", wait: "Please wait", open: "Voting in progress", closed: "Voting closed: counting",
    published: "Result", held: "Voting on hold", met: "Met", not_met: "Not met", live: "Live",
    disconnected: "Disconnected", invalid: "Quorum not met: the vote is void", not_voted: "Not voted",
    blank_note: (kind) => `* Not voted: members present minus the votes on that ${kind === "evaluation" ? "subject" : "nominee"}, counting those who did not vote and those who left it blank`,
    verdict: "Result", pass: "Passed", fail: "Not passed", subject: "Subject", grade: "Grade",
    item: (kind) => (kind === "appointment" ? "Nominee" : "Motion"),
    votes: (n) => `${n} ${n === 1 ? "vote" : "votes"}`,
    unfilled: (n, selection) => `${n} ${selection ? (n === 1 ? "place" : "places") : (n === 1 ? "seat" : "seats")} unfilled: a further vote is needed`,
    selection: { elected: "Selected", not_elected: "Not selected", tied: "Tied", below_threshold: "Below half" },
    election: { elected: "Elected", not_elected: "Not elected", tied: "Tied", below_threshold: "Below half" },
    clock: "en-GB",
  },
};
const W = WORDS[data.lang] || WORDS.zh;
const text = (obj, name) => (data.lang === "en" && obj && typeof obj[`${name}_en`] === "string" ? obj[`${name}_en`] : obj && obj[name]);
const $ = (id) => document.getElementById(id);
const api = (path) => fetch(`/api/meetings/${encodeURIComponent(data.meeting)}${path}`, { cache: "no-store" })
  .then((r) => (r.ok ? r.json() : Promise.reject(new Error(`HTTP ${r.status}`))));
const STATE = { open: W.open, closed: W.closed, published: W.published, pending: "" };
const screen = { vote: null, def: null, state: null, closesAt: null, skew: 0, cast: 0, present: 0, result: null, shown: null,
  held: false, remaining: null };
window.__screen = screen;

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v != null) el.setAttribute(k, v);
  for (const c of children.flat()) if (c != null) el.append(c);
  return el;
}

function view(name) { document.body.dataset.view = name; }

async function loadMeeting() {
  const m = await api("");
  $("meeting-title").textContent = text(m.meeting, "title") || data.meeting;
  document.title = `${text(m.meeting, "title")} · ${W.screen}`;
}

function renderPresence(p) {
  $("members").textContent = p.members;
  $("present").textContent = p.present;
  $("quorum").textContent = p.quorum_met ? W.met : W.not_met;
  $("quorum").className = p.quorum_met ? "ok" : "bad";
}

function renderTurnout() {
  $("cast").textContent = screen.cast;
  $("not-cast").textContent = Math.max(screen.present - screen.cast, 0);
  $("opened-present").textContent = screen.present;
  $("fill").style.width = `${screen.present ? Math.min(100, (100 * screen.cast) / screen.present) : 0}%`;
}

function tick() {
  const el = $("countdown");
  if (screen.state === "open" && screen.held && screen.remaining != null) {  // the timer is stopped
    el.hidden = false;
    el.textContent = `${Math.floor(screen.remaining / 60)}:${String(screen.remaining % 60).padStart(2, "0")}`;
    return;
  }
  if (screen.state !== "open" || !screen.closesAt) { el.hidden = true; return; }
  const left = Math.max(0, Math.round((Date.parse(screen.closesAt) - Date.now()) / 1000));
  el.hidden = false;
  el.textContent = `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
}
setInterval(() => { tick(); $("clock").textContent = new Date().toLocaleTimeString(W.clock, { hour12: false }); }, 500);

function render() {
  const def = screen.def;
  $("vote-title").textContent = def ? text(def, "title") : W.wait;
  const held = screen.state === "open" && screen.held;
  $("vote-state").textContent = held ? W.held : STATE[screen.state] || "";
  $("vote-state").classList.toggle("held", held);
  $("live").hidden = !(screen.state === "open" || screen.state === "closed");
  $("result").hidden = !(screen.state === "published" && screen.result);
  view(screen.state === "published" && screen.result ? "result" : screen.state || "idle");
  renderTurnout();
  tick();
  if (screen.state === "published" && screen.result) renderResult(def, screen.result);
}

// ------------------------------------------------------------------ results, NPC style
const optionOf = (def, c, o) => {
  const contest = def.contests.find((x) => x.id === c);
  const option = contest && contest.options.find((x) => x.id === o);
  return option ? text(option, "label") || text(option, "name") || o : o;
};
const STATUS = { selection: W.selection, election: W.election };

// 未按 of one item: those present minus the item's counts. Where a deputy may leave an item blank
// (a nominee), this exceeds the vote's not_voted (present − ballots) and a footnote says so.
const blankOf = (item, present) => Math.max(0, present - Object.values(item.counts || {}).reduce((a, b) => a + b, 0));
const itemBlanks = (def) => def.contests.some((c) => c.min === 0);

function renderResult(def, result) {
  const outcome = result.outcome || {};
  const parts = [];
  const present = screen.present || (outcome.items && outcome.items[0] ? outcome.items[0].not_voted + (result.counted || 0) : 0);
  const blanks = Array.isArray(outcome.items) && itemBlanks(def);
  const notVotedHead = blanks ? `${W.not_voted}${data.lang === "en" ? "*" : "＊"}` : W.not_voted;
  if (outcome.quorum_met === false) parts.push(h("p", { class: "notice" }, W.invalid));
  if (Array.isArray(outcome.items) && outcome.items.some((i) => "passed" in i)) {
    const contests = def.contests;
    const options = contests[0].options;
    const head = h("tr", {}, h("th", {}, W.item(def.kind)), options.map((o) => h("th", {}, text(o, "label"))), h("th", {}, notVotedHead), h("th", {}, W.verdict));
    const rows = outcome.items.map((item) => {
      const contest = contests.find((c) => c.id === item.contest);
      return h("tr", { "data-contest": item.contest },
        h("td", { class: "item" }, contest && contests.length > 1 ? text(contest, "title") || contest.id : text(def, "title")),
        options.map((o) => h("td", {}, String(item.counts[o.id] ?? 0))),
        h("td", { class: "blank" }, String(blankOf(item, present))),
        h("td", {}, h("span", { class: `verdict ${item.passed ? "pass" : "fail"}` }, item.passed ? W.pass : W.fail)));
    });
    parts.push(h("table", { class: "totals" }, h("thead", {}, head), h("tbody", {}, rows)));
    if (outcome.items.length === 1) parts.push(h("p", { class: "big-verdict" }, outcome.items[0].passed ? W.pass : W.fail));
  } else if (Array.isArray(outcome.items)) {
    const contests = def.contests;
    const options = contests[0].options;
    const head = h("tr", {}, h("th", {}, W.subject), options.map((o) => h("th", {}, text(o, "label"))), h("th", {}, notVotedHead), h("th", {}, W.grade));
    const rows = outcome.items.map((item) => {
      const contest = contests.find((c) => c.id === item.contest);
      return h("tr", { "data-contest": item.contest },
        h("td", { class: "item" }, contest ? text(contest, "title") || contest.id : item.contest),
        options.map((o) => h("td", {}, String(item.counts[o.id] ?? 0))),
        h("td", { class: "blank" }, String(blankOf(item, present))),
        h("td", {}, h("span", { class: "verdict pass" }, item.grade ? optionOf(def, item.contest, item.grade) : "—")));
    });
    parts.push(h("table", { class: "totals" }, h("thead", {}, head), h("tbody", {}, rows)));
  } else if (Array.isArray(outcome.ranking)) {
    const labels = STATUS[def.kind] || STATUS.election;
    const rows = outcome.ranking.map((row, i) => {
      const [c, o] = row.candidate;
      return h("tr", { class: `status-${row.status}` },
        h("td", { class: "rank" }, String(i + 1)), h("td", { class: "name", title: optionOf(def, c, o) }, optionOf(def, c, o)),
        h("td", { class: "count" }, W.votes(row.count)), h("td", { class: "status" }, labels[row.status] || row.status));
    });
    // Up to 10 rows in one column; more in two columns, in reading order down the first.
    const columns = rows.length > 10 ? [rows.slice(0, Math.ceil(rows.length / 2)), rows.slice(Math.ceil(rows.length / 2))] : [rows];
    const perColumn = columns[0].length;
    const wrap = h("div", { class: `ranking-wrap cols-${columns.length}` },
      columns.map((list) => h("table", { class: "ranking" }, h("tbody", {}, list))));
    if (perColumn > 10) wrap.style.fontSize = `${Math.max(18, Math.floor(380 / perColumn))}px`;
    parts.push(wrap);
    if (outcome.unfilled) parts.push(h("p", { class: "notice" }, W.unfilled(outcome.unfilled, def.kind === "selection")));
  }
  if (blanks) parts.push(h("p", { class: "footnote", id: "blank-note" }, W.blank_note(def.kind)));
  $("result").replaceChildren(...parts);
}

// ------------------------------------------------------------------ live
async function showVote(voteId, voteState, closesAt) {
  if (screen.vote !== voteId) {
    const v = await api(`/votes/${encodeURIComponent(voteId)}`);
    screen.vote = voteId; screen.def = v.vote; screen.result = null; screen.held = false; screen.remaining = null;
    screen.cast = v.cast || 0; screen.present = v.present || 0;
  }
  screen.state = voteState; screen.closesAt = closesAt;
  if (voteState !== "open") screen.held = false;
  if (voteState === "published" && !screen.result) screen.result = await api(`/votes/${encodeURIComponent(voteId)}/result`);
  render();
}

let queue = Promise.resolve();  // events are applied in order, even those that need a fetch
const serial = (fn) => (e) => { queue = queue.then(() => fn(e)).catch((err) => console.warn(err)); };

await loadMeeting();
render();
const { io } = await import("socket.io-client"); // through the import map (kiosk/importmap.html)
const socket = io("/live", { transports: ["websocket", "polling"] });
const conn = (name, text) => { $("conn").className = `conn ${name}`; $("conn").textContent = text; };
socket.on("connect", () => { conn("connected", W.live); socket.emit("join", { meeting: data.meeting }, () => {}); });
socket.on("disconnect", () => conn("disconnected", W.disconnected));
socket.on("connect_error", () => conn("disconnected", W.disconnected));
socket.on("presence", renderPresence);
socket.on("vote_state", serial((e) => showVote(e.vote_id, e.state, e.closes_at)));
socket.on("vote_hold", serial((e) => {
  if (e.vote_id !== screen.vote) return;
  screen.held = e.held; screen.remaining = e.remaining; render();
}));
socket.on("turnout", serial((e) => {
  if (e.vote_id !== screen.vote) return;
  screen.cast = e.cast; screen.present = e.present; renderTurnout();
}));
socket.on("result", serial(async (e) => {
  if (e.vote_id !== screen.vote) await showVote(e.vote_id, "published", null);
  screen.result = e; screen.state = "published"; render();
}));
