"""Results pages and the 公告 exports (PDF, CSV) for a demo meeting whose votes are published,
and the audit trail pages."""

from __future__ import annotations

import csv
import io
import random
import re

import pytest
from sqlalchemy import select

from piaojue_tools.simulate import plausible_choices
from service.test_web_support import post_form, staff_client, text
from tally import demo
from tally.services import lifecycle
from tally.store import cache, db
from tally.store.models import AuditEvent


@pytest.fixture
def session_run(app, client, meeting):
    """m1 with all five votes published: 8 deputies present, 7 vote. v1 is 5 for, 1 against,
    1 abstention; the others take the simulator's plausible choices."""
    for deputy in meeting.deputies:
        assert client.post("/api/meetings/m1/checkin", json=meeting.checkin_body(deputy)).status_code == 200
    rng = random.Random(3)
    v1 = [["yes"]] * 5 + [["no"], ["abstain"]]
    for vote_id in ("v1", "v2", "v3", "v4", "v5"):
        with app.app_context():
            lifecycle.open_vote("m1", vote_id, actor="test")
            definition = cache.vote_definition("m1", vote_id)
        for i, deputy in enumerate(meeting.deputies[:7]):
            choices = {"motion": v1[i]} if vote_id == "v1" else plausible_choices(definition, rng)
            ballot = meeting.ballot(app, vote_id, deputy, choices)
            assert client.post(f"/api/meetings/m1/votes/{vote_id}/ballots", json=ballot.entry).status_code == 201
        with app.app_context():
            lifecycle.close_vote("m1", vote_id, actor="test")
            demo.demo_tally("m1", vote_id)
    return meeting


def _csv_rows(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data.decode("utf-8")[1:])))


