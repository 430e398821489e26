// Submitting an encrypted ballot with offline resilience (the kiosk's side of SPEC §11).
//
// The caller puts the ballot in the localStorage queue (storage.enqueue) BEFORE calling
// submitQueued. The SAME entry is then posted until the service answers: after a network failure,
// a post left unanswered for `timeoutMs` (the service's KIOSK_POST_TIMEOUT, 30 s by default: a
// network that drops packets can otherwise hold a request for minutes) or a 5xx, the post is
// retried with exponential backoff (1 s, 2 s, 4 s… at most 30 s), or at once
// when the browser comes back online or the deputy taps "retry now" (except after a 429, whose
// Retry-After is always waited out: an earlier post would only be refused again). It is never
// re-encrypted: posting the same ballot again is idempotent (200 with the same receipt, SPEC §11).

import { ApiError, NetworkError, getJson, paths, postJson } from "./api.js";
import { dequeue } from "./storage.js";

export const BACKOFF_START_MS = 1000;
export const BACKOFF_MAX_MS = 30000;
export const POST_TIMEOUT_MS = 30000;

/** The delay before retry number `attempt` (1-based): 1 s, 2 s, 4 s, … capped at 30 s. */
export function backoffDelay(attempt) {
  return Math.min(BACKOFF_START_MS * 2 ** (attempt - 1), BACKOFF_MAX_MS);
}

const wakers = new Set();

/** Cut every pending backoff wait short (the "retry now" button, the browser's online event). */
export function retryNow() {
  for (const wake of [...wakers]) wake();
}

window.addEventListener("online", retryNow);

function wait(ms, { wakeable = true } = {}) {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      wakers.delete(done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    if (wakeable) wakers.add(done);
  });
}

/**
 * Post the queued ballot `item` ({meeting_id, vote_id, ballot_hash, entry}) until the service
 * answers. Resolves to {receipt, created}; rejects with the ApiError of a 4xx rejection. Either
 * way the item leaves the queue once the service has answered. `onRetry({attempt, delay, offline,
 * timedOut, rateLimited})` is called before each backoff wait; a rate-limited wait (429) cannot be
 * cut short. Each post is given up after `timeoutMs` (null: never).
 */
export async function submitQueued(item, { onRetry, timeoutMs = POST_TIMEOUT_MS } = {}) {
  for (let attempt = 1; ; attempt += 1) {
    try {
      const { status, data } = await postJson(paths.ballots(item.meeting_id, item.vote_id), item.entry, { timeoutMs });
      dequeue(item.ballot_hash);
      return { receipt: data, created: status === 201 };
    } catch (exc) {
      if (exc instanceof ApiError && exc.status < 500 && exc.status !== 429) {
        // An earlier post may have been logged with its answer lost on the way (and the vote has
        // since closed, say): if the service has a receipt for this very ballot, it was accepted.
        try {
          const receipt = await getJson(paths.receipt(item.meeting_id, item.ballot_hash));
          dequeue(item.ballot_hash);
          return { receipt, created: false };
        } catch {
          dequeue(item.ballot_hash);
          throw exc;
        }
      }
      if (!(exc instanceof NetworkError || exc instanceof ApiError)) throw exc;
      // 429 (over a rate limit) is retried like a 5xx, no sooner than its Retry-After
      const rateLimited = exc instanceof ApiError && exc.status === 429;
      const delay = rateLimited && exc.retryAfter != null
        ? Math.max(backoffDelay(attempt), exc.retryAfter * 1000) : backoffDelay(attempt);
      const timedOut = exc instanceof NetworkError && exc.timedOut;
      onRetry?.({ attempt, delay, offline: exc instanceof NetworkError && !timedOut, timedOut, rateLimited });
      await wait(delay, { wakeable: !rateLimited });
    }
  }
}
