// The presidium console: live presence and check-in control, the agenda, open/hold/resume/close,
// turnout, seat map, decryption.
// Live data comes from Socket.IO /live (the session cookie makes this connection staff, so the
// seat map events arrive too); actions go through staffFetch (CSRF header).
const data = JSON.parse(document.getElementById("console-data").textContent);
const T = data.t;
const $ = (id) => document.getElementById(id);
const state = {
  votes: new Map(data.state.votes.map((v) => [v.vote_id, v])),
  current: null,        // vote_id shown in the "current" card
  skew: Date.parse(data.state.now) - Date.now(),  // server clock minus ours
  seats: new Map(),     // seat -> {seat, name, group, checked_in, voted}
  seatVote: null,
  poll: null,
};

function pickCurrent() {
  const votes = [...state.votes.values()];
  const open = votes.find((v) => v.state === "open");
  if (open) return open.vote_id;
  const started = votes.filter((v) => v.state !== "pending");
  return started.length ? started[started.length - 1].vote_id : null;
}

function renderPresence(p) {
  $("members").textContent = p.members;
  $("present").textContent = p.present;
  const q = $("quorum");
  q.textContent = p.quorum_met ? T.met : T.not_met;
  q.className = p.quorum_met ? "ok" : "bad";
  $("checkin-statement").textContent = T.statement.replace("{members}", p.members).replace("{present}", p.present)
    .replace("{quorum}", p.quorum_met ? T.quorum_met : T.quorum_not_met);
}

function renderCheckin(c) {
  const el = $("checkin-state");
  el.textContent = c.open ? T.checkin_open : T.checkin_closed;
  el.className = c.open ? "ok" : "bad";
  $("checkin-close").hidden = !c.open;
  $("checkin-open").hidden = c.open;
}

function renderAgenda() {
  const anyOpen = [...state.votes.values()].some((v) => v.state === "open");
  document.querySelectorAll("tr[data-vote]").forEach((row) => {
    const v = state.votes.get(row.dataset.vote);
    if (!v) return;
    row.dataset.state = v.state;
    row.querySelector(".state").textContent = T[v.state] || v.state;
    row.querySelector(".open-vote").hidden = v.state !== "pending";
    row.querySelector(".open-vote").disabled = anyOpen;
    row.querySelector(".close-vote").hidden = v.state !== "open";
    row.querySelector(".hold-vote").hidden = v.state !== "open" || !!v.held;
    row.querySelector(".resume-vote").hidden = v.state !== "open" || !v.held;
    row.querySelector(".results-link").hidden = v.state !== "published";
  });
  // The meeting's badge follows the votes (the same rule as tally.web.labels.meeting_phase).
  const badge = document.querySelector("h1 .badge[class*='phase-']");
  const states = [...state.votes.values()].map((v) => v.state);
  if (badge && states.length) {
    const phase = states.includes("open") ? "voting" : states.every((s) => s === "pending") ? "ready"
      : states.every((s) => s === "published") ? "finished" : "in_session";
    badge.className = `badge phase-${phase}`;
    badge.textContent = T.phases[phase];
  }
}

function renderCurrent() {
  state.current = pickCurrent();
  const v = state.current && state.votes.get(state.current);
  const title = $("current-title");
  if (!v) { title.textContent = T.none_open; $("turnout").hidden = true; $("decryption").hidden = true; return; }
  const held = v.state === "open" && v.held;
  title.textContent = `${v.title} · ${held ? T.held : T[v.state] || v.state}`;
  $("current").dataset.state = held ? "held" : v.state;
  $("held-banner").hidden = !held;
  $("turnout").hidden = false;
  renderTurnout(v);
  $("decryption").hidden = v.state !== "closed";
  if (v.state === "closed") startPolling(v.vote_id); else stopPolling();
  tick();
}

function renderTurnout(v) {
  const present = v.present || 0, cast = v.cast || 0;
  $("cast").textContent = cast;
  $("not-cast").textContent = Math.max(present - cast, 0);
  $("opened-present").textContent = present;
  $("turnout-fill").style.width = `${present ? Math.min(100, (100 * cast) / present) : 0}%`;
  $("turnout-bar").setAttribute("aria-label", `${cast} / ${present}`);
}