def test_results_pages_and_exports(app, client, session_run):
    presidium = staff_client(app, "presidium", display_name="主席团秘书处")
    index = text(presidium.get("/staff/meetings/m1/results"))
    assert index.count("announcement.pdf") == 5 and "通过" in index

    # v1: the resolution, counted by hand above
    page = text(presidium.get("/staff/meetings/m1/results/v1"))
    assert re.search(r'<dt>出席</dt><dd>8</dd>', page) and re.search(r'<dt>参加表决</dt><dd>7</dd>', page)
    assert re.search(r'<dt>未按</dt><dd>1</dd>', page)
    result = client.get("/api/meetings/m1/votes/v1/result").get_json()
    passed = result["outcome"]["items"][0]["passed"]
    assert passed and '<span class="verdict pass">通过</span>' in page  # 5 of 8 members is more than half
    counts = {t["option"]: t["count"] for t in result["tallies"]}
    assert counts == {"yes": 5, "no": 1, "abstain": 1}
    assert 'style="width: 62.5%"' in page  # 5 of the base of 8 members

    rows = _csv_rows(presidium.get("/staff/meetings/m1/results/v1/announcement.csv").data)
    assert rows[0] == ["事项", "赞成", "反对", "弃权", "未按", "表决结果"]
    assert rows[1][1:] == ["5", "1", "1", "1", "通过" if passed else "未通过"]
    figures = {row[0]: row[1] for row in rows[3:] if row}
    assert figures["应到代表"] == "8" and figures["出席代表"] == "8" and figures["参加表决"] == "7"
    assert "注" not in figures  # a resolution's motion cannot be left blank: no note on 未按

    pdf = presidium.get("/staff/meetings/m1/results/v1/announcement.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    assert b"STSong-Light" in pdf.data
    assert presidium.get("/staff/meetings/m1/results/v1/announcement.pdf").data == pdf.data  # invariant

    # every kind renders, and its CSV carries the published counts
    for vote_id, header in [("v2", ["被任命人", "赞成", "反对", "弃权", "未按", "表决结果"]),
                            ("v3", ["排名", "项目名称", "预算（元）", "得票", "结果"]),
                            ("v4", ["排名", "候选人", "得票", "结果"]),
                            ("v5", ["测评对象", "满意", "基本满意", "不满意", "未按", "测评等次"])]:
        result = client.get(f"/api/meetings/m1/votes/{vote_id}/result").get_json()
        page = presidium.get(f"/staff/meetings/m1/results/{vote_id}")
        assert page.status_code == 200, vote_id
        rows = _csv_rows(presidium.get(f"/staff/meetings/m1/results/{vote_id}/announcement.csv").data)
        assert rows[0] == header, vote_id
        assert presidium.get(f"/staff/meetings/m1/results/{vote_id}/announcement.pdf").data.startswith(b"%PDF")
        body = [row for row in rows[1:] if row][: len(result["outcome"].get("items") or result["outcome"]["ranking"])]
        if vote_id in ("v3", "v4"):
            ranking = result["outcome"]["ranking"]
            assert [int(row[-2]) for row in body] == [r["count"] for r in ranking]
            words = {"elected": "入选" if vote_id == "v3" else "当选"}
            assert [row[-1] for row in body if row[-1] in words.values()] == [
                words["elected"] for r in ranking if r["status"] == "elected"]
            if vote_id == "v3":
                assert all(row[2] for row in body)  # every sample project has a budget
        else:
            tallies = {(t["contest"], t["option"]): t["count"] for t in result["tallies"]}
            items = result["outcome"]["items"]
            options = ["yes", "no", "abstain"] if vote_id == "v2" else ["satisfied", "basically_satisfied", "unsatisfied"]
            assert [[int(c) for c in row[1:4]] for row in body] == [
                [tallies[(item["contest"], o)] for o in options] for item in items]

    # the exports are in the audit trail
    auditor = staff_client(app, "auditor")
    audit = text(auditor.get("/staff/meetings/m1/audit"))
    assert audit.count("导出公告") >= 10 and "presidium:presidium-user (web)" in audit and "公布结果" in audit
    filtered = text(auditor.get("/staff/meetings/m1/audit?action=vote.publish"))
    assert filtered.count("action-vote-publish") == 5 and "action-result-export" not in filtered
    accounts = text(auditor.get("/staff/audit/accounts"))
    assert accounts.count("action-staff-login") == 2


def test_results_in_english_and_before_publication(app, client, meeting):
    clerk = staff_client(app, "clerk")
    post_form(clerk, "/staff/lang", {"lang": "en"})
    with app.app_context():
        lifecycle.open_vote("m1", "v3", actor="test")
    pending = clerk.get("/staff/meetings/m1/results/v3")
    assert pending.status_code == 200 and "its result appears here once it is published" in text(pending)
    refused = clerk.get("/staff/meetings/m1/results/v3/announcement.pdf")
    assert refused.status_code == 409 and "not_published" in text(refused)
    assert clerk.get("/staff/meetings/m1/results/v9").status_code == 404
    with app.app_context():
        lifecycle.close_vote("m1", "v3", actor="test")
        demo.demo_tally("m1", "v3")
    page = text(clerk.get("/staff/meetings/m1/results/v3"))
    assert '<html lang="en">' in page and "Rank" in page and "Quorum" in page and "not met" in page
    assert "Not elected" in page or "Not selected" in page
    # nobody checked in: no quorum, nothing selected; the CSV and PDF say so in Chinese
    rows = _csv_rows(clerk.get("/staff/meetings/m1/results/v3/announcement.csv").data)
    assert {row[-1] for row in rows[1:14]} == {"未入选"}
    assert ["法定人数", "未达到"] in rows


def test_announcements_only_after_publication_for_every_role(app, client, meeting):
    """docs/guide/会务操作手册.md §8: no account gets a 公告 before the result is published; after
    it, the presidium, the clerk and the auditor (who checks it against the record) all do, and
    every export is in the audit trail."""
    roles = {role: staff_client(app, role) for role in ("clerk", "presidium", "auditor")}
    with app.app_context():
        lifecycle.open_vote("m1", "v1", actor="test")
        lifecycle.close_vote("m1", "v1", actor="test")
    for role, staff in roles.items():
        for fmt in ("pdf", "csv"):
            refused = staff.get(f"/staff/meetings/m1/results/v1/announcement.{fmt}")
            assert refused.status_code == 409 and "not_published" in text(refused), (role, fmt)
    with app.app_context():
        demo.demo_tally("m1", "v1")
    for role, staff in roles.items():
        pdf = staff.get("/staff/meetings/m1/results/v1/announcement.pdf")
        assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF"), role
        assert staff.get("/staff/meetings/m1/results/v1/announcement.csv").status_code == 200, role
    with app.app_context():
        exports = [(e.actor, e.detail["format"]) for e in
                   db.session().scalars(select(AuditEvent).where(AuditEvent.action == "result.export"))]
    assert sorted(exports) == sorted(
        (f"{role}:{role}-user (web)", fmt) for role in roles for fmt in ("pdf", "csv"))


def _pdf_cjk_text(data: bytes) -> str:
    """The STSong-Light text of a reportlab PDF, lines joined: its content streams are ASCII85 and
    Flate encoded, and each line is a string literal of UCS-2 (UTF-16BE) codes with PDF escapes."""
    import base64
    import zlib

    text = []
    for stream in re.findall(rb"/Filter \[ /ASCII85Decode /FlateDecode \][^>]*>>\s*stream\r?\n(.*?)endstream", data, re.DOTALL):
        content = zlib.decompress(base64.a85decode(stream.strip().removesuffix(b"~>")))
        for literal in re.findall(rb"\(((?:[^()\\]|\\.)*)\) Tj", content, re.DOTALL):
            raw = re.sub(rb"\\([0-7]{1,3}|.)", lambda m: bytes([int(m.group(1), 8)]) if m.group(1)[:1].isdigit()
                         else {b"n": b"\n", b"r": b"\r", b"t": b"\t"}.get(m.group(1), m.group(1)), literal)
            if len(raw) % 2 == 0:
                text.append(raw.decode("utf-16-be", errors="replace"))
    return "".join(text)


def test_appointment_blanks_are_counted_per_nominee(app, client, meeting):
    """Two deputies present and two ballots, so nobody "did not vote"; but the second left n2 and
    both left n3 blank: 未按 is 0, 1 and 2 for the three nominees on the page, in the 公告's table
    (PDF and CSV), with a note that says how it is counted (issue #13: it read 0 for all)."""
    for deputy in meeting.deputies[:2]:
        assert client.post("/api/meetings/m1/checkin", json=meeting.checkin_body(deputy)).status_code == 200
    with app.app_context():
        lifecycle.open_vote("m1", "v2", actor="test")
    for deputy, choices in zip(meeting.deputies[:2], [{"n1": ["yes"], "n2": ["yes"], "n3": []},
                                                        {"n1": ["no"], "n2": [], "n3": []}]):
        ballot = meeting.ballot(app, "v2", deputy, choices)
        assert client.post("/api/meetings/m1/votes/v2/ballots", json=ballot.entry).status_code == 201
    with app.app_context():
        lifecycle.close_vote("m1", "v2", actor="test")
        demo.demo_tally("m1", "v2")
    result = client.get("/api/meetings/m1/votes/v2/result").get_json()
    assert [item["not_voted"] for item in result["outcome"]["items"]] == [0, 0, 0]  # SPEC §9: present − counted

    presidium = staff_client(app, "presidium")
    page = text(presidium.get("/staff/meetings/m1/results/v2"))
    blanks = re.findall(r'<tr class="not-voted"><th>未按<sup>\*</sup></th><td></td><td class="num">(\d+)</td>', page)
    assert blanks == ["0", "1", "2"], blanks
    assert "也包括参加表决但对该项未作选择的代表" in page

    rows = _csv_rows(presidium.get("/staff/meetings/m1/results/v2/announcement.csv").data)
    assert [row[4] for row in rows[1:4]] == ["0", "1", "2"]
    note = [row for row in rows if row and row[0] == "注"]
    assert note and "对该被任命人未作选择的代表" in note[0][1], rows
    pdf = _pdf_cjk_text(presidium.get("/staff/meetings/m1/results/v2/announcement.pdf").data)
    assert "主席团公告" in pdf and "对该被任命人未作选择的代表" in pdf, pdf
