"""``flask --app tally demo``: a realistic demo meeting with real crypto, ready for kiosks.

386 deputies with Chinese names by default; the five-vote agenda of :func:`piaojue_tools.simulate.agenda`
(a resolution, 3 appointments, 13 livelihood projects choose up to 10, a 2-of-3 election, a
4-department evaluation); 5 demo trustees, threshold 3, whose state files are kept in the
instance folder, marked DEMO, under the passphrase ``demo``. Every vote is left pending. The
credential codes go to ``--codes`` so kiosks (or any client written from SPEC.md) can check in.
With ``--simulate``, simulated deputies also check in, vote, and the votes are closed, decrypted
by the demo trustees and published, and the record is written.

``flask --app tally demo-serve`` runs :func:`run_hall` beside the server: the deputies who have
no tablet check in over a few seconds and vote at a human pace whenever a vote opens, as a
separate, lower-priority process that is an ordinary SPEC §11 client (real ballots, encrypted
and proved here, posted over HTTP to the real intake). Their choices lean differently per item
(:func:`hall_choices`), so that with the tablets' ballots some items pass and some fail on
their counts, not for want of a quorum.
"""

from __future__ import annotations

import heapq
import json
import os
import random
import signal
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import select

from ballot.encrypt import encrypt_ballot
from ballot.errors import PiaojueError
from ballot.meeting import parse_meeting
from ballot.vote import VoteDefinition, parse_vote
from keys.ceremony import begin, deal, receive
from keys.credentials import derive_private_key, new_code, public_key_hex, sign_checkin
from keys.decrypt import partial_decrypt
from keys.statefile import KdfParams, load_state, save_state
from piaojue_tools import demo_data
from piaojue_tools.simulate import agenda, plausible_choices
from tally.services import ceremony, checkin, intake, lifecycle, meetings, results
from tally.store import cache, db
from tally.store.models import Deputy, Meeting, Trustee, Vote

DEMO_PASSPHRASE = "demo"
DEMO_KDF = KdfParams(memory_cost=16 * 1024, iterations=2, lanes=1)
"""Demo trustee files are marked DEMO and use a known passphrase, so a light KDF is enough."""
TRUSTEE_NAMES = ["赵监票", "钱监票", "孙监票", "李监票", "周监票"]
ACTOR = "system:demo"
DEMO_PRESIDIUM = "demo-presidium"
"""The presidium account ``demo-serve`` (re)creates with a new password, printed at start."""


def trustee_dir(meeting_id: str) -> Path:
    return Path(current_app.instance_path) / "demo-trustees" / meeting_id


@dataclass
class DemoDeputy:
    seat: str
    name: str
    group: str
    code: str


def create_demo(meeting_id: str, deputies: int = 386, *, seed: int = 0) -> list[DemoDeputy]:
    """Create, run the ceremony for, and seal a demo meeting; return its deputies with codes."""
    roster = demo_data.deputy_roster(deputies, seed)
    meetings.create_meeting(
        meeting_id,
        "某市第十七届人民代表大会第三次会议（演示）",
        "某市人民代表大会",
        deputies,
        "two_thirds",
        TRUSTEE_NAMES,
        3,
        actor=ACTOR,
        is_demo=True,
    )
    session = db.session()
    session.add_all(Deputy(meeting_id=meeting_id, seat=d["seat"], name=d["name"], group=d["group"]) for d in roster)
    session.commit()
    people = [DemoDeputy(d["seat"], d["name"], d["group"], new_code()) for d in roster]
    keys = [public_key_hex(derive_private_key(p.code, meeting_id)) for p in people]
    meetings.register_credentials(meeting_id, keys, actor=ACTOR)
    _demo_ceremony(meeting_id)
    for entry in agenda():
        meetings.define_vote(meeting_id, entry, actor=ACTOR)
    meetings.seal(meeting_id, actor=ACTOR)
    return people


def _demo_ceremony(meeting_id: str) -> None:
    """Run the §6.1 ceremony for the demo trustees through the same relay the real CLI uses."""
    count = len(TRUSTEE_NAMES)
    states, announcements = [], []
    for index, name in enumerate(TRUSTEE_NAMES, start=1):
        state, announcement = begin(meeting_id, index, count, 3, name)
        states.append(state)
        announcements.append(announcement)
        ceremony.post_announcement(meeting_id, index, announcement, actor=ACTOR)
    for index, state in enumerate(states, start=1):
        ceremony.post_messages(meeting_id, index, deal(state, announcements), actor=ACTOR)
    folder = trustee_dir(meeting_id)
    folder.mkdir(parents=True, exist_ok=True)
    for index, state in enumerate(states, start=1):
        finished = receive(state, announcements, ceremony.messages_for(meeting_id, index))
        save_state(folder / f"trustee-{index}.json", finished, DEMO_PASSPHRASE, demo=True, kdf=DEMO_KDF)
        ceremony.confirm_trustee(meeting_id, index, True, None, actor=ACTOR)


