// The meeting and vote documents: fetched from the service, cached in localStorage for an outage.

import * as crypto from "../crypto/index.js";
import { NetworkError, getJson, paths } from "../api.js";
import * as store from "../storage.js";
import { app, mid } from "./state.js";

export async function loadMeeting({ fresh = false } = {}) {
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

export async function getVote(vid) {
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
export async function prefetch() {
  try {
    const meeting = await loadMeeting({ fresh: true });
    crypto.prepareJointKey(meeting.meeting.public_key);
    for (const { vote_id: vid } of app.voteList) await getVote(vid);
  } catch {
    // best effort: a vote is fetched when it opens
  }
}