function tick() {
  const v = state.current && state.votes.get(state.current);
  const el = $("countdown");
  if (v && v.state === "open" && v.held && v.remaining != null) {
    el.hidden = false;
    el.textContent = `${T.held_left} ${Math.floor(v.remaining / 60)}:${String(v.remaining % 60).padStart(2, "0")}`;
    return;
  }
  if (!v || v.state !== "open" || !v.closes_at) { el.hidden = true; return; }
  const left = Math.max(0, Math.round((Date.parse(v.closes_at) - (Date.now() + state.skew)) / 1000));
  el.hidden = false;
  el.textContent = left > 0 ? `${T.remaining} ${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}` : T.closing;
}
setInterval(tick, 500);

// ---------------------------------------------------------------- seat map
function renderSeats() {
  const grid = $("seatmap");
  grid.replaceChildren(...[...state.seats.values()].map((s) => {
    const cell = document.createElement("div");
    cell.className = `seat ${s.voted ? "voted" : s.checked_in ? "present" : "absent"}`;
    cell.dataset.seat = s.seat;
    cell.title = `${s.seat} ${s.name || ""}${s.group ? " · " + s.group : ""}`;
    cell.textContent = s.seat;
    return cell;
  }));
}

// ---------------------------------------------------------------- decryption
async function refreshDecryption(voteId) {
  const r = await window.staffFetch(`${data.urls.base}/votes/${encodeURIComponent(voteId)}/decryption`);
  if (!r.ok || !r.body) return;
  const s = r.body;
  $("decryption-summary").textContent = `${T.shares}: ${s.posted.length} / ${s.threshold}`;
  $("trustees").replaceChildren(...s.trustees.map((t) => {
    const li = document.createElement("li");
    li.className = t.posted ? "posted" : "waiting";
    li.textContent = `${t.index}. ${t.name} — ${t.posted ? T.posted : T.waiting}`;
    return li;
  }));
  if (s.state !== "closed") {
    const v = state.votes.get(voteId);
    if (v) { v.state = s.state; renderAgenda(); renderCurrent(); }
  }
}
function startPolling(voteId) {
  if (state.poll && state.poll.voteId === voteId) return;
  stopPolling();
  refreshDecryption(voteId);
  state.poll = { voteId, timer: setInterval(() => refreshDecryption(voteId), 2000) };
}
function stopPolling() { if (state.poll) clearInterval(state.poll.timer); state.poll = null; }

// ---------------------------------------------------------------- actions
async function act(voteId, action, json) {
  $("action-error").textContent = "";
  const r = await window.staffFetch(`${data.urls.base}/votes/${encodeURIComponent(voteId)}/${action}`, { method: "POST", json: json || {} });
  if (!r.ok) $("action-error").textContent = (r.body && r.body.message) || `HTTP ${r.status}`;
  else await refreshState();
  return r;
}
async function refreshState() {
  const r = await window.staffFetch(data.urls.state);
  if (!r.ok || !r.body) return;
  state.skew = Date.parse(r.body.now) - Date.now();
  for (const v of r.body.votes) state.votes.set(v.vote_id, v);
  renderPresence(r.body.presence);
  renderCheckin(r.body.checkin);
  renderAgenda();
  renderCurrent();
}