def demo_tally(meeting_id: str, vote_id: str, trustees: list[int] | None = None) -> dict[str, Any]:
    """The demo trustees decrypt a closed vote: each posts a share; the result publishes itself."""
    meeting = db.session().get(Meeting, meeting_id)
    assert meeting is not None and meeting.is_demo
    chosen = trustees or list(range(1, meeting.threshold + 1))
    parsed = cache.sealed_meeting(meeting_id)
    definition = cache.vote_definition(meeting_id, vote_id)
    vote = db.session().get(Vote, (meeting_id, vote_id))
    assert vote is not None
    aggregates = results.vote_aggregates(vote)
    status: dict[str, Any] = {}
    for index in chosen:
        state = load_state(trustee_dir(meeting_id) / f"trustee-{index}.json", DEMO_PASSPHRASE)
        share = partial_decrypt(state, parsed.hash, definition.hash, vote_id, aggregates)
        status = results.submit_share(meeting_id, vote_id, share, actor=f"trustee:{index} (demo)")
    return status


def simulate_session(meeting_id: str, people: list[DemoDeputy], *, seed: int = 0, turnout: float = 0.97) -> None:
    """Simulated deputies check in, then every vote is opened, cast, closed and published."""
    rng = random.Random(seed)
    parsed = cache.sealed_meeting(meeting_id)
    present = rng.sample(people, k=max(1, round(len(people) * 0.96)))
    keys = {p.seat: derive_private_key(p.code, meeting_id) for p in present}
    for person in present:
        checkin.check_in(
            meeting_id,
            {"credential": public_key_hex(keys[person.seat]), "seat": person.seat,
             "signature": sign_checkin(keys[person.seat], parsed.hash, person.seat)},
        )
    vote_ids = list(db.session().scalars(select(Vote.vote_id).where(Vote.meeting_id == meeting_id).order_by(Vote.position)))
    for vote_id in vote_ids:
        definition = cache.vote_definition(meeting_id, vote_id)
        lifecycle.open_vote(meeting_id, vote_id, actor=ACTOR)
        voters = rng.sample(present, k=max(1, round(len(present) * turnout)))
        for person in voters:
            ballot = encrypt_ballot(definition, parsed.hash, parsed.public_key, keys[person.seat], plausible_choices(definition, rng))
            intake.submit_ballot(meeting_id, vote_id, ballot.entry)
        lifecycle.close_vote(meeting_id, vote_id, actor=ACTOR)
        demo_tally(meeting_id, vote_id, sorted(rng.sample(range(1, len(TRUSTEE_NAMES) + 1), k=3)))


def write_codes(path: str | Path, meeting_id: str, people: list[DemoDeputy]) -> None:
    data = {
        "meeting_id": meeting_id,
        "codes": [{"seat": p.seat, "name": p.name, "code": p.code} for p in people],
    }
    Path(path).write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def trustees_of(meeting_id: str) -> list[Trustee]:
    return list(db.session().scalars(select(Trustee).where(Trustee.meeting_id == meeting_id).order_by(Trustee.index)))


def presidium_login(username: str, password: str) -> None:
    """The demo's presidium account ``username`` with ``password`` (a new one on every
    ``demo-serve``: the account is created, or its password replaced). An account of that name
    with another role is left alone and refused (AccountError)."""
    from tally.web import logins

    user = logins.find_user(username)
    if user is None:
        logins.create_user(username, "presidium", password, display_name="演示主席团", actor=ACTOR)
    elif user.role != "presidium":
        raise logins.AccountError(f"the account {username!r} exists with the role {user.role}, not presidium")
    else:
        logins.set_password(username, password, actor=ACTOR)
        if not user.active:
            logins.set_active(username, True, actor=ACTOR)


# ---------------------------------------------------------------- the simulated hall (demo-serve)

