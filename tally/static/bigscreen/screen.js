// The hall's big screen: public data only (the public API and the public /live events).
const data = JSON.parse(document.getElementById("screen-data").textContent);
const $ = (id) => document.getElementById(id);
const api = (path) => fetch(`/api/meetings/${encodeURIComponent(data.meeting)}${path}`, { cache: "no-store" })
  .then((r) => (r.ok ? r.json() : Promise.reject(new Error(`HTTP ${r.status}`))));
const STATE = { open: "正在表决", closed: "表决结束，正在计票", published: "表决结果", pending: "" };
const screen = { vote: null, def: null, state: null, closesAt: null, skew: 0, cast: 0, present: 0, result: null, shown: null };
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
  $("meeting-title").textContent = m.meeting.title || data.meeting;
  document.title = `${m.meeting.title} · 大屏`;
}

function renderPresence(p) {
  $("members").textContent = p.members;
  $("present").textContent = p.present;
  $("quorum").textContent = p.quorum_met ? "已达到" : "未达到";
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
  if (screen.state !== "open" || !screen.closesAt) { el.hidden = true; return; }
  const left = Math.max(0, Math.round((Date.parse(screen.closesAt) - Date.now()) / 1000));
  el.hidden = false;
  el.textContent = `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
}
setInterval(() => { tick(); $("clock").textContent = new Date().toLocaleTimeString("zh-CN", { hour12: false }); }, 500);

function render() {
  const def = screen.def;
  $("vote-title").textContent = def ? def.title : "请代表们稍候";
  $("vote-state").textContent = STATE[screen.state] || "";
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
  return option ? option.label || option.name || o : o;
};
const STATUS = {
  selection: { elected: "入选", not_elected: "未入选", tied: "并列", below_threshold: "未过半数" },
  election: { elected: "当选", not_elected: "未当选", tied: "并列", below_threshold: "未过半数" },
};

function renderResult(def, result) {
  const outcome = result.outcome || {};
  const parts = [];
  if (outcome.quorum_met === false) parts.push(h("p", { class: "notice" }, "出席人数未达法定人数，表决无效"));
  if (Array.isArray(outcome.items) && outcome.items.some((i) => "passed" in i)) {
    const contests = def.contests;
    const options = contests[0].options;
    const head = h("tr", {}, h("th", {}, ""), options.map((o) => h("th", {}, o.label)), h("th", {}, "未按"), h("th", {}, "结果"));
    const rows = outcome.items.map((item) => {
      const contest = contests.find((c) => c.id === item.contest);
      return h("tr", { "data-contest": item.contest },
        h("td", { class: "item" }, contest && contests.length > 1 ? contest.title || contest.id : def.title),
        options.map((o) => h("td", {}, String(item.counts[o.id] ?? 0))),
        h("td", {}, String(item.not_voted ?? 0)),
        h("td", {}, h("span", { class: `verdict ${item.passed ? "pass" : "fail"}` }, item.passed ? "通过" : "未通过")));
    });
    parts.push(h("table", { class: "totals" }, h("thead", {}, head), h("tbody", {}, rows)));
    if (outcome.items.length === 1) parts.push(h("p", { class: "big-verdict" }, outcome.items[0].passed ? "通过" : "未通过"));
  } else if (Array.isArray(outcome.items)) {
    const contests = def.contests;
    const options = contests[0].options;
    const head = h("tr", {}, h("th", {}, "测评对象"), options.map((o) => h("th", {}, o.label)), h("th", {}, "未按"), h("th", {}, "测评等次"));
    const rows = outcome.items.map((item) => {
      const contest = contests.find((c) => c.id === item.contest);
      return h("tr", { "data-contest": item.contest },
        h("td", { class: "item" }, contest ? contest.title || contest.id : item.contest),
        options.map((o) => h("td", {}, String(item.counts[o.id] ?? 0))),
        h("td", {}, String(item.not_voted ?? 0)),
        h("td", {}, h("span", { class: "verdict pass" }, item.grade ? optionOf(def, item.contest, item.grade) : "—")));
    });
    parts.push(h("table", { class: "totals" }, h("thead", {}, head), h("tbody", {}, rows)));
  } else if (Array.isArray(outcome.ranking)) {
    const labels = STATUS[def.kind] || STATUS.election;
    const rows = outcome.ranking.map((row, i) => {
      const [c, o] = row.candidate;
      return h("tr", { class: `status-${row.status}` },
        h("td", { class: "rank" }, String(i + 1)), h("td", {}, optionOf(def, c, o)),
        h("td", { class: "count" }, `${row.count} 票`), h("td", { class: "status" }, labels[row.status] || row.status));
    });
    // Up to 10 rows in one column; more in two columns, in reading order down the first.
    const columns = rows.length > 10 ? [rows.slice(0, Math.ceil(rows.length / 2)), rows.slice(Math.ceil(rows.length / 2))] : [rows];
    const perColumn = columns[0].length;
    const wrap = h("div", { class: `ranking-wrap cols-${columns.length}` },
      columns.map((list) => h("table", { class: "ranking" }, h("tbody", {}, list))));
    if (perColumn > 10) wrap.style.fontSize = `${Math.max(18, Math.floor(380 / perColumn))}px`;
    parts.push(wrap);
    if (outcome.unfilled) parts.push(h("p", { class: "notice" }, `尚缺 ${outcome.unfilled} ${def.kind === "selection" ? "项" : "名"}，需另行表决`));
  }
  $("result").replaceChildren(...parts);
}

// ------------------------------------------------------------------ live
async function showVote(voteId, voteState, closesAt) {
  if (screen.vote !== voteId) {
    const v = await api(`/votes/${encodeURIComponent(voteId)}`);
    screen.vote = voteId; screen.def = v.vote; screen.result = null;
    screen.cast = v.cast || 0; screen.present = v.present || 0;
  }
  screen.state = voteState; screen.closesAt = closesAt;
  if (voteState === "published" && !screen.result) screen.result = await api(`/votes/${encodeURIComponent(voteId)}/result`);
  render();
}

let queue = Promise.resolve();  // events are applied in order, even those that need a fetch
const serial = (fn) => (e) => { queue = queue.then(() => fn(e)).catch((err) => console.warn(err)); };

await loadMeeting();
render();
const { io } = await import(data.socket);
const socket = io("/live", { transports: ["websocket", "polling"] });
const conn = (name, text) => { $("conn").className = `conn ${name}`; $("conn").textContent = text; };
socket.on("connect", () => { conn("connected", "实时"); socket.emit("join", { meeting: data.meeting }, () => {}); });
socket.on("disconnect", () => conn("disconnected", "已断开"));
socket.on("connect_error", () => conn("disconnected", "已断开"));
socket.on("presence", renderPresence);
socket.on("vote_state", serial((e) => showVote(e.vote_id, e.state, e.closes_at)));
socket.on("turnout", serial((e) => {
  if (e.vote_id !== screen.vote) return;
  screen.cast = e.cast; screen.present = e.present; renderTurnout();
}));
socket.on("result", serial(async (e) => {
  if (e.vote_id !== screen.vote) await showVote(e.vote_id, "published", null);
  screen.result = e; screen.state = "published"; render();
}));
