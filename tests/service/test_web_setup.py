"""The clerk's setup wizard: meeting data, roster preview and import, credentials, votes of the
five kinds, the ceremony and sealing, pairing codes."""

from __future__ import annotations

import base64
import io
import json
import re

import openpyxl
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select

from ballot import templates
from keys.credentials import public_key_hex
from service.test_web_support import csrf_token, post_form, staff_client, text
from tally import demo
from tally.store import db
from tally.store.models import AuditEvent, Credential, Deputy, Meeting, Vote

MEETING = {"meeting_id": "m5", "title": "某市第十七届人民代表大会第三次会议", "body": "某市人民代表大会",
           "members": 6, "quorum": "two_thirds", "trustees": "\n".join(demo.TRUSTEE_NAMES), "threshold": 3}


@pytest.fixture
def clerk(app):
    client = staff_client(app, "clerk", display_name="张会务")
    response = post_form(client, "/staff/meetings/new", MEETING)
    assert response.status_code == 302 and response.headers["Location"] == "/staff/meetings/m5/setup"
    return client


def _count(app, model, **where) -> int:
    with app.app_context():
        query = select(func.count()).select_from(model)
        for key, value in where.items():
            query = query.where(getattr(model, key) == value)
        return db.session().scalar(query)


def test_meeting_form(app, clerk):
    with app.app_context():
        meeting = db.session().get(Meeting, "m5")
        assert (meeting.title, meeting.members, meeting.quorum, meeting.trustee_count, meeting.threshold) == (
            MEETING["title"], 6, "two_thirds", 5, 3)
        event = db.session().scalar(select(AuditEvent).where(AuditEvent.action == "meeting.create"))
        assert event.actor == "clerk:clerk-user (web)"
    page = text(clerk.get("/staff/meetings/m5/setup"))
    assert "已导入 0 名代表" in page and "5 名监票人中 0 名已确认" in page
    again = post_form(clerk, "/staff/meetings/new", {**MEETING, "meeting_id": "m6", "threshold": 6})
    assert again.status_code == 400 and "threshold must be from 1 to 5" in text(again)
    bad_id = post_form(clerk, "/staff/meetings/new", {**MEETING, "meeting_id": "bad id"})
    assert bad_id.status_code == 400 and "meeting_id must match" in text(bad_id)
    missing = post_form(clerk, "/staff/meetings/new", {**MEETING, "title": ""})
    assert missing.status_code == 400 and "此项为必填项" in text(missing)
    assert _count(app, Meeting) == 1


def _upload(client, path, data: bytes, filename: str):
    return post_form(client, path, {"file": (io.BytesIO(data), filename)}, content_type="multipart/form-data")


def _import_roster(client, data: bytes, filename: str = "r.csv") -> None:
    page = text(_upload(client, "/staff/meetings/m5/setup/roster", data, filename))
    fields = dict(re.findall(r'name="(payload|filename|digest)" type="hidden" value="([^"]*)"', page))
    assert post_form(client, "/staff/meetings/m5/setup/roster/confirm", fields).status_code == 302


def test_roster_preview_then_import(app, clerk):
    bad = "座位号,姓名,代表团\n1,王伟,城东\n2,,城西\n1,李娜,城西\n3,赵敏,城北\n".encode()
    response = _upload(clerk, "/staff/meetings/m5/setup/roster", bad, "名册.csv")
    page = text(response)
    assert response.status_code == 422 and "无法导入" in page
    rows = re.findall(r'<tr class="row-error"><td class="num">(\d+)</td><td>([^<]+)</td>', page)
    assert [row for row, _ in rows] == ["3", "4"]
    assert "姓名为空" in rows[0][1] and "座位号 1 重复" in rows[1][1]
    assert _count(app, Deputy) == 0

    wb = openpyxl.Workbook()
    sheet = wb.active
    sheet.append(["第十七届代表名册"])
    sheet.append(["座位号", "姓名", "代表团", "备注"])
    for seat, name, group in [(1, "王伟", "城东"), (2, "李娜", "城西"), (3, "赵敏", None)]:
        sheet.append([seat, name, group, ""])
    buffer = io.BytesIO()
    wb.save(buffer)
    preview = _upload(clerk, "/staff/meetings/m5/setup/roster", buffer.getvalue(), "roster.xlsx")
    page = text(preview)
    assert preview.status_code == 200 and "共 3 名代表" in page and "李娜" in page and "导入这 3 名代表" in page
    assert _count(app, Deputy) == 0  # nothing until confirmed
    fields = dict(re.findall(r'name="(payload|filename|digest)" type="hidden" value="([^"]*)"', page))
    assert set(fields) == {"payload", "filename", "digest"}
    # a confirmation that does not match what was previewed is refused
    tampered = {**fields, "payload": base64.b64encode(b"seat,name\n9,x\n").decode()}
    assert post_form(clerk, "/staff/meetings/m5/setup/roster/confirm", tampered).status_code == 400
    assert post_form(clerk, "/staff/meetings/m5/setup/roster/confirm", {}).status_code == 400
    assert _count(app, Deputy) == 0
    done = post_form(clerk, "/staff/meetings/m5/setup/roster/confirm", fields)
    assert done.status_code == 302
    with app.app_context():
        deputies = db.session().scalars(select(Deputy).order_by(Deputy.id)).all()
        assert [(d.seat, d.name, d.group) for d in deputies] == [("1", "王伟", "城东"), ("2", "李娜", "城西"), ("3", "赵敏", None)]
    assert "已导入 3 名代表" in text(clerk.get("/staff/meetings/m5/setup/roster"))
    exported = clerk.get("/staff/meetings/m5/setup/roster.csv")
    assert exported.data.startswith(b"\xef\xbb\xbf") and exported.data.decode("utf-8-sig").splitlines() == [
        "座位号,姓名,代表团", "1,王伟,城东", "2,李娜,城西", "3,赵敏,"]


