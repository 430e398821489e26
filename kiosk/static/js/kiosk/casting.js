// Casting: encrypt and prove the ballot in memory, queue it (storage.js) before the first post,
// post it until the service answers (submit.js), verify the receipt; and the Benaloh challenge,
// which encrypts the same choices and publishes the nonces instead (SPEC §4.4).

import * as crypto from "../crypto/index.js";
import { ApiError, NetworkError, paths, postJson } from "../api.js";
import { choicesFromOpenings } from "../ballots.js";
import { afterPaint, announce } from "../dom.js";
import { t } from "../i18n.js";
import * as store from "../storage.js";
import { POST_TIMEOUT_MS, submitQueued } from "../submit.js";
import { getVote, loadMeeting } from "./data.js";
import { refresh, show } from "./frame.js";
import { app, metrics, mid, root, screenIs } from "./state.js";

function encryptNow(vid) {
  const { vote } = app.votes.get(vid);
  const started = performance.now();
  const encrypted = crypto.encryptBallot(vote, app.meeting.meeting_hash, app.meeting.meeting.public_key, app.cred.seed, app.choices);
  metrics.encryptMs.push({ vid, ms: Math.round(performance.now() - started) });
  return encrypted;
}

export async function cast(vid) {
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

export async function submitItem(item) {
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

export async function challenge(vid) {
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
export function resumeQueue() {
  const queued = store.getQueue().filter((q) => q.meeting_id === mid());
  if (!queued.length) return false;
  (async () => {
    for (const item of queued) await submitItem(item);
  })();
  return true;
}
