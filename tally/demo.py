"""``flask --app tally demo``: a realistic demo meeting with real crypto, ready for kiosks.

386 deputies with Chinese names by default; the five-vote agenda of :func:`ballot.simulate.agenda`
(a resolution, 3 appointments, 13 livelihood projects choose up to 10, a 2-of-3 election, a
4-department evaluation); 5 demo trustees, threshold 3, whose state files are kept in the
instance folder, marked DEMO, under the passphrase ``demo``. Every vote is left pending. The
credential codes go to ``--codes`` so kiosks (or any client written from SPEC.md) can check in.
With ``--simulate``, simulated deputies also check in, vote, and the votes are closed, decrypted
by the demo trustees and published, and the record is written.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import select

from ballot import demo_data
from ballot.encrypt import encrypt_ballot
from ballot.simulate import plausible_choices, agenda
from keys.ceremony import begin, deal, receive
from keys.credentials import derive_private_key, new_code, public_key_hex, sign_checkin
from keys.decrypt import partial_decrypt
from keys.statefile import KdfParams, load_state, save_state
from tally import checkin, context, db, intake, lifecycle, results, setup
from tally.models import Deputy, Meeting, Trustee, Vote

DEMO_PASSPHRASE = "demo"
DEMO_KDF = KdfParams(memory_cost=16 * 1024, iterations=2, lanes=1)
"""Demo trustee files are marked DEMO and use a known passphrase, so a light KDF is enough."""
TRUSTEE_NAMES = ["赵监票", "钱监票", "孙监票", "李监票", "周监票"]
ACTOR = "system:demo"


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
    setup.create_meeting(
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
    setup.register_credentials(meeting_id, keys, actor=ACTOR)
    _demo_ceremony(meeting_id)
    for entry in agenda():
        setup.define_vote(meeting_id, entry, actor=ACTOR)
    setup.seal(meeting_id, actor=ACTOR)
    return people


def _demo_ceremony(meeting_id: str) -> None:
    """Run the §6.1 ceremony for the demo trustees through the same relay the real CLI uses."""
    count = len(TRUSTEE_NAMES)
    states, announcements = [], []
    for index, name in enumerate(TRUSTEE_NAMES, start=1):
        state, announcement = begin(meeting_id, index, count, 3, name)
        states.append(state)
        announcements.append(announcement)
        setup.post_announcement(meeting_id, index, announcement, actor=ACTOR)
    for index, state in enumerate(states, start=1):
        setup.post_messages(meeting_id, index, deal(state, announcements), actor=ACTOR)
    folder = trustee_dir(meeting_id)
    folder.mkdir(parents=True, exist_ok=True)
    for index, state in enumerate(states, start=1):
        finished = receive(state, announcements, setup.messages_for(meeting_id, index))
        save_state(folder / f"trustee-{index}.json", finished, DEMO_PASSPHRASE, demo=True, kdf=DEMO_KDF)
        setup.confirm_trustee(meeting_id, index, True, None, actor=ACTOR)


def demo_tally(meeting_id: str, vote_id: str, trustees: list[int] | None = None) -> dict[str, Any]:
    """The demo trustees decrypt a closed vote: each posts a share; the result publishes itself."""
    meeting = db.session().get(Meeting, meeting_id)
    assert meeting is not None and meeting.is_demo
    chosen = trustees or list(range(1, meeting.threshold + 1))
    parsed = context.sealed_meeting(meeting_id)
    definition = context.vote_definition(meeting_id, vote_id)
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
    parsed = context.sealed_meeting(meeting_id)
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
        definition = context.vote_definition(meeting_id, vote_id)
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