def test_credentials_upload(app, clerk):
    page = text(clerk.get("/staff/meetings/m5/setup/credentials"))
    assert "python -m keys credentials --meeting m5 --roster roster.xlsx --out cards.pdf --public creds.json" in page
    keys = sorted(public_key_hex(Ed25519PrivateKey.generate()) for _ in range(4))
    wrong = _upload(clerk, "/staff/meetings/m5/setup/credentials",
                    json.dumps({"meeting_id": "other", "credentials": keys}).encode(), "creds.json")
    assert wrong.status_code == 400 and "不属于会议 m5" in text(wrong)
    junk = _upload(clerk, "/staff/meetings/m5/setup/credentials", b"{not json", "creds.json")
    assert junk.status_code == 400 and "不是有效的 creds.json" in text(junk)
    ok = _upload(clerk, "/staff/meetings/m5/setup/credentials",
                 json.dumps({"meeting_id": "m5", "credentials": keys}).encode(), "creds.json")
    assert ok.status_code == 302
    assert _count(app, Credential, meeting_id="m5") == 4
    again = _upload(clerk, "/staff/meetings/m5/setup/credentials",
                    json.dumps({"meeting_id": "m5", "credentials": keys[:1]}).encode(), "creds.json")
    assert again.status_code == 400 and "already registered" in text(again)
    too_many = sorted(public_key_hex(Ed25519PrivateKey.generate()) for _ in range(3))
    refused = _upload(clerk, "/staff/meetings/m5/setup/credentials",
                      json.dumps({"meeting_id": "m5", "credentials": too_many}).encode(), "creds.json")
    assert refused.status_code == 400 and "exceed" in text(refused)
    assert _count(app, Credential, meeting_id="m5") == 4


VOTE_FORMS = [
    ("resolution", {"vote_id": "v1", "title": "关于计划的决议", "threshold": "half", "base": "members", "lines": ""},
     lambda: templates.resolution("v1", "关于计划的决议")),
    ("appointment", {"vote_id": "v2", "title": "人事任免案", "threshold": "two_thirds", "base": "present",
                     "lines": "王建国,市发展和改革委员会主任\n李秀英，市教育局局长"},
     lambda: templates.appointment("v2", "人事任免案", [
         {"id": "n1", "name": "王建国", "post": "市发展和改革委员会主任"},
         {"id": "n2", "name": "李秀英", "post": "市教育局局长"}], threshold="two_thirds", base="present")),
    ("selection", {"vote_id": "v3", "title": "2027年民生实事项目票决", "threshold": "half", "base": "members",
                   "seats": "2", "lines": "背街小巷改造提升,120000000,对城区 86 条背街小巷进行改造，含照明\n"
                                          "老旧小区加装电梯,6000万,加装电梯 300 部\n口袋公园建设,4200万"},
     lambda: templates.selection("v3", "2027年民生实事项目票决", [
         {"id": "p01", "label": "背街小巷改造提升", "budget_cny": 120_000_000, "description": "对城区 86 条背街小巷进行改造，含照明"},
         {"id": "p02", "label": "老旧小区加装电梯", "budget_cny": 60_000_000, "description": "加装电梯 300 部"},
         {"id": "p03", "label": "口袋公园建设", "budget_cny": 42_000_000}], 2)),
    ("election", {"vote_id": "v4", "title": "补选市人大常委会委员", "threshold": "none", "base": "members", "seats": "1",
                  "lines": "刘海燕,女，1972 年生\n陈国平"},
     lambda: templates.election("v4", "补选市人大常委会委员", [
         {"id": "c1", "label": "刘海燕", "description": "女，1972 年生"}, {"id": "c2", "label": "陈国平"}], 1,
         threshold="none")),
    ("evaluation", {"vote_id": "v5", "title": "部门工作满意度测评", "base": "cast", "recast": "y",
                    "lines": "市住房和城乡建设局\n市交通运输局"},
     lambda: templates.evaluation("v5", "部门工作满意度测评", [{"id": "d1", "name": "市住房和城乡建设局"},
                                                       {"id": "d2", "name": "市交通运输局"}], recast=True)),
]