document.addEventListener("click", async (event) => {
  const open = event.target.closest(".open-vote");
  const close = event.target.closest(".close-vote");
  const hold = event.target.closest(".hold-vote");
  const resume = event.target.closest(".resume-vote");
  if (hold || resume) {
    (hold || resume).disabled = true;
    await act((hold || resume).dataset.vote, hold ? "hold" : "resume");
    (hold || resume).disabled = false;
  } else if (event.target.id === "checkin-close" || event.target.id === "checkin-open") {
    const opening = event.target.id === "checkin-open";
    if (!opening && !window.confirm(T.confirm_checkin_close)) return;
    $("checkin-error").textContent = "";
    const r = await window.staffFetch(`${data.urls.checkin}/${opening ? "open" : "close"}`, { method: "POST", json: {} });
    if (!r.ok) $("checkin-error").textContent = (r.body && r.body.message) || `HTTP ${r.status}`;
    else renderCheckin(r.body);
  } else if (open) {
    open.disabled = true;
    await act(open.dataset.vote, "open", { minutes: $("timer-minutes").value, seconds: $("timer-seconds").value });
  } else if (close) {
    if (!window.confirm(T.confirm_close)) return;
    await act(close.dataset.vote, "close");
  } else if (event.target.id === "publish" && state.current) {
    $("publish-error").textContent = "";
    const r = await window.staffFetch(`${data.urls.base}/votes/${encodeURIComponent(state.current)}/publish`, { method: "POST", json: {} });
    if (!r.ok) {
      // awaiting_shares names the trustees still awaited, by index and name
      $("publish-error").textContent = r.body && Array.isArray(r.body.missing_trustees)
        ? `${T.awaiting}${T.awaiting.endsWith("：") ? "" : " "}${r.body.missing_trustees.map((t) => `${t.index}. ${t.name}`).join(", ")}`
        : (r.body && r.body.message) || `HTTP ${r.status}`;
    }
    else await refreshState();
  }
});

// ---------------------------------------------------------------- live
function setConn(name) {
  const el = $("conn");
  el.className = `conn conn-${name}`;
  el.textContent = T[name];
}

const { io } = await import("socket.io-client"); // through the import map (kiosk/importmap.html)
const socket = io("/live", { transports: ["websocket", "polling"] });
socket.on("connect", () => { setConn("connected"); socket.emit("join", { meeting: data.meeting }, () => {}); refreshState(); });
socket.on("disconnect", () => setConn("disconnected"));
socket.on("connect_error", () => setConn("disconnected"));
socket.on("presence", renderPresence);
socket.on("vote_state", (e) => {
  const v = state.votes.get(e.vote_id);
  if (!v) { refreshState(); return; }
  const reopened = v.state !== "open" && e.state === "open";
  Object.assign(v, { state: e.state, closes_at: e.closes_at });
  if (e.state !== "open") v.held = false;
  if (reopened) {  // a new vote: nobody has voted in it yet
    state.seatVote = e.vote_id;
    for (const s of state.seats.values()) s.voted = false;
    renderSeats();
  }
  renderAgenda();
  renderCurrent();
});
socket.on("vote_hold", (e) => {
  const v = state.votes.get(e.vote_id);
  if (!v) return;
  Object.assign(v, { held: e.held, remaining: e.remaining });
  renderAgenda();
  renderCurrent();
});
socket.on("checkin_state", renderCheckin);
socket.on("turnout", (e) => {
  const v = state.votes.get(e.vote_id);
  if (!v) return;
  v.cast = e.cast; v.present = e.present;
  if (state.current === e.vote_id) renderTurnout(v);
});
socket.on("result", (e) => {
  const v = state.votes.get(e.vote_id);
  if (v) { v.state = "published"; renderAgenda(); renderCurrent(); }
});
socket.on("seat_map", (e) => {
  state.seats = new Map(e.seats.map((s) => [s.seat, { ...s }]));
  state.seatVote = e.vote_id;
  renderSeats();
});
socket.on("seat", (e) => {
  const s = state.seats.get(e.seat);
  if (s) { s.checked_in = e.checked_in; renderSeats(); }
});
socket.on("seat_voted", (e) => {
  const s = e.seat && state.seats.get(e.seat);
  if (!s) return;
  if (state.seatVote !== e.vote_id) { for (const x of state.seats.values()) x.voted = false; state.seatVote = e.vote_id; }
  s.voted = true;
  renderSeats();
});
window.__console = { state, socket };
renderPresence(data.state.presence);
renderCheckin(data.state.checkin);
renderAgenda();
renderCurrent();
