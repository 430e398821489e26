"""The crash campaign, CI-sized (issue #6 item 1; the full runs: tests/stress/crash.py and
docs/reliability.md): gunicorn (deploy/gunicorn.conf.py) on SQLite and on PostgreSQL, 300
ballots from 16 concurrent clients that retry the same bytes, and 5 kill -9 of the master and
worker at random moments under load, each followed by a restart. Every promise of
tests/stress/_crash_check.py must hold.

Then the checker is fed doctored evidence (a ballot logged twice, a dropped ballot, a gap, a
forked STH properly signed with the log key, a bad signature, a wrong receipt, wrong counts…)
and must report each violation: a checker that cannot fail would prove nothing.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from ballot.log import sign_sth
from tests.stress._crash_check import Evidence, check
from tests.stress.crash import Outcome, run_campaign

BALLOTS = 300
KILLS = 5
CLIENTS = 16
SEEDS = {"sqlite": 11, "postgresql": 12}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def campaign(request) -> tuple[Outcome, Any]:
    """One campaign per store, and the meeting's log private key (to forge well-signed STHs)."""
    keys: dict[str, Any] = {}

    def inspect(setup, meeting, _outcome) -> None:
        from tally.store import db
        from tally.store.logkeys import open_log_key
        from tally.store.models import Meeting

        with setup.app.app_context():
            row = db.session().get(Meeting, meeting.meeting_id)
            keys["log"] = open_log_key(meeting.meeting_id, row.log_private_key_sealed)

    outcome = run_campaign(request.param, BALLOTS, KILLS, CLIENTS, SEEDS[request.param], log=lambda _: None,
                           inspect=inspect, timeout=300)
    return outcome, keys["log"]


@pytest.mark.slow
def test_every_promise_holds_across_kills(campaign):
    outcome, _key = campaign
    f = outcome.figures
    assert [str(v) for v in outcome.violations] == []
    assert f.kills >= KILLS and all(n >= 2 for n in f.processes_killed)  # master and worker, each time
    assert f.receipted == BALLOTS == f.created + f.duplicates
    assert f.failed_attempts > 0  # clients did meet the kills
    assert f.verify_exit == 0
    ballots = [line for line in outcome.evidence.lines if b'"type":"ballot"' in line]
    assert len(ballots) == BALLOTS
    assert f.sths_checked > KILLS and f.receipts_checked == BALLOTS


# ---------------------------------------------------------------------------------------------
# The checker notices doctored evidence


def _ballot_lines(ev: Evidence) -> list[int]:
    return [i for i, line in enumerate(ev.lines) if json.loads(line).get("type") == "ballot"]


def _append_line(ev: Evidence, line: bytes) -> None:
    ev.lines.append(line)
    ev.served_entries.append(json.loads(line))
    ev.stored_indices.append(len(ev.stored_indices))


def _duplicate_ballot(ev: Evidence, _key: Any) -> None:
    _append_line(ev, ev.lines[_ballot_lines(ev)[0]])


def _drop_ballot(ev: Evidence, _key: Any) -> None:
    i = _ballot_lines(ev)[-1]
    del ev.lines[i]
    del ev.served_entries[i]
    ev.stored_indices.pop()


def _gap_in_store(ev: Evidence, _key: Any) -> None:
    del ev.stored_indices[len(ev.stored_indices) // 2]


def _short_page(ev: Evidence, _key: Any) -> None:
    del ev.served_entries[len(ev.served_entries) // 2]


def _forked_sth(ev: Evidence, key: Any) -> None:
    """A tree head properly signed by the log key, for a size a client saw, but another root."""
    seen = sorted(ev.seen_sths, key=lambda s: s["tree_size"])
    victim = next(s for s in seen if 0 < s["tree_size"] < ev.final_sth["tree_size"])
    forged = sign_sth(key, victim["tree_size"], bytes(32), victim["timestamp"] + 1)
    ev.seen_sths.append(forged)


def _bad_signature(ev: Evidence, _key: Any) -> None:
    sth = dict(ev.sth_history[len(ev.sth_history) // 2])
    sth["signature"] = ("0" if sth["signature"][0] != "0" else "1") + sth["signature"][1:]
    ev.sth_history[len(ev.sth_history) // 2] = sth


def _wrong_receipt(ev: Evidence, _key: Any) -> None:
    first, second = sorted(ev.receipts)[:2]
    ev.receipts[first] = {**ev.receipts[first], "leaf_index": ev.receipts[second]["leaf_index"]}


def _stale_inclusion(ev: Evidence, _key: Any) -> None:
    leaf = min(ev.inclusion)
    ev.inclusion[leaf] = list(reversed(ev.inclusion[leaf]))


def _counted(ev: Evidence, _key: Any) -> None:
    ev.counted += 1


def _aggregate(ev: Evidence, _key: Any) -> None:
    a, b = ev.aggregates[0], ev.aggregates[1]
    ev.aggregates[0], ev.aggregates[1] = {**a, "A": b["A"], "B": b["B"]}, {**b, "A": a["A"], "B": a["B"]}


def _tally(ev: Evidence, _key: Any) -> None:
    position = min(ev.receipts)
    contest, options = next(iter(ev.choices[position].items()))
    options_all = {t["option"] for t in _result(ev)["tallies"] if t["contest"] == contest}
    other = min(options_all - set(options))
    ev.choices[position] = {**ev.choices[position], contest: [other]}


def _result(ev: Evidence) -> dict[str, Any]:
    return next(json.loads(line) for line in ev.lines if json.loads(line).get("type") == "result")


def _foreign(ev: Evidence, _key: Any) -> None:
    position = max(ev.receipts)
    ev.posted[position] = "00" * 32


def _http(ev: Evidence, _key: Any) -> None:
    ev.http_errors.append("ballot 7: HTTP 500 (server up): b'internal error'")


def _few_kills(ev: Evidence, _key: Any) -> None:
    ev.kills = ev.kills_wanted - 1


def _verify_failed(ev: Evidence, _key: Any) -> None:
    ev.verify_exit = 1


TAMPERING: dict[str, tuple[Callable[[Evidence, Any], None], set[str]]] = {
    "ballot logged twice": (_duplicate_ballot, {"exactly_once", "final_sth"}),
    "receipted ballot dropped": (_drop_ballot, {"exactly_once", "final_sth"}),
    "gap in the stored indices": (_gap_in_store, {"gap"}),
    "GET /entries short": (_short_page, {"gap"}),
    "forked STH, well signed": (_forked_sth, {"consistency", "sth_unrecorded"}),
    "STH with a bad signature": (_bad_signature, {"sth_signature"}),
    "receipt for another leaf": (_wrong_receipt, {"receipt", "exactly_once"}),
    "inclusion proof in the final tree": (_stale_inclusion, {"inclusion"}),
    "counted off by one": (_counted, {"counted"}),
    "aggregates swapped": (_aggregate, {"aggregate"}),
    "published counts differ from the choices": (_tally, {"tally"}),
    "a ballot nobody posted": (_foreign, {"foreign", "receipt"}),
    "a 5xx from a running server": (_http, {"http"}),
    "fewer kills than asked": (_few_kills, {"kills"}),
    "the verifier refused the record": (_verify_failed, {"verify"}),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(TAMPERING))
def test_checker_reports_doctored_evidence(campaign, name):
    outcome, key = campaign
    doctor, expected = TAMPERING[name]
    evidence = copy.deepcopy(outcome.evidence)
    doctor(evidence, key)
    kinds = {v.kind for v in check(evidence)}
    assert expected <= kinds, (name, kinds)