def test_vote_forms_make_the_template_entries(app, clerk):
    for kind, form, expected in VOTE_FORMS:
        assert clerk.get(f"/staff/meetings/m5/setup/votes/new/{kind}").status_code == 200
        preview = post_form(clerk, f"/staff/meetings/m5/setup/votes/new/{kind}", {**form, "preview": "1"})
        assert preview.status_code == 200 and "§4.1 条目" in text(preview), kind
        assert _count(app, Vote, vote_id=form["vote_id"]) == 0
        saved = post_form(clerk, f"/staff/meetings/m5/setup/votes/new/{kind}", {**form, "save": "1"})
        assert saved.status_code == 302, (kind, text(saved))
        with app.app_context():
            vote = db.session().get(Vote, ("m5", form["vote_id"]))
            assert vote.entry == expected(), kind
            assert not vote.logged and vote.state == "pending"
    page = text(clerk.get("/staff/meetings/m5/setup/votes"))
    assert all(f"<code>v{i}</code>" in page for i in range(1, 6))
    # problems by line, the template's own refusals, duplicates: nothing is defined
    bad_lines = post_form(clerk, "/staff/meetings/m5/setup/votes/new/selection",
                          {"vote_id": "v6", "title": "x", "threshold": "half", "base": "members", "seats": "1",
                           "lines": "甲,100\n乙,很多\n甲,5", "save": "1"})
    assert bad_lines.status_code == 422
    assert re.findall(r'<tr class="row-error"><td class="num">(\d+)</td>', text(bad_lines)) == ["2", "3"]
    duplicate = post_form(clerk, "/staff/meetings/m5/setup/votes/new/resolution",
                          {"vote_id": "v1", "title": "again", "threshold": "half", "base": "members", "save": "1"})
    assert duplicate.status_code == 409 and "already exists" in text(duplicate)
    bad_id = post_form(clerk, "/staff/meetings/m5/setup/votes/new/resolution",
                       {"vote_id": "v 7", "title": "x", "threshold": "half", "base": "members", "save": "1"})
    assert bad_id.status_code == 422
    no_seats = post_form(clerk, "/staff/meetings/m5/setup/votes/new/election",
                         {"vote_id": "v8", "title": "x", "threshold": "half", "base": "members", "lines": "甲", "save": "1"})
    assert no_seats.status_code == 400
    assert post_form(clerk, "/staff/meetings/m5/setup/votes/new/referendum", {"save": "1"}).status_code == 404
    assert _count(app, Vote) == 5


def test_ceremony_seal_and_pairings(app, clerk):
    _import_roster(clerk, "座位号,姓名\n1,王伟\n2,李娜\n3,赵敏\n".encode())
    page = text(clerk.get("/staff/meetings/m5/setup/ceremony"))
    assert "赵监票" in page and 'id="seal-button" disabled' in page
    refused = post_form(clerk, "/staff/meetings/m5/setup/seal", {})
    assert refused.status_code == 302 and "have not announced" in text(clerk.get(refused.headers["Location"]))
    with app.app_context():
        demo._demo_ceremony("m5")
    status = clerk.get("/staff/meetings/m5/setup/ceremony.json").get_json()
    assert status["complete"] and [t["dealt"] for t in status["trustees"]] == [4] * 5
    assert 'id="seal-button" disabled' not in text(clerk.get("/staff/meetings/m5/setup/ceremony"))
    sealed = clerk.post("/staff/meetings/m5/setup/seal", json={}, headers={"X-CSRFToken": csrf_token(clerk, "/staff/")})
    assert sealed.status_code == 200 and sealed.get_json()["state"] == "sealed"
    assert "会议已封存" in text(clerk.get("/staff/meetings/m5/setup/ceremony"))
    assert app.test_client().get("/api/meetings/m5").status_code == 200
    # the roster is frozen now
    frozen = _upload(clerk, "/staff/meetings/m5/setup/roster", "座位号,姓名\n1,王伟\n".encode(), "r.csv")
    assert frozen.status_code == 409

    codes = post_form(clerk, "/staff/meetings/m5/setup/pairings", {"seats": "1, 3"})
    page = text(codes)
    assert codes.status_code == 200 and codes.headers["Cache-Control"] == "no-store"
    found = re.findall(r'<p class="code">(\d{4}) (\d{4})</p>', page)
    assert len(found) == 2 and "/kiosk/pair/" in page and "/kiosk/qr.svg?data=" in page
    paired = app.test_client().post("/kiosk/api/pair", json={"code": "".join(found[1])})
    assert paired.status_code == 200 and paired.get_json()["seat"] == "3"
    everyone = post_form(clerk, "/staff/meetings/m5/setup/pairings", {"all_seats": "y"})
    assert len(re.findall(r'<p class="code">', text(everyone))) == 3
    unknown = post_form(clerk, "/staff/meetings/m5/setup/pairings", {"seats": "99"})
    assert unknown.status_code == 404
    with app.app_context():
        actions = db.session().scalars(select(AuditEvent.action).where(AuditEvent.meeting_id == "m5")).all()
    assert actions.count("pairing.create") == 2 and "meeting.seal" in actions and "roster.import" in actions