APPOINTMENT_YES = (0.86, 0.40, 0.68)
"""赞成 shares of the nominees, in order (the rest 反对 or 弃权, and a few left blank): with the
majority of the members required, the second nominee is not appointed."""
RESOLUTION_YES = (0.84,)
SELECT_TOP, SELECT_BOTTOM = 0.90, 0.34
"""Each option of a 民生实事 selection is chosen by a share of the voters falling from the first
option to the last: the popular ones pass the half-of-members threshold, the last ones do not."""
ELECTION_APPROVAL = (0.80, 0.70, 0.38)
EVALUATION_LEVELS = ((0.72, 0.22, 0.06), (0.40, 0.42, 0.18), (0.16, 0.26, 0.58), (0.44, 0.42, 0.14))
"""满意 / 基本满意 / 不满意 shares per department, in order: graded 满意, 基本满意, 不满意, 基本满意."""
HALL_ABSENT = 0.06
HALL_TURNOUT = 0.97
HALL_CHECKIN_SECONDS = 6.0
HALL_PACE_SECONDS = 20.0
HALL_POLL_SECONDS = 0.5


def hall_choices(vote: VoteDefinition, rng: random.Random) -> dict[str, list[str]]:
    """One simulated deputy's choices for ``vote``, leaning per item (the tables above, by the
    contest's or option's position) so that a demo session has items that pass and items that
    fail, candidates elected and not, and every grade."""
    choices: dict[str, list[str]] = {}
    for index, contest in enumerate(vote.contests):
        options = list(contest.options)
        if vote.kind in ("resolution", "appointment"):
            table = APPOINTMENT_YES if vote.kind == "appointment" else RESOLUTION_YES
            yes = table[index % len(table)]
            if contest.min == 0 and rng.random() < 0.03:
                choices[contest.id] = []  # left this nominee blank
                continue
            rest = (1 - yes) / 2
            choices[contest.id] = [rng.choices(options[:3], weights=(yes, rest * 1.2, rest * 0.8))[0]]
        elif vote.kind == "evaluation":
            weights = EVALUATION_LEVELS[index % len(EVALUATION_LEVELS)]
            choices[contest.id] = [rng.choices(options[:3], weights=weights)[0]]
        elif vote.kind in ("selection", "election"):
            if vote.kind == "election" and len(options) <= len(ELECTION_APPROVAL):
                shares = list(ELECTION_APPROVAL[: len(options)])
            else:
                step = (SELECT_TOP - SELECT_BOTTOM) / max(1, len(options) - 1)
                shares = [SELECT_TOP - i * step for i in range(len(options))]
            picked = [option for option, share in zip(options, shares) if rng.random() < share]
            rng.shuffle(picked)
            while len(picked) < contest.min:
                picked.append(rng.choice([o for o in options if o not in picked]))
            choices[contest.id] = sorted(picked[: contest.max], key=options.index)
        else:
            choices.update({k: v for k, v in plausible_choices(vote, rng).items() if k == contest.id})
    return choices


