// The live session: the meeting's Socket.IO channel ("socket.io-client" through the import map)
// and what its events do to the screens: presence, a vote opening, closing or put on hold, results.

import { io } from "socket.io-client";
import { announce, afterPaint } from "../dom.js";
import { field, t } from "../i18n.js";
import * as store from "../storage.js";
import { retryNow } from "../submit.js";
import { getVote, prefetch } from "./data.js";
import { refresh, render, renderTopbar, setConnection, show, updateCountdown, updateInPlace } from "./frame.js";
import { app, metrics, mid, screenIs } from "./state.js";

const RESULT_SCREEN_MS = 60_000;

/** Join the meeting's live channel (from pairing on: the check-in screen says when a vote opens). */
export function startSession() {
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
  if (screenIs("checkin")) updateInPlace(); // the check-in screen's notice that a vote is open
  updateCountdown();
}

export async function openVote(vid) {
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