class HallClient:
    """The simulated hall's side of SPEC §11, over HTTP (urllib, one request at a time)."""

    def __init__(self, base_url: str, meeting_id: str) -> None:
        self.base = base_url.rstrip("/")
        self.meeting_id = meeting_id

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, dict[str, Any], float]:
        """``(status, JSON body, Retry-After seconds or 0)``; a connection failure is status 0."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.base}/api/meetings/{self.meeting_id}{path}", data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"{}"), 0.0
        except urllib.error.HTTPError as exc:
            try:
                payload = json.loads(exc.read() or b"{}")
            except ValueError:
                payload = {}
            return exc.code, payload, float(exc.headers.get("Retry-After") or 0)
        except (OSError, ValueError):
            return 0, {}, 0.0


@dataclass
class _Voter:
    seat: str
    key: Any
    checked_in: bool = False


class Hall:
    """The deputies without tablets: one schedule of check-ins and ballots (see :func:`run_hall`).

    Ballots are encrypted ahead, in idle time, as soon as the votes' definitions are known (they
    are fixed when the meeting is sealed), so that when a vote opens posting them costs the
    hall little even when it is given little CPU; a ballot not ready by then is encrypted when
    it is due."""

    def __init__(self, client: HallClient, deputies: list[tuple[str, str]], *, pace: float, seed: int | None,
                 out: Any = None) -> None:
        self.client = client
        self.rng = random.Random(seed)
        self.pace = pace
        self.out = out or sys.stdout
        self.voters = {seat: _Voter(seat, derive_private_key(code, client.meeting_id)) for seat, code in deputies}
        absent = round(len(deputies) * HALL_ABSENT)
        self.present = self.rng.sample(sorted(self.voters), k=len(self.voters) - absent)
        self.queue: list[tuple[float, int, str, str, str | None]] = []
        self.sequence = 0
        self.states: dict[str, str] = {}
        self.definitions: dict[str, VoteDefinition] = {}
        self.prepared: dict[tuple[str, str], dict[str, Any]] = {}
        self.to_prepare: list[tuple[str, str]] = []
        self.cast: dict[str, int] = {}
        self.meeting: Any = None

    def _at(self, when: float, action: str, seat: str, vote_id: str | None = None) -> None:
        self.sequence += 1
        heapq.heappush(self.queue, (when, self.sequence, action, seat, vote_id))

    def start(self, meeting_json: dict[str, Any], now: float) -> None:
        """Schedule the check-ins, spread over :data:`HALL_CHECKIN_SECONDS`, and list the ballots
        to encrypt ahead (every vote not yet closed, in agenda order)."""
        self.meeting = parse_meeting(meeting_json["meeting"])
        order = list(self.present)
        self.rng.shuffle(order)
        for position, seat in enumerate(order):
            self._at(now + 0.5 + HALL_CHECKIN_SECONDS * position / max(1, len(order)), "checkin", seat)
        for row in meeting_json.get("votes", []):
            if row["state"] in ("pending", "open") and self._definition(row["vote_id"]) is not None:
                self.to_prepare.extend((row["vote_id"], seat) for seat in self.present)
        self.to_prepare.reverse()  # popped from the end: the first vote first
        self.observe(meeting_json, now)

    def _definition(self, vote_id: str) -> VoteDefinition | None:
        if vote_id not in self.definitions:
            status, body, _ = self.client.call("GET", f"/votes/{vote_id}")
            if status != 200:
                return None
            self.definitions[vote_id] = parse_vote(body["vote"])
        return self.definitions[vote_id]

    def observe(self, meeting_json: dict[str, Any], now: float) -> None:
        """Note the votes' states; when one has opened, schedule its ballots at a human pace."""
        for row in meeting_json.get("votes", []):
            vote_id, state = row["vote_id"], row["state"]
            before = self.states.get(vote_id)
            if state == "open" and before != "open" and vote_id not in self.cast:
                if self._definition(vote_id) is None:
                    continue  # try again at the next poll
                self.cast[vote_id] = 0
                for seat in self.present:
                    if self.voters[seat].checked_in and self.rng.random() < HALL_TURNOUT:
                        # Most deputies read, choose and confirm within the pace; a few take longer.
                        self._at(now + 1.5 + self.pace * self.rng.betavariate(2.0, 3.2), "ballot", seat, vote_id)
            elif before == "open" and state != "open" and vote_id in self.cast:
                self.say(f"{self.cast[vote_id]} ballots cast in {vote_id}")
            self.states[vote_id] = state
            if state in ("closed", "published"):
                self.prepared = {k: v for k, v in self.prepared.items() if k[0] != vote_id}

    def next_due(self) -> float | None:
        return self.queue[0][0] if self.queue else None

    def run_due(self, until: float) -> None:
        """Check in and post what is due, until the monotonic time ``until`` at the latest (the
        caller polls the votes' states in between)."""
        while self.queue and self.queue[0][0] <= time.monotonic() < until:
            _, _, action, seat, vote_id = heapq.heappop(self.queue)
            if action == "checkin":
                self._check_in(seat)
            elif vote_id is not None and self.states.get(vote_id) == "open":
                self._ballot(seat, vote_id)

    def prepare_one(self) -> bool:
        """Encrypt one ballot ahead; False when there is nothing left to encrypt."""
        while self.to_prepare:
            vote_id, seat = self.to_prepare.pop()
            if self.states.get(vote_id) in ("closed", "published") or (vote_id, seat) in self.prepared:
                continue
            entry = self._encrypt(seat, vote_id)
            if entry is not None:
                self.prepared[(vote_id, seat)] = entry
            return True
        return False

    def _encrypt(self, seat: str, vote_id: str) -> dict[str, Any] | None:
        definition = self.definitions[vote_id]
        try:
            ballot = encrypt_ballot(definition, self.meeting.hash, self.meeting.public_key, self.voters[seat].key,
                                    hall_choices(definition, self.rng))
        except PiaojueError as exc:  # a vote whose rules these leanings do not fit (a clerk's own agenda)
            self.say(f"no ballot for seat {seat} in {vote_id}: {exc}")
            return None
        return ballot.entry

    def _check_in(self, seat: str) -> None:
        voter = self.voters[seat]
        body = {"credential": public_key_hex(voter.key), "seat": seat,
                "signature": sign_checkin(voter.key, self.meeting.hash, seat)}
        status, payload, retry = self.client.call("POST", "/checkin", body)
        if status == 200:
            voter.checked_in = True
        elif status in (0, 429, 503):
            self._at(time.monotonic() + max(1.0, retry), "checkin", seat)
        else:
            self.say(f"seat {seat} could not check in: {payload.get('error')} {payload.get('message', '')}")

    def _ballot(self, seat: str, vote_id: str) -> None:
        entry = self.prepared.pop((vote_id, seat), None) or self._encrypt(seat, vote_id)
        if entry is None:
            return
        status, payload, retry = self.client.call("POST", f"/votes/{vote_id}/ballots", entry)
        if status in (200, 201):
            self.cast[vote_id] = self.cast.get(vote_id, 0) + (status == 201)
        elif status in (0, 429, 503) or (status == 409 and payload.get("error") == "vote_not_open"):
            # Down, busy, or the vote is on hold: the same ballot again later, if the vote is still
            # open by then (a closed vote's ballots are dropped when they come up).
            self.prepared[(vote_id, seat)] = entry
            self._at(time.monotonic() + max(2.0, retry), "ballot", seat, vote_id)
        elif payload.get("error") not in ("not_checked_in", "already_voted"):
            self.say(f"seat {seat}'s ballot in {vote_id} was refused: {payload.get('error')} {payload.get('message', '')}")

    def say(self, text: str) -> None:
        print(f"   [simulated deputies] {text}", file=self.out, flush=True)


def run_hall(base_url: str, meeting_id: str, deputies: list[tuple[str, str]], *, pace: float = HALL_PACE_SECONDS,
             seed: int | None = None, parent: int | None = None) -> None:
    """The deputies without tablets (``(seat, credential code)`` pairs), until the server or the
    ``parent`` process goes away: they check in over a few seconds once the server answers, and
    whenever a vote opens, about 97 % of those present each cast a ballot, spread over about
    ``pace`` seconds. Runs at a lower CPU priority (nice 10) so the server and the tablets come
    first on a small machine."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the terminal's Ctrl+C is the parent's to handle
    try:
        os.nice(10)
    except OSError:
        pass
    client = HallClient(base_url, meeting_id)
    hall = Hall(client, deputies, pace=pace, seed=seed)
    deadline = time.monotonic() + 120
    while True:
        status, meeting_json, _ = client.call("GET", "")
        if status == 200:
            break
        if time.monotonic() > deadline or (parent and os.getppid() != parent):
            return
        time.sleep(0.3)
    hall.start(meeting_json, time.monotonic())
    next_poll = time.monotonic() + HALL_POLL_SECONDS
    failures = 0
    while not parent or os.getppid() == parent:
        now = time.monotonic()
        if now >= next_poll:
            status, meeting_json, _ = client.call("GET", "")
            if status == 200:
                failures = 0
                hall.observe(meeting_json, now)
            else:
                failures += 1
                if failures > 60:  # the server has been gone for half a minute
                    return
            next_poll = now + HALL_POLL_SECONDS
        hall.run_due(until=next_poll)
        due = hall.next_due()
        wake = next_poll if due is None else min(next_poll, due)
        if wake - time.monotonic() > 0.05 and hall.prepare_one():
            continue  # idle time: one ballot encrypted ahead
        time.sleep(min(HALL_POLL_SECONDS, max(0.01, wake - time.monotonic())))


# ---------------------------------------------------------------- demo-serve's address for phones


def public_url(host: str, port: int) -> str:
    """The base URL the demo prints and puts in receipt QR codes: for a server bound to every
    address (``0.0.0.0``, ``::``), this machine's LAN address, which phones on the same network
    reach; else the bound address itself."""
    if host in ("0.0.0.0", "::", ""):
        host = lan_address() or "127.0.0.1"
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"


def lan_address() -> str | None:
    """This machine's address on its default route (no packet is sent: a UDP socket is only
    connected), or None without a non-loopback route."""
    import ipaddress
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: routed like any outside address
            address = probe.getsockname()[0]
        except OSError:
            return None
    return None if ipaddress.ip_address(address).is_loopback or address == "0.0.0.0" else address


def is_loopback_url(url: str) -> bool:
    import ipaddress
    from urllib.parse import urlsplit

    host = urlsplit(url).hostname or ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"
